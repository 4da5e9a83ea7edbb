"""The engine's coupling of power, fabric and cooling at steady state: conservation across domains."""

import pytest

from twin.engine.steady import evaluate


@pytest.mark.parametrize("name", ["pod-8x-nvl72", "hall-100mw"])
def test_power_fabric_and_cooling_close(shipped, name):
    d = evaluate(shipped(name), 0.9, with_n_minus_1=False).to_dict()
    cool = d["cooling"]
    # IT = racks + network; every watt of IT becomes heat removed by liquid or air
    assert d["it_power_w"] == pytest.approx(d["it_power_racks_w"] + d["fabric_power_w"], rel=1e-12)
    assert d["fabric_power_w"] > 0
    assert cool["heat_to_liquid_w"] + cool["heat_to_air_w"] == pytest.approx(d["it_power_w"], rel=1e-9)
    # at the meter: the electrical chain plus cooling; PUE counts both
    assert d["facility_power_w"] == pytest.approx(d["power_chain_w"] + d["cooling_power_w"], rel=1e-12)
    assert d["pue"] == pytest.approx(d["facility_power_w"] / d["it_power_w"])
    assert d["pue"] > d["pue_electrical"] > 1.0
    # heat to ambient = IT heat + all cooling electrical power
    assert cool["heat_rejected_w"] == pytest.approx(d["it_power_w"] + d["cooling_power_w"], rel=1e-9)


def test_layout_without_fabric_or_cooling(one_rack):
    d = evaluate(one_rack, 1.0, with_n_minus_1=False).to_dict()
    assert d["fabric_power_w"] == 0.0
    assert d["pue"] is None
    assert d["facility_power_w"] == pytest.approx(d["power_chain_w"])
    assert "no 'cooling:' design" in d["pue_note"]


def test_lower_utilisation_lowers_everything(shipped):
    f = shipped("pod-8x-nvl72")
    hi = evaluate(f, 1.0, with_n_minus_1=False).to_dict()
    lo = evaluate(f, 0.3, with_n_minus_1=False).to_dict()
    for key in ("it_power_w", "facility_power_w", "cooling_power_w"):
        assert lo[key] < hi[key]
    assert lo["cooling"]["max_gpu_temp_c"] < hi["cooling"]["max_gpu_temp_c"]
