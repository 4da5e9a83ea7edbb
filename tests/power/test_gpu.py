import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from twin.power.capping import clock_factor_for_cap
from twin.power.gpu import cpu_power_w, gpu_power_w


def test_gpu_power_endpoints_scalar_and_array():
    assert gpu_power_w(0.0, 1.0, 100.0, 1000.0) == pytest.approx(100.0)
    assert gpu_power_w(1.0, 1.0, 100.0, 1000.0) == pytest.approx(1000.0)
    # half clock: 100 + 900 * 0.5^3 = 212.5 W
    assert_allclose(gpu_power_w(np.array([1.0, 0.5]), 0.5, 100.0, 1000.0), [212.5, 156.25])


def test_cpu_linear():
    assert cpu_power_w(0.5, 50.0, 350.0) == pytest.approx(200.0)


def test_cap_inverts_power():
    c = clock_factor_for_cap(1.0, 700.0, 100.0, 1000.0, 0.1)
    assert gpu_power_w(1.0, c, 100.0, 1000.0) == pytest.approx(700.0)
    assert clock_factor_for_cap(0.0, 700.0, 100.0, 1000.0, 0.1) == 1.0  # idle: no throttling needed
    assert clock_factor_for_cap(1.0, 2000.0, 100.0, 1000.0, 0.1) == 1.0  # cap above TDP: no effect


def test_cap_below_min_clock_is_clipped():
    c = clock_factor_for_cap(1.0, 100.0, 100.0, 1000.0, 0.3)
    assert c == pytest.approx(0.3)
    assert gpu_power_w(1.0, c, 100.0, 1000.0) > 100.0  # cap unmet: callers report it


@given(u1=st.floats(0, 1), u2=st.floats(0, 1), cap=st.floats(150, 1200))
def test_more_utilisation_never_lowers_capped_power(u1, u2, cap):
    lo, hi = sorted((u1, u2))
    p = [gpu_power_w(u, clock_factor_for_cap(u, cap, 100.0, 1000.0, 0.3), 100.0, 1000.0) for u in (lo, hi)]
    assert p[1] >= p[0] - 1e-9
