"""Power flow: a hand-calculated rack, conservation at every node, monotonic behaviour."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from twin.power.network import losses_by_stage, solve_power


def test_hand_calculated_single_rack(one_rack):
    """tests/power/data: 8 GPUs (100-1000 W), 2 CPUs (50-300 W), 1 kW fixed; N path, u = 1.

    Efficiency curves are interpolated in loss per unit l = x (1/eta - 1) between datasheet points.
    IT DC      = 8*1000 + 2*300 + 1000                                         = 9,600 W
    PSUs       = 4 x 10 kW = 40 kW, x = 9600/40000 = 0.24 (below the first point, 0.25)
                 l(0.25) = 0.25*(1/0.947867-1) = 0.01375; l(0.5) = 0.5*(1/0.961538-1) = 0.02
                 l(0.24) = 0.01375 - 0.01*(0.02-0.01375)/0.25 = 0.0135
    shelf loss = 40000 * 0.0135                                                = 540.00 W
    rack input = 9600 + 540                                                    = 10,140.00 W
    busway     = sqrt(3)*400*1000*1.0 = 692,820.3 W; loss = 2000*(10140/692820.3)^2 = 0.4284 W
    UPS        = 500 kW, load 10,140.43 W, x = 0.0202809
                 l(0.25) = 0.25*(1/0.915332-1) = 0.023125; l(0.5) = 0.5*(1/0.947867-1) = 0.0275
                 l(x) = 0.023125 + (x-0.25)*0.0175 = 0.0191049; loss = 500000*l     = 9,552.46 W
    xfmr       = 1 MW, load 19,692.89 W; loss = 1000 + 10000*(0.0196929)^2       = 1,003.88 W
    switchgear = 5 MW, load 20,696.77 W; loss = 5000*(0.00413935)^2              = 0.0857 W
    feed       = 20,696.85 W
    """
    flow = solve_power(one_rack, 1.0)
    assert flow.it_dc_w[0] == pytest.approx(9600.0, rel=1e-3)
    assert flow.rack_input_w[0] == pytest.approx(10140.0, rel=1e-3)
    losses = losses_by_stage(one_rack, flow)
    assert losses["power_shelf"] == pytest.approx(540.0, rel=1e-3)
    assert losses["busway"] == pytest.approx(0.4284, rel=1e-3)
    assert losses["ups"] == pytest.approx(9552.46, rel=1e-3)
    assert losses["transformer"] == pytest.approx(1003.88, rel=1e-3)
    assert losses["switchgear"] == pytest.approx(0.0857, rel=1e-2)
    assert flow.chain_input_w == pytest.approx(20696.85, rel=1e-3)


def _assert_conserved(factory, flow):
    tree = factory.power
    children = np.zeros(len(tree))
    np.add.at(children, tree.cord_node, flow.cord_w)
    grid_fed = (tree.parent >= 0) & ~flow.node_on_backup
    np.add.at(children, tree.parent[grid_fed], flow.node_input_w[grid_fed])
    expected = np.where(flow.node_alive, children + flow.node_loss_w, 0.0)
    assert_allclose(flow.node_input_w, expected, rtol=1e-9, atol=1e-9)
    # rack input = DC load + shelf loss; cords of a rack sum to its input
    per_rack = np.bincount(tree.cord_rack, weights=flow.cord_w, minlength=len(factory.racks))
    assert_allclose(per_rack, flow.rack_input_w, rtol=1e-9)
    assert_allclose(flow.rack_input_w, flow.it_dc_w + flow.shelf_loss_w, rtol=1e-9)
    # whole site: metered power = DC IT + every loss
    total = flow.it_dc_w.sum() + flow.shelf_loss_w.sum() + flow.node_loss_w.sum()
    assert flow.chain_input_w == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("layout", ["pod-8x-nvl72", "hall-100mw", "rack-nvl72"])
def test_conservation_on_shipped_layouts(layout, shipped):
    factory = shipped(layout)
    _assert_conserved(factory, solve_power(factory, 0.8))


def test_conservation_with_failures(shipped):
    factory = shipped("hall-100mw")
    failed = np.zeros(len(factory.power), dtype=bool)
    failed[[0, 5, len(failed) - 1]] = True  # a feeder (on generators), a switchgear, a busway
    _assert_conserved(factory, solve_power(factory, 1.0, failed_nodes=failed))


@settings(max_examples=30, deadline=None)
@given(u1=st.floats(0, 1), u2=st.floats(0, 1))
def test_more_utilisation_never_lowers_power(shipped, u1, u2):
    factory = shipped("pod-8x-nvl72")
    lo, hi = sorted((u1, u2))
    a, b = solve_power(factory, lo), solve_power(factory, hi)
    assert b.chain_input_w >= a.chain_input_w - 1e-6
    assert (b.node_input_w >= a.node_input_w - 1e-6).all()


@settings(max_examples=30, deadline=None)
@given(c1=st.floats(150, 1500), c2=st.floats(150, 1500), u=st.floats(0, 1))
def test_lower_cap_never_raises_power(shipped, c1, c2, u):
    factory = shipped("pod-8x-nvl72")
    lo, hi = sorted((c1, c2))
    a, b = solve_power(factory, u, gpu_cap_w=lo), solve_power(factory, u, gpu_cap_w=hi)
    assert a.chain_input_w <= b.chain_input_w + 1e-6
    assert (a.gpu_w <= b.gpu_w + 1e-9).all()


def test_zero_utilisation_is_idle_not_zero(one_rack):
    flow = solve_power(one_rack, 0.0)
    # 8*100 + 2*50 + 1000 = 1,900 W
    assert flow.it_dc_w[0] == pytest.approx(1900.0)
    assert np.isfinite(flow.node_input_w).all()
