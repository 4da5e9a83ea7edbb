"""Fixtures of the report tests: the default pod evaluated once, its report built and written once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twin.engine.steady import evaluate
from twin.layout import load_layout_and_catalog, parse_layout

ROOT = Path(__file__).resolve().parents[2]
POD = ROOT / "layouts" / "pod-8x-nvl72.yaml"
HALL = ROOT / "layouts" / "hall-100mw.yaml"
POD_DAY = ROOT / "scenarios" / "pod-design-day.yaml"
#: skip marker of the tests that need headless Chromium
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")


@pytest.fixture(scope="session")
def pod():
    """(results, layout, catalog) of the default pod at full load, with both N-1 analyses."""
    factory, catalog = load_layout_and_catalog(POD)
    return evaluate(factory, 1.0), parse_layout(POD)[0], catalog


@pytest.fixture(scope="session")
def pod_money():
    """The priced steady coupled point of the pod's design day, with its tornado and cost curve."""
    from twin.report.money import steady_money

    return steady_money(POD_DAY, POD)


@pytest.fixture(scope="session")
def pod_document(pod, pod_money):
    """The pod's report with the design day's serving and economics."""
    from twin.report import build_report

    results, layout, catalog = pod
    return build_report(results, scenario_results=pod_money, catalog=catalog, layout=layout)


@pytest.fixture(scope="session")
def pod_files(pod_document, tmp_path_factory):
    """The pod's report written as HTML and XLSX: suffix -> path."""
    from twin.report import write_report

    out = tmp_path_factory.mktemp("report")
    return {s: write_report(pod_document, out / f"pod{s}") for s in (".html", ".xlsx")}
