"""The Scenarios and Compare pages: a run's figures and tables from the engine, and a real browser.

The figures of a run are checked against the engine's own tables (``steps_table``, the event log,
``kpis``) of a short run (tests/ui/scenarios/pod-short.yaml: the pod for an hour, a utility feed
lost and restored); the months of the annual mode against a synthetic step table with known
answers and a real (short) annual run's totals; the compare table against two evaluations.

The browser tests run the app on the test scenarios (``create_app(scenarios_dir=...)``, so a run
takes seconds, not the three minutes of the shipped design day): run the short scenario and see
its progress and the engine's numbers, download its tables, see a bad file's problems, cancel a
long run and see it stop; and, on ``app.py``, compare two layouts and change one.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twin
from twin.report.timeseries import (
    MONTH_DAYS,
    SERIES,
    annual_figure,
    envelope_index,
    event_marks,
    kpi_rows,
    month_of,
    monthly_table,
    run_figure,
    write_export,
)

from .conftest import ROOT, choose, downloads_dir, free_port, needs_browser, screenshot, until, wait_for_text

SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture(scope="module")
def short_run():
    return twin.simulate(SCENARIOS / "pod-short.yaml")


def test_the_run_figure_is_the_steps_table_scaled(short_run):
    s = short_run.steps_table()
    fig = run_figure(short_run)
    assert len(fig.data) == len(SERIES)
    for trace, (col, (_, _, scale)) in zip(fig.data, SERIES.items(), strict=True):
        assert len(s) <= 4000  # an hour at 1 s: every step drawn
        np.testing.assert_allclose(trace.x, s["time_s"] / 3600.0)
        np.testing.assert_allclose(trace.y, s[col] * scale)
    assert max(fig.data[0].y) == pytest.approx(short_run.kpis()["peak_power_w"] / 1e6)
    # a longer run keeps each bucket's extremes: every drawn point is a step, the peaks are kept
    thin = run_figure(short_run, max_points=300)
    for trace, (col, (_, _, scale)) in zip(thin.data, SERIES.items(), strict=True):
        assert len(trace.y) <= 300
        ix = np.rint(np.asarray(trace.x) * 3600.0 / short_run.physics_step_s).astype(int)
        np.testing.assert_allclose(trace.y, s[col].to_numpy()[ix] * scale)
        assert max(trace.y) == pytest.approx(s[col].max() * scale)
        assert min(trace.y) == pytest.approx(s[col].min() * scale)


def test_envelope_keeps_each_buckets_extremes_in_time_order():
    y = np.array([0.0, 5.0, 1.0, 2.0, -3.0, 4.0, np.nan, 7.0, 1.0, 1.0])
    assert list(envelope_index(y, 100)) == list(range(10))
    ix = envelope_index(y, 4)  # buckets of 5: [0 5 1 2 -3] [4 nan 7 1 1]
    assert list(ix) == [1, 4, 7, 8]


def test_the_events_are_marked_through_every_panel(short_run):
    ev = short_run.events_table()
    assert list(ev["event"]) == ["trip utility-a", "restore utility-a"]
    assert list(ev["time_s"]) == pytest.approx([300.0, 900.0])  # 13:05 and 13:15 of a run from 13:00
    fig = run_figure(short_run)
    lines = sorted({round(sh.x0, 9) for sh in fig.layout.shapes})
    assert lines == [pytest.approx(300.0 / 3600.0), pytest.approx(900.0 / 3600.0)]
    assert len(fig.layout.shapes) == 2 * len(SERIES)
    labels = {a.text: a.x for a in fig.layout.annotations if a.text in set(ev["event"])}
    assert labels == {"trip utility-a": pytest.approx(300 / 3600), "restore utility-a": pytest.approx(0.25)}


def test_events_at_the_same_moment_are_one_mark():
    class Fake:
        def events_table(self):
            return pd.DataFrame({"time_s": [600.0, 0.0, 600.0], "event": ["trip b", "start", "trip c"]})

    assert event_marks(Fake()) == [(0.0, "start"), (600.0, "trip b; trip c")]


def test_the_kpi_table_holds_the_engines_figures(short_run):
    k = short_run.kpis()
    s = short_run.steps_table()
    dt = short_run.physics_step_s
    rows = {r["key"]: r["value"] for r in kpi_rows(short_run)}
    assert k["energy_j"] == pytest.approx(s["meter_w"].sum() * dt, rel=1e-9)  # the steps' integral
    assert rows["energy_j"] == f"{s['meter_w'].sum() * dt / 3.6e9:,.3f} MWh"
    assert rows["peak_power_w"] == f"{s['meter_w'].max() / 1e6:,.3f} MW"
    assert rows["max_gpu_temp_c"] == f"{s['max_gpu_temp_c'].max():.1f} degC"
    assert rows["pue"] == f"{short_run.facility_energy_j / short_run.it_energy_j:.3f}"
    assert rows["cost_usd"] == f"{short_run.costs.kpis['cost_usd']:,.0f} USD"
    assert rows["duration_s"] == "1.00 h"


def test_the_months_of_an_annual_run_aggregate_its_hours():
    # a synthetic year's first 1,500 hours: January at PUE 1.2, February at 1.5, March at 1.1;
    # two racks throttled for 10 h in January, one for 5 h in March
    t = np.arange(1500) * 3600.0
    m = month_of(t)
    assert list(np.bincount(m)[1:4]) == [744, 672, 84]
    it = np.full(1500, 2.0e6)
    fac = np.select([m == 1, m == 2], [2.4e6, 3.0e6], 2.2e6)
    thr = np.zeros(1500)
    thr[100:110] = 2
    thr[1450:1455] = 1
    steps = pd.DataFrame({"time_s": t, "facility_w": fac, "it_w": it, "throttled_racks": thr,
                          "max_gpu_temp_c": np.where(thr > 0, 90.0, 60.0), "dry_bulb_c": m * 1.0,
                          "tokens_per_s": np.ones(1500)})
    mt = monthly_table(steps, 3600.0)
    assert list(mt["name"]) == ["Jan", "Feb", "Mar"]
    assert list(mt["hours"]) == [744.0, 672.0, 84.0]
    assert list(mt["pue"]) == pytest.approx([1.2, 1.5, 1.1])
    assert list(mt["throttled_hours"]) == [10.0, 0.0, 5.0]
    assert list(mt["throttled_rack_hours"]) == [20.0, 0.0, 5.0]
    assert list(mt["max_gpu_temp_c"]) == [90.0, 60.0, 90.0]
    assert list(mt["facility_energy_j"]) == pytest.approx([2.4e6 * 744 * 3600, 3.0e6 * 672 * 3600,
                                                           2.2e6 * 84 * 3600])
    assert list(mt["output_tokens"]) == pytest.approx([744 * 3600.0, 672 * 3600.0, 84 * 3600.0])
    # the weather year wraps: hour 8760 is 1 January again
    assert list(month_of(np.array([0.0, sum(MONTH_DAYS) * 86400.0 - 1.0, sum(MONTH_DAYS) * 86400.0]))) == [
        1, 12, 1]


def test_a_short_annual_run_by_month_sums_to_the_run(tmp_path):
    path = tmp_path / "annual.yaml"
    path.write_text(f"name: annual-test\nlayout: {ROOT / 'layouts' / 'rack-nvl72.yaml'}\n"
                    "run: {duration: 800 h, mode: annual}\nweather: {tmy: default}\n"
                    "deployments:\n  - {name: chat, racks: '*', model: llama-3.1-70b, precision: fp8,\n"
                    "     tp: 8, workload: {rate: 60, input_tokens: 2048, output_tokens: 256}}\n")
    res = twin.simulate(path, with_reference=False, priced=False)
    mt = monthly_table(res.steps_table(), res.physics_step_s)
    assert list(mt["hours"]) == [744.0, 56.0]
    assert mt["facility_energy_j"].sum() == pytest.approx(res.facility_energy_j, rel=1e-9)
    assert mt["it_energy_j"].sum() == pytest.approx(res.it_energy_j, rel=1e-9)
    assert mt["facility_energy_j"].sum() / mt["it_energy_j"].sum() == pytest.approx(res.pue, rel=1e-9)
    s = res.steps_table()
    jan = s[s["time_s"] < 31 * 86400.0]
    assert mt["pue"].iloc[0] == pytest.approx(jan["facility_w"].sum() / jan["it_w"].sum(), rel=1e-12)
    fig = annual_figure(res)
    assert list(fig.data[0].x) == ["Jan", "Feb"]
    assert list(fig.data[0].y) == pytest.approx(list(mt["pue"]))
    assert list(fig.data[1].y) == pytest.approx(list(mt["throttled_hours"]))


def test_the_export_holds_every_table_and_the_steps_as_csv(short_run, tmp_path):
    out = write_export(short_run, tmp_path / "run.zip")
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"steps.parquet", "racks.parquet", "components.parquet", "events.parquet",
                "costs.parquet", "steps.csv"} <= names
        z.extractall(tmp_path / "x")
    steps = pd.read_parquet(tmp_path / "x" / "steps.parquet")
    np.testing.assert_allclose(steps["meter_w"], short_run.steps_table()["meter_w"])
    csv = pd.read_csv(tmp_path / "x" / "steps.csv")
    np.testing.assert_allclose(csv["it_w"], short_run.steps_table()["it_w"], rtol=1e-12)
    assert list(pd.read_parquet(tmp_path / "x" / "events.parquet")["event"]) == list(
        short_run.events_table()["event"])
    assert [p.name for p in tmp_path.iterdir()] == ["run.zip", "x"]  # nothing else left beside it


def test_a_bad_scenario_shows_its_problems_and_only_the_folders_files_are_read():
    from twin.ui.choice import load_scenario_choice

    prepared, problems = load_scenario_choice("with-problems.yaml", SCENARIOS)
    assert prepared is None
    assert "with-problems.yaml:5: run.duration" in problems
    assert "with-problems.yaml:12: deployments[0].workload.rate" in problems
    assert "Traceback" not in problems
    for sneaky in ("../scenarios/pod-short.yaml", "/etc/passwd", None, "missing.yaml"):
        assert load_scenario_choice(sneaky, SCENARIOS)[0] is None
    assert load_scenario_choice("pod-short.yaml", SCENARIOS)[0].scenario.name == "pod-short"


def test_the_progress_bar_covers_the_run_and_its_reference():
    from twin.ui.pages.scenarios import Progress

    seen = []
    p = Progress("x", 2, lambda pct, text: seen.append((pct, text)))
    p.hook(0)(0.0, 100.0)
    p.hook(0)(100.0, 100.0)
    p.hook(1)(100.0, 100.0)
    assert [s[0] for s in seen] == [0.0, 50.0, 100.0]
    assert "reference" in seen[-1][1]
    assert "100 s of 100 s" in seen[-1][1]


@pytest.fixture(scope="module")
def pod_and_rack():
    from twin.ui.choice import evaluate_layout

    return tuple(evaluate_layout(twin.load_layout(ROOT / "layouts" / n))
                 for n in ("pod-8x-nvl72.yaml", "rack-nvl72.yaml"))


def test_the_compare_table_is_the_two_evaluations_and_their_difference(pod_and_rack):
    from twin.report.compare import compare_figure, compare_rows, stage_powers_w

    a, b = pod_and_rack
    rows = {r["key"]: r for r in compare_rows(a, b)}
    want = {"racks": (8, 1), "gpus": (576, 72), "it_power_w": (a.it_power_w, b.it_power_w),
            "facility_power_w": (a.facility_power_w, b.facility_power_w), "pue": (a.pue, b.pue),
            "losses_w": (a.losses_total_w, b.losses_total_w),
            "max_gpu_temp_c": (a.racks()["gpu_temp_c"].max(), b.racks()["gpu_temp_c"].max()),
            "min_throttle_margin_k": (a.racks()["throttle_margin_k"].min(),
                                      b.racks()["throttle_margin_k"].min()),
            "max_cdu_loading": (a.cdu_groups()["loading"].max(), b.cdu_groups()["loading"].max()),
            "it_power_per_rack_w": (a.it_power_w / 8, b.it_power_w / 1)}
    for key, (va, vb) in want.items():
        assert rows[key]["a"] == pytest.approx(va), key
        assert rows[key]["b"] == pytest.approx(vb), key
        assert rows[key]["diff"] == pytest.approx(vb - va), key
    assert rows["it_power_w"]["B-A"] == f"{(b.it_power_w - a.it_power_w) / 1e6:+,.3f} MW"
    assert rows["racks"]["A"] == "8"
    assert rows["racks"]["B-A"] == "-7"
    fails = sum(not c.survives for c in b.power_cases)
    assert rows["n_minus_1_failures"]["b"] == fails
    verdict = {True: "holds", False: "FAILS"}
    assert (rows["n_minus_1"]["A"], rows["n_minus_1"]["B"]) == (verdict[a.n_minus_1_survives],
                                                                verdict[b.n_minus_1_survives])
    # the figure's stacked stages make each design's facility power
    fig = compare_figure(a, b)
    mw = [t for t in fig.data if t.xaxis == "x"]
    assert sum(t.y[0] for t in mw) == pytest.approx(a.facility_power_w / 1e6, rel=1e-9)
    assert sum(t.y[1] for t in mw) == pytest.approx(b.facility_power_w / 1e6, rel=1e-9)
    share = [t for t in fig.data if t.xaxis == "x2"]
    assert sum(t.y[1] for t in share) == pytest.approx(100.0)
    assert sum(stage_powers_w(a).values()) == pytest.approx(a.facility_power_w, rel=1e-9)


# ---------------------------------------------------------------------------------- in a browser
@pytest.fixture(scope="module")
def scenarios_app():
    """The app on the test scenarios (tests/ui/scenarios), on a free port; its process and address."""
    port = free_port()
    code = ("import sys; from twin.ui import create_app; "
            "create_app(scenarios_dir=sys.argv[1]).run(host='127.0.0.1', port=int(sys.argv[2]), debug=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(SCENARIOS), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                    break
            except OSError:
                assert proc.poll() is None, "the app exited"
                time.sleep(0.2)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _progress(browser) -> float:
    from selenium.webdriver.common.by import By

    return float(browser.find_element(By.ID, "sc-progress").get_attribute("value") or 0.0)


def _enabled(browser, element_id: str) -> bool:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, element_id).is_enabled()


@needs_browser
def test_a_planner_runs_downloads_and_cancels_scenarios(short_run, scenarios_app, browser):
    import psutil
    from selenium.webdriver.common.by import By

    proc, url = scenarios_app
    browser.get(url + "/scenarios")
    # the folder's first file
    wait_for_text(browser, "sc-choice", lambda s: "pod-short.yaml" in s, timeout_s=20.0)
    browser.find_element(By.ID, "sc-run").click()
    seen = set()

    def finished():
        seen.add(_progress(browser))
        return browser.find_elements(By.ID, "sc-kpi-energy_j")

    until(finished, 60.0, "the run's KPI table")
    assert any(0.0 < v < 100.0 for v in seen), seen  # the bar moved on the way
    k = short_run.kpis()  # the same scenario through twin.simulate: deterministic
    assert browser.find_element(By.ID, "sc-kpi-energy_j").text == f"{k['energy_j'] / 3.6e9:,.3f} MWh"
    assert browser.find_element(By.ID, "sc-kpi-peak_power_w").text == f"{k['peak_power_w'] / 1e6:,.3f} MW"
    assert browser.find_element(By.ID, "sc-kpi-output_tokens").text == f"{k['output_tokens']:.4g}"
    assert browser.find_element(By.ID, "sc-kpi-max_gpu_temp_c").text == f"{k['max_gpu_temp_c']:.1f} degC"
    assert browser.find_element(By.ID, "sc-kpi-pue").text == f"{k['pue']:.3f}"
    assert "invariants: all hold" in browser.find_element(By.ID, "sc-status").text
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#sc-figure .js-plotly-plot"), 20.0, "the figure")
    assert "trip utility-a" in browser.find_element(By.ID, "sc-events").text
    screenshot(browser, "scenarios-pod")

    # download the run's tables
    zip_path = downloads_dir() / "pod-short-results.zip"
    zip_path.unlink(missing_ok=True)
    until(lambda: _enabled(browser, "sc-download-button"), 10.0, "the download button")
    browser.find_element(By.ID, "sc-download-button").click()
    until(lambda: zip_path.is_file() and zip_path.stat().st_size > 0, 20.0, "the downloaded zip")
    time.sleep(0.5)  # Chrome renames the finished download into place; let it finish writing
    with zipfile.ZipFile(zip_path) as z:
        assert {"steps.parquet", "racks.parquet", "components.parquet", "events.parquet",
                "steps.csv"} <= set(z.namelist())
        with z.open("steps.parquet") as f:
            steps = pd.read_parquet(f)
    np.testing.assert_allclose(steps["meter_w"], short_run.steps_table()["meter_w"])

    # a bad file: its problems on the page, the last results kept
    choose(browser, "sc-choice", "with-problems.yaml")
    browser.find_element(By.ID, "sc-run").click()
    problems = wait_for_text(browser, "sc-problems", lambda s: "run.duration" in s, timeout_s=30.0)
    assert "with-problems.yaml:5: run.duration" in problems
    assert "Traceback" not in problems

    # a long run, cancelled: it stops (its process ends) and the page says so
    choose(browser, "sc-choice", "pod-slow.yaml")
    until(lambda: _enabled(browser, "sc-run"), 10.0, "the run button")
    browser.find_element(By.ID, "sc-run").click()
    wait_for_text(browser, "sc-progress-text", lambda s: "pod-slow" in s and "ETA" in s, timeout_s=30.0)
    until(lambda: _progress(browser) > 0.0, 30.0, "the long run's progress")
    assert _enabled(browser, "sc-cancel")
    assert not _enabled(browser, "sc-run")
    assert psutil.Process(proc.pid).children(recursive=True)  # the run's process
    browser.find_element(By.ID, "sc-cancel").click()
    wait_for_text(browser, "sc-cancelled", lambda s: s.startswith("Run cancelled"), timeout_s=10.0)
    until(lambda: _enabled(browser, "sc-run"), 10.0, "the run button back")
    until(lambda: not [c for c in psutil.Process(proc.pid).children(recursive=True)
                        if c.status() != psutil.STATUS_ZOMBIE], 10.0, "the run's process ending")
    stopped_at = _progress(browser)
    assert stopped_at < 100.0
    time.sleep(1.5)
    assert _progress(browser) == stopped_at  # nothing runs on
    assert "pod-slow" not in browser.find_element(By.ID, "sc-status").text
    screenshot(browser, "scenarios-cancelled")


@needs_browser
def test_the_compare_page_follows_the_layouts(pod_and_rack, app_url, browser):
    from selenium.webdriver.common.by import By

    a, b = pod_and_rack
    browser.get(app_url + "/compare")
    assert wait_for_text(browser, "cmp-racks-b", lambda s: s != "") == "1"
    assert browser.find_element(By.ID, "cmp-racks-a").text == "8"
    assert browser.find_element(By.ID, "cmp-it_power_w-b").text == f"{b.it_power_w / 1e6:,.3f} MW"
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#cmp-figure .js-plotly-plot"), 20.0, "the figure")
    screenshot(browser, "compare-pod-rack")
    choose(browser, "cmp-b", "hall-100mw.yaml")
    from twin.ui.choice import evaluate_layout

    hall = evaluate_layout(twin.load_layout(ROOT / "layouts" / "hall-100mw.yaml"))
    wait_for_text(browser, "cmp-racks-b", lambda s: s == f"{hall.factory.num_racks:,}")
    assert browser.find_element(By.ID, "cmp-it_power_w-b").text == f"{hall.it_power_w / 1e6:,.3f} MW"
    assert browser.find_element(By.ID, "cmp-it_power_w-diff").text == (
        f"{(hall.it_power_w - a.it_power_w) / 1e6:+,.3f} MW")
    assert browser.find_element(By.ID, "cmp-racks-a").text == "8"  # A stays
    screenshot(browser, "compare-pod-hall")
    # the shipped app's Scenarios page opens on the shipped design day
    browser.get(app_url + "/scenarios")
    wait_for_text(browser, "sc-choice", lambda s: "pod-design-day.yaml" in s)
