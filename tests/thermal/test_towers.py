"""Evaporative heat rejection: psychrometrics, towers, water use, water-cooled and part-load chillers."""

from pathlib import Path

import numpy as np
import pytest

from twin.engine.steady import evaluate
from twin.errors import InputError
from twin.layout import load_layout
from twin.thermal.fluids import wet_bulb_psychrometric_c
from twin.thermal.plant import ThermalParams
from twin.thermal.rejection import part_load_factor
from twin.thermal.steady import Ambient, solve_steady
from twin.thermal.tower import (
    humidity_ratio,
    make_up_water_kg_s,
    moist_air_enthalpy_j_kg,
    saturation_enthalpy_j_kg,
    saturation_temperature_c,
    tower_water_kg_s,
)

ROOT = Path(__file__).parents[2]
TOWERS = ROOT / "layouts" / "hall-100mw-towers.yaml"


def test_psychrometrics_agree_with_coolprop():
    """Enthalpy and humidity ratio of moist air against CoolProp's HAPropsSI (ASHRAE RP-1485)."""
    from CoolProp.HumidAirProp import HAPropsSI

    for t, rh in ((0.0, 0.5), (20.0, 0.3), (35.0, 0.4), (45.0, 0.2), (30.0, 1.0)):
        w_cp = HAPropsSI("W", "T", t + 273.15, "P", 101325.0, "R", rh)
        h_cp = HAPropsSI("H", "T", t + 273.15, "P", 101325.0, "R", rh)
        w = float(humidity_ratio(t, rh))
        assert w == pytest.approx(w_cp, rel=0.01)
        # CoolProp's enthalpy has another zero: compare differences from 0 degC dry air
        h0 = HAPropsSI("H", "T", 273.15, "P", 101325.0, "R", 0.0)
        assert float(moist_air_enthalpy_j_kg(t, w)) == pytest.approx(h_cp - h0, rel=0.01, abs=300.0)
    assert float(saturation_temperature_c(saturation_enthalpy_j_kg(31.7))) == pytest.approx(31.7, abs=1e-6)


def test_tower_heat_is_latent_plus_sensible_and_make_up_by_hand():
    """Q = latent + sensible exactly; at a humid design day most of the heat leaves as vapour.

    Make-up by hand: 10 kg/s evaporated, 1,000 kg/s circulated, drift 0.001 %, 3 cycles:
    drift 0.01 kg/s, blowdown 10 / 2 - 0.01 = 4.99 kg/s, make-up 15.0 kg/s.
    """
    q = np.array([2e6, 5e5, 2e6])
    air = np.array([86.0, 86.0, 86.0])
    db, rh = np.array([35.0, 20.0, 28.0]), np.array([0.4, 0.6, 0.8])
    ev, latent, sensible = tower_water_kg_s(q, air, db, rh)
    np.testing.assert_allclose(latent + sensible, q, rtol=1e-9)
    assert (ev > 0).all()
    # the latent part is the vapour's enthalpy, ~ evaporation x h_g at the leaving air (~2.56 MJ/kg)
    np.testing.assert_allclose(ev * (2.501e6 + 1860 * 30.0), latent, rtol=0.03)
    assert latent[2] / q[2] > 0.6
    dr, bd, mk = make_up_water_kg_s(10.0, 1000.0, 1e-5, 3.0)
    assert float(dr) == pytest.approx(0.01)
    assert float(bd) == pytest.approx(4.99)
    assert float(mk) == pytest.approx(15.0)
    # no air, no water
    assert tower_water_kg_s(1e6, 0.0, 30.0, 0.5)[0] == 0.0


def test_towers_follow_the_wet_bulb_not_the_dry_bulb():
    """Same dry bulb, wetter air: the towers work harder; same wet bulb, hotter air: about the same."""
    f = load_layout(TOWERS)
    p = ThermalParams.from_factory(f)
    n = len(f.racks)
    heat, gpu = np.full(n, 110e3), np.full(n, 1000.0)
    dry = solve_steady(p, heat, gpu, Ambient(35.0, 0.2))
    wet = solve_steady(p, heat, gpu, Ambient(35.0, 0.6))
    assert wet.rejection_fan_w[0] > 2 * dry.rejection_fan_w[0]
    wb = float(wet_bulb_psychrometric_c(35.0, 0.6))
    from scipy.optimize import brentq

    rh_same = brentq(lambda r: float(wet_bulb_psychrometric_c(40.0, r)) - wb, 0.05, 1.0)
    hotter = solve_steady(p, heat, gpu, Ambient(40.0, rh_same, wb))
    assert hotter.rejection_fan_w[0] == pytest.approx(wet.rejection_fan_w[0], rel=0.02)
    for r in (dry, wet, hotter):
        assert r.tower_loop[0]
        assert r.water_kg_s[0] > r.evaporated_kg_s[0] > 0  # make-up = evaporation + drift + blowdown


