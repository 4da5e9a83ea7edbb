"""Rack energy storage: a buffer in the rack's power shelves that holds the grid draw to a ramp.

Explicit state in, state out.

NVIDIA's GB300 NVL72 power shelves carry energy storage in their PSUs: when the rack's load jumps
the storage supplies the difference while the draw from the grid ramps at a limited rate, and when
the load falls the storage recharges (NVIDIA technical blog "How New GB300 NVL72 Features Provide
Steady Power for AI", 2025: smooths power spikes and cuts peak grid demand by up to 30 %). The model
is a controller of the rack's DC draw ``G`` (what the shelves take from their cords, before their
own losses) around the rack's DC load ``L`` per step of length ``dt``: the grid follows the load's
moving average ``\\bar L`` (time constant ``tau``), drifts back to the target state of charge over
the same time, and moves no faster than the ramp rates:

.. math::
    \\bar L &\\leftarrow \\bar L + (L - \\bar L)\\,\\min(dt/\\tau, 1) \\\\
    G^* &= \\bar L + (s^* - s)\\,E/\\tau \\\\
    G &= \\mathrm{clip}(G^*,\\ G_{prev} - r_{down}\\,dt,\\ G_{prev} + r_{up}\\,dt) \\\\
    P &= \\mathrm{clip}(L - G,\\ -P_{max},\\ P_{max}), \\quad
       P \\le e/dt, \\quad -P \\le (E - e)/(\\eta\\,dt) \\\\
    G &= L - P, \\qquad e' = e - \\max(P, 0)\\,dt + \\eta\\,\\max(-P, 0)\\,dt

with ``E`` the storage's energy, ``e`` its content, ``s = e/E`` the state of charge, ``s* = 1/2``
(room to absorb both rises and falls), ``tau`` the controller's time constant, ``P_max`` the
storage's power rating and ``eta`` its round-trip efficiency (charging losses are heat in the
rack). When the storage is empty or full, or at its power rating, the grid takes the rest: the load
is always served.

Energy: the rack's heat is its load ``L``, its shelves' losses and the charging loss
``(1 - eta) max(-P, 0)``; over a run, what its cords delivered less the rise of stored energy,
``∫ heat = ∫ input - (e_end - e_0)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: State of charge the controller drifts back to (half full: room for rises and falls).
TARGET_SOC = 0.5


@dataclass(frozen=True)
class StorageState:
    """Each storage rack's last DC draw from the grid [W], stored energy [J] and moving-average load [W]."""

    grid_w: np.ndarray
    energy_j: np.ndarray
    mean_load_w: np.ndarray


def storage_step(
    load_w: ArrayLike,
    state: StorageState,
    dt_s: float,
    capacity_j: ArrayLike,
    power_w: ArrayLike,
    efficiency: ArrayLike,
    ramp_up_w_s: float,
    ramp_down_w_s: float,
    time_constant_s: float,
) -> tuple[np.ndarray, np.ndarray, StorageState]:
    """Grid draw and storage power of each rack this step, and the new state (see the module notes).

    Returns ``(grid_w, storage_w, state)``: the rack's DC draw from its cords, and the power the
    storage delivers to the load (positive: discharging, negative: charging). [W]
    """
    load = np.asarray(load_w, dtype=float)
    cap = np.asarray(capacity_j, dtype=float)
    pmax = np.asarray(power_w, dtype=float)
    eta = np.asarray(efficiency, dtype=float)
    e = state.energy_j
    with np.errstate(divide="ignore", invalid="ignore"):
        soc = np.where(cap > 0, e / cap, TARGET_SOC)
    a = min(dt_s / time_constant_s, 1.0)
    mean = state.mean_load_w + (load - state.mean_load_w) * a
    want = mean + (TARGET_SOC - soc) * cap / time_constant_s
    g = np.clip(want, state.grid_w - ramp_down_w_s * dt_s, state.grid_w + ramp_up_w_s * dt_s)
    p = np.clip(load - g, -pmax, pmax)
    p = np.minimum(p, e / dt_s)
    p = np.maximum(p, -np.maximum(cap - e, 0.0) / (np.maximum(eta, 1e-12) * dt_s))
    g = load - p
    e_new = e - np.maximum(p, 0.0) * dt_s + eta * np.maximum(-p, 0.0) * dt_s
    return g, p, StorageState(g, np.clip(e_new, 0.0, cap), mean)


def settled_state(load_w: ArrayLike, capacity_j: ArrayLike) -> StorageState:
    """The state of a rack that has run at ``load_w`` for a while: drawing its load, half charged."""
    load = np.asarray(load_w, dtype=float)
    return StorageState(load.copy(), TARGET_SOC * np.asarray(capacity_j, dtype=float) * np.ones_like(load),
                        load.copy())
