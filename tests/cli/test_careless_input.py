"""Careless command lines: each gives a clear message naming the option and exit 2, never a traceback."""

import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from twin.cli import main

ROOT = Path(__file__).resolve().parents[2]
POD = str(ROOT / "layouts" / "pod-8x-nvl72.yaml")
HALL = str(ROOT / "layouts" / "hall-100mw.yaml")


def _run(*args: str):
    res = CliRunner().invoke(main, list(args))
    assert "Traceback" not in res.output, res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), res.exception
    return res


@pytest.mark.parametrize(
    "cmd",
    [
        ["validate", POD],
        ["evaluate", POD, "--no-n-minus-1"],
        ["thermal", POD, "--no-n-minus-1"],
        ["fabric", POD],
    ],
    ids=lambda c: c[0],
)
@pytest.mark.parametrize("where", ["missing-folder", "directory"])
def test_json_to_unwritable_path_exits_2(cmd, where, tmp_path):
    out = tmp_path / "no-such-folder" / "out.json" if where == "missing-folder" else tmp_path
    res = _run(*cmd, "--json", str(out))
    assert res.exit_code == 2, res.output
    assert "--json" in res.output
    assert ("does not exist" if where == "missing-folder" else "is a directory") in res.output


def test_json_write_failure_is_a_message(tmp_path, monkeypatch):
    """An OSError while writing (disk full, permissions) is reported, not a traceback."""
    def boom(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_text", boom)
    res = _run("fabric", POD, "--json", str(tmp_path / "out.json"))
    assert res.exit_code == 2
    assert "cannot write --json" in res.output
    assert "Permission denied" in res.output


@pytest.mark.parametrize("cmd", ["evaluate", "thermal"])
@pytest.mark.parametrize(
    ("ambient", "expect"),
    [
        ("-300 degC", "between -90 degC and 80 degC"),
        ("1e9 degC", "between -90 degC and 80 degC"),
        ("35C", "a bare C reads as coulombs"),
        ("35", "with units"),
    ],
)
def test_ambient_out_of_range_or_misspelled(cmd, ambient, expect):
    res = _run(cmd, POD, "--no-n-minus-1", "--ambient", ambient)
    assert res.exit_code == 2
    assert "'--ambient'" in res.output
    assert expect in res.output


@pytest.mark.parametrize("cap", ["0 W", "-5 W", "199 W"])
def test_gpu_power_cap_below_idle_is_rejected(cap):
    res = _run("evaluate", POD, "--no-n-minus-1", "--gpu-power-cap", cap)
    assert res.exit_code == 2
    assert "'--gpu-power-cap'" in res.output
    assert "below the GPU idle power 200 W" in res.output


def test_gpu_power_cap_bare_number_says_units():
    res = _run("evaluate", POD, "--no-n-minus-1", "--gpu-power-cap", "1000")
    assert res.exit_code == 2
    assert "expected a power with units such as '132 kW', got '1000'" in res.output


def test_ambient_kept_with_progress_bar(monkeypatch):
    """On a terminal, layouts of > 200 components show a progress bar; --ambient must still apply."""

    class Tty:
        def isatty(self):
            return True

        def write(self, s):
            return len(s)

        def flush(self):
            pass

    monkeypatch.setattr("twin.cli.power.sys", types.SimpleNamespace(stderr=Tty(), exit=sys.exit))
    res = _run("evaluate", HALL, "--ambient", "50 degC", "--json", "-")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["cooling"]["ambient_dry_bulb_c"] == pytest.approx(50.0)


SERVE = ["serve-sim", "--system", "gb200-nvl72", "--model", "llama-3.1-70b", "--gpus", "8", "--tp", "4"]


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--rate", "1", "--seed", "-1"], "'--seed'"),
        (["--rate", "1", "--slo-ttft", "-1"], "'--slo-ttft': expected a number greater than zero"),
        (["--rate", "1", "--slo-tpot", "nan"], "'--slo-tpot': expected a number greater than zero"),
        (["--concurrency", "4"], "--concurrency needs --num-requests"),
        (["--rate", "1", "--json", "/no-such-folder/out.json"], "does not exist"),
    ],
    ids=["negative-seed", "negative-slo", "nan-slo", "concurrency-no-requests", "json-missing-folder"],
)
def test_serve_sim_careless_options(args, expect):
    res = _run(*SERVE, *args)
    assert res.exit_code == 2, res.output
    assert expect in res.output


@pytest.mark.parametrize("cmd", ["validate", "evaluate", "thermal", "fabric"])
def test_folder_or_binary_file_says_what_was_expected(cmd, tmp_path):
    binary = tmp_path / "layout.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    res = _run(cmd, str(tmp_path))
    assert res.exit_code == 2
    assert f"{tmp_path}: is a folder; expected a YAML file" in res.output
    res = _run(cmd, str(binary))
    assert res.exit_code == 2
    assert f"{binary}:3: is a binary file (a NUL byte at offset 10), not a YAML file" in res.output
