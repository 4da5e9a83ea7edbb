"""`twin thermal` and the cooling part of `twin evaluate`, end to end."""

import json

import pytest

from tests.cli.test_cli import twin

KEYS = {
    "max_gpu_temp_c", "min_throttle_margin_k", "it_power_w", "heat_to_liquid_w", "heat_to_air_w",
    "heat_rejected_w", "cooling_power_w", "pue", "max_ambient_c", "n_minus_1",
}


def test_thermal_json_keys_and_energy_balance():
    d = json.loads(twin("thermal", "layouts/pod-8x-nvl72.yaml", "--ambient", "35degC", "--json", "-").stdout)
    assert KEYS <= d.keys()
    # rack by rack, heat to liquid and air add up to the IT heat (network racks' heat is in the air)
    racks = sum(r["heat_to_liquid_w"] + r["heat_to_air_w"] for r in d["racks"])
    assert racks + d["network_heat_to_air_w"] == pytest.approx(d["it_power_w"], rel=1e-9)
    # the plant also cools the chain's losses in the hall's air (busways, UPS and switchgear here)
    cooled = d["losses_to_hall_air_w"] + d["losses_to_electrical_rooms_w"]
    assert cooled > 0
    assert d["heat_rejected_w"] == pytest.approx(d["it_power_w"] + d["cooling_power_w"] + cooled, rel=1e-9)
    assert 1.0 < d["pue"] < 1.3
    assert d["min_throttle_margin_k"] > 0
    for case in d["n_minus_1"]:
        assert {"failed", "survives", "racks_throttled", "seconds_to_first_throttle"} <= case.keys()


def test_thermal_table_and_hotter_day():
    res = twin("thermal", "layouts/hall-100mw.yaml", "--no-n-minus-1")
    assert "hall loop" in res.stdout
    assert "highest ambient with no GPU throttling" in res.stdout
    cool = json.loads(twin("thermal", "layouts/hall-100mw.yaml", "--no-n-minus-1", "--json", "-").stdout)
    hot = json.loads(twin("thermal", "layouts/hall-100mw.yaml", "--no-n-minus-1", "--ambient", "45 degC",
                          "--json", "-").stdout)
    assert hot["max_gpu_temp_c"] > cool["max_gpu_temp_c"]
    assert hot["cooling_power_w"] > cool["cooling_power_w"]
    assert "FACILITY WATER above" in twin("thermal", "layouts/hall-100mw.yaml", "--no-n-minus-1",
                                          "--ambient", "45 degC").stdout


def test_single_cdu_rack_reports_seconds_to_throttle():
    d = json.loads(twin("thermal", "layouts/rack-nvl72.yaml", "--json", "-").stdout)
    cdu = next(c for c in d["n_minus_1"] if c["kind"] == "cdu")
    assert cdu["survives"] is False
    assert cdu["seconds_to_first_throttle"] > 0


def test_evaluate_includes_cooling_and_pue():
    d = json.loads(twin("evaluate", "layouts/pod-8x-nvl72.yaml", "--json", "-").stdout)
    assert d["pue"] > d["pue_electrical"] > 1.0
    # the cooling power is what the plant's equipment draws, kind by kind
    assert sum(d["cooling"]["cooling_power_by_kind_w"].values()) == pytest.approx(d["cooling_power_w"])
    assert all(d["invariants"].values()), d.get("invariant_violations")


def test_thermal_bad_ambient_and_missing_design():
    res = twin("thermal", "layouts/pod-8x-nvl72.yaml", "--ambient", "35 kW", check=False)
    assert res.returncode == 2
    assert "expected a temperature" in res.stderr
    res = twin("thermal", "tests/power/data/one-rack.yaml", check=False)
    assert res.returncode == 2
    assert "no hall has a 'cooling:' design" in res.stderr
