"""The fabric and tokens & money pages: tables and figures hold the engine's numbers, in a browser too.

Fabric: the topology groups sum to the engine's counts, the bandwidth table is ``fabric.summary()``'s,
the BOM table sums ``fabric.bom``. Tokens & money: the steady point, costs, tornado and curve are
those of ``twin evaluate --scenario`` (recomputed here from the engine's functions), a bad scenario
shows its problems, a picked scenario is not recomputed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

import twin
from twin.fabric import build_fabric
from twin.report.fabric import (
    bandwidth_rows,
    bom_table_rows,
    cluster_names,
    cluster_schematic,
    fabric_glance_rows,
    topology_figure,
)
from twin.report.money import (
    cost_breakdown_figure,
    cost_rows,
    deployment_rows,
    money_kpi_rows,
    operating_points,
    sla_verdict,
    steady_money,
    throughput_interactivity_figure,
    tornado_figure,
    tornado_rows,
)

from .conftest import choose, needs_browser, screenshot, wait_for_text

ROOT = Path(__file__).resolve().parents[2]
POD_SCENARIO = ROOT / "scenarios" / "pod-design-day.yaml"


@pytest.fixture(scope="module")
def fabrics():
    return {name: build_fabric(twin.load_layout(ROOT / "layouts" / f"{name}.yaml"))
            for name in ("pod-8x-nvl72", "hall-100mw", "campus-1gw")}


@pytest.fixture(scope="module")
def pod_money():
    return steady_money(POD_SCENARIO)


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_results_fabric_is_the_one_the_page_builds():
    f = twin.load_layout(ROOT / "layouts" / "pod-8x-nvl72.yaml")
    res = twin.evaluate(f, utilisation=0.8, with_n_minus_1=False)
    assert bom_table_rows(res.fabric) == bom_table_rows(build_fabric(f))
    assert bandwidth_rows(res.fabric) == bandwidth_rows(build_fabric(f))


def test_the_topology_groups_add_up_to_the_engines_counts(fabrics):
    for fab in fabrics.values():
        c = fab.clusters
        for i, name in enumerate(cluster_names(fab)):
            s = cluster_schematic(fab, name)
            per_tier = {t: sum(n["count"] for n in s["nodes"] if n["tier"] == t)
                        for t in ("racks", "leaf", "spine", "core")}
            assert per_tier["racks"] == c["num_racks"][i]
            racks = [n for n in s["nodes"] if n["tier"] == "racks"]
            assert sum(n["nodes"] for n in racks) == c["num_nodes"][i]
            assert all(n["racks"] <= n["racks_touched"] <= n["racks"] + 1 + len(racks) for n in racks)
            assert all(n["racks_touched"] >= 1 for n in racks)
            assert per_tier["leaf"] == c["num_leaves"][i]
            assert per_tier["spine"] == c["num_spines"][i]
            assert per_tier["core"] == c["num_superspines"][i]
            nic = sum(ln["links"] for ln in s["links"] if ln["source"].startswith("racks:"))
            up = sum(ln["links"] for ln in s["links"] if ln["source"].startswith("leaf:"))
            assert nic == c["num_nics"][i]
            assert up == c["leaf_uplinks"][i]
            assert len([n for n in s["nodes"] if n["tier"] == "leaf"]) <= 12


def test_the_topology_matches_the_engines_graph_of_a_plane(fabrics):
    fab = fabrics["pod-8x-nvl72"]
    g = fab.graph(0)
    bw = float(fab.clusters["link_bw_bytes_s"][0])
    s = cluster_schematic(fab, 0)
    leaf_spine = sum(d["capacity"] for a, b, d in g.edges(data=True) if "spine" in a + b) / bw
    block_leaf = sum(d["capacity"] for a, b, d in g.edges(data=True) if "block" in a + b) / bw
    assert sum(ln["links"] for ln in s["links"] if ln["target"] == "spine:0") == pytest.approx(leaf_spine)
    nic = sum(ln["links"] for ln in s["links"] if ln["source"].startswith("racks:"))
    assert nic == pytest.approx(block_leaf)


def test_the_topology_figure_of_the_100mw_hall_is_fast_and_shows_its_tiers(fabrics):
    fab = fabrics["hall-100mw"]
    t0 = time.perf_counter()
    fig = topology_figure(fab)
    assert time.perf_counter() - t0 < 1.0
    by_name = {tr.name: tr for tr in fig.data}
    assert sum(by_name["leaf switches"].customdata) == fab.clusters["num_leaves"][0]
    assert sum(by_name["super-spine switches"].customdata) == fab.clusters["num_superspines"][0]
    assert "3 tier(s)" in fig.layout.title.text
    assert "one plane" in topology_figure(fabrics["pod-8x-nvl72"]).layout.title.text
    assert "one of 2 planes" in topology_figure(fabrics["campus-1gw"], "hgx-hall/hgx-b200").layout.title.text


def test_the_bandwidth_table_is_the_fabric_summarys(fabrics):
    for fab in fabrics.values():
        s = fab.summary()
        rows = bandwidth_rows(fab)
        assert [r["cluster"] for r in rows] == [c["name"] for c in s["clusters"]] + ["whole fabric"]
        for r, c in zip(rows, s["clusters"], strict=False):
            assert r["bisection [TB/s]"] == f"{c['bisection_bandwidth_bytes_s'] / 1e12:,.1f}"
            assert r["oversubscription"] == f"{c['oversubscription']:.2f}:1"
            assert r["max switch hops"] == str(c["max_switch_hops"])
            assert r["GPUs"] == f"{c['num_gpus']:,}"
        whole = rows[-1]
        assert whole["bisection [TB/s]"] == f"{s['bisection_bandwidth_bytes_s'] / 1e12:,.1f}"
        assert whole["scale-out per GPU [GB/s]"] == f"{s['scale_out_bw_per_gpu_bytes_s'] / 1e9:,.1f}"
        across = fab.scale_out_bw_per_gpu_bytes_s()
        assert whole["per GPU across leaves [GB/s]"] == f"{across.min() / 1e9:,.1f}"
        assert whole["max switch hops"] == str(s["max_switch_hops"])


def test_the_bom_table_sums_the_engines_bill_of_materials(fabrics):
    for fab in fabrics.values():
        rows = bom_table_rows(fab)
        want: dict = {}
        for b in fab.bom:
            want[(b["network"], b["model"])] = want.get((b["network"], b["model"]), 0) + b["count"]
        got: dict = {}
        for r in rows[:-1]:
            got[(r["network"], r["model"])] = got.get((r["network"], r["model"]), 0) + int(_num(r["count"]))
        assert got == want
        network_w = sum(fab.network_power_w().values())
        assert _num(rows[-1]["power [kW]"]) == pytest.approx(network_w / 1e3, abs=0.05)
    glance = {r["what"]: r["value"] for r in fabric_glance_rows(fabrics["hall-100mw"])}
    s = fabrics["hall-100mw"].summary()
    assert glance["leaf switches"] == f"{s['num_leaf_switches']:,}"
    assert glance["fabric power"] == f"{s['fabric_power_w'] / 1e3:,.1f} kW"


def test_the_money_tables_are_the_engines(pod_money):
    from twin.economics.tco import tornado
    from twin.engine.costs import cost_curve, cost_inputs

    m = pod_money
    res = m.results
    k = res.costs.kpis
    rows = cost_rows(m)
    assert [(r["category"], r["item"]) for r in rows] == [(x["category"], x["item"]) for x in res.costs.lines]
    for r, ln in zip(rows, res.costs_table().itertuples(), strict=True):
        assert r["$/year"] == f"{ln.usd_per_year:,.0f}"
        assert r["$/h"] == f"{ln.usd_per_hour:,.2f}"
    assert sum(_num(r["$ per M output tokens"]) for r in rows) == pytest.approx(k["usd_per_million_tokens"],
                                                                               abs=0.01)
    kpis = {r["what"]: r["value"] for r in money_kpi_rows(m)}
    assert kpis["$ per million output tokens"] == f"${k['usd_per_million_tokens']:,.3f}"
    assert kpis["capex"] == f"${k['capex_usd'] / 1e6:,.1f}M"

    (dep,) = deployment_rows(m)
    d = res.deployments["chat"]
    assert dep["racks"] == "8"
    assert dep["output tokens/s"] == f"{d['output_tokens'] / res.duration_s:,.0f}"
    total_tps = float(res.steps_table().iloc[0]["tokens_per_s"])
    assert _num(dep["output tokens/s"]) == pytest.approx(total_tps, abs=1)
    assert dep["TTFT P99 [ms]"] == f"{d['ttft_s']['p99'] * 1e3:,.0f}"
    assert dep["TPOT P90 [ms]"] == f"{d['tpot_s']['p90'] * 1e3:,.1f}"
    assert dep["TTFT SLA [ms]"] == "2,000"
    assert dep["TPOT SLA [ms]"] == "50.0"
    assert dep["verdict"] == ("met" if d["ttft_s"]["p99"] <= 2.0 and d["tpot_s"]["p99"] <= 0.05 else "missed")

    curve = cost_curve(m.prepared, res, m.prices)
    fig = throughput_interactivity_figure(m)
    costs = [tr for tr in fig.data if tr.name == "chat: $/M tokens"][0]
    assert list(costs.y) == pytest.approx([r["usd_per_million_tokens"] for r in curve])
    assert list(costs.x) == pytest.approx([r["tokens_per_s_per_user"] for r in curve])
    (op,) = operating_points(m)
    assert op["tokens_per_s_per_user"] == pytest.approx(1.0 / d["tpot_mean_s"])

    torn = tornado(cost_inputs(res, m.prepared.catalog), m.prices)
    assert [r["input"] for r in tornado_rows(m)] == [r["input"] for r in torn]
    low, high = tornado_figure(m).data
    assert [low.base + x for x in low.x] == pytest.approx([r["low"] for r in torn])
    assert [high.base + x for x in high.x] == pytest.approx([r["high"] for r in torn])
    bars = cost_breakdown_figure(m)
    assert sum(sum(tr.x) for tr in bars.data) == pytest.approx(k["usd_per_year"] / 1e6)


def test_the_sla_verdict_uses_the_p99_against_each_given_limit():
    ok = {"ttft_s": {"p99": 1.0}, "tpot_s": {"p99": 0.04}, "slo_ttft_s": 2.0, "slo_tpot_s": 0.05}
    assert sla_verdict(ok) == "met"
    assert sla_verdict(ok | {"tpot_s": {"p99": 0.06}}) == "missed"
    assert sla_verdict(ok | {"ttft_s": {"p99": None}}) == "missed"
    assert sla_verdict(ok | {"slo_tpot_s": None, "tpot_s": {"p99": 9.0}}) == "met"
    assert sla_verdict(ok | {"slo_ttft_s": None, "slo_tpot_s": None}) == "no SLA"


def test_a_bad_scenario_shows_its_problems_and_a_good_one_is_computed_once(tmp_path):
    from twin.ui.pages.tokens import money_of

    text = POD_SCENARIO.read_text().replace("../layouts/", f"{ROOT / 'layouts'}/")
    text = text.replace("tp: 8", "tp: eight")
    bad = tmp_path / "mine.yaml"
    bad.write_text(text)
    cache: dict = {}
    money, problems = money_of(bad, cache)
    assert money is None
    assert "mine.yaml:" in problems
    assert "tp" in problems
    assert "Traceback" not in problems
    assert money_of(tmp_path / "gone.yaml", cache)[0] is None
    first, _ = money_of(POD_SCENARIO, cache)
    again, _ = money_of(POD_SCENARIO, cache)
    assert again is first  # not recomputed


@needs_browser
def test_the_fabric_page_shows_the_engines_fabric(fabrics, app_url, browser):
    browser.get(app_url + "/fabric")
    pod = fabrics["pod-8x-nvl72"].summary()
    assert wait_for_text(browser, "fabric-bisection", lambda s: "TB/s" in s) == (
        f"{pod['bisection_bandwidth_bytes_s'] / 1e12:,.1f} TB/s")
    assert browser.find_element(By.ID, "fabric-leaf-switches").text == f"{pod['num_leaf_switches']:,}"
    wait_for_text(browser, "fabric-bom-0-3", lambda s: s == f"{fabrics['pod-8x-nvl72'].bom[0]['count']:,}")
    assert browser.find_elements(By.CSS_SELECTOR, "#fabric-topology .js-plotly-plot")
    screenshot(browser, "fabric-pod")
    choose(browser, "fabric-layout", "hall-100mw.yaml")
    hall = fabrics["hall-100mw"].summary()
    want = f"{hall['bisection_bandwidth_bytes_s'] / 1e12:,.1f} TB/s"
    wait_for_text(browser, "fabric-bisection", lambda s: s == want)
    supers = browser.find_element(By.ID, "fabric-super-spine-switches").text
    assert supers == f"{hall['num_superspine_switches']:,}"
    screenshot(browser, "fabric-hall")


@needs_browser
def test_the_tokens_page_shows_the_engines_money(pod_money, app_url, browser):
    browser.get(app_url + "/tokens")
    res = pod_money.results
    want = f"${res.costs.kpis['usd_per_million_tokens']:,.3f}"
    assert wait_for_text(browser, "tokens-per-million-output-tokens", lambda s: s.startswith("$")) == want
    tps = res.deployments["chat"]["output_tokens"] / res.duration_s
    assert browser.find_element(By.ID, "tokens-dep-0-3").text == f"{tps:,.0f}"
    assert browser.find_element(By.ID, "tokens-dep-0-13").text == deployment_rows(pod_money)[0]["verdict"]
    assert browser.find_elements(By.CSS_SELECTOR, "#tokens-curve .js-plotly-plot")
    screenshot(browser, "tokens-pod")
    choose(browser, "tokens-scenario", "hall-cdu-failure.yaml")
    hall = steady_money(ROOT / "scenarios" / "hall-cdu-failure.yaml").results
    want = f"${hall.costs.kpis['usd_per_million_tokens']:,.3f}"
    wait_for_text(browser, "tokens-per-million-output-tokens", lambda s: s == want)
    tps = hall.deployments["chat"]["output_tokens"] / hall.duration_s
    assert browser.find_element(By.ID, "tokens-dep-0-3").text == f"{tps:,.0f}"
    screenshot(browser, "tokens-hall")
