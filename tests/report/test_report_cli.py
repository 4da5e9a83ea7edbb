"""``twin report`` end to end, as a user runs it: subprocesses (``python -m twin.cli``) on the shipped pod."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.report.conftest import POD, ROOT
from twin.report.xlsx import read_table


def _twin(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env, check=False)


def test_report_writes_xlsx_and_prints_its_path(tmp_path):
    out = tmp_path / "pod.xlsx"
    res = _twin("report", str(POD), "--utilisation", "0.5", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out)
    assert "evaluating" in res.stderr
    assert f"writing {out}" in res.stderr
    head = {r["figure"]: r["value"] for r in read_table(out, "Summary", "Headline figures")}
    assert head["utilisation"] == 0.5
    assert head["racks"] == 8


def test_bad_layout_gives_file_line_errors_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(POD.read_text().replace("racks_per_busway: 4", "racks_per_busway: four"))
    res = _twin("report", str(bad), "-o", str(tmp_path / "x.html"))
    assert res.returncode == 2
    assert f"{bad}:30: halls[0].lineups[0].racks_per_busway:" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.html").exists()
    evaluate = _twin("evaluate", str(bad))
    assert evaluate.returncode == res.returncode  # the same exit status as twin evaluate
    missing = _twin("report", "layouts/nosuch.yaml", "-o", str(tmp_path / "x.html"))
    assert missing.returncode == 2
    assert "nosuch.yaml: file not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bad_output_names_are_refused_before_any_work(tmp_path):
    res = _twin("report", str(POD), "-o", str(tmp_path / "pod.docx"))
    assert res.returncode == 2
    assert ".html, .xlsx, .pdf" in res.stderr
    res = _twin("report", str(POD), "-o", str(tmp_path / "no" / "such" / "pod.html"))
    assert res.returncode == 2
    assert "does not exist" in res.stderr
    assert "evaluating" not in res.stderr


def test_pdf_without_chromium_says_to_write_html(tmp_path):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))  # no chromium on this PATH
    res = _twin("report", str(POD), "-o", str(tmp_path / "pod.pdf"), env=env)
    assert res.returncode == 2
    assert "Chromium" in res.stderr
    assert ".html" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "pod.pdf").exists()


def test_report_with_a_scenario_writes_html(tmp_path):
    out = tmp_path / "pod.html"
    res = _twin("report", str(POD), "--scenario", "scenarios/pod-design-day.yaml", "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text(encoding="utf-8")
    assert "<h2>Serving and economics</h2>" in text
    assert "Tornado" in text


def test_an_annual_scenario_adds_its_year_by_month(tmp_path):
    import twin

    rack = ROOT / "layouts" / "rack-nvl72.yaml"
    scenario = tmp_path / "annual.yaml"
    scenario.write_text(f"name: annual-test\nlayout: {rack}\n"
                        "run: {duration: 800 h, mode: annual}\nweather: {tmy: default}\n"
                        "deployments:\n  - {name: chat, racks: '*', model: llama-3.1-70b, precision: fp8,\n"
                        "     tp: 8, workload: {rate: 60, input_tokens: 2048, output_tokens: 256}}\n")
    out = tmp_path / "rack.xlsx"
    done = _twin("report", str(rack), "--scenario", str(scenario), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "running the year of" in done.stderr
    months = read_table(out, "Annual figures", "By month")
    assert [m["month"] for m in months] == ["Jan", "Feb"]
    from twin.report.timeseries import monthly_table

    run = twin.simulate(scenario, with_reference=False, priced=False)
    assert [float(m["hours"]) for m in months] == [744.0, 56.0]
    want = monthly_table(run.steps_table(), run.physics_step_s)
    assert [m["PUE"] for m in months] == [f"{v:.3f}" for v in want["pue"]]  # deterministic: the same year
