"""The AI grid: one site is the twin's serving; conservation; a spill-over by hand; policies; input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.errors import InputError
from twin.grid import simulate
from twin.grid.model import load
from twin.serving.fluid import fluid_point
from twin.serving.workload import LengthDist, Workload

SITE = "{{name: {name}, system: {system}, gpus: {gpus}, model: {model}, precision: fp8, tp: {tp}, " \
       "power_price: {price}{extra}}}"


def write(tmp_path: Path, body: str, name: str = "g.yaml") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


ONE = """name: one
classes:
  - {name: chat, input_tokens: 1024, output_tokens: 256, deadline: 10 s}
sites:
  - {name: central, system: gb200-nvl72, gpus: 72, model: llama-3.1-70b, precision: fp8, tp: 8,
     power_price: 60}
regions:
  - {name: here, rate: 30, mix: {chat: 1}}
network:
  - {region: here, site: central, latency: 0 ms}
"""


def test_one_site_without_latency_is_the_twins_serving_model(tmp_path):
    # the coupled twin's serving with coupling off is this fluid model (tests/engine/test_coupled.py); one
    # site, one region, no network: the grid must give its throughput and latencies
    res = simulate(write(tmp_path, ONE)).to_dict()
    grid = load(tmp_path / "g.yaml")
    site = grid.sites[0]
    wl = Workload(rate_per_s=30.0, duration_s=600.0, input_len=LengthDist("fixed", (1024,)),
                  output_len=LengthDist("fixed", (256,)))
    alone = fluid_point(site.perf, wl, site.replicas).to_dict(72)
    r, s = res["regions"][0], res["sites"][0]
    assert s["output_tokens_per_s"] == pytest.approx(alone["output_tokens_per_s"], rel=1e-9)
    assert r["served_per_s"] == pytest.approx(alone["requests_per_s"], rel=1e-9)
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        assert r[key]["mean"] == pytest.approx(alone[key]["mean"], rel=0.03), key
        assert r[key]["p99"] == pytest.approx(alone[key]["p99"], rel=0.05), key
    assert r["network_s"]["p99"] == 0.0
    assert all(res["invariants"].values())


TWO = """name: two
policy: {policy}
max_utilisation: 0.9
classes:
  - {{name: voice, input_tokens: 128, output_tokens: 32, deadline: 150 ms}}
sites:
  - {{name: near, system: hgx-b200, gpus: 8, model: llama-3.1-8b, precision: fp8, tp: 1,
     power_price: 80{near}}}
  - {{name: far, system: hgx-b200, gpus: 64, model: llama-3.1-8b, precision: fp8, tp: 1,
     power_price: 40, central: true}}
regions:
  - {{name: city, rate: {rate}, mix: {{voice: 1}}}}
network:
  - {{region: city, site: near, latency: 10 ms}}
  - {{region: city, site: far, latency: {far} ms}}
