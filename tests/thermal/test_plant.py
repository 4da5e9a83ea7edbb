"""Steady and transient cooling: hand case, energy balance, steady = transient, directions, N-1."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.layout import load_layout
from twin.power.network import solve_power
from twin.thermal.failover import cooling_n_minus_1, max_ambient_c
from twin.thermal.plant import Failures, ThermalParams
from twin.thermal.steady import Ambient, solve_steady
from twin.thermal.transient import initial_state, step

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def one_rack():
    f = load_layout(HERE / "one-rack-45c.yaml")
    return f, ThermalParams.from_factory(f)


def test_hand_calculated_rack_at_45c(one_rack):
    """GB200 NVL72, 132 kW into the rack, 45 degC rack supply, catalog 1.5 L/min/kW.

    design     = 132 kW (the catalog's thermal.design_power, Supermicro's rack rating; the nameplate
                 72*1200 + 36*420 + 18*(4*25 + 2*75 + 350) + 9*800 + 2*150 = 119,820 W is not the basis)
    flow       = 1.5 L/min/kW * 132 kW = 198 L/min = 3.3e-3 m3/s
    PG25 at 50 degC (CoolProp): cp = 3,992.4 J/(kg K), rho = 1,004.38 kg/m3
    liquid     = 0.90 * 132 kW = 118.8 kW
    rack rise  = 118,800 / (3.3e-3 * 1,004.38 * 3,992.4)                       = 8.978 K
    GPU        = 45 + 0.5 * 8.978 + 1,200 W * 0.025 K/W                        = 79.489 degC
    """
    _, p = one_rack
    assert p.flow_design_m3_s[0] == pytest.approx(198e-3 / 60, rel=1e-12)
    r = solve_steady(p, np.array([132e3]), np.array([1200.0]), Ambient(30.0, 0.4))
    assert r.rack_supply_c[0] == pytest.approx(45.0, abs=1e-9)  # the CDU holds its setpoint
    assert r.rack_return_c[0] - r.rack_supply_c[0] == pytest.approx(8.978, abs=0.2)
    assert r.gpu_temp_c[0] == pytest.approx(79.489, abs=0.2)
    assert r.throttle_margin_k[0] == pytest.approx(87.0 - 79.489, abs=0.2)


def test_steady_energy_balance_on_shipped_layouts(shipped):
    for name in ("pod-8x-nvl72", "hall-100mw", "rack-nvl72"):
        f = shipped(name)
        flow = solve_power(f, 0.9)
        p = ThermalParams.from_factory(f)
        r = solve_steady(p, flow.rack_input_w, flow.gpu_w)
        # everything electrical ends as heat at the ambient
        assert r.heat_rejected_w.sum() == pytest.approx(flow.rack_input_w.sum() + r.cooling_power_w, rel=1e-9)
        assert r.heat_to_liquid_w.sum() + r.heat_to_air_w.sum() == pytest.approx(flow.rack_input_w.sum())


def test_transient_energy_balance_and_steady_state(shipped):
    f = shipped("pod-8x-nvl72")
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    amb = Ambient(35.0, 0.4)
    base = solve_steady(p, flow.rack_input_w, flow.gpu_w, amb)
    s = initial_state(p, base)
    s = replace(s, gpu_c=s.gpu_c - 8, rack_c=s.rack_c - 8, group_c=s.group_c - 8, fw_c=s.fw_c - 8)
    for _ in range(1500):
        s, out = step(p, s, flow.rack_input_w, amb, 2.0, gpu_power_w=flow.gpu_w)
        for a, b, c in ((out.secondary_in_j, out.secondary_out_j, out.secondary_stored_j),
                        (out.facility_in_j, out.facility_out_j, out.facility_stored_j)):
            assert np.abs(a - b - c).max() <= 1e-6 * np.abs(a).max()
    assert np.nanmax(np.abs(out.gpu_temp_c - base.gpu_temp_c)) < 0.1
    assert np.abs(out.group_supply_c - base.group_supply_c).max() < 0.1
    assert np.abs(out.fw_supply_c - base.fw_supply_c).max() < 0.1


def test_transient_matches_steady_after_a_failure(shipped):
    f = shipped("hall-100mw")
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    amb = Ambient(40.0, 0.4)
    fail = Failures.none(p).with_(rejection_units=np.array([3]))
    after = solve_steady(p, flow.rack_input_w, flow.gpu_w, amb, fail)
    s = initial_state(p, solve_steady(p, flow.rack_input_w, flow.gpu_w, amb))
    for _ in range(900):
        s, out = step(p, s, flow.rack_input_w, amb, 2.0, gpu_power_w=flow.gpu_w, failures=fail)
    assert np.nanmax(np.abs(out.gpu_temp_c - after.gpu_temp_c)) < 0.1


@settings(max_examples=15, deadline=None)
@given(t1=st.floats(-10, 55), t2=st.floats(-10, 55))
def test_hotter_ambient_never_cools_a_gpu(shipped, t1, t2):
    f = shipped("hall-100mw")
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    lo, hi = sorted((t1, t2))
    a = solve_steady(p, flow.rack_input_w, flow.gpu_w, Ambient(lo, 0.4))
    b = solve_steady(p, flow.rack_input_w, flow.gpu_w, Ambient(hi, 0.4))
    assert (b.gpu_temp_c >= a.gpu_temp_c - 1e-9).all()


def test_lower_flow_or_higher_setpoint_never_cools(one_rack):
    f, p = one_rack
    heat, gpu, amb = np.array([125e3]), np.array([1200.0]), Ambient(30.0, 0.4)
    base = solve_steady(p, heat, gpu, amb).gpu_temp_c[0]
    less_flow = replace(p, flow_design_m3_s=p.flow_design_m3_s * 0.7,
                        group_flow_design_m3_s=p.group_flow_design_m3_s * 0.7)
    assert solve_steady(less_flow, heat, gpu, amb).gpu_temp_c[0] > base
    warmer = replace(p, rack_supply_c=p.rack_supply_c + 2.0)
    assert solve_steady(warmer, heat, gpu, amb).gpu_temp_c[0] == pytest.approx(base + 2.0)


def test_losing_the_only_cdu_throttles_within_a_minute(shipped):
    f = shipped("rack-nvl72")
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    cases = {c.kind: c for c in cooling_n_minus_1(p, flow.rack_input_w, flow.gpu_w, Ambient(35.0, 0.4))}
    cdu = cases["cdu"]
    assert not cdu.survives
    assert cdu.racks_throttled == 1
    # ~12 K of margin, ~100 kW into ~40 L of coolant and the dies: tens of seconds, not hours
    assert 20 < cdu.seconds_to_first_throttle < 180
    assert cases["cdu_pump"].survives  # N+1 pumps in the CDU
    assert cases["crah"].survives


def test_redundant_pod_survives_cooling_n_minus_1(shipped):
    f = shipped("pod-8x-nvl72")
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    assert all(c.survives for c in cooling_n_minus_1(p, flow.rack_input_w, flow.gpu_w, Ambient(35.0, 0.4)))


def test_max_ambient_is_the_throttle_boundary(shipped):
    f = shipped("hall-100mw")
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    t = max_ambient_c(p, flow.rack_input_w, flow.gpu_w, 0.4)
    assert t is not None
    assert -20 < t < 60
    ok = solve_steady(p, flow.rack_input_w, flow.gpu_w, Ambient(t - 0.1, 0.4))
    hot = solve_steady(p, flow.rack_input_w, flow.gpu_w, Ambient(t + 0.2, 0.4))
    assert np.nanmin(ok.throttle_margin_k) >= 0
    assert np.nanmin(hot.throttle_margin_k) < 0


def test_no_flow_is_reported_as_runaway_not_nan(shipped):
    f = shipped("rack-nvl72")
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    r = solve_steady(p, flow.rack_input_w, flow.gpu_w, None, Failures.none(p).with_(cdus=np.array([1])))
    assert np.isinf(r.gpu_temp_c[0])
    assert not np.isnan(r.gpu_temp_c).any()


def test_hall_with_only_air_cooled_racks(tmp_path):
    """A cooling design whose racks are all air-cooled: no CDU groups, no liquid heat, no traceback."""
    text = (HERE.parents[1] / "layouts" / "pod-8x-nvl72.yaml").read_text().replace(
        "system: gb200-nvl72", "system: hgx-h100")
    path = tmp_path / "air.yaml"
    path.write_text(text)
    f = load_layout(path)
    flow = solve_power(f, 1.0)
    p = ThermalParams.from_factory(f)
    assert p.num_groups == 0
    r = solve_steady(p, flow.rack_input_w, flow.gpu_w)
    assert r.heat_to_liquid_w.sum() == 0.0
    assert r.rejection_fan_w.sum() == 0.0
    assert r.water_kg_s.sum() == 0.0
    assert np.isfinite(r.gpu_temp_c).all()
    cases = cooling_n_minus_1(p, flow.rack_input_w, flow.gpu_w, Ambient(35.0, 0.4))
    assert {c.kind for c in cases} >= {"crah", "air_chiller"}


def test_boiling_loop_is_a_runaway_not_a_temperature(tmp_path):
    """Far too little coolant flow (the least a layout accepts): no steady state (inf), not 200 degC."""
    text = (HERE.parents[1] / "layouts" / "pod-8x-nvl72.yaml").read_text().replace(
        "flow_per_power: 1.5 L/min/kW", "flow_per_power: 0.1 L/min/kW")  # the least a layout may give
    path = tmp_path / "lowflow.yaml"
    path.write_text(text)
    f = load_layout(path)
    flow = solve_power(f, 1.0)
    r = solve_steady(ThermalParams.from_factory(f), flow.rack_input_w, flow.gpu_w)
    assert np.isinf(r.gpu_temp_c).all()
    assert (r.throttle_margin_k < 0).all()
