"""``twin fabric`` end to end: one real subprocess on the campus, the rest in-process (click runner)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from twin.cli import main

ROOT = Path(__file__).resolve().parents[2]
_EXE = Path(sys.executable).parent / "twin"
TWIN = str(_EXE) if _EXE.exists() else "twin"
KEYS = {
    "num_gpus", "num_nvlink_domains", "num_compute_nics", "num_leaf_switches", "num_spine_switches",
    "num_transceivers", "num_cables", "bisection_bandwidth_bytes_s", "oversubscription", "fabric_power_w",
}


def test_fabric_subprocess_campus(tmp_path):
    out = tmp_path / "f.json"
    res = subprocess.run([TWIN, "fabric", "layouts/campus-1gw.yaml", "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "Bill of materials" in res.stdout
    d = json.loads(out.read_text())
    assert KEYS <= set(d)
    assert d["num_gpus"] == 437760
    assert d["fabric_power_w"] > 0


@pytest.mark.parametrize("layout", ["rack-nvl72", "pod-8x-nvl72", "hall-100mw"])
def test_fabric_json_stdout(layout):
    res = CliRunner().invoke(main, ["fabric", str(ROOT / "layouts" / f"{layout}.yaml"), "--json", "-"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert KEYS <= set(d)
    assert d["num_compute_nics"] == d["num_gpus"]


def test_fabric_missing_file_exits_2():
    res = CliRunner().invoke(main, ["fabric", str(ROOT / "layouts" / "nope.yaml")])
    assert res.exit_code == 2
    assert res.exception is None or isinstance(res.exception, SystemExit)
