"""The AI grid over time: hourly rates by local hour, demand-response caps and outages, period totals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.errors import InputError
from twin.grid import simulate
from twin.grid.model import load
from twin.grid.timeline import steps

ROOT = Path(__file__).resolve().parents[2]

BASE = """name: day
policy: {policy}
classes:
  - {{name: voice, input_tokens: 128, output_tokens: 32, deadline: 150 ms}}
sites:
  - {{name: near, system: hgx-b200, gpus: 8, model: llama-3.1-8b, precision: fp8, tp: 1, power_price: 80}}
  - {{name: far, system: hgx-b200, gpus: 64, model: llama-3.1-8b, precision: fp8, tp: 1, power_price: 40,
     central: true}}
regions:
  - {{name: city, rate: {rate}, mix: {{voice: 1}}{region}}}
network:
  - {{region: city, site: near, latency: 10 ms}}
  - {{region: city, site: far, latency: {far} ms}}
{extra}"""

#: by local hour: 1 + h / 10 (so each step's rate tells which local hour it read)
HOURLY = "[" + ", ".join(f"{1 + h / 10:g}" for h in range(24)) + "]"


def write(tmp_path: Path, name: str = "g.yaml", *, policy="latency", rate=4.0, far=40, region="",
          extra="") -> Path:
    p = tmp_path / name
    p.write_text(BASE.format(policy=policy, rate=rate, far=far, region=region, extra=extra))
    return p


def test_a_timeline_of_steady_rates_is_the_steady_grid_summed_over_time(tmp_path):
    steady = simulate(write(tmp_path, "s.yaml")).to_dict()
    day = simulate(write(tmp_path, "d.yaml", extra="timeline: {duration: 6 h, step: 2 h}\n")).to_dict()
    assert len(day["timeline"]) == 3
    for key in ("arrived_per_s", "served_per_s", "deadline_miss_rate", "output_tokens_per_s", "site_power_w",
                "cost_usd_per_h"):
        assert day["totals"][key] == pytest.approx(steady["totals"][key], rel=1e-12), key
    # the same requests at every step: the pooled percentiles are the steady ones
    assert day["regions"][0]["ttft_s"]["p99"] == pytest.approx(steady["regions"][0]["ttft_s"]["p99"])
    t = day["totals"]
    assert t["requests"] == pytest.approx(4.0 * 6 * 3600)
    assert t["energy_mwh"] == pytest.approx(steady["totals"]["site_power_w"] * 6 * 3600 / 3.6e9)
    assert t["cost_usd"] == pytest.approx(steady["totals"]["cost_usd_per_h"] * 6)
    assert sum(s["energy_mwh"] for s in day["sites"]) == pytest.approx(t["energy_mwh"])
    assert all(day["invariants"].values())
    assert steady["timeline"] is None


def test_hourly_rates_follow_the_regions_local_hour(tmp_path):
    # 4 steps of 1 h from 22:00 UTC in a region at UTC-5: local hours 17, 18, 19, 20 at the steps' middles
    region = f", utc_offset: -5 h, hourly: {HOURLY}"
    path = write(tmp_path, region=region, extra='timeline: {duration: 4 h, step: 1 h, start: "22:00"}\n')
    d = simulate(path).to_dict()
    assert [r["utc"] for r in d["timeline"]] == ["22:00", "23:00", "00:00", "01:00"]
    want = [4.0 * (1 + h / 10) for h in (17, 18, 19, 20)]
    assert [r["arrived_per_s"] for r in d["timeline"]] == pytest.approx(want)
    for r in d["timeline"]:  # conserved at every step
        assert r["arrived_per_s"] == pytest.approx(r["served_per_s"] + r["rejected_per_s"])
    assert d["totals"]["arrived_per_s"] == pytest.approx(sum(want) / 4)
    assert d["regions"][0]["arrived_per_s"] == pytest.approx(sum(want) / 4)
    assert all(d["invariants"].values())


def test_an_outage_sends_the_load_to_the_far_site_where_it_misses(tmp_path):
    # by hand: the near site is down for the middle two of four hours; its requests go to the far site,
    # whose 200 ms round trip alone breaks the 150 ms deadline: those two hours miss every request, the
    # others none (the near site has ample room), so the period misses half
    extra = ("timeline: {duration: 4 h, step: 1 h}\n"
             "events:\n  - {site: near, at: 1 h, duration: 2 h, down: true}\n")
    d = simulate(write(tmp_path, far=200, extra=extra)).to_dict()
    tl = d["timeline"]
    assert [r["events"] for r in tl] == [[], ["near down"], ["near down"], []]
    assert [r["sites"]["near"]["served_per_s"] for r in tl] == pytest.approx([4.0, 0.0, 0.0, 4.0])
    assert [r["sites"]["near"]["site_power_w"] for r in tl][1:3] == [0.0, 0.0]
    assert [r["deadline_miss_rate"] for r in tl] == pytest.approx([0.0, 1.0, 1.0, 0.0], abs=0.01)
    assert d["totals"]["deadline_miss_rate"] == pytest.approx(0.5, abs=0.01)
    assert d["totals"]["deadline_missed"] == pytest.approx(0.5 * d["totals"]["requests"], rel=0.02)
    # the down site still pays for its GPUs
    near = next(s for s in d["sites"] if s["site"] == "near")
    assert near["cost_usd_per_h"] > 0
    assert all(d["invariants"].values())


def test_a_demand_response_cap_slows_the_site_and_the_power_policy_avoids_it(tmp_path):
    extra = ("timeline: {duration: 3 h, step: 1 h}\n"
             'events:\n  - {site: near, at: "01:00", duration: 1 h, power_cap: 60 %}\n')
    lat = simulate(write(tmp_path, "l.yaml", extra=extra)).to_dict()
    grid = load(tmp_path / "l.yaml")
    clock = grid.sites[0]._clock_at(0.6)
    assert clock < 1.0
    assert [r["sites"]["near"]["clock_factor"] for r in lat["timeline"]] == pytest.approx([1.0, clock, 1.0])
    # latency-aware placement keeps the load near (it still meets the deadline there); power-aware moves
    # it off the capped site for that hour only
    assert [r["sites"]["near"]["served_per_s"] for r in lat["timeline"]] == pytest.approx([4.0, 4.0, 4.0])
    pw = simulate(write(tmp_path, "p.yaml", policy="power", extra=extra)).to_dict()
    assert [r["sites"]["near"]["served_per_s"] for r in pw["timeline"]] == pytest.approx([4.0, 0.0, 4.0])
    assert [r["sites"]["far"]["served_per_s"] for r in pw["timeline"]] == pytest.approx([0.0, 4.0, 0.0])
    # the cap holds: the capped site's GPUs draw at most 60 % of their full-load power
    site = grid.sites[0]
    assert lat["timeline"][1]["sites"]["near"]["site_power_w"] <= 0.6 * site.tdp_w * site.site.gpus * 1.0001


@pytest.mark.parametrize(
    ("region", "extra", "where", "what"),
    [
        (f", hourly: {HOURLY}", "", "regions[0].hourly", "need a `timeline:`"),
        ("", "events:\n  - {site: near, at: 1 h, duration: 1 h, down: true}\n", "events",
         "need a `timeline:`"),
        ("", "timeline: {duration: 5 h, step: 2 h}\n", "timeline.duration", "whole number of steps"),
        ("", "timeline: {duration: 2 h, step: 1 h}\nevents:\n  - {site: nera, at: 1 h, duration: 1 h, "
         "down: true}\n", "events[0].site", "did you mean 'near'"),
        ("", "timeline: {duration: 2 h, step: 1 h}\nevents:\n  - {site: near, at: 3 h, duration: 1 h, "
         "down: true}\n", "events[0].at", "outside the timeline"),
        ("", "timeline: {duration: 2 h, step: 1 h}\nevents:\n  - {site: near, at: 1 h, duration: 10 min, "
         "down: true}\n", "events[0].duration", "shorter than the timeline's step"),
        ("", "timeline: {duration: 2 h, step: 1 h}\nevents:\n  - {site: near, at: 1 h, duration: 1 h}\n",
         "events[0]", "exactly one of 'power_cap'"),
        ("", "timeline: {duration: 2 h, step: 1 h}\nevents:\n  - {site: near, at: '25:00', duration: 1 h, "
         "down: true}\n", "events[0].at", "UTC time of day"),
        (", utc_offset: 15 h", "timeline: {duration: 2 h, step: 1 h}\n", "regions[0].utc_offset",
         "within -14 h"),
        (f", hourly: {HOURLY[:-1]}, 3]", "timeline: {duration: 2 h, step: 1 h}\n", "regions[0].hourly", "24"),
    ],
)
def test_bad_timelines_name_file_line_and_field(tmp_path, region, extra, where, what):
    with pytest.raises(InputError) as exc:
        simulate(write(tmp_path, region=region, extra=extra))
    msg = str(exc.value)
    assert "g.yaml:" in msg
    assert where in msg
    assert what in msg


def test_a_negative_latency_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"network\[1\]\.latency.*zero or more"):
        simulate(write(tmp_path, far=-5))


def test_cli_writes_the_timeline_and_shows_progress(tmp_path):
    region = f", utc_offset: 1 h, hourly: {HOURLY}"
    path = write(tmp_path, region=region, extra="timeline: {duration: 3 h, step: 1 h}\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["grid", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "3 steps of 1 h from 00:00 UTC" in res.output
    assert "energy [MWh]" in res.output
    assert "steps" in res.stderr  # the progress bar's label
    written = sorted(p.name for p in out.iterdir())
    assert written == ["flows.csv", "links.csv", "regions.csv", "sites.csv", "timeline.csv"]
    rows = (out / "timeline.csv").read_text().splitlines()
    assert len(rows) == 4
    assert "near_site_power_w" in rows[0]
    assert "city_deadline_miss_rate" in rows[0]


def test_the_shipped_day_places_its_events_and_runs(tmp_path):
    path = ROOT / "scenarios" / "grids" / "voice-chat-day.yaml"
    grid = load(path)
    st = steps(grid.spec, grid.site_index)
    assert len(st) == 24
    assert [s.index for s in st if s.caps] == [21, 22, 23]
    assert [s.index for s in st if s.down] == [13, 14]
    us_east = [r.name for r in grid.spec.regions].index("us-east")
    # New York (UTC-5) peaks at 20:00 local, 01:00 UTC; Tokyo (UTC+9) at 11:00 UTC
    assert max(st, key=lambda s: s.scale[us_east]).index == 1
    tokyo = [r.name for r in grid.spec.regions].index("asia-east")
    assert max(st, key=lambda s: s.scale[tokyo]).index == 11
    # end to end with DNS-nearest routing (placement without probes: quick); the full latency-aware day
    # is benchmarks/grid.py's
    d = simulate(path, policy="nearest").to_dict()
    assert all(d["invariants"].values())
    assert d["totals"]["requests"] == pytest.approx(123000.0 * 86400 * 1.0017, rel=1e-3)
    dr = [r for r in d["timeline"] if r["events"] == ["factory capped at 75%"]]
    assert len(dr) == 3
    assert max(r["sites"]["factory"]["clock_factor"] for r in dr) < 1.0
