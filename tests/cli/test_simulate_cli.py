"""`twin simulate` end to end, as a user runs it: real subprocesses on a one-rack, two-minute scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
RACK = ROOT / "layouts" / "rack-nvl72.yaml"

_EXE = Path(sys.executable).parent / "twin"
TWIN = [str(_EXE)] if _EXE.exists() else [sys.executable, "-m", "twin.cli"]

SMALL = f"""\
name: cli-small
layout: {RACK}
run: {{duration: 2 min, physics_step: 2 s, serving_epoch: 10 s}}
deployments:
  - name: chat
    racks: "*"
    model: llama-3.1-70b
    tp: 8
    workload: {{rate: 20, input_tokens: 1024, output_tokens: 128}}
    sla: {{ttft: 2 s, tpot: 50 ms}}
events:
  - {{at: 1 min, trip: lab/cdu-group-01/cdu-pump}}
"""

BAD = f"""\
name: cli-bad
layout: {RACK}
run: {{duration: 1 h}}
deployments:
  - name: chat
    racks: {{hall: lba}}
    model: llama-3.1-70b
    tp: 8
    workload: {{rate: 20}}
events:
  - {{at: 2 h, trip: lab/cdu-grup-01/cdu}}
"""


def twin(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    res = subprocess.run([*TWIN, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    return res


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One run of the small scenario with --json and --out (shared by the tests that read it)."""
    tmp = tmp_path_factory.mktemp("simulate")
    scenario = tmp / "small.yaml"
    scenario.write_text(SMALL)
    res = twin("simulate", str(scenario), "--json", str(tmp / "out.json"), "--out", str(tmp / "tables"))
    return res, tmp


def test_a_small_scenario_runs_and_prints_its_headline(small_run):
    res, _ = small_run
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "cli-small on rack-nvl72: 120 s simulated" in out
    for text in ("energy at the meter", "peak power", "largest ramp", "output tokens", "hottest GPU",
                 "chat: ", "requests served", "SLA met for", "at    60 s: trip lab/cdu-group-01/cdu-pump",
                 "invariants: all hold"):
        assert text in out, f"{text!r} not in:\n{out}"
    assert "wrote 5 tables to" in res.stderr
    assert "per GPU-hour" in out


def test_json_has_the_headline_figures(small_run):
    _, tmp = small_run
    d = json.loads((tmp / "out.json").read_text())
    assert d["scenario"] == "cli-small"
    assert d["duration_s"] == 120.0
    for key in ("output_tokens", "energy_j", "peak_power_w", "max_ramp_w_per_s", "max_gpu_temp_c"):
        assert isinstance(d[key], float), (key, d[key])
        assert d[key] > 0, (key, d[key])
    assert d["energy_j"] == pytest.approx(d["mean_power_w"] * 120.0, rel=0.01)
    assert d["peak_power_w"] >= d["mean_power_w"]
    assert d["throttled_rack_seconds"] == 0
    assert d["tokens_lost"] >= 0  # measured against the run without the trip
    assert d["annual_pue"] is None  # two minutes are not a year
    assert d["invariants"], d
    assert all(d["invariants"].values()), d["invariants"]
    assert d["invariant_failures"] == {}
    assert [e["event"] for e in d["events"]] == ["trip lab/cdu-group-01/cdu-pump"]
    assert d["deployments"]["chat"]["requests_served"] > 0


def test_out_has_the_tables_readable_with_pandas(small_run):
    _, tmp = small_run
    folder = tmp / "tables"
    assert sorted(p.name for p in folder.iterdir()) == ["components.parquet", "costs.parquet",
                                                        "events.parquet", "racks.parquet", "steps.parquet"]
    steps = pd.read_parquet(folder / "steps.parquet")
    assert len(steps) == 60  # 2 min at 2 s steps: one row per physics step
    assert steps["time_s"].tolist() == [2.0 * i for i in range(60)]
    assert {"meter_w", "it_w", "max_gpu_temp_c", "tokens_per_s"} <= set(steps.columns)
    racks = pd.read_parquet(folder / "racks.parquet")
    assert racks["rack"].tolist() == ["lab/row/r01"]
    assert len(pd.read_parquet(folder / "components.parquet")) > 0
    events = pd.read_parquet(folder / "events.parquet")
    assert events["event"].tolist() == ["trip lab/cdu-group-01/cdu-pump"]
    costs = pd.read_parquet(folder / "costs.parquet")
    assert {"category", "item", "usd", "usd_per_hour", "usd_per_year"} <= set(costs.columns)
    assert costs["usd"].sum() > 0
    assert not any(p.name.startswith(".") for p in tmp.iterdir())  # no temporary folder left behind


def test_a_bad_scenario_exits_2_with_every_problem_and_writes_nothing(tmp_path):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(BAD)
    out = tmp_path / "tables"
    res = twin("simulate", str(scenario), "--out", str(out), "--json", str(tmp_path / "out.json"))
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr
    assert "3 problems found:" in err
    assert f"{scenario}:6: deployments[0].racks.hall: no hall matches 'lba' (did you mean 'lab'?)" in err
    assert f"{scenario}:11: events[0].at: '2 h' is at 7200 s, outside the run" in err
    assert f"{scenario}:11: events[0].trip: no component 'lab/cdu-grup-01/cdu'" in err  # both of its problems
    assert res.stdout == ""
    assert not out.exists()
    assert not (tmp_path / "out.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # nothing half-written


def test_a_bad_serving_and_a_bad_event_are_reported_together(tmp_path):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(BAD.replace("{hall: lba}", "'*'").replace("tp: 8", "tp: 16").replace("2 h", "1 min"))
    res = twin("simulate", str(scenario), cwd=tmp_path)
    assert res.returncode == 2
    assert f"{scenario}:8: deployments[0].tp: a replica of TP16 x PP1 = 16 GPUs does not fill" in res.stderr
    assert (f"{scenario}:11: events[0].trip: no component 'lab/cdu-grup-01/cdu' "
            "(did you mean 'lab/cdu-group-01/cdu'?)") in res.stderr


def test_a_layout_given_as_the_scenario_says_so(tmp_path):
    res = twin("simulate", str(RACK))
    assert res.returncode == 2
    assert "1 problem found:" in res.stderr
    assert "this is a layout, not a scenario" in res.stderr


def test_a_missing_scenario_file(tmp_path):
    res = twin("simulate", str(tmp_path / "nope.yaml"))
    assert res.returncode == 2
    assert "nope.yaml: file not found" in res.stderr


def test_help_lists_simulate():
    res = twin("--help")
    assert res.returncode == 0
    assert "simulate" in res.stdout
    res = twin("simulate", "--help")
    assert res.returncode == 0
    for option in ("--out", "--json", "--no-reference"):
        assert option in res.stdout
