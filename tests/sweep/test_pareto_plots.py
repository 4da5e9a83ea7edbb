"""The Pareto front of a sweep's results, its figures, ``twin sweep plot`` and the app's Sweeps page.

``pareto_mask`` is checked against a brute-force O(n^2) dominance check on random tables with ties,
NaNs and infinities, and on a hand case; the results are a synthetic results folder written here
(a table to Parquet and a sweep.yaml, as the runner writes them), whose Pareto rows are found by
brute force and must be exactly the ones the scatter marks, the CLI counts and the app lists.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.ui.conftest import (
    browser,  # noqa: F401  (the shared headless Chromium fixture)
    choose,
    needs_browser,
    screenshot,
    until,
    wait_for_text,
)
from twin.errors import ArgumentError, InputError
from twin.sweep.pareto import better_high, front_rows, is_number_column, pareto_mask, read_results
from twin.sweep.plots import parallel_figure, scatter_figure, write_plot_html

ROOT = Path(__file__).resolve().parents[2]
AXES = ["halls[*].cooling.facility_supply_temp", "model"]
KPIS = ["tokens_per_dollar", "facility_power_w", "pue", "n_minus_1_survives"]
CONSTRAINT = "constraint: max_gpu_temp_c <= 85"
SWEEP_YAML = """\
name: demo
base: layouts/hall.yaml
axes:
  halls[*].cooling.facility_supply_temp: [30 degC, 35 degC, 40 degC, 45 degC]
  model: [llama-70b, deepseek-r1]
kpis: [tokens_per_dollar, facility_power_w, pue, n_minus_1_survives]
constraints: [max_gpu_temp_c <= 85]
seed: 1
"""


def brute_force(values, maximise) -> np.ndarray:
    """Rows no other row dominates (no worse everywhere, better somewhere); rows with a NaN are out."""
    v = np.where(np.asarray(maximise, dtype=bool), -np.asarray(values, dtype=float), values)
    ok = ~np.isnan(v).any(axis=1)
    out = np.zeros(len(v), dtype=bool)
    for i in np.flatnonzero(ok):
        out[i] = not any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in np.flatnonzero(ok))
    return out


def synthetic(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A results table as the runner writes it: axes, KPIs (with ties), constraints, a few failures."""
    rng = np.random.default_rng(seed)
    temp = rng.choice([303.15, 308.15, 313.15, 318.15], n)
    df = pd.DataFrame({
        "scenario": np.arange(n),
        "key": [f"{rng.integers(2**62):016x}" for _ in range(n)],
        AXES[0]: temp,
        AXES[1]: rng.choice(["llama-70b", "deepseek-r1"], n),
        "tokens_per_dollar": (tpd := np.round(rng.uniform(1e5, 1e6, n), -4)),  # ties
        # more tokens per dollar costs power (a trade-off, so a front of several designs); ties
        "facility_power_w": np.round(40e6 + 60.0 * tpd + rng.uniform(0.0, 20e6, n), -6),
        "pue": rng.uniform(1.05, 1.4, n),
        "n_minus_1_survives": rng.random(n) < 0.8,
        CONSTRAINT: rng.random(n) < 0.8,
    })
    df["feasible"] = df[CONSTRAINT] & df["n_minus_1_survives"]
    df["status"], df["error"], df["wall_s"] = "ok", "", rng.uniform(0.1, 0.5, n)
    failed = [3, 17, 40]
    df.loc[failed, "status"] = "failed"
    df.loc[failed, "error"] = "ValueError: the hall does not fit"
    df.loc[failed, ["tokens_per_dollar", "facility_power_w", "pue"]] = np.nan
    df.loc[failed, ["feasible", CONSTRAINT]] = False
    return df


def write_results(folder: Path, df: pd.DataFrame, spec: str = SWEEP_YAML) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "results.parquet", index=False)
    (folder / "sweep.yaml").write_text(spec, encoding="utf-8")
    return folder


def expected_front(df: pd.DataFrame, x: str = "tokens_per_dollar", y: str = "facility_power_w",
                   maximise=(True, False)) -> set[int]:
    good = df[(df["status"] == "ok") & df["feasible"]]
    mask = brute_force(good[[x, y]].to_numpy(dtype=float), maximise)
    return set(good["scenario"][mask])


@pytest.fixture
def results_dir(tmp_path):
    return write_results(tmp_path / "demo", synthetic())


