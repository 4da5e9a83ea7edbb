"""Heat-exchanger effectiveness (ε-NTU) for CDUs and dry coolers.

For a counterflow exchanger with capacity-rate ratio :math:`C_r = C_{min}/C_{max}`:

.. math:: \\varepsilon = \\frac{1 - e^{-NTU(1-C_r)}}{1 - C_r e^{-NTU(1-C_r)}},
          \\qquad \\varepsilon = \\frac{NTU}{1+NTU} \\text{ for } C_r = 1

and :math:`Q = \\varepsilon C_{min} (T_{h,in} - T_{c,in})`, :math:`NTU = UA / C_{min}`.

References
----------
.. [1] F. P. Incropera, D. P. DeWitt, T. L. Bergman, A. S. Lavine, "Fundamentals of Heat and Mass
   Transfer", 6th ed., Wiley, 2007, §11.4, Table 11.3 and 11.4.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def effectiveness_counterflow(ntu: ArrayLike, cr: ArrayLike) -> np.ndarray:
    """Effectiveness of a counterflow heat exchanger. [-]"""
    ntu = np.asarray(ntu, dtype=float)
    cr = np.clip(np.asarray(cr, dtype=float), 0.0, 1.0)
    near_one = np.abs(1.0 - cr) < 1e-9
    e = np.exp(-ntu * (1.0 - cr))
    with np.errstate(invalid="ignore", divide="ignore"):
        general = (1.0 - e) / (1.0 - cr * e)
    return np.where(near_one, ntu / (1.0 + ntu), general)


def ntu_counterflow(effectiveness: ArrayLike, cr: ArrayLike) -> np.ndarray:
    """Number of transfer units that gives ``effectiveness`` in counterflow (inverse of the above). [-]

    .. math:: NTU = \\frac{1}{C_r - 1} \\ln\\frac{\\varepsilon - 1}{\\varepsilon C_r - 1}
    """
    eps = np.asarray(effectiveness, dtype=float)
    cr = np.clip(np.asarray(cr, dtype=float), 0.0, 1.0)
    near_one = np.abs(1.0 - cr) < 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        general = np.log((eps - 1.0) / (eps * cr - 1.0)) / (cr - 1.0)
    return np.where(near_one, eps / (1.0 - eps), general)


def ua_from_design(
    heat_w: ArrayLike, hot_in_c: ArrayLike, cold_in_c: ArrayLike, c_hot_w_k: ArrayLike, c_cold_w_k: ArrayLike
) -> np.ndarray:
    """Conductance UA of a counterflow exchanger from one rated operating point. [W/K]

    The effectiveness at the rating, ε = Q / (C_min (T_h,in − T_c,in)), is inverted to NTU.
    """
    c_min = np.minimum(c_hot_w_k, c_cold_w_k)
    c_max = np.maximum(c_hot_w_k, c_cold_w_k)
    eps = np.asarray(heat_w) / (c_min * (np.asarray(hot_in_c) - np.asarray(cold_in_c)))
    if np.any((eps <= 0) | (eps >= 1)):
        raise ValueError(f"rated point implies effectiveness {eps} outside (0, 1)")
    return ntu_counterflow(eps, c_min / c_max) * c_min
