"""Hydraulics of a liquid loop: pressure drop as k·Q², pump curves, the operating point.

Turbulent flow through manifolds, cold plates, quick disconnects and plate heat exchangers loses
pressure in proportion to the square of the flow, ``ΔP = k Q²``, with ``k`` from one rated point
(ASHRAE Handbook—Fundamentals 2017, ch. 22 "Pipe sizing": fully rough turbulent flow, friction
factor constant). Branches in parallel share one pressure drop; in series their drops add. A
centrifugal pump's head falls from its shut-off head about parabolically with flow,
``H(q) = H_0 − (H_0 − H_r)(q/q_r)²`` through its rated point (the quadratic pump curve of
EnergyPlus's pressure-simulation mode, Engineering Reference "Pumps"), and at speed ``s`` by the
affinity laws ``H ∝ s²``, ``q ∝ s`` (ASHRAE Handbook—HVAC Systems and Equipment 2020, ch. 44).
A variable-speed pump set delivers a flow below its full-speed operating point by slowing down, at a
hydraulic power ``ΔP(Q)·Q``; its electrical power is that over the efficiency of its rated point.

All functions are pure and vectorised.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def k_from_rating(pressure_drop_pa: ArrayLike, flow_m3_s: ArrayLike) -> np.ndarray:
    """Resistance k = ΔP / Q² of a component from one rated point. [Pa/(m³/s)²]"""
    q = np.asarray(flow_m3_s, dtype=float)
    return np.asarray(pressure_drop_pa, dtype=float) / np.where(q > 0, q * q, np.nan)


def parallel_k(k: ArrayLike, axis: int = -1) -> np.ndarray:
    """Resistance of branches in parallel: Q = Σ √(ΔP/k_i), so k = 1 / (Σ k_i^(-1/2))². [Pa/(m³/s)²]"""
    s = np.sum(1.0 / np.sqrt(np.asarray(k, dtype=float)), axis=axis)
    return 1.0 / (s * s)


def pump_head_pa(flow_m3_s: ArrayLike, shutoff_pa: ArrayLike, rated_head_pa: ArrayLike,
                 rated_flow_m3_s: ArrayLike) -> np.ndarray:
    """Head of one pump at full speed at a flow, on its quadratic curve. [Pa]"""
    x = np.asarray(flow_m3_s, dtype=float) / np.asarray(rated_flow_m3_s, dtype=float)
    h0 = np.asarray(shutoff_pa, dtype=float)
    return h0 - (h0 - np.asarray(rated_head_pa, dtype=float)) * x * x


def max_flow_m3_s(k_system: ArrayLike, pumps: ArrayLike, shutoff_pa: ArrayLike, rated_head_pa: ArrayLike,
                  rated_flow_m3_s: ArrayLike) -> np.ndarray:
    """Flow ``pumps`` identical pumps in parallel push through a system k at full speed. [m³/s]

    .. math:: H_0 - b (Q/n)^2 = k Q^2, \\quad b = (H_0 - H_r)/q_r^2
              \\;\\Rightarrow\\; Q = \\sqrt{H_0 / (k + b/n^2)}

    0 with no pump running.
    """
    n = np.asarray(pumps, dtype=float)
    h0 = np.asarray(shutoff_pa, dtype=float)
    b = (h0 - np.asarray(rated_head_pa, dtype=float)) / np.asarray(rated_flow_m3_s, dtype=float) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.sqrt(h0 / (np.asarray(k_system, dtype=float) + b / (n * n)))
    return np.where(n > 0, q, 0.0)


def pump_power_w(flow_m3_s: ArrayLike, pressure_pa: ArrayLike, efficiency: ArrayLike) -> np.ndarray:
    """Electrical power of pumps moving ``flow`` against ``pressure``: ΔP·Q/η. [W]"""
    return np.asarray(flow_m3_s, dtype=float) * np.asarray(pressure_pa, dtype=float) / np.asarray(
        efficiency, dtype=float)