# ------------------------------------------------------------------------------------ pareto_mask
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3])
def test_pareto_mask_is_the_brute_force_front(seed, k):
    rng = np.random.default_rng(seed)
    n = 150
    v = rng.integers(0, 7, (n, k)).astype(float)  # few values: many ties and equal rows
    v[rng.random((n, k)) < 0.03] = np.nan
    v[rng.random((n, k)) < 0.02] = np.inf
    v[rng.random((n, k)) < 0.02] = -np.inf
    v[:5] = v[5]  # equal rows
    maximise = list(rng.random(k) < 0.5)
    got = pareto_mask(v, maximise)
    np.testing.assert_array_equal(got, brute_force(v, maximise))
    assert got.any()
    # continuous values too
    w = rng.normal(size=(n, k))
    np.testing.assert_array_equal(pareto_mask(w, maximise), brute_force(w, maximise))


def test_pareto_mask_hand_case():
    v = np.array([[1, 5], [2, 3], [2, 3], [3, 4], [4, 1], [np.nan, 0], [5, 1], [0, np.inf]])
    # minimise both: (3, 4) is beaten by (2, 3), (5, 1) by (4, 1); the two (2, 3) stay; NaN is out;
    # (0, inf) has the smallest x
    assert list(pareto_mask(v, [False, False])) == [True, True, True, False, True, False, False, True]
    # maximise both: (2, 3) is beaten by (3, 4), (4, 1) by (5, 1); (1, 5), (3, 4), (5, 1) and (0, inf)
    # (the largest y) are beaten by nothing
    assert list(pareto_mask(v, [True, True])) == [True, False, False, True, False, False, True, True]
    assert list(pareto_mask(v, True)) == list(pareto_mask(v, [True, True]))
    assert list(pareto_mask([[1.0], [0.0], [0.0], [np.nan]], [False])) == [False, True, True, False]
    three = [[1, 1, 1], [1, 1, 1], [0, 2, 2], [2, 2, 2], [1, 1, 2]]
    assert list(pareto_mask(three, [False] * 3)) == [True, True, True, False, False]
    assert pareto_mask(np.empty((0, 2)), [False, False]).shape == (0,)
    with pytest.raises(ArgumentError, match="one flag per objective"):
        pareto_mask(v, [False])
    with pytest.raises(ArgumentError, match="2-D"):
        pareto_mask([1.0, 2.0], [False])


@pytest.mark.parametrize("k", [2, 3, 4])
def test_pareto_mask_of_50000_rows_is_fast(k):
    v = np.random.default_rng(k).random((50_000, k))
    t0 = time.perf_counter()
    front = pareto_mask(v, [True] + [False] * (k - 1))
    assert time.perf_counter() - t0 < 1.0
    assert 0 < front.sum() < 2_000


def test_kpi_directions():
    assert better_high("tokens_per_dollar")
    assert better_high("tokens_per_s")
    assert better_high("power_margin_w")
    assert better_high("n_minus_1_survives")
    for low in ("facility_power_w", "pue", "usd_per_million_tokens", "max_gpu_temp_c", "capex_usd",
                "ttft_p99_s"):
        assert not better_high(low), low
    for high in ("output_tokens_per_s", "tokens_per_mw", "min_slo_met_share", "min_throttle_margin_k",
                 "max_ambient_c", "first_limit_growth", "cooling_n_minus_1_survives"):
        assert better_high(high), high
    assert better_high("pue", {"pue": True})
    with pytest.raises(ArgumentError, match="better high or low"):
        better_high("racks_per_row")


# --------------------------------------------------------------------------------- read_results
def test_read_results_names_the_axes_and_kpis(results_dir):
    df, axes, kpis = read_results(results_dir)
    assert axes == AXES
    assert kpis == KPIS
    assert len(df) == 60
    assert df.attrs["name"] == "demo"
    assert df.attrs["axes"] == AXES
    assert not is_number_column(df[AXES[1]])
    assert is_number_column(df[AXES[0]])
    assert df["feasible"].dtype == bool