def test_tower_hall_balances_and_trims_on_a_humid_day():
    """The shipped tower hall: facility power = heat to ambient; on a 29 degC wet-bulb day the towers
    cannot make 30 degC water, the water-cooled trim chillers take the rest, and their condenser heat
    (load + compressor) goes to the towers too. At a 31 degC wet bulb even the chillers fall short."""
    f = load_layout(TOWERS)
    res = evaluate(f, 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False)
    assert all(res.invariants.values()), res.invariant_messages
    assert res.cooling.result.trim_heat_w[0] == 0.0  # the 35 degC / 40 % design day is free cooling
    humid = evaluate(f, 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False, ambient_c=36.0)
    r = humid.cooling.result
    assert r.trim_heat_w[0] == 0.0  # still 40 % RH: wet bulb ~25 degC
    p = ThermalParams.from_factory(f)
    n = len(f.racks)
    flow_heat, gpu = res.flow.rack_input_w, res.flow.gpu_w
    hot = solve_steady(p, flow_heat, gpu, Ambient(36.0, 0.6))  # wet bulb 29.05 degC
    assert hot.fw_supply_c[0] == pytest.approx(30.0, abs=1e-6)  # held, by the trim chillers
    assert hot.trim_heat_w[0] > 1e6
    assert hot.trim_chiller_w[0] > 0
    q_fw = float(hot.group_heat_w.sum() + hot.group_pump_w.sum() + hot.fw_pump_w.sum())
    # the towers take the facility water's heat and the chillers' compressor work
    assert hot.tower_heat_w[0] == pytest.approx(q_fw + hot.trim_chiller_w[0], rel=1e-9)
    free = hot.tower_heat_w[0] - hot.trim_heat_w[0] - hot.trim_chiller_w[0]
    assert free > 0  # the towers still pre-cool the water (integrated economiser)
    assert n == 720
    worse = solve_steady(p, flow_heat, gpu, Ambient(36.0, 0.7))  # wet bulb 31 degC
    assert worse.fw_supply_c[0] > 30.5  # 4 x 2 MW of trim is not enough
    assert worse.trim_heat_w[0] == pytest.approx(4 * 2e6, rel=0.02)


def test_part_load_curve_doe2_centrifugal():
    """EIR(PLR) = 0.222903 + 0.313387 PLR + 0.463710 PLR^2: 1 at full load; at half load
    EIR = 0.495524, COP ratio 0.5 / 0.495524 = 1.00903; at a quarter 0.25 / 0.330231 = 0.75705."""
    c = (0.222903, 0.313387, 0.463710)
    assert float(part_load_factor(1.0, c)) == pytest.approx(1.0, abs=1e-5)
    assert float(part_load_factor(0.5, c)) == pytest.approx(1.00903, abs=1e-5)
    assert float(part_load_factor(0.25, c)) == pytest.approx(0.75705, abs=1e-5)
    assert float(part_load_factor(0.3, (0.0, 1.0, 0.0))) == 1.0  # no curve: constant COP
    assert float(part_load_factor(0.3, (0.0, 0.0, 0.0))) == 1.0  # no chiller at all


@pytest.mark.parametrize(("edit", "says"), [
    (lambda s: s.replace("      cooling_towers: {model: tower-open-2mw, count: 55}\n", ""),
     "either 'dry_coolers:' or 'cooling_towers:'"),
    (lambda s: s.replace("      cooling_towers: {model: tower-open-2mw, count: 55}\n",
                         "      cooling_towers: {model: tower-open-2mw, count: 55}\n"
                         "      dry_coolers: {model: dry-cooler-1mw, count: 5}\n"),
     "either 'dry_coolers:' or 'cooling_towers:'"),
    (lambda s: s.replace("      cooling_towers: {model: tower-open-2mw, count: 55}\n",
                         "      cooling_towers: {model: tower-open-2mw, count: 55}\n      adiabatic: true\n"),
     "cooling towers are evaporative already"),
    (lambda s: s.replace("model: tower-open-2mw", "model: tower-open-2m"), "tower-open-2mw"),
])
def test_heat_rejection_choice_errors_name_the_field(tmp_path, edit, says):
    p = tmp_path / "towers.yaml"
    p.write_text(edit(TOWERS.read_text()))
    with pytest.raises(InputError) as exc:
        load_layout(p)
    msg = str(exc.value)
    assert says in msg
    assert "towers.yaml" in msg
    assert "cooling" in msg
