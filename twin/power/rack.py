"""Rack power: IT load from its parts, and the power shelves that feed it."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from twin.power.gpu import cpu_power_w, gpu_power_w
from twin.power.losses import LossCurves


def rack_it_power_w(
    utilisation: ArrayLike,
    clock_factor: ArrayLike,
    num_gpus: ArrayLike,
    gpu_idle_w: ArrayLike,
    gpu_tdp_w: ArrayLike,
    num_cpus: ArrayLike,
    cpu_idle_w: ArrayLike,
    cpu_tdp_w: ArrayLike,
    fixed_idle_w: ArrayLike,
    fixed_max_w: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """DC power drawn by the IT parts of each rack, downstream of its power shelves. [W]

    .. math:: P_{IT} = N_{gpu} P_{gpu}(u, c) + N_{cpu} P_{cpu}(u) + P_{fix,idle}
              + (P_{fix,max} - P_{fix,idle})\\,u

    Returns
    -------
    (it_w, gpu_w)
        Rack IT power and the power of one GPU of the rack. [W]
    """
    u = np.clip(np.asarray(utilisation, dtype=float), 0.0, 1.0)
    gpu_w = gpu_power_w(u, clock_factor, gpu_idle_w, gpu_tdp_w)
    cpu_w = cpu_power_w(u, cpu_idle_w, cpu_tdp_w)
    fixed_idle = np.asarray(fixed_idle_w, dtype=float)
    fixed = fixed_idle + (np.asarray(fixed_max_w, dtype=float) - fixed_idle) * u
    it = np.asarray(num_gpus) * gpu_w + np.asarray(num_cpus) * cpu_w + fixed
    return it, gpu_w


def shelf_input_w(
    it_w: ArrayLike,
    num_active_psus: ArrayLike,
    psu_rating_w: ArrayLike,
    psu_model_idx: ArrayLike,
    curves: LossCurves,
) -> tuple[np.ndarray, np.ndarray]:
    """AC input power of the power shelves and the load of each PSU.

    The active PSUs of a rack share its DC load equally (current sharing on the busbar):
    x = P_IT / (N_active · P_PSU,rated), and input = P_IT + N_active · loss(x).

    Returns
    -------
    (input_w, psu_load_fraction)
        Rack input power [W] (``inf`` where no PSU is active and the rack is unpowered), and
        the load of each active PSU as a fraction of its rating [-].
    """
    it = np.asarray(it_w, dtype=float)
    n = np.asarray(num_active_psus, dtype=float)
    rating = np.asarray(psu_rating_w, dtype=float)
    capacity = n * rating
    frac = np.divide(it, capacity, out=np.full_like(it, np.inf), where=capacity > 0)
    losses = curves.loss_w(it, capacity, psu_model_idx)
    return np.where(capacity > 0, it + losses, 0.0), frac
