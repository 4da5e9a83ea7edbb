"""The planner's app: its figures from the engine's numbers, a bad upload's problems, and a real browser.

Pages: the layout page (floor plan, capacity, a clicked rack's paths) and the power page (Sankey,
loading, N-1).

The browser test drives ``app.py`` in headless Chromium through chromium-driver (see
``conftest.py``): the capacity table it renders must hold the engine's figures for the default
layout, and picking another layout must change them to that layout's.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

import twin
from twin.report.figures import METRICS, floor_plan_figure
from twin.report.tables import capacity_rows
from twin.ui import LAYOUTS_DIR
from twin.ui.choice import load_choice

from .conftest import choose, needs_browser, screenshot, until, wait_for_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pod():
    return twin.evaluate(twin.load_layout(ROOT / "layouts" / "pod-8x-nvl72.yaml"), utilisation=0.8)


def test_the_floor_plan_has_every_rack_coloured_by_the_metric(pod):
    for metric, (_, _, scale) in METRICS.items():
        fig = floor_plan_figure(pod, metric)
        names = [n for tr in fig.data for n in tr.customdata]
        assert sorted(names) == sorted(pod.racks()["name"])
        colours = {n: c for tr in fig.data for n, c in zip(tr.customdata, tr.marker.color, strict=True)}
        want = dict(zip(pod.racks()["name"], pod.racks()[metric] * scale, strict=True))
        assert colours == pytest.approx(want)


def test_the_capacity_table_is_the_engines(pod):
    rows = {r["what"]: r["value"] for r in capacity_rows(pod)}
    assert rows["IT power"] == f"{pod.it_power_w / 1e6:,.3f} MW"
    assert rows["racks"] == "8"
    assert rows["power N-1"] in ("holds", "FAILS")


def test_a_bad_upload_shows_the_problems_twin_validate_prints(tmp_path):
    text = (ROOT / "layouts" / "rack-nvl72.yaml").read_text().replace("racks_per_row: 1",
                                                                     "racks_per_row: many")
    upload = "data:application/x-yaml;base64," + base64.b64encode(text.encode()).decode()
    factory, problems = load_choice(None, upload, "mine.yaml", LAYOUTS_DIR)
    assert factory is None
    assert "mine.yaml:17: halls[0].rows[0].racks_per_row" in problems
    huge = "data:;base64," + base64.b64encode(b"x" * (2 * 2**20)).decode()
    assert "may be at most" in load_choice(None, huge, "big.yaml", LAYOUTS_DIR)[1]
    binary = "data:;base64," + base64.b64encode(b"\x00\x01 not yaml").decode()
    assert "binary file" in load_choice(None, binary, "x.yaml", LAYOUTS_DIR)[1]


@needs_browser
def test_the_app_renders_the_engines_figures_in_a_real_browser(pod, app_url, browser):
    browser.get(app_url + "/")
    assert wait_for_text(browser, "cap-IT-power", lambda s: "MW" in s) == f"{pod.it_power_w / 1e6:,.3f} MW"
    assert browser.find_element(By.ID, "cap-racks").text == str(pod.factory.num_racks)
    assert "AI Factory Twin" in browser.title
    assert browser.find_elements(By.CSS_SELECTOR, "#floor-plan .js-plotly-plot")  # the floor plan was drawn
    screenshot(browser, "layout-pod")
    choose(browser, "layout-choice", "rack-nvl72.yaml")  # a planner picks another layout
    rack = twin.evaluate(twin.load_layout(ROOT / "layouts" / "rack-nvl72.yaml"), utilisation=0.8)
    wait_for_text(browser, "cap-racks", lambda s: s == "1")
    assert browser.find_element(By.ID, "cap-IT-power").text == f"{rack.it_power_w / 1e6:,.3f} MW"

    browser.get(app_url + "/power")
    holds = "survives" if pod.n_minus_1_survives else "does NOT survive"
    assert wait_for_text(browser, "power-n1-verdict", lambda s: "N-1" in s) == (
        f"power N-1: the design {holds} every single failure ({len(pod.power_cases)} cases)")
    assert browser.find_elements(By.CSS_SELECTOR, "#power-sankey .sankey")
    screenshot(browser, "power-pod")


def test_a_clicked_rack_shows_its_power_paths_and_cooling_loop(pod):
    from twin.ui.pages.floor import details_text, rack_details

    d = rack_details(pod, "hall/row02/r03")
    assert len(d["paths"]) == 2  # the pod is fed 2N: one path per cord
    nodes = pod.power_nodes().set_index("name")
    for path in d["paths"]:
        assert path[-1]["kind"] == "feed"
        for p in path:
            assert p["loading"] == pytest.approx(nodes.loc[p["name"], "loading"])
    assert d["figures"]["rack_input_w"] == pytest.approx(
        float(pod.racks().set_index("name").loc["hall/row02/r03", "rack_input_w"]))
    assert d["cooling"]["cdu_group"] in set(pod.cdu_groups()["name"])
    text = details_text(d)
    assert "power path 2:" in text
    assert "<- utility-" in text


def test_the_power_sankey_conserves_the_engines_megawatts(pod):
    from twin.report.figures import loading_figure, power_flows, power_sankey
    from twin.report.tables import n_minus_1_rows

    flows = power_flows(pod)
    out_of = {}
    for a, _, w in flows:
        out_of[a] = out_of.get(a, 0.0) + w
    assert out_of["facility (meter)"] == pytest.approx(pod.facility_power_w, rel=1e-9)
    assert out_of["IT power"] == pytest.approx(pod.it_power_w, rel=1e-9)
    fig = power_sankey(pod)
    assert sum(fig.data[0].link.value) == pytest.approx(sum(w for _, _, w in flows if w > 0) / 1e6)
    bars = loading_figure(pod, top=5)
    top = pod.power_nodes().sort_values("loading", ascending=False).head(5)
    assert list(bars.data[0].y) == list(top["name"])
    rows = n_minus_1_rows(pod)
    assert len(rows) == len(pod.power_cases)
    assert all(r["survives"] in ("yes", "NO") for r in rows)


def test_the_cooling_page_follows_the_ambient_as_the_engine_does():
    from twin.report.figures import cdu_loading_figure
    from twin.report.tables import loop_rows

    f = twin.load_layout(ROOT / "layouts" / "pod-8x-nvl72.yaml")
    fans = []
    for ambient in (20.0, 44.0):
        res = twin.evaluate(f, utilisation=0.8, with_n_minus_1=False, ambient_c=ambient)
        (row,) = loop_rows(res)
        loop = res.loops().iloc[0]
        assert row["facility return [degC]"] == f"{loop['facility_return_c']:.1f}"
        assert row["heat-rejection fans"] == f"{loop['rejection_fan_speed']:.0%}"
        fans.append(loop["rejection_fan_speed"])
        bars = cdu_loading_figure(res)
        assert list(bars.data[0].y) == pytest.approx(list(res.cdu_groups()["loading"] * 100.0))
    assert fans[1] > fans[0]  # a hotter day: the dry coolers' fans work harder


def test_the_one_line_diagram_shows_every_component_its_loading_and_n_minus_1_verdict():
    from twin.report.figures import one_line_figure

    res = twin.evaluate(twin.load_layout(ROOT / "layouts" / "rack-nvl72.yaml"), utilisation=0.8)
    fig = one_line_figure(res)
    nodes = res.power_nodes().set_index("name")
    shown = {n: (c, w) for tr in fig.data[1:] for n, c, w in
             zip(tr.customdata, tr.marker.color, tr.marker.line.width, strict=True)}
    assert sorted(shown) == sorted(nodes.index)
    fails = {c.failed for c in res.power_cases if not c.survives}
    assert fails  # single-corded racks on one feed: losing any component upstream drops racks
    for name, (colour, ring) in shown.items():
        assert colour == pytest.approx(nodes.loc[name, "loading"] * 100.0)
        assert (ring == 3) == (name in fails)


def test_a_large_one_line_diagram_folds_its_deepest_levels():
    from twin.report.figures import one_line_figure

    res = twin.evaluate(twin.load_layout(ROOT / "layouts" / "hall-100mw.yaml"), utilisation=0.8,
                        with_n_minus_1=False)
    full = one_line_figure(res)
    assert sum(len(tr.x) for tr in full.data[1:]) == len(res.factory.power)
    folded = one_line_figure(res, max_nodes=60)
    kinds = {tr.name for tr in folded.data[1:]}
    assert "busway" not in kinds
    assert sum(len(tr.x) for tr in folded.data[1:]) <= 60
    assert "folded" in folded.layout.title.text


def test_a_rack_supply_what_if_moves_the_facility_water_with_it():
    from twin.engine.whatif import with_rack_supply
    from twin.errors import ArgumentError

    f = twin.load_layout(ROOT / "layouts" / "pod-8x-nvl72.yaml")
    base = twin.evaluate(f, utilisation=0.8, with_n_minus_1=False).loops().iloc[0]
    warm = twin.evaluate(with_rack_supply(f, base["rack_setpoint_c"] + 8.0), utilisation=0.8,
                         with_n_minus_1=False).loops().iloc[0]
    assert warm["rack_setpoint_c"] == pytest.approx(base["rack_setpoint_c"] + 8.0)
    assert warm["facility_setpoint_c"] == pytest.approx(base["facility_setpoint_c"] + 8.0)
    # the GPUs sit on the rack coolant: 8 K warmer coolant, GPUs warmer by about as much
    assert warm["max_gpu_temp_c"] - base["max_gpu_temp_c"] == pytest.approx(8.0, abs=1.0)
    with pytest.raises(ArgumentError, match="outside"):
        with_rack_supply(f, 95.0)


def test_the_loop_schematic_carries_the_engines_temperatures(pod):
    from twin.report.figures import loop_schematic_figure
    from twin.ui.pages.cooling import limit_text

    texts = " ".join(a.text for a in loop_schematic_figure(pod).layout.annotations)
    lp = pod.loops().iloc[0]
    for col in ("rack_supply_c_max", "facility_supply_c", "facility_return_c", "max_gpu_temp_c"):
        assert f"{lp[col]:.1f} degC" in texts
    flow_l_s = pod.racks()["coolant_flow_m3_s"].sum() * 1e3
    assert f"{flow_l_s:,.1f} L/s" in texts
    assert f"{pod.cooling.max_ambient_c:.1f} degC ambient" in limit_text(pod)


@needs_browser
def test_the_cooling_page_follows_the_supply_temperature_a_planner_sets(app_url, browser):
    from selenium.webdriver.common.keys import Keys

    from twin.engine.whatif import with_rack_supply

    browser.get(app_url + "/cooling")
    wait_for_text(browser, "cooling-limit", lambda s: "ambient" in s)
    assert wait_for_text(browser, "loop-0-4", lambda s: s == "40.0")  # the pod's own setpoint
    thumb = browser.find_element(By.CSS_SELECTOR, "#cooling-supply [role=slider]")
    thumb.click()
    for _ in range(10):  # ten 1 K steps down, as a planner nudges it with the keyboard
        thumb.send_keys(Keys.ARROW_LEFT)
    f = twin.load_layout(ROOT / "layouts" / "pod-8x-nvl72.yaml")
    want = twin.evaluate(with_rack_supply(f, 30.0), utilisation=0.8, with_n_minus_1=False,
                         ambient_c=35.0).loops().iloc[0]
    # the rack supply the engine gets: 30 degC asked, but with the facility water at 25 degC on a
    # 35 degC day the pod's dry coolers (10 K approach, no trim chillers) fall short, as the page shows
    rack = f"{want['rack_supply_c_max']:.1f}"
    assert float(rack) >= 30.0
    assert wait_for_text(browser, "loop-0-4", lambda s: s == rack) == rack
    assert wait_for_text(browser, "loop-0-7", lambda s: s == f"{want['max_gpu_temp_c']:.1f}")
    screenshot(browser, "cooling-pod-30c")


def test_a_layout_without_cooling_has_a_floor_plan_of_power_only(tmp_path):
    from twin.report.figures import floor_metrics

    text = (ROOT / "layouts" / "pod-8x-nvl72.yaml").read_text()
    start = text.index("    cooling:\n")
    end = text.find("\n  - ", start)
    cut = text[:start] + (text[end:] if end >= 0 else "\n")
    path = tmp_path / "pod-no-cooling.yaml"
    path.write_text(cut)
    res = twin.evaluate(twin.load_layout(path), utilisation=0.8, with_n_minus_1=False)
    assert res.cooling is None
    assert floor_metrics(res) == ["rack_input_w", "psu_load_fraction"]
    fig = floor_plan_figure(res)
    assert sum(len(tr.x) for tr in fig.data) == res.factory.num_racks
    with pytest.raises(ValueError, match="cannot be coloured by 'gpu_temp_c'"):
        floor_plan_figure(res, "gpu_temp_c")


@needs_browser
def test_a_planner_downloads_the_layout_report(app_url, browser):
    from twin.report.document import SECTION_TITLES

    from .conftest import downloads_dir

    out = downloads_dir() / "pod-8x-nvl72-report.html"
    out.unlink(missing_ok=True)
    browser.get(app_url + "/")
    wait_for_text(browser, "cap-IT-power", lambda s: "MW" in s)
    browser.find_element(By.ID, "report-html").click()
    wait_for_text(browser, "report-status", lambda s: s.startswith("pod-8x-nvl72-report.html"))
    until(out.exists, 30.0, "the downloaded report")
    html = out.read_text(encoding="utf-8")
    for title in SECTION_TITLES:
        if title not in ("Serving and economics", "Annual figures"):  # the layout page's has no scenario
            assert f">{title}<" in html
    assert "<script src=" not in html  # self-contained: opens offline


@needs_browser
def test_a_malformed_upload_shows_its_line_numbered_problem_in_the_page(app_url, browser, tmp_path):
    text = (ROOT / "layouts" / "rack-nvl72.yaml").read_text().replace("racks_per_row: 1",
                                                                     "racks_per_row: many")
    bad = tmp_path / "mine.yaml"
    bad.write_text(text)
    browser.get(app_url + "/")
    wait_for_text(browser, "cap-IT-power", lambda s: "MW" in s)
    browser.find_element(By.CSS_SELECTOR, "#layout-upload input[type=file]").send_keys(str(bad))
    problems = wait_for_text(browser, "problems", lambda s: "mine.yaml" in s)
    assert "mine.yaml:17: halls[0].rows[0].racks_per_row" in problems
    screenshot(browser, "layout-bad-upload")


def test_only_a_shipped_layout_is_read_by_name():
    factory, problems = load_choice("../pyproject.toml", None, None, LAYOUTS_DIR)
    assert factory is None
    assert "not a layout of layouts/" in problems


@needs_browser
def test_a_link_with_a_layout_opens_the_page_on_it(app_url, browser):
    browser.get(app_url + "/?layout=rack-nvl72.yaml")
    assert wait_for_text(browser, "cap-racks", lambda s: s == "1") == "1"


@needs_browser
def test_the_menu_lists_the_pages_in_their_order(app_url, browser):
    browser.get(app_url + "/")
    wait_for_text(browser, "cap-racks", lambda s: s != "")
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "a[href^='/']")]
    assert links[:7] == ["Layout", "Power", "Cooling", "Scenarios", "Fabric", "Tokens & money", "Compare"]


def test_racks_sit_along_their_rows_at_their_catalog_widths():
    res = twin.evaluate(twin.load_layout(ROOT / "layouts" / "campus-1gw.yaml"), utilisation=0.8,
                        with_n_minus_1=False, with_cooling_n_minus_1=False)
    fig = floor_plan_figure(res)
    tr = fig.data[0]
    racks = res.racks()
    x = dict(zip(tr.customdata, tr.x, strict=True))
    for system in racks["system"].unique():
        row = racks[racks["system"] == system]["row"].iloc[0]
        names = list(racks[racks["row"] == row]["name"])
        width_m = next(s.rack_width_m for s in res.factory.systems if s.name == system)
        assert x[names[1]] - x[names[0]] == pytest.approx(width_m)  # neighbours one rack width apart
    assert {s.rack_width_m for s in res.factory.systems} == {0.6, 0.8}  # NVL72 and HGX
