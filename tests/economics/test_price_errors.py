"""Careless price lists and economics sections: every problem with file:line, field and what was expected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twin.economics.prices import PRICES_DIR, load_prices
from twin.engine.scenario import load_scenario
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = (PRICES_DIR / "us-2026.yaml").read_text()


def problems(path: Path):
    with pytest.raises(InputError) as info:
        load_prices(path)
    return info.value.problems


def edited(tmp_path: Path, old: str, new: str) -> Path:
    assert old in BUNDLED, old
    p = tmp_path / "prices.yaml"
    p.write_text(BUNDLED.replace(old, new, 1))
    return p


def line_of(path: Path, text: str) -> int:
    return next(i for i, s in enumerate(path.read_text().splitlines(), 1) if text in s)


def test_a_price_without_source_or_assumption_is_an_error_on_its_line(tmp_path):
    rack = '    value: "$3.1M"\n    per: rack\n'
    p = edited(tmp_path, rack, rack + '    assumption: "x"\n')
    (pr,) = [x for x in problems(p) if x.field.startswith("systems.gb200-nvl72")]
    assert "exactly one of 'source:'" in pr.message
    assert pr.line == line_of(p, "gb200-nvl72:")


def test_a_price_without_a_date_is_an_error(tmp_path):
    p = edited(tmp_path, '    date: "2025-08-20"\n', "")
    assert any(x.field == "systems.gb200-nvl72.date" and "required" in x.message for x in problems(p))


def test_a_bad_date_says_what_is_expected(tmp_path):
    p = edited(tmp_path, 'date: "2025-08-20"', 'date: "20 Aug 2025"')
    assert any("expected YYYY-MM or YYYY-MM-DD" in x.message for x in problems(p))


def test_a_price_in_the_wrong_unit_names_the_unit_expected(tmp_path):
    p = edited(tmp_path, 'value: "$0.086/kWh"', 'value: "$0.086/kW"')
    (pr,) = [x for x in problems(p) if x.field.startswith("energy.flat")]
    assert "price_per_energy" in pr.message
    assert pr.line == line_of(p, '"$0.086/kW"')  # the value's own line


def test_a_misspelt_section_suggests_the_right_one(tmp_path):
    p = edited(tmp_path, "demand_charge:", "demand_charges:")
    msgs = " ".join(x.message for x in problems(p))
    assert "did you mean 'demand_charge'" in msgs


def test_a_tariff_that_leaves_hours_out(tmp_path):
    p = edited(tmp_path, "{hours: [21, 22, 23], ", "{hours: [21, 22], ")
    assert any("hours [23] are in no period" in x.message for x in problems(p))


def test_an_unknown_price_list_name_lists_the_bundled_ones():
    with pytest.raises(InputError) as info:
        load_prices("us-2062")
    assert "did you mean 'us-2026'" in str(info.value)


SCENARIO = """name: s
layout: {layout}
run: {{duration: 10 min}}
deployments:
  - name: chat
    racks: "*"
    model: llama-3.1-70b
    tp: 8
    workload: {{rate: 20}}
