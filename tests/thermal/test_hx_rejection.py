import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.thermal.fluids import coolant, wet_bulb_c
from twin.thermal.hx import effectiveness_counterflow, ntu_counterflow, ua_from_design
from twin.thermal.rejection import adiabatic_air_c, affinity_power_w, chiller_cop, dry_cooler_heat_w


def test_counterflow_effectiveness_textbook_values():
    # Incropera Table 11.3: Cr = 0 -> 1 - exp(-NTU); Cr = 1 -> NTU / (1 + NTU)
    assert effectiveness_counterflow(1.0, 0.0) == pytest.approx(1 - np.exp(-1.0))
    assert effectiveness_counterflow(2.0, 1.0) == pytest.approx(2.0 / 3.0)
    # Cr = 0.5, NTU = 1: (1 - e^-0.5) / (1 - 0.5 e^-0.5) = 0.3935 / 0.6967 = 0.5647
    assert effectiveness_counterflow(1.0, 0.5) == pytest.approx(0.5647, abs=1e-4)


def test_ntu_inverts_effectiveness_array():
    ntu = np.array([0.1, 1.0, 3.0, 8.0])
    cr = np.array([0.0, 0.5, 1.0, 0.9])
    assert_allclose(ntu_counterflow(effectiveness_counterflow(ntu, cr), cr), ntu, rtol=1e-9)


def test_ua_from_design_reproduces_rating():
    ua = ua_from_design(1e6, 15.0, 0.0, 1e5, 1.2e5)
    c_min, c_max = 1e5, 1.2e5
    eps = effectiveness_counterflow(ua / c_min, c_min / c_max)
    assert eps * c_min * 15.0 == pytest.approx(1e6)
    with pytest.raises(ValueError, match="effectiveness"):
        ua_from_design(2e6, 10.0, 0.0, 1e5, 1.2e5)


def test_dry_cooler_more_fan_more_heat_none_when_water_colder():
    q = dry_cooler_heat_w(45.0, 30.0, 1e5, 1.3e5, 2e5, np.array([0.2, 0.5, 1.0]))
    assert (np.diff(q) > 0).all()
    assert dry_cooler_heat_w(25.0, 30.0, 1e5, 1.3e5, 2e5, 1.0) == 0.0


def test_adiabatic_chiller_affinity():
    assert adiabatic_air_c(35.0, 24.0, 0.8) == pytest.approx(35 - 0.8 * 11)
    # the rated point returns the rated COP; a hotter ambient lowers it
    assert chiller_cop(18.0, 35.0, 4.5, 18.0, 35.0, 12.0) == pytest.approx(4.5)
    assert chiller_cop(18.0, 45.0, 4.5, 18.0, 35.0, 12.0) < 4.5
    assert affinity_power_w(10.0, 0.5) == pytest.approx(1.25)


def test_coolprop_properties():
    water = coolant("water", 25.0)
    assert water.cp_j_kg_k == pytest.approx(4180, rel=0.005)
    assert water.density_kg_m3 == pytest.approx(997, rel=0.005)
    assert coolant("pg25", 45.0).cp_j_kg_k < water.cp_j_kg_k
    assert 23.0 < wet_bulb_c(35.0, 0.4) < 25.0  # psychrometric chart: ~23.9 degC
    with pytest.raises(KeyError, match="valid coolants"):
        coolant("glycerine")


def test_wet_bulb_takes_numpy_scalars():
    import numpy as np

    from twin.thermal.fluids import wet_bulb_c

    assert wet_bulb_c(np.array(30.0), np.float64(0.4)) == wet_bulb_c(30.0, 0.4)
