"""Load-dependent losses of power equipment (PSU, UPS, transformer, busway, switchgear).

All equipment uses one loss law, per unit of rating and as a function of the load fraction
x = P_out / P_rated:

.. math:: P_{loss} = P_{rated} \\, (a_0 + a_1 x + a_2 x^2)

with a no-load part :math:`a_0` (magnetising, control, fans), a part proportional to load
:math:`a_1` (switching, diode drops) and a square-law part :math:`a_2` (I²R). This is the
three-term model of N. Rasmussen, "Electrical Efficiency Modeling for Data Centers", Schneider
Electric White Paper 113, 2011, used for UPS, PDU and transformer losses. Transformers use it with
:math:`a_0 = P_0/P_r` (no-load loss) and :math:`a_2 = P_k/P_r` (load loss at rated current), as in
IEC 60076-1; busways and switchgear have only the I²R term.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import nnls

from twin.factory import LossModel


def fit_loss_coefficients(load_fraction: Sequence[float], efficiency: Sequence[float]) -> np.ndarray:
    """Fit ``(a0, a1, a2) >= 0`` of the three-term loss law to measured efficiency points.

    Parameters
    ----------
    load_fraction : sequence of float
        Output load as a fraction of rating at each measured point. [-]
    efficiency : sequence of float
        Efficiency P_out / P_in at each point. [-]

    Returns
    -------
    numpy.ndarray
        ``[a0, a1, a2]``, losses per unit of rating, by non-negative least squares on the loss
        per unit ``l(x) = x (1/eta - 1)``.

    Notes
    -----
    Non-negativity keeps the fitted curve physical (no negative no-load loss) so that loss never
    falls as load rises, which the monotonicity tests rely on.
    """
    x = np.asarray(load_fraction, dtype=float)
    eta = np.asarray(efficiency, dtype=float)
    loss = x * (1.0 / eta - 1.0)
    basis = np.column_stack([np.ones_like(x), x, x * x])
    coef, _ = nnls(basis, loss)
    return coef


def loss_coefficients(model: LossModel) -> np.ndarray:
    """Per-unit loss coefficients ``[a0, a1, a2]`` of one equipment model (see module notes)."""
    if model.curve_load:
        return fit_loss_coefficients(model.curve_load, model.curve_efficiency)
    r = model.rating_w
    return np.array([model.no_load_loss_w / r, 0.0, model.load_loss_at_rating_w / r])


def loss_w(load_w: ArrayLike, rating_w: ArrayLike, coef: ArrayLike) -> np.ndarray:
    """Loss of equipment carrying ``load_w`` (three-term law). [W]

    Parameters
    ----------
    load_w : array_like
        Output power delivered. [W]
    rating_w : array_like
        Rated output power of the equipment in service; 0 where it is out of service. [W]
    coef : array_like, shape (..., 3)
        Per-unit coefficients ``a0, a1, a2`` (broadcast against the loads).

    Returns
    -------
    numpy.ndarray
        ``rating · (a0 + a1 x + a2 x²)`` with ``x = load / rating``; 0 where rating is 0.
    """
    load = np.asarray(load_w, dtype=float)
    rating = np.asarray(rating_w, dtype=float)
    c = np.asarray(coef, dtype=float)
    in_service = rating > 0
    safe = np.where(in_service, rating, 1.0)
    x = load / safe
    out = safe * (c[..., 0] + c[..., 1] * x + c[..., 2] * x * x)
    return np.where(in_service, out, 0.0)


def efficiency(load_w: ArrayLike, rating_w: ArrayLike, coef: ArrayLike) -> np.ndarray:
    """Efficiency ``P_out / (P_out + loss)`` at the given load. [-]"""
    load = np.asarray(load_w, dtype=float)
    total = load + loss_w(load, rating_w, coef)
    return np.divide(load, total, out=np.zeros_like(total), where=total > 0)
