"""The exported layout report: sections, offline HTML, workbook totals against the engine, PDF."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.report.conftest import HALL, needs_chromium
from twin.report import build_report, write_report
from twin.report.bom import bill_of_materials, bom_totals
from twin.report.document import SECTION_TITLES
from twin.report.xlsx import read_table

#: the pod's report has a scenario (the design day), not an annual run
POD_TITLES = tuple(t for t in SECTION_TITLES if t != "Annual figures")


def _headline(path) -> dict:
    return {r["figure"]: r["value"] for r in read_table(path, "Summary", "Headline figures")}


def test_document_has_every_section_in_order(pod_document):
    assert tuple(s.title for s in pod_document.sections) == POD_TITLES
    assert all(s.tables or s.figures for s in pod_document.sections)


def test_without_a_scenario_there_is_no_serving_section(pod):
    results, layout, catalog = pod
    doc = build_report(results, catalog=catalog, layout=layout)
    titles = [s.title for s in doc.sections]
    assert "Serving and economics" not in titles
    assert titles == [t for t in SECTION_TITLES if t not in ("Serving and economics", "Annual figures")]


def test_html_is_self_contained(pod_files, pod_document):
    text = pod_files[".html"].read_text(encoding="utf-8")
    for title in POD_TITLES:
        assert f"<h2>{title}</h2>" in text
    assert not re.search(r"<script[^>]*\bsrc=", text), "the page must load no script from elsewhere"
    assert not re.search(r"<link[^>]*\bhref=\"?https?://", text)
    # plotly.js inline exactly once, however many figures there are
    assert len(re.findall(r"\* plotly\.js v\d", text)) == 1
    figures = sum(len(s.figures) for s in pod_document.sections)
    assert figures >= 8
    assert text.count('class="plotly-graph-div"') == figures


@needs_chromium
def test_html_renders_offline_in_chromium(pod_files, pod_document, tmp_path):
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
         "--virtual-time-budget=10000", "--dump-dom", pod_files[".html"].resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False).stdout
    assert re.findall(r"<h2>([^<]*)</h2>", dom) == list(POD_TITLES)
    # every figure was drawn by the embedded plotly.js (an SVG per figure), with no network
    figures = sum(len(s.figures) for s in pod_document.sections)
    assert dom.count('class="main-svg"') >= figures


def test_xlsx_totals_equal_the_engine(pod_files, pod):
    results = pod[0]
    head = _headline(pod_files[".xlsx"])
    assert head["racks"] == results.factory.num_racks == 8
    assert head["GPUs"] == results.factory.num_gpus == 576
    assert head["IT power"] == pytest.approx(results.it_power_w / 1e6, rel=1e-12)
    assert head["facility power at the meter"] == pytest.approx(results.facility_power_w / 1e6, rel=1e-12)
    assert head["PUE"] == pytest.approx(results.pue, rel=1e-12)
    assert head["power N-1"] == ("holds" if results.n_minus_1_survives else "FAILS")
    # the BOM sheet's totals are the counts of the model
    totals = {(r["category"], r["item"]): r["count"]
              for r in read_table(pod_files[".xlsx"], "Bill of materials", "Totals by item")}
    nodes = results.power_nodes()
    assert totals[("compute", "racks")] == 8
    assert totals[("power", "UPS systems")] == int((nodes["kind"] == "ups").sum())
    assert totals[("power", "transformers")] == int((nodes["kind"] == "transformer").sum())
    assert totals[("power", "busways")] == int((nodes["kind"] == "busway").sum())
    assert totals[("cooling", "CDUs")] == int(results.factory.cooling.group_cdus.sum())
    fab = results.fabric.summary()
    assert totals[("fabric", "NICs (ports)")] == fab["num_compute_nics"]
    assert totals == bom_totals(bill_of_materials(results, pod[1]))


def test_xlsx_serving_section_holds_the_steady_point(pod_files, pod_money):
    point = {r["figure"]: r["value"]
             for r in read_table(pod_files[".xlsx"], "Serving and economics", "Steady coupled point")}
    st = pod_money.results.steps_table().iloc[0]
    assert point["facility power at the meter"] == pytest.approx(st["meter_w"] / 1e6, rel=1e-12)
    assert point["output tokens per second"] == pytest.approx(st["tokens_per_s"], rel=1e-12)
    deps = read_table(pod_files[".xlsx"], "Serving and economics", "Deployments")
    assert [d["deployment"] for d in deps] == list(pod_money.results.deployments)


@needs_chromium
def test_pdf_is_printed(pod_document, tmp_path):
    pdf = write_report(pod_document, tmp_path / "pod.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 100_000  # several pages with figures, not an empty page
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 5


def test_unknown_suffix_is_refused(pod_document, tmp_path):
    with pytest.raises(ValueError, match=r"\.html, \.xlsx, \.pdf"):
        write_report(pod_document, tmp_path / "pod.docx")


def test_hall_report_totals(tmp_path):
    """The 100 MW hall once: its workbook's headline figures are the engine's."""
    from twin.engine.steady import evaluate
    from twin.layout import load_layout_and_catalog

    factory, _ = load_layout_and_catalog(HALL)
    results = evaluate(factory, 1.0)
    doc = build_report(results)  # layout and catalog read again from the results' file
    path = write_report(doc, tmp_path / "hall.xlsx")
    head = _headline(path)
    assert head["racks"] == factory.num_racks == 720
    assert head["IT power"] == pytest.approx(results.it_power_w / 1e6, rel=1e-12)
    assert head["facility power at the meter"] == pytest.approx(results.facility_power_w / 1e6, rel=1e-12)
    cases = read_table(path, "Power and cooling budgets, N-1", "Power N-1: every single failure")
    assert len(cases) == len(results.power_cases)


def test_xlsx_capacity_table_is_the_engines(pod_files, pod):
    from twin.engine.capacity import capacity
    from twin.report.tables import capacity_table

    results = pod[0]
    rows = read_table(pod_files[".xlsx"], "Power and cooling budgets, N-1",
                      "Capacity: maximum, planned, remaining")
    want = capacity_table(capacity(results))
    assert [r["resource"] for r in rows] == [r["resource"] for r in want]
    assert [r["maximum"] for r in rows] == [r["maximum"] for r in want]
    assert [r["growth with N-1"] for r in rows] == [r["growth with N-1"] for r in want]


def test_cooling_section_draws_each_loop(pod_document):
    cooling = next(s for s in pod_document.sections if s.title == "Cooling")
    titles = [f.layout.title.text for f in cooling.figures]
    assert "Liquid loop of hall" in titles
