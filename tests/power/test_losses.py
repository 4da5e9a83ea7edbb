import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.factory import LossModel
from twin.power.losses import (
    LossCurves,
    curve_table,
    fit_loss_coefficients,
    per_unit_loss,
    quadratic_loss_w,
)

TITANIUM = ([0.1, 0.2, 0.5, 1.0], [0.90, 0.94, 0.96, 0.91])


def test_interpolated_curve_reproduces_every_datasheet_point():
    tx, tl = curve_table(*TITANIUM)
    x = np.array(TITANIUM[0])
    eta = x / (x + per_unit_loss(x, tx, tl))
    assert_allclose(eta, TITANIUM[1], rtol=1e-12)


def test_no_load_loss_extrapolated_from_first_segment():
    # l(0.1) = 0.1*(1/0.90-1) = 0.011111; l(0.2) = 0.2*(1/0.94-1) = 0.012766
    # slope = 0.016548; l(0) = 0.011111 - 0.1*0.016548 = 0.0094563
    tx, tl = curve_table(*TITANIUM)
    assert tl[0] == pytest.approx(0.0094563, rel=1e-4)
    # above the last point the last segment continues: l(1.2) = l(1) + 0.2 * slope_last
    slope = (tl[-1] - tl[-2]) / (tx[-1] - tx[-2])
    assert per_unit_loss(1.2, tx, tl) == pytest.approx(tl[-1] + 0.2 * slope)


def test_loss_never_falls_with_load_on_bundled_curves():
    from twin.layout import load_catalog

    for e in load_catalog().entries.values():
        if e.kind in ("psu", "ups"):
            tx, tl = curve_table([p[0] for p in e.efficiency.points], [p[1] for p in e.efficiency.points])
            grid = np.linspace(0, 1.5, 301)
            assert (np.diff(per_unit_loss(grid, tx, tl)) >= -1e-15).all(), e.name


def test_three_term_fit_recovers_coefficients_and_stays_non_negative():
    x = np.array([0.25, 0.5, 0.75, 1.0])
    a = np.array([0.01, 0.01, 0.02])
    eta = x / (x + a[0] + a[1] * x + a[2] * x * x)
    assert_allclose(fit_loss_coefficients(x, eta), a, atol=1e-12)
    assert (fit_loss_coefficients(*TITANIUM) >= 0).all()


def test_transformer_law_and_out_of_service():
    # P_loss = P0 + Pk (S/Sr)^2: 1 kW + 10 kW * 0.5^2 = 3.5 kW at half load; 0 when out of service.
    assert quadratic_loss_w(5e5, 1e6, 1e3, 1e4) == pytest.approx(3500.0)
    assert quadratic_loss_w(5e5, 0.0, 1e3, 1e4) == 0.0


def test_loss_curves_by_model_index_scalar_and_array():
    models = (
        LossModel("t", "transformer", 1e6, no_load_loss_w=1e3, load_loss_at_rating_w=1e4),
        LossModel("p", "psu", 1e3, curve_load=tuple(TITANIUM[0]), curve_efficiency=tuple(TITANIUM[1])),
    )
    c = LossCurves.from_models(models)
    assert c.loss_w(5e5, 1e6, 0) == pytest.approx(3500.0)
    # PSU at 50 %: loss = 500 * (1/0.96 - 1) = 20.833 W; feed-type index -1 is lossless
    out = c.loss_w(np.array([500.0, 500.0, 5.0]), np.array([1e3, 1e3, 1e3]), np.array([1, -1, 1]))
    assert out[0] == pytest.approx(500 * (1 / 0.96 - 1))
    assert out[1] == 0.0
    # two transformers in parallel (rating 2 MW): losses scale with the number of units
    assert c.loss_w(1e6, 2e6, 0) == pytest.approx(2 * 3500.0)