"""


def test_a_saturated_near_site_spills_to_a_far_one_whose_requests_miss(tmp_path):
    # by hand: the near site takes the flow up to 90 % of its capacity (placement's max_utilisation; its
    # P99 TTFT, short prompts, is far inside 150 - 10 ms there), to within 1/256 of a tenth of the flow
    # (the bisection of a part that fits in part); the rest goes to the far site, whose 200 ms round trip
    # alone breaks the 150 ms deadline: every far request misses
    grid = load(write(tmp_path, TWO.format(policy="latency", near="", rate=1.0, far=200), "probe.yaml"))
    mu = grid.sites[0].capacity_per_s(128.0, 32.0)
    rate = 2.0 * mu
    path = write(tmp_path, TWO.format(policy="latency", near="", rate=rate, far=200))
    res = simulate(path).to_dict()
    tenth = rate / 10
    near_expected = 0.9 * mu
    flows = {f["site"]: f for f in res["flows"]}
    assert near_expected - tenth / 256 <= flows["near"]["rate_per_s"] <= near_expected * (1 + 1e-9)
    near_expected = flows["near"]["rate_per_s"]
    assert flows["far"]["rate_per_s"] == pytest.approx(rate - near_expected, rel=1e-9)
    assert flows["far"]["placed_late_per_s"] == pytest.approx(rate - near_expected, rel=1e-9)
    assert flows["far"]["deadline_miss_rate"] == 1.0
    assert flows["near"]["deadline_miss_rate"] <= 0.01
    r = res["regions"][0]
    assert r["deadline_missed_per_s"] == pytest.approx(rate - near_expected, rel=0.02)
    assert r["arrived_per_s"] == pytest.approx(r["served_per_s"] + r["rejected_per_s"])
    assert all(res["invariants"].values())
    # the nearest-site policy sends everything near: overloaded, it serves its capacity and the rest is
    # rejected (counted missed), conserved
    near = simulate(path, policy="nearest").to_dict()
    rn = near["regions"][0]
    assert rn["served_per_s"] == pytest.approx(mu, rel=1e-6)
    assert rn["rejected_per_s"] == pytest.approx(rate - mu, rel=1e-6)
    assert rn["deadline_missed_per_s"] >= rn["rejected_per_s"]
    assert all(near["invariants"].values())
    # everything at the central (far) site: all miss, nothing rejected
    assert res["central"]["totals"]["deadline_miss_rate"] == pytest.approx(1.0)


def test_cost_and_power_policies(tmp_path):
    # both sites meet the deadline (far at 40 ms): latency-aware keeps the load near, cost-aware sends it to
    # the cheaper site; a power cap on the near site makes the power-aware policy avoid it
    base = TWO.format(policy="latency", near="", rate=5.0, far=40)
    lat = simulate(write(tmp_path, base, "a.yaml")).to_dict()
    assert lat["regions"][0]["sites"] == {"near": pytest.approx(5.0)}
    cost = simulate(tmp_path / "a.yaml", policy="cost").to_dict()
    assert cost["regions"][0]["sites"] == {"far": pytest.approx(5.0)}
    assert cost["totals"]["tokens_per_usd"] > 0
    capped = TWO.format(policy="power", near=", power_cap: 60 %", rate=5.0, far=40)
    pw = simulate(write(tmp_path, capped, "b.yaml")).to_dict()
    assert pw["regions"][0]["sites"] == {"far": pytest.approx(5.0)}
    near_site = next(s for s in pw["sites"] if s["site"] == "near")
    assert near_site["clock_factor"] < 1.0


def test_jitter_widens_the_tail(tmp_path):
    calm = simulate(write(tmp_path, TWO.format(policy="latency", near="", rate=5.0, far=40), "a.yaml"))
    noisy_text = (tmp_path / "a.yaml").read_text().replace("latency: 10 ms}",
                                                           "latency: 10 ms, jitter: 20 ms}")
    noisy = simulate(write(tmp_path, noisy_text, "b.yaml"))
    assert noisy.regions[0]["ttft_jitter_s"] > calm.regions[0]["ttft_jitter_s"] + 0.02


@pytest.mark.parametrize(("edit", "where", "what"), [
    (("site: far, latency", "site: farr, latency"), "network[1].site",
     "unknown site 'farr' (did you mean 'far'?)"),
    (("mix: {voice: 1}", "mix: {voice: 0.5}"), "regions[0].mix", "sum to 100 %"),
    (("deadline: 150 ms", "deadline: 150 parsecs"), "classes[0].deadline", ""),
    (("gpus: 8,", "gpus: 0,"), "sites[0].gpus", ""),
    (("gpus: 8, model: llama-3.1-8b, precision: fp8, tp: 1", "gpus: 8, model: llama-3.1-8b, precision: fp8, "
      "tp: 3"), "sites[0].tp", "does not divide"),
])
def test_bad_grid_files_name_file_line_and_field(tmp_path, edit, where, what):
    text = TWO.format(policy="latency", near="", rate=5.0, far=40).replace(*edit)
    path = write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        simulate(path)
    msg = str(exc.value)
    assert "g.yaml:" in msg
    assert where in msg
    assert what in msg


def test_cli_grid_end_to_end(tmp_path):
    path = write(tmp_path, TWO.format(policy="latency", near="", rate=5.0, far=40))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["grid", str(path), "--out", str(out), "--json", str(tmp_path / "g.json")])
    assert res.exit_code == 0, res.output
    assert "region" in res.output
    assert "everything at the central site" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["flows.csv", "links.csv", "regions.csv", "sites.csv"]
    d = json.loads((tmp_path / "g.json").read_text())
    assert d["totals"]["arrived_per_s"] == pytest.approx(5.0)
    bad = CliRunner().invoke(main, ["grid", str(path), "--policy", "random"])
    assert bad.exit_code == 2
    missing = CliRunner().invoke(main, ["grid", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output


def test_the_shipped_grid_runs_with_its_invariants():
    root = Path(__file__).resolve().parents[2]
    path = root / "scenarios" / "grids" / "voice-chat.yaml"
    assert path.read_text().startswith("#")
    res = simulate(path)
    assert all(res.invariants.values())
    assert len(res.sites) == 13
    t, c = res.totals, res.central["totals"]
    assert t["arrived_per_s"] == pytest.approx(123000.0)
    # the regional sites take load, and the grid misses fewer deadlines than everything at the factory
    assert sum(s["served_per_s"] for s in res.sites if s["site"] != "factory") > 0
    assert t["deadline_miss_rate"] < c["deadline_miss_rate"]


def test_discrete_serving_draws_every_request_and_agrees_with_fluid(tmp_path):
    body = ONE.replace("name: one\n", "name: one\nserving: discrete\nduration: 120 s\n")
    disc = simulate(write(tmp_path, body, "d.yaml")).to_dict()
    flu = simulate(write(tmp_path, ONE, "f.yaml")).to_dict()
    rd, rf = disc["regions"][0], flu["regions"][0]
    assert rd["served_per_s"] == pytest.approx(rf["served_per_s"])
    # the fluid model's TPOT is kept within 10 % of the discrete simulation (tests/serving/test_fluid.py)
    assert rd["tpot_s"]["mean"] == pytest.approx(rf["tpot_s"]["mean"], rel=0.10)
    assert all(disc["invariants"].values())
    too_long = body.replace("duration: 120 s", "duration: 100000 s")
    with pytest.raises(InputError, match="use `serving: fluid`"):
        simulate(write(tmp_path, too_long, "x.yaml"))


def test_one_site_matches_the_coupled_twin_directly(tmp_path):
    # the same rack, model, deployment and load through `twin simulate` (coupling without throttling on one
    # rack of ample cooling) and through the grid with no network: the same tokens and latencies
    from twin.engine.coupled import simulate as coupled

    root = Path(__file__).resolve().parents[2]
    sc = tmp_path / "s.yaml"
    sc.write_text(f"name: one\nlayout: {root / 'layouts' / 'rack-nvl72.yaml'}\nrun: {{duration: 10 min}}\n"
                  "deployments:\n  - name: chat\n    racks: \"*\"\n    model: llama-3.1-70b\n"
                  "    precision: fp8\n    tp: 8\n"
                  "    workload: {rate: 30, input_tokens: 1024, output_tokens: 256}\n")
    twin_res = coupled(sc, with_reference=False).deployments["chat"]
    grid = simulate(write(tmp_path, ONE)).to_dict()
    r, s = grid["regions"][0], grid["sites"][0]
    assert s["output_tokens_per_s"] == pytest.approx(twin_res["output_tokens"] / 600.0, rel=1e-3)
    assert r["tpot_s"]["mean"] == pytest.approx(twin_res["tpot_mean_s"], rel=0.03)
    assert r["ttft_s"]["mean"] == pytest.approx(twin_res["ttft_mean_s"], rel=0.03)
