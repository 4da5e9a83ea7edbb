"""Workload inputs a careless user gives: clear errors (exit 2), never a traceback or an OOM."""

import subprocess
import sys
from pathlib import Path

import pytest

_EXE = Path(sys.executable).parent / "twin"
TWIN = str(_EXE) if _EXE.exists() else "twin"
BASE = ["serve-sim", "--system", "gb200-nvl72", "--gpus", "8", "--model", "llama-3.1-8b", "--tp", "1",
        "--duration", "60"]


def _run(args):
    return subprocess.run([TWIN, *BASE, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("content", "expect"), [
    ("arrival_s,input_tokens,output_tokens\n0,inf,10\n", "input_tokens must be a whole number"),
    ("arrival_s,input_tokens,output_tokens\n1e12,100,10\n", "arrival_s must be a time from 0"),
    ("\ufeffarrival_s,input_tokens,output_tokens\n0,100,10\n", None),  # spreadsheet BOM is fine
])
def test_trace_rows(tmp_path, content, expect):
    trace = tmp_path / "t.csv"
    trace.write_text(content, encoding="utf-8")
    res = _run(["--trace", str(trace)])
    assert "Traceback" not in res.stderr
    if expect is None:
        assert res.returncode == 0, res.stderr
    else:
        assert res.returncode == 2
        assert expect in res.stderr
        assert f"{trace}:2:" in res.stderr


def test_binary_trace_and_folder(tmp_path):
    binary = tmp_path / "b.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    res = _run(["--trace", str(binary)])
    assert res.returncode == 2
    assert "is a binary file" in res.stderr
    res = _run(["--trace", str(tmp_path)])
    assert res.returncode == 2
    assert "is a folder" in res.stderr


@pytest.mark.parametrize(("args", "expect"), [
    (["--rate", "1e9"], "one discrete run simulates at most"),
    (["--rate", "5", "--input-tokens", "inf"], "expected a whole number"),
    (["--rate", "5", "--input-tokens", "normal:inf,1"], "below 10,000,000"),
    (["--rate", "1e-9", "--duration", "1e13"], "at most 31536000 s"),
])
def test_absurd_rates_lengths_durations(args, expect):
    res = _run(args)
    assert res.returncode == 2
    assert expect in res.stderr
    assert "Traceback" not in res.stderr


def test_fluid_overload_is_flagged_and_counts_what_is_served():
    import json

    res = _run(["--rate", "1e6", "--fluid", "--json", "-"])
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["saturated_replicas"] == d["num_replicas"]
    # saturated replicas serve at capacity: completed = served rate x window, not what was offered
    assert d["num_completed"] == pytest.approx(d["requests_per_s"] * 60, rel=1e-3)
    assert d["num_completed"] < d["num_requests"]
    assert "OVERLOADED" in _run(["--rate", "1e6", "--fluid"]).stdout


def test_silent_fallbacks_are_noted():
    import json

    d = json.loads(subprocess.run(
        [TWIN, "serve-sim", "--system", "hgx-h100", "--gpus", "8", "--model", "llama-3.1-8b", "--tp", "1",
         "--precision", "fp4", "--offline", "--num-requests", "20", "--rate", "5", "--json", "-"],
        capture_output=True, text=True, timeout=120).stdout)
    assert any("no fp4 tensor-core rate" in n for n in d["notes"])
    assert any("--rate is ignored" in n for n in d["notes"])
