"""The AI grid page: the map and tables hold what ``twin grid`` computes, in a browser too."""

from __future__ import annotations

from pathlib import Path

import pytest

import twin.grid
from twin.report.grid import grid_figure, region_rows, site_rows, summary_rows, timeline_figure, timeline_rows

from .conftest import choose, needs_browser, screenshot, wait_for_text

ROOT = Path(__file__).resolve().parents[2]
GRID = ROOT / "scenarios" / "grids" / "voice-chat.yaml"


@pytest.fixture(scope="module")
def shipped():
    return twin.grid.simulate(GRID).to_dict()


def test_rows_and_map_hold_the_grids_numbers(shipped):
    d = shipped
    rows = region_rows(d)
    assert [r["region"] for r in rows] == [r["region"] for r in d["regions"]]
    assert rows[0]["missed"] == f"{d['regions'][0]['deadline_miss_rate']:.1%}"
    sites = site_rows(d)
    served = sum(float(s["req/s"].replace(",", "")) for s in sites)
    assert served == pytest.approx(d["totals"]["served_per_s"], rel=1e-3)
    total, central = summary_rows(d)
    assert total["missed"] == f"{d['totals']['deadline_miss_rate']:.1%}"
    assert central["placement"] == "everything at the central site"
    fig = grid_figure(d)
    flows = [t for t in fig.data if t.mode == "lines"]
    assert len(flows) == sum(len(r["sites"]) for r in d["regions"])
    sites_trace = next(t for t in fig.data if t.name.startswith("sites"))
    assert len(sites_trace.x) == len(d["sites"])
    # every site and region has a location: placed by longitude and latitude
    factory = next(s for s in d["sites"] if s["central"])
    i = [s["site"] for s in d["sites"]].index(factory["site"])
    assert (sites_trace.x[i], sites_trace.y[i]) == (factory["location"][1], factory["location"][0])
    assert fig.layout.yaxis.scaleanchor == "x"
    # without locations: the schematic, regions at x = 0 and sites at x = 1
    plain = grid_figure({**d, "sites": [{**s, "location": None} for s in d["sites"]]})
    assert set(next(t for t in plain.data if t.name.startswith("sites")).x) == {1.0}


def test_timeline_rows_and_figure_hold_each_steps_numbers(tmp_path):
    day = tmp_path / "day.yaml"
    day.write_text(GRID.read_text() + "timeline: {duration: 2 h, step: 1 h}\n"
                   "events:\n  - {site: us-west-1, at: 1 h, duration: 1 h, down: true}\n")
    d = twin.grid.simulate(day, policy="nearest").to_dict()
    rows = timeline_rows(d)
    assert [r["UTC"] for r in rows] == ["00:00", "01:00"]
    assert [r["events"] for r in rows] == ["-", "us-west-1 down"]
    assert rows[1]["missed"] == f"{d['timeline'][1]['deadline_miss_rate']:.1%}"
    fig = timeline_figure(d)
    power = [t for t in fig.data if t.stackgroup == "power"]
    assert [t.name for t in power] == [s["site"] for s in d["sites"]]
    step_mw = sum(t.y[1] for t in power)
    assert step_mw == pytest.approx(d["timeline"][1]["site_power_w"] / 1e6)
    # the outage's hour shaded, on both panels
    assert {(sh.x0, sh.x1) for sh in fig.layout.shapes} == {(1.0, 2.0)}
    assert len(fig.layout.shapes) == 2
    assert "energy [MWh]" in summary_rows(d)[0]
    assert timeline_rows(twin.grid.simulate(GRID, policy="nearest").to_dict()) == []


def test_a_bad_grid_file_shows_its_problems(tmp_path):
    from twin.ui.pages.grid import grid_of

    bad = tmp_path / "g.yaml"
    bad.write_text(GRID.read_text().replace("mix: {voice: 0.35, chat: 0.65}", "mix: {voice: 0.35}", 1))
    d, problems = grid_of(bad, None, {})
    assert d is None
    assert "g.yaml:" in problems
    assert "sum to 100 %" in problems


@needs_browser
def test_the_grid_page_shows_the_grid(shipped, app_url, browser):
    browser.get(app_url + "/grid")
    want = summary_rows(shipped)[0]["missed"]
    assert wait_for_text(browser, "grid-total-0-2", lambda s: s.endswith("%"), timeout_s=120) == want
    assert browser.find_elements("css selector", "#grid-map .js-plotly-plot")
    assert wait_for_text(browser, "grid-region-0-0", bool) == shipped["regions"][0]["region"]
    done = wait_for_text(browser, "grid-progress-text", lambda s: s.endswith("done"))
    assert done == "voice-chat.yaml: done"
    screenshot(browser, "grid-voice-chat")
    choose(browser, "grid-policy", "nearest")
    wait_for_text(browser, "grid-total-0-0", lambda s: s.startswith("nearest"), timeout_s=120)
    assert wait_for_text(browser, "grid-total-0-2", bool) == "100.0%"
