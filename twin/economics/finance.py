"""Finance as the field does it: capital recovery at the cost of capital, each asset over its own life.

Pure functions of floats or arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: One year [s]: 365.25 days, as pint's ``year`` (prices per year and per month use it).
YEAR_S = 365.25 * 86400.0
#: One hour [s].
HOUR_S = 3600.0


def capital_recovery_factor(rate: ArrayLike, years: ArrayLike) -> np.ndarray:
    """Share of a capital sum to pay each year so that ``years`` equal payments repay it at ``rate``.

    .. math::
        CRF(i, n) = \\frac{i (1 + i)^n}{(1 + i)^n - 1}, \\qquad CRF(0, n) = 1/n

    (the annuity factor of engineering economics, e.g. NREL's "Simple Levelized Cost of Energy"
    calculator; Short, Packey & Holt, "A Manual for the Economic Evaluation of Energy Efficiency and
    Renewable Energy Technologies", NREL/TP-462-5173, 1995, eq. 4-3).

    Parameters
    ----------
    rate : array_like
        Cost of capital per year (WACC), e.g. 0.08. [-]
    years : array_like
        Life of the asset. [year]
    """
    i = np.asarray(rate, dtype=float)
    n = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1.0 + i) ** n
        crf = np.where(np.abs(i) > 1e-12, i * g / (g - 1.0), 1.0 / n)
    return crf


def annual_capital_cost(capex: ArrayLike, rate: ArrayLike, years: ArrayLike, residual_share: ArrayLike = 0.0
                        ) -> np.ndarray:
    """Equal yearly payment that recovers ``capex`` over ``years`` at ``rate``, less what it is worth after.

    .. math::
        A = \\left(C - \\frac{R\\,C}{(1 + i)^n}\\right) CRF(i, n)

    with ``R`` the residual value as a share of the price ``C`` at the end of the life ``n`` (its
    present value is subtracted). [USD/year]
    """
    c = np.asarray(capex, dtype=float)
    i = np.asarray(rate, dtype=float)
    n = np.asarray(years, dtype=float)
    r = np.asarray(residual_share, dtype=float)
    return (c - r * c / (1.0 + i) ** n) * capital_recovery_factor(i, n)
