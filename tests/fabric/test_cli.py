"""``twin fabric`` end to end in a subprocess on the shipped layouts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_EXE = Path(sys.executable).parent / "twin"
TWIN = str(_EXE) if _EXE.exists() else "twin"
KEYS = {
    "num_gpus", "num_nvlink_domains", "num_compute_nics", "num_leaf_switches", "num_spine_switches",
    "num_transceivers", "num_cables", "bisection_bandwidth_bytes_s", "oversubscription", "fabric_power_w",
}


@pytest.mark.parametrize("layout", ["rack-nvl72", "campus-1gw"])
def test_fabric_json(tmp_path, layout):
    out = tmp_path / "f.json"
    res = subprocess.run([TWIN, "fabric", f"layouts/{layout}.yaml", "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "Bill of materials" in res.stdout
    d = json.loads(out.read_text())
    assert KEYS <= set(d)
    assert d["num_gpus"] > 0
    assert d["fabric_power_w"] > 0


def test_fabric_json_stdout_and_missing_file():
    res = subprocess.run([TWIN, "fabric", "layouts/pod-8x-nvl72.yaml", "--json", "-"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert json.loads(res.stdout)["num_leaf_switches"] == 12
    bad = subprocess.run([TWIN, "fabric", "layouts/nope.yaml"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
