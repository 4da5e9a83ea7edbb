"""The `twin` command end to end, as a user runs it: real subprocesses on the shipped layouts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYOUTS = sorted((ROOT / "layouts").glob("*.yaml"))
REQUIRED_KEYS = {
    "num_racks",
    "num_gpus",
    "it_power_w",
    "facility_power_w",
    "losses_w",
    "components",
    "n_minus_1",
}


_EXE = Path(sys.executable).parent / "twin"
TWIN = str(_EXE) if _EXE.exists() else "twin"


def twin(*args, check=True):
    res = subprocess.run([TWIN, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in res.stderr, res.stderr
    if check:
        assert res.returncode == 0, res.stderr
    return res


def test_shipped_layouts_exist():
    names = {p.stem for p in LAYOUTS}
    assert {"rack-nvl72", "pod-8x-nvl72", "hall-100mw", "campus-1gw"} <= names


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda p: p.stem)
def test_evaluate_every_shipped_layout(layout, tmp_path):
    out = tmp_path / "out.json"
    res = twin("evaluate", str(layout.relative_to(ROOT)), "--json", str(out))
    assert "Facility power" in res.stdout
    assert "N-1:" in res.stdout
    data = json.loads(out.read_text())
    assert REQUIRED_KEYS <= data.keys()
    assert data["num_gpus"] > 0
    assert data["facility_power_w"] > data["it_power_w"] > 0
    for c in data["components"]:
        assert {"name", "kind", "load_w", "rating_w"} <= c.keys()
    for case in data["n_minus_1"]:
        assert {"failed", "survives", "overloaded"} <= case.keys()


def test_default_layout_and_json_to_stdout():
    res = twin("evaluate", "--json", "-")
    data = json.loads(res.stdout)
    assert data["layout"] == "pod-8x-nvl72"
    assert data["num_gpus"] == 576
    assert data["n_minus_1_survives"] is True


def test_single_path_rack_reports_failures_not_errors():
    res = twin("evaluate", "layouts/rack-nvl72.yaml", "--json", "-")
    data = json.loads(res.stdout)
    assert data["n_minus_1_survives"] is False
    dropped = {c["failed"] for c in data["n_minus_1"] if c["racks_dropped"]}
    assert "utility" in dropped


def test_utilisation_and_cap_lower_power():
    full = json.loads(twin("evaluate", "--no-n-minus-1", "--json", "-").stdout)
    half = json.loads(twin("evaluate", "--no-n-minus-1", "--utilisation", "0.5", "--json", "-").stdout)
    capped = json.loads(twin("evaluate", "--no-n-minus-1", "--gpu-power-cap", "800 W", "--json", "-").stdout)
    assert half["facility_power_w"] < full["facility_power_w"]
    assert capped["facility_power_w"] < full["facility_power_w"]
    assert capped["systems"][0]["gpu_power_w"] == pytest.approx(800.0, rel=1e-6)


def test_bad_cli_values_exit_2_without_traceback():
    res = twin("evaluate", "--gpu-power-cap", "45 degC", check=False)
    assert res.returncode == 2
    assert "expected a power" in res.stderr
    res = twin("evaluate", "--utilisation", "1.5", check=False)
    assert res.returncode == 2
    res = twin("evaluate", "no-such-file.yaml", check=False)
    assert res.returncode == 2
    assert "no-such-file.yaml" in res.stderr
    assert "file not found" in res.stderr


def test_validate_all_shipped_files():
    res = twin("validate", *[str(p.relative_to(ROOT)) for p in LAYOUTS])
    assert res.stdout.count("OK ") == len(LAYOUTS)
    cat = sorted((ROOT / "models").rglob("*.yaml"))
    res = twin("validate", *[str(p.relative_to(ROOT)) for p in cat])
    assert res.stdout.count("OK ") == len(cat)
