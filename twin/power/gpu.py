"""GPU and CPU power as functions of utilisation and clock.

Definitions used across the twin:

- *utilisation* ``u`` in [0, 1]: the share of the device's dynamic power range in use at full
  clock (0 = idle, 1 = running at TDP). The serving model later derives it from activity.
- *clock factor* ``c`` in (0, 1]: core clock relative to the clock that reaches TDP at ``u = 1``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Exponent of dynamic power in clock frequency, P_dyn ∝ c**CLOCK_POWER_EXPONENT.
#: CMOS dynamic power is P = α·C·V²·f, and along a DVFS curve V rises roughly linearly with f,
#: giving P ∝ f³ (N. Weste and D. Harris, "CMOS VLSI Design", 4th ed., Addison-Wesley, 2011,
#: §5.2). Assumption: the cubic law over the whole capping range; near the voltage floor the real
#: exponent falls towards 1, so capping deep below TDP costs more clock than modelled here.
CLOCK_POWER_EXPONENT = 3.0


def gpu_power_w(
    utilisation: ArrayLike,
    clock_factor: ArrayLike,
    idle_w: ArrayLike,
    tdp_w: ArrayLike,
    exponent: float = CLOCK_POWER_EXPONENT,
) -> np.ndarray:
    """Electrical power of one GPU. [W]

    .. math:: P = P_{idle} + (P_{TDP} - P_{idle}) \\, u \\, c^{k}

    Parameters
    ----------
    utilisation : array_like
        Utilisation u in [0, 1]. [-]
    clock_factor : array_like
        Clock factor c in (0, 1]. [-]
    idle_w, tdp_w : array_like
        Idle power and thermal design power. [W]
    exponent : float
        k, see :data:`CLOCK_POWER_EXPONENT`.
    """
    u = np.clip(np.asarray(utilisation, dtype=float), 0.0, 1.0)
    c = np.clip(np.asarray(clock_factor, dtype=float), 0.0, 1.0)
    idle = np.asarray(idle_w, dtype=float)
    return idle + (np.asarray(tdp_w, dtype=float) - idle) * u * c**exponent


def cpu_power_w(utilisation: ArrayLike, idle_w: ArrayLike, tdp_w: ArrayLike) -> np.ndarray:
    """Electrical power of one CPU, linear between idle and TDP in utilisation. [W]

    Linear power in utilisation is the SPECpower observation for servers (L. A. Barroso and
    U. Hölzle, "The Case for Energy-Proportional Computing", IEEE Computer 40(12), 2007).
    """
    u = np.clip(np.asarray(utilisation, dtype=float), 0.0, 1.0)
    idle = np.asarray(idle_w, dtype=float)
    return idle + (np.asarray(tdp_w, dtype=float) - idle) * u