def test_read_results_refuses_what_is_not_a_sweeps_results(tmp_path, results_dir):
    with pytest.raises(InputError, match="no such folder"):
        read_results(tmp_path / "nothing")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="not a sweep's results folder: it has no results.parquet"):
        read_results(foreign)
    with pytest.raises(InputError, match="is a file"):
        read_results(foreign / "notes.txt")
    (results_dir / "sweep.yaml").unlink()
    with pytest.raises(InputError, match="it has no sweep.yaml"):
        read_results(results_dir)
    # a column the sweep file names is missing: named, with a did-you-mean
    df = synthetic().rename(columns={"facility_power_w": "facility_power"})
    with pytest.raises(InputError, match=r"no column 'facility_power_w' \(did you mean 'facility_power'\?\)"):
        read_results(write_results(tmp_path / "renamed", df))
    with pytest.raises(InputError, match="no column 'status'"):
        read_results(write_results(tmp_path / "nostatus", synthetic().drop(columns="status")))
    bad = write_results(tmp_path / "bad", synthetic())
    (bad / "results.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match="cannot be read as a Parquet table"):
        read_results(bad)
    with pytest.raises(InputError, match=r"sweep.yaml:2: axes: expected a mapping"):
        read_results(write_results(tmp_path / "noaxes", synthetic(), "name: x\naxes: 3\nkpis: [pue]\n"))


# ------------------------------------------------------------------------------------- figures
def _scenarios(trace) -> list[int]:
    return [int(c[0]) for c in trace.customdata]


def test_the_scatter_marks_exactly_the_pareto_rows(results_dir):
    df, axes, _ = read_results(results_dir)
    fig = scatter_figure(df, "tokens_per_dollar", "facility_power_w", color="pue")
    front = [t for t in fig.data if t.name.startswith("Pareto front")]
    assert len(front) == 1
    want = expected_front(df)
    assert set(_scenarios(front[0])) == want
    assert len(want) >= 2
    assert list(front[0].x) == sorted(front[0].x)  # joined in order of x
    assert set(np.flatnonzero(front_rows(df, "tokens_per_dollar", "facility_power_w"))) == want
    # every row that ran is drawn once, infeasible ones grey; failed rows are left out and counted
    points = [t for t in fig.data if t not in front]
    drawn = [s for t in points for s in _scenarios(t)]
    ran = df[df["status"] == "ok"]
    assert sorted(drawn) == sorted(ran["scenario"])
    grey = next(t for t in points if t.name.startswith("infeasible"))
    assert set(_scenarios(grey)) == set(ran["scenario"][~ran["feasible"]])
    assert grey.marker.color == "#b8b8b8"
    assert "3 failed (not shown)" in fig.layout.title.text
    # the hover names the scenario and every axis value
    assert all(f"{a}: " in front[0].hovertemplate for a in ["scenario", *axes])
    # other directions, another front
    fig2 = scatter_figure(df, "tokens_per_dollar", "facility_power_w", maximise=(True, True))
    front2 = next(t for t in fig2.data if t.name.startswith("Pareto front"))
    assert set(_scenarios(front2)) == expected_front(df, maximise=(True, True))


def test_the_scatter_colours_by_a_text_axis(results_dir):
    df, _, _ = read_results(results_dir)
    fig = scatter_figure(df, "pue", "tokens_per_dollar", color="model")
    names = {t.name for t in fig.data}
    assert {"model = llama-70b", "model = deepseek-r1"} <= names
    for t in fig.data:
        if t.name.startswith("model = "):
            assert set(df.loc[_scenarios(t), "model"]) == {t.name.removeprefix("model = ")}


def test_the_parallel_figure_has_the_axes_then_the_kpis(results_dir):
    df, axes, kpis = read_results(results_dir)
    fig = parallel_figure(df, axes, kpis)
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == axes + kpis
    model = dims[1]
    assert set(model.ticktext) == {"llama-70b", "deepseek-r1"}
    ran = df[df["status"] == "ok"]
    assert [model.ticktext[int(c)] for c in model.values] == list(ran["model"])
    np.testing.assert_allclose(dims[2].values, ran["tokens_per_dollar"])


def test_the_html_is_self_contained(tmp_path, results_dir):
    df, axes, kpis = read_results(results_dir)
    one = write_plot_html(scatter_figure(df, "pue", "tokens_per_dollar"), tmp_path / "one.html")
    two = write_plot_html([scatter_figure(df, "pue", "tokens_per_dollar"), parallel_figure(df, axes, kpis)],
                          tmp_path / "two.html")
    a, b = one.read_text(encoding="utf-8"), two.read_text(encoding="utf-8")
    assert "<script src=" not in b
    assert not re.search(r"<(script|link)[^>]*(src|href)=", b)  # nothing fetched from outside
    assert b.count("Plotly.newPlot") == 2
    assert len(b) - len(a) < 200_000 < len(a)  # plotly.js (megabytes) is embedded once


# ------------------------------------------------------------------------------------------ CLI
def test_twin_sweep_plot_end_to_end(tmp_path, results_dir):
    out = tmp_path / "plot.html"
    cmd = [sys.executable, "-m", "twin.cli", "sweep", "plot", str(results_dir), "--x", "tokens_per_dollar",
           "--y", "facility_power_w", "--color", "model", "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    n = len(expected_front(synthetic()))
    assert f"60 scenarios (3 failed), {n} on the Pareto front" in r.stderr
    text = out.read_text(encoding="utf-8")
    assert "<script src=" not in text
    assert text.count("Plotly.newPlot") == 2
    # an unknown column: exit 2, a did-you-mean, no traceback
    bad = subprocess.run(cmd[:9] + ["facility_power", "-o", str(out)], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2
    assert ("--y 'facility_power': the results have no such column (did you mean 'facility_power_w'?)"
            in bad.stderr)
    assert "Traceback" not in bad.stderr


def test_twin_sweep_plot_errors_and_directions(tmp_path, results_dir):
    from twin.cli.sweep_plot import plot_cmd

    run = CliRunner().invoke
    out = str(tmp_path / "p.html")
    r = run(plot_cmd, [str(tmp_path), "--x", "pue", "--y", "pue", "-o", out])
    assert r.exit_code == 2
    assert "not a sweep's results folder" in r.output
    r = run(plot_cmd, [str(results_dir), "--x", "scenario", "--y", "pue", "-o", out])
    assert r.exit_code == 2
    assert "say --maximise-x or --minimise-x" in r.output
    r = run(plot_cmd, [str(results_dir), "--x", "scenario", "--minimise-x", "--y", "pue", "--maximise-y",
                       "-o", out])
    assert r.exit_code == 0, r.output
    df = synthetic()
    good = df[(df["status"] == "ok") & df["feasible"]]
    n = int(brute_force(good[["scenario", "pue"]].to_numpy(dtype=float), [False, True]).sum())
    assert f"{n} on the Pareto front of pue against scenario" in r.output
    r = run(plot_cmd, [str(results_dir), "--x", "pue", "--y", "pue", "--colour", "modle", "-o", out])
    assert r.exit_code == 2
    assert "(did you mean 'model'?)" in r.output
    r = run(plot_cmd, [str(results_dir), "--x", "pue", "--y", "pue", "-o", str(tmp_path / "p.png")])
    assert r.exit_code == 2
    assert "written as .html" in r.output


# ------------------------------------------------------------------------------------- the app
def test_the_page_lists_only_results_folders_inside_its_directory(tmp_path):
    from twin.ui.pages.sweeps import load_results_choice, results_names

    sweeps = tmp_path / "sweeps"
    write_results(sweeps / "b-run", synthetic())
    write_results(sweeps / "a-run", synthetic(seed=1))
    (sweeps / "empty").mkdir()
    outside = write_results(tmp_path / "outside", synthetic())
    (sweeps / "link").symlink_to(outside, target_is_directory=True)
    assert results_names(sweeps) == ["a-run", "b-run"]
    got, problems = load_results_choice("a-run", sweeps)
    assert problems is None
    assert got[1] == AXES
    for name in ("link", "../outside", str(outside), "empty", None):
        got, problems = load_results_choice(name, sweeps)
        assert got is None
        assert "not a results folder" in problems


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sweeps_app(tmp_path):
    """The app on a free port with TWIN_SWEEPS_DIR a folder of two synthetic results."""
    sweeps = tmp_path / "sweeps"
    write_results(sweeps / "a-other", synthetic(seed=5))
    write_results(sweeps / "demo", synthetic())
    port = _free_port()
    code = ("import sys; from twin.ui import create_app; "
            "create_app().run(host='127.0.0.1', port=int(sys.argv[1]), debug=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], cwd=ROOT,
                            env={**os.environ, "TWIN_SWEEPS_DIR": str(sweeps)},
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
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _front_scenarios(driver) -> set[int]:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:  # the table may be redrawn while it is read
        return {int(td.text) for td in driver.find_elements(By.CSS_SELECTOR, "#sw-front-table td.scenario")}
    except StaleElementReferenceException:
        return set()


@needs_browser
def test_a_planner_opens_a_sweep_and_sees_its_pareto_front(sweeps_app, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(sweeps_app + "/sweeps")
    wait_for_text(browser, "sw-results", lambda s: "a-other" in s, timeout_s=30.0)
    choose(browser, "sw-results", "demo")
    # x and y default to the first two KPIs, their directions to the KPIs' (max tokens, min power)
    df = synthetic()
    want = expected_front(df)
    until(lambda: _front_scenarios(browser) == want, 30.0, f"the Pareto table lists {sorted(want)}")
    count = wait_for_text(browser, "sw-front-count", lambda s: "Pareto front" in s)
    assert count.startswith(f"{len(want)} scenarios")
    screenshot(browser, "sweeps")
    # lower tokens per dollar is better now: another front
    browser.find_element(By.CSS_SELECTOR, "#sw-x-dir input[value=min]").click()
    other = expected_front(df, maximise=(False, False))
    assert other != want
    until(lambda: _front_scenarios(browser) == other, 30.0, f"the Pareto table lists {sorted(other)}")
