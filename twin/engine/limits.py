"""Power limits turned into clock factors: rack caps, and one clock for a group (hall, site) under its cap.

A rack's IT power at clock factor ``c`` (its activity held) is exactly ``A + B c³`` with ``A`` its
power at ``c = 0`` and ``A + B`` at ``c = 1`` (:func:`twin.power.parts.gpu_activity_power_w` and
:func:`twin.power.parts.rack_parts_power_w` are affine in ``c³``), so a cap is met by solving that
cubic: per rack in closed form, for a group by bisection on one clock shared by its racks (the
group's GPUs are slowed alike, the way a site controller lowers every GPU's power limit).
"""

from __future__ import annotations

import numpy as np


def rack_cap_clock(a_w: np.ndarray, b_w: np.ndarray, cap_w: np.ndarray) -> np.ndarray:
    """Highest clock per rack with ``A + B c³ <= cap``. [-]

    1 when uncapped or already under; 0 when unreachable.

    .. math:: c = \\min\\left(1, \\left(\\frac{P_{cap} - A}{B}\\right)^{1/3}\\right)
    """
    a, b, cap = (np.asarray(x, dtype=float) for x in (a_w, b_w, cap_w))
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.cbrt(np.clip((cap - a) / np.where(b > 0, b, 1.0), 0.0, None))
    return np.where(b > 0, np.minimum(c, 1.0), 1.0)


def group_clock(a_w: np.ndarray, b_w: np.ndarray, c_max: np.ndarray, budget_w: float,
                iterations: int = 40) -> float:
    """One clock ``c`` for a group so that ``Σ A + B min(c_max, c)³ <= budget``; 1 if met at full clock. [-]

    ``c_max`` is each rack's clock from its other limits. Returns 0 when even ``c = 0`` exceeds the
    budget (the caller clips to the GPUs' lowest clock and reports the cap as not met).
    """
    a, b, cm = (np.asarray(x, dtype=float) for x in (a_w, b_w, c_max))

    def total(c: float) -> float:
        return float(np.sum(a + b * np.minimum(cm, c) ** 3))

    if total(1.0) <= budget_w:
        return 1.0
    if total(0.0) > budget_w:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if total(mid) <= budget_w:
            lo = mid
        else:
            hi = mid
    return lo
