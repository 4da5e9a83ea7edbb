"""Power capping: the clock a GPU runs at to stay under its power cap."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from twin.power.gpu import CLOCK_POWER_EXPONENT


def clock_factor_for_cap(
    utilisation: ArrayLike,
    cap_w: ArrayLike,
    idle_w: ArrayLike,
    tdp_w: ArrayLike,
    min_clock: ArrayLike,
    exponent: float = CLOCK_POWER_EXPONENT,
) -> np.ndarray:
    """Highest clock factor whose power stays at or under the cap. [-]

    Inverts :func:`twin.power.gpu.gpu_power_w`:

    .. math::
        c = \\min\\left(1, \\left(\\frac{P_{cap} - P_{idle}}
            {(P_{TDP} - P_{idle})\\,u}\\right)^{1/k}\\right)

    clipped below at ``min_clock`` (the lowest clock the GPU runs at; a cap below the power at that
    clock cannot be met and the GPU draws more than the cap, which callers report).
    """
    u = np.clip(np.asarray(utilisation, dtype=float), 0.0, 1.0)
    idle = np.asarray(idle_w, dtype=float)
    dyn = (np.asarray(tdp_w, dtype=float) - idle) * u
    headroom = np.maximum(np.asarray(cap_w, dtype=float) - idle, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = np.where(dyn > 0, (headroom / np.where(dyn > 0, dyn, 1.0)) ** (1.0 / exponent), 1.0)
    return np.clip(c, np.asarray(min_clock, dtype=float), 1.0)