economics:
{economics}"""


def scenario(tmp_path: Path, economics: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO.format(layout=ROOT / "layouts" / "rack-nvl72.yaml", economics=economics))
    return p


def test_scenario_economics_problems_have_their_lines(tmp_path):
    p = scenario(tmp_path, '  energy: "$0.05/kW"\n  wacc: 8\n')
    with pytest.raises(InputError) as info:
        load_scenario(p)
    by = {x.field: x for x in info.value.problems}
    assert by["economics.energy"].line == 11
    assert "'$0.05/kWh'" in by["economics.energy"].message
    assert by["economics.wacc"].line == 12
    assert "between 0 and 1" in by["economics.wacc"].message
    p = scenario(tmp_path, '  systems: {gb200-nv72: "$3M"}\n')
    with pytest.raises(InputError) as info:
        load_scenario(p)
    (pr,) = info.value.problems
    assert pr.field == "economics.systems.gb200-nv72"
    assert "did you mean 'gb200-nvl72'" in pr.message


def test_scenario_overrides_change_the_bill(tmp_path):
    from twin.engine.coupled import simulate

    base = simulate(scenario(tmp_path, "  prices: us-2026\n"), with_reference=False).costs
    cheap = simulate(scenario(tmp_path, '  energy: "$0.043/kWh"\n  wacc: 8 %\n'), with_reference=False).costs
    line = {x["item"]: x["usd"] for x in base.lines}
    line2 = {x["item"]: x["usd"] for x in cheap.lines}
    assert line2["energy (flat)"] == pytest.approx(line["energy (flat)"] * 0.043 / 0.086, rel=1e-9)
    assert line2["it"] == pytest.approx(line["it"], rel=1e-12)
    tou = simulate(scenario(tmp_path, "  energy: time_of_use\n"), with_reference=False).costs
    items = {x["item"] for x in tou.lines}
    assert {"energy (time of use)", "demand charge", "capacity charge"} <= items
    more = simulate(scenario(tmp_path, "  uptime: 90 %\n  maintenance: 0 %\n  residual_value: {it: 10 %}\n"),
                    with_reference=False).costs
    line3 = {x["item"]: x["usd"] for x in more.lines}
    assert line3["maintenance"] == 0.0
    assert line3["it"] < line["it"]  # a residual value lowers the capital to recover
    assert more.kpis["tokens_per_dollar"] * more.kpis["cost_usd"] == pytest.approx(
        0.9 * base.kpis["tokens_per_dollar"] * base.kpis["cost_usd"], rel=1e-9)  # 90 % of the tokens


def test_twin_simulate_prints_and_writes_the_costs(tmp_path):
    p = scenario(tmp_path, "  prices: us-2026\n")
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "twin.cli", "simulate", str(p), "--json", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "per GPU-hour" in proc.stdout
    assert "older than 18 months" in proc.stderr
    d = json.loads(out.read_text())
    for key in ("cost_usd", "usd_per_gpu_hour", "tokens_per_dollar", "usd_per_million_tokens",
                "tokens_per_mw"):
        assert d[key] > 0, key
    assert d["tokens_per_dollar"] == pytest.approx(d["output_tokens"] / d["cost_usd"], rel=1e-9)
    assert {x["category"] for x in d["economics"]["lines"]} == {"capex", "energy", "water", "operations"}


def test_a_bad_price_list_stops_twin_simulate_before_it_runs(tmp_path):
    bad = edited(tmp_path, 'value: "$0.086/kWh"', 'value: "cheap"')
    p = scenario(tmp_path, f"  prices: {bad}\n")
    proc = subprocess.run([sys.executable, "-m", "twin.cli", "simulate", str(p)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2
    assert f"{bad}:" in proc.stderr
    assert "energy.flat" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tornado_and_cost_curve_of_a_steady_point(tmp_path):
    p = scenario(tmp_path, "  prices: us-2026\n")
    out = tmp_path / "e.json"
    proc = subprocess.run([sys.executable, "-m", "twin.cli", "evaluate", "--scenario", str(p), "--tornado",
                           "--cost-curve", "--json", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Tornado" in proc.stdout
    assert "throughput-latency curve" in proc.stdout
    d = json.loads(out.read_text())
    rows = d["tornado"]
    assert [r["swing"] for r in rows] == sorted((r["swing"] for r in rows), reverse=True)
    by = {r["input"].split(" ")[0]: r for r in rows}
    assert by["tokens"]["low"] > by["tokens"]["base"] > by["tokens"]["high"]  # more tokens: cheaper each
    assert by["energy"]["low"] < by["energy"]["base"] < by["energy"]["high"]
    curve = d["cost_curve"]
    cost = [r["usd_per_million_tokens"] for r in curve]
    user = [r["tokens_per_s_per_user"] for r in curve]
    gpu = [r["tokens_per_s_per_gpu"] for r in curve]
    assert cost == sorted(cost, reverse=True)  # busier GPUs: cheaper tokens ...
    assert user == sorted(user, reverse=True)  # ... and slower ones for each user
    assert gpu == sorted(gpu)
    # each point's cost is its GPU-hour over its tokens per GPU-hour
    r = curve[3]
    per_gpu_hour_tokens = 3600 * r["tokens_per_s_per_gpu"]
    assert r["usd_per_million_tokens"] == pytest.approx(r["usd_per_gpu_hour"] / per_gpu_hour_tokens * 1e6,
                                                         rel=1e-9)


def test_tornado_and_cost_curve_need_a_scenario():
    proc = subprocess.run([sys.executable, "-m", "twin.cli", "evaluate", "--tornado"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2
    assert "add --scenario" in proc.stderr


def test_a_layouts_economics_applies_and_a_scenarios_overrides_it(tmp_path):
    from twin.engine.costs import scenario_prices

    layout = tmp_path / "rack.yaml"
    layout.write_text((ROOT / "layouts" / "rack-nvl72.yaml").read_text()
                      + 'economics:\n  energy: "$0.05/kWh"\n  systems: {gb200-nvl72: "$2.9M"}\n')
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO.format(layout=layout, economics='  energy: "$0.07/kWh"\n'))
    prices = scenario_prices(load_scenario(p).scenario)
    assert prices.energy_usd_per_j * 3.6e6 == pytest.approx(0.07)  # the scenario's
    assert prices.system_usd["gb200-nvl72"] == (2.9e6, "rack")  # the layout's
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "layouts" / "rack-nvl72.yaml").read_text()
                   + 'economics:\n  systems: {hgx-h100: "$1"}\n')
    from twin.layout import load_layout

    with pytest.raises(InputError) as info:
        load_layout(bad)
    (pr,) = info.value.problems
    assert pr.field == "economics.systems.hgx-h100"
    assert "no system 'hgx-h100' in the layout" in pr.message


def test_an_hourly_price_series_bills_each_hour_at_its_price(tmp_path):
    csv = tmp_path / "lmp.csv"
    csv.write_text("hour,usd_per_mwh\n0,40\n1,-5\n2,120\n")
    p = tmp_path / "s.yaml"
    rack = ROOT / "layouts" / "rack-nvl72.yaml"
    body = SCENARIO.format(layout=rack, economics="  energy_prices: lmp.csv\n")
    p.write_text(body.replace("duration: 10 min", "duration: 3 h, physics_step: 60 s, serving_epoch: 60 s"))
    from twin.engine.coupled import simulate

    res = simulate(p, with_reference=False)
    s = res.steps_table()
    e = [float((s["meter_w"][(s["time_s"] >= 3600 * i) & (s["time_s"] < 3600 * (i + 1))] * 60).sum())
         for i in range(3)]
    by = {x["item"]: x["usd"] for x in res.costs.lines}
    hand = (e[0] * 40 - e[1] * 5 + e[2] * 120) / 3.6e9  # $/MWh over J per MWh
    assert by["energy (hourly prices)"] == pytest.approx(hand, rel=1e-9)
    short = tmp_path / "short.csv"
    short.write_text("hour,usd_per_mwh\n0,40\n2,50\n")
    p.write_text(p.read_text().replace("lmp.csv", "short.csv"))
    with pytest.raises(InputError) as info:
        load_scenario(p)
    (pr,) = info.value.problems
    assert (pr.file, pr.line) == (str(short), 3)
    assert "hour 1 expected" in pr.message


def test_a_demand_response_payment_is_a_credit_for_the_energy_taken_off_the_meter(tmp_path):
    p = tmp_path / "s.yaml"
    body = SCENARIO.format(layout=ROOT / "layouts" / "rack-nvl72.yaml",
                           economics='  demand_response_payment: "$200/MWh"\n')
    body = body.replace("workload: {rate: 20}", "workload: {rate: 60}").replace(
        "economics:", "events:\n  - {at: 1 min, demand_response: {target: 75 %, duration: 5 min, "
        "ramp: 30 s}}\neconomics:")
    p.write_text(body)
    from twin.engine.coupled import simulate

    res = simulate(p)
    cut = res.reference_energy_j - res.energy_j
    assert cut > 0
    by = {x["item"]: x["usd"] for x in res.costs.lines}
    assert by["demand-response payment"] == pytest.approx(-cut / 3.6e9 * 200, rel=1e-9)
    assert res.costs.kpis["energy_saved_usd"] > 0


@pytest.mark.parametrize("layout", ["rack-nvl72", "pod-8x-nvl72", "hall-100mw", "campus-1gw"])
def test_the_shipped_layouts_cost_per_gpu_hour_is_within_the_published_rental_band(tmp_path, layout):
    # a sanity band, not a fit: the InferenceX hyperscaler-to-rental tiers of each GPU class
    from twin.engine.coupled import steady_point, with_costs

    p = tmp_path / "s.yaml"
    p.write_text(f"name: s\nlayout: {ROOT / 'layouts' / f'{layout}.yaml'}\nrun: {{duration: 1 h}}\n")
    prep = load_scenario(p)
    band = with_costs(steady_point(prep), prep).costs.rental_band
    assert band, "no system of the layout has a published band"
    for system, b in band.items():
        assert b["verdict"] == "within", (system, b)
