"""GPU thermal throttling: the clock a GPU runs at as its junction passes its throttle temperature."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Default throttle curve, excess over the throttle temperature [K] -> clock factor. NVML documents
#: two thresholds (nvml.h, ``nvmlTemperatureThresholds_t`` and ``nvmlClocksEventReasons``): above the
#: "GPU max operating" temperature software thermal capping lowers clocks below the requested ones,
#: and at the "slowdown" temperature hardware slowdown cuts the core clock "by a factor of 2 or
#: more". nvidia-smi on A100 and H100 reports these as 87 °C (max operating, 85 °C on A100) and 89 °C
#: (slowdown): 2 K apart. The curve takes the catalog's throttle temperature as the max operating
#: temperature and reaches half clock at the slowdown temperature, 2 K above (linear in between:
#: assumption, NVIDIA does not publish the software capping's slope).
DEFAULT_EXCESS_K = (0.0, 2.0)
DEFAULT_CLOCK = (1.0, 0.5)


def throttle_clock(
    gpu_temp_c: ArrayLike,
    throttle_c: ArrayLike,
    excess_k: tuple[float, ...] = DEFAULT_EXCESS_K,
    clock: tuple[float, ...] = DEFAULT_CLOCK,
) -> np.ndarray:
    """Clock factor of each GPU from its temperature: piecewise linear in the excess, held past the ends. [-]

    .. math:: c = \\mathrm{interp}(T_j - T_{throttle};\\ \\Delta T_i, c_i)

    A GPU without a temperature (nan: outside any cooling loop) or a throttle limit (inf) runs at 1.
    """
    t = np.asarray(gpu_temp_c, dtype=float)
    excess = t - np.asarray(throttle_c, dtype=float)
    c = np.interp(np.nan_to_num(excess, nan=-np.inf, posinf=np.inf, neginf=-np.inf), excess_k, clock)
    return np.where(np.isfinite(excess) | (excess == np.inf), c, 1.0)
