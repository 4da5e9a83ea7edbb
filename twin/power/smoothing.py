"""GPU power smoothing: a power floor and ramp-rate limits on what each GPU draws.

Explicit state in, state out.

NVIDIA exposes power smoothing on Blackwell and newer through NVML (``nvmlPowerSmoothing``): a floor
``PERCENT_TMP_FLOOR`` as a share of TGP, ``RAMP_UP_RATE`` and ``RAMP_DOWN_RATE`` in W/s and a
``RAMP_DOWN_HYSTERESIS`` in ms before power may fall. The GPU burns filler work to stay at the floor
and above the ramp-down line, and holds its clock back so it does not rise faster than the ramp-up
rate. Per step of length ``dt``:

.. math::
    P_{lim} &= \\min(P_{dem}, P_{prev} + r_{up}\\,dt) \\quad (P_{dem} \\ge P_{prev}) \\\\
    P_{lim} &= P_{prev} \\quad (P_{dem} < P_{prev}, \\text{ hysteresis not over}) \\\\
    P_{lim} &= \\max(P_{dem}, P_{prev} - r_{down}\\,dt) \\quad (\\text{otherwise}) \\\\
    P &= \\max(P_{lim}, P_{floor})

The power above demand is heat that does no work; the power the ramp-up limit withholds is work
delayed (the engine slows the GPU's clock to fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class SmoothingState:
    """Power each smoothed GPU drew in the last step [W] and the hysteresis time left [s]."""

    power_w: np.ndarray
    hold_s: np.ndarray


def smooth_step(
    demand_w: ArrayLike,
    state: SmoothingState,
    dt_s: float,
    floor_w: ArrayLike,
    ramp_up_w_s: float,
    ramp_down_w_s: float,
    hysteresis_s: float,
) -> tuple[np.ndarray, SmoothingState]:
    """Power drawn by each GPU this step under smoothing, and the new state (see the module notes). [W]"""
    d = np.asarray(demand_w, dtype=float)
    prev, hold = state.power_w, state.hold_s
    rising = d >= prev
    up = np.minimum(d, prev + ramp_up_w_s * dt_s)
    holding = ~rising & (hold > 0)
    down = np.maximum(d, prev - ramp_down_w_s * dt_s)
    lim = np.where(rising, up, np.where(holding, prev, down))
    drawn = np.maximum(lim, np.asarray(floor_w, dtype=float))
    new_hold = np.where(rising, hysteresis_s, np.maximum(hold - dt_s, 0.0))
    return drawn, SmoothingState(drawn, new_hold)
