"""Rack IT power from what its parts are doing.

GPUs by compute- and memory-bound activity and clock, host CPUs by their own load, and the rest
(NICs, switch trays, fans, boards) by the heat they move.

The steady evaluation (:func:`twin.power.rack.rack_it_power_w`) drives every part with one
utilisation ``u``; the coupled engine knows more, from the serving model: the share of each second a
GPU spends in compute-bound kernels (``compute``) and in memory- or communication-bound ones
(``memory``), its clock factor ``c``, and the host's load. With ``compute = u``, ``memory = 0``,
``cpu = u`` the law here is the steady law exactly (tested).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from twin.power.gpu import CLOCK_POWER_EXPONENT, cpu_power_w

#: Dynamic power of a GPU running memory-bound work (decode GEMV, attention over the KV cache,
#: collectives) as a share of compute-bound work's, at the same clock: (P_token - P_idle) /
#: (P_prompt - P_idle) = (380 W - 75 W) / (700 W - 75 W) = 0.488 for the H100-80GB in Microsoft's
#: Splitwise simulator (github.com/Mutinifni/splitwise-sim, configs/power_model/constant.yaml: idle
#: 75 W, prompt phase 700 W, token phase 380 W; Patel et al., "Splitwise", ISCA 2024). The A100-80GB
#: entry of the same file gives 0.555. Measured decode power varies with batch (ML.ENERGY leaderboard:
#: Llama 3.1 70B on H100 at 63 % of TDP at batch 8, 91 % at batch 1024), which a single share cannot
#: follow; docs/validation.md ("System power under inference") reports the MLPerf power cases.
MEMORY_BOUND_POWER = 0.488

#: Load of the host CPUs while their GPUs serve, as a share of their dynamic range. Assumption: the
#: serving engine's scheduler, tokeniser and HTTP front end keep a few cores of each CPU busy, far
#: from a CPU benchmark's TDP; a GPU at its cap does not put the host at its TDP.
HOST_CPU_LOAD_SERVING = 0.3


def gpu_activity_power_w(
    compute: ArrayLike,
    memory: ArrayLike,
    clock_factor: ArrayLike,
    idle_w: ArrayLike,
    tdp_w: ArrayLike,
    memory_power: float = MEMORY_BOUND_POWER,
    exponent: float = CLOCK_POWER_EXPONENT,
) -> np.ndarray:
    """Mean electrical power of one GPU over an interval. [W]

    .. math:: P = P_{idle} + (P_{TDP} - P_{idle}) \\, (a_c + \\beta a_m) \\, c^{k}

    with ``a_c``, ``a_m`` the shares of the interval in compute-bound and memory-bound work
    (``a_c + a_m <= 1``, the rest idle), ``beta`` = :data:`MEMORY_BOUND_POWER` and the clock law of
    :func:`twin.power.gpu.gpu_power_w` (dynamic power ∝ c³ along the DVFS curve).
    """
    a_c = np.clip(np.asarray(compute, dtype=float), 0.0, 1.0)
    a_m = np.clip(np.asarray(memory, dtype=float), 0.0, 1.0)
    load = np.minimum(a_c + memory_power * a_m, 1.0)
    c = np.clip(np.asarray(clock_factor, dtype=float), 0.0, 1.0)
    idle = np.asarray(idle_w, dtype=float)
    return idle + (np.asarray(tdp_w, dtype=float) - idle) * load * c**exponent


def rack_parts_power_w(
    gpu_w: ArrayLike,
    cpu_load: ArrayLike,
    num_gpus: ArrayLike,
    gpu_idle_w: ArrayLike,
    gpu_tdp_w: ArrayLike,
    num_cpus: ArrayLike,
    cpu_idle_w: ArrayLike,
    cpu_tdp_w: ArrayLike,
    fixed_idle_w: ArrayLike,
    fixed_max_w: ArrayLike,
) -> np.ndarray:
    """DC IT power of each rack behind its shelves, from the power of one of its GPUs. [W]

    .. math::
        P_{IT} = N_g P_g + N_c P_c(u_c) + P_{f,idle} + (P_{f,max} - P_{f,idle})\\,x, \\quad
        x = \\frac{N_g (P_g - P_{g,idle}) + N_c (P_c - P_{c,idle})}
                 {N_g (P_{g,TDP} - P_{g,idle}) + N_c (P_{c,TDP} - P_{c,idle})}

    The fixed parts (fans, NICs, switch trays, board regulators) follow ``x``, the share of the
    rack's dynamic heat in use: fans move that heat, regulators lose a share of it. Assumption:
    linear in ``x`` between the catalog's idle and full-load figures (fan affinity laws would give
    a cube for the fans alone; the catalog does not split the fixed parts).
    """
    pg = np.asarray(gpu_w, dtype=float)
    ng, nc = np.asarray(num_gpus, dtype=float), np.asarray(num_cpus, dtype=float)
    g_idle, g_tdp = np.asarray(gpu_idle_w, dtype=float), np.asarray(gpu_tdp_w, dtype=float)
    c_idle, c_tdp = np.asarray(cpu_idle_w, dtype=float), np.asarray(cpu_tdp_w, dtype=float)
    pc = cpu_power_w(cpu_load, c_idle, c_tdp)
    dyn = ng * (pg - g_idle) + nc * (pc - c_idle)
    span = ng * (g_tdp - g_idle) + nc * (c_tdp - c_idle)
    x = np.clip(np.divide(dyn, span, out=np.zeros_like(dyn), where=span > 0), 0.0, 1.0)
    f_idle = np.asarray(fixed_idle_w, dtype=float)
    return ng * pg + nc * pc + f_idle + (np.asarray(fixed_max_w, dtype=float) - f_idle) * x
