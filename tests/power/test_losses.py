import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.factory import LossModel
from twin.power.losses import efficiency, fit_loss_coefficients, loss_coefficients, loss_w


def test_fit_recovers_three_term_coefficients():
    # eta = x / (x + a0 + a1 x + a2 x^2) generated from (0.01, 0.01, 0.02): the fit must recover them.
    x = np.array([0.25, 0.5, 0.75, 1.0])
    a = np.array([0.01, 0.01, 0.02])
    eta = x / (x + a[0] + a[1] * x + a[2] * x * x)
    assert_allclose(fit_loss_coefficients(x, eta), a, atol=1e-12)


def test_fit_is_non_negative_for_curves_falling_at_full_load():
    # 80 PLUS Titanium-like curve whose efficiency falls at 100 %: no negative coefficient.
    coef = fit_loss_coefficients([0.1, 0.2, 0.5, 1.0], [0.90, 0.94, 0.96, 0.91])
    assert (coef >= 0).all()


def test_transformer_law():
    # P_loss = P0 + Pk (S/Sr)^2: 1 kW + 10 kW * 0.5^2 = 3.5 kW at half load.
    m = LossModel("t", "transformer", 1e6, no_load_loss_w=1e3, load_loss_at_rating_w=1e4)
    assert loss_w(5e5, 1e6, loss_coefficients(m)) == pytest.approx(3500.0)


def test_loss_scalar_array_and_out_of_service():
    coef = np.array([0.01, 0.0, 0.02])
    assert loss_w(0.0, 100.0, coef) == pytest.approx(1.0)  # no-load loss only
    out = loss_w(np.array([0.0, 50.0, 100.0]), np.array([100.0, 100.0, 0.0]), coef)
    assert_allclose(out, [1.0, 1.0 + 0.02 * 0.25 * 100, 0.0])
    assert efficiency(0.0, 100.0, coef) == 0.0
    assert 0 < efficiency(50.0, 100.0, coef) < 1
