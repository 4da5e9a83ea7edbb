"""Heat rejection to ambient: dry coolers (with adiabatic pre-cooling), chillers, fans, pumps.

All functions are pure and vectorised over units or loops.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from twin.thermal.hx import effectiveness_counterflow

#: Exponent of air-side UA in air flow, UA ∝ (air flow)^n. Air-side convection dominates a
#: finned-coil dry cooler and scales with Re^0.6 for tube banks (Zukauskas correlation, in
#: Incropera et al., "Fundamentals of Heat and Mass Transfer", 6th ed., §7.6). Assumption: the
#: whole UA follows the air-side law.
AIR_UA_EXPONENT = 0.6

#: Fan and pump affinity law: power ∝ speed³ (ASHRAE Handbook—HVAC Systems and Equipment, 2020,
#: ch. 21 "Fans", fan laws; ch. 44 "Centrifugal pumps", affinity laws).
AFFINITY_EXPONENT = 3.0


def adiabatic_air_c(dry_bulb_c: ArrayLike, wet_bulb_c: ArrayLike, effectiveness: ArrayLike) -> np.ndarray:
    """Air temperature after evaporative pads: T = T_db − ε (T_db − T_wb). [°C]

    Direct evaporative cooling effectiveness as defined in ASHRAE Handbook—HVAC Systems and
    Equipment, 2020, ch. 41 "Evaporative air-cooling equipment".
    """
    db = np.asarray(dry_bulb_c, dtype=float)
    return db - np.asarray(effectiveness, dtype=float) * (db - np.asarray(wet_bulb_c, dtype=float))


def dry_cooler_heat_w(
    water_in_c: ArrayLike,
    air_in_c: ArrayLike,
    c_water_w_k: ArrayLike,
    c_air_rated_w_k: ArrayLike,
    ua_rated_w_k: ArrayLike,
    fan_speed: ArrayLike,
) -> np.ndarray:
    """Heat a bank of dry coolers rejects at a fan speed (ε-NTU, counterflow approximation). [W]

    Air capacity rate scales with fan speed s, UA with s^0.6 (:data:`AIR_UA_EXPONENT`). Multi-row
    cross-counterflow coils approach counterflow; the counterflow relation is an approximation.
    Returns 0 when the water is colder than the air (no heat can be rejected).
    """
    s = np.clip(np.asarray(fan_speed, dtype=float), 1e-6, 1.0)
    c_air = np.asarray(c_air_rated_w_k, dtype=float) * s
    c_w = np.asarray(c_water_w_k, dtype=float)
    c_min, c_max = np.minimum(c_air, c_w), np.maximum(c_air, c_w)
    ua = np.asarray(ua_rated_w_k, dtype=float) * s**AIR_UA_EXPONENT
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = effectiveness_counterflow(
            np.where(c_min > 0, ua / np.where(c_min > 0, c_min, 1), 0.0),
            np.where(c_max > 0, c_min / np.where(c_max > 0, c_max, 1), 0.0),
        )
    dt = np.asarray(water_in_c, dtype=float) - np.asarray(air_in_c, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(c_min > 0, eps * c_min * np.maximum(dt, 0.0), 0.0)


def dry_cooler_fan_speed(
    heat_w: ArrayLike,
    water_in_c: ArrayLike,
    air_in_c: ArrayLike,
    c_water_w_k: ArrayLike,
    c_air_rated_w_k: ArrayLike,
    ua_rated_w_k: ArrayLike,
    min_speed: ArrayLike,
    iterations: int = 40,
    method: str = "bisection",
) -> np.ndarray:
    """Lowest fan speed in [min_speed, 1] at which the bank rejects ``heat_w``. [-]

    Heat rejected rises monotonically with fan speed, so bisection converges; returns 1 when even
    full speed is not enough and ``min_speed`` when it already rejects more (a bypass valve then
    holds the water temperature). ``method="grid"`` (the transient model's, once per step) brackets
    the speed on 33 points in one call, again on 33 points inside the bracket, and interpolates
    linearly: two calls instead of ``iterations`` + 1, speed to ~1e-6.
    """
    if method == "grid":
        return _fan_speed_grid(heat_w, water_in_c, air_in_c, c_water_w_k, c_air_rated_w_k, ua_rated_w_k,
                               min_speed)
    lo = np.broadcast_to(np.asarray(min_speed, dtype=float), np.shape(heat_w)).copy()
    hi = np.ones_like(lo)
    args = (water_in_c, air_in_c, c_water_w_k, c_air_rated_w_k, ua_rated_w_k)
    need = np.asarray(heat_w, dtype=float)
    at_min = dry_cooler_heat_w(*args, lo) >= need
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        ok = dry_cooler_heat_w(*args, mid) >= need
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.where(at_min, np.asarray(min_speed, dtype=float), hi)


def _fan_speed_grid(heat_w, water_in_c, air_in_c, c_water_w_k, c_air_rated_w_k, ua_rated_w_k, min_speed,
                    points: int = 33) -> np.ndarray:
    need = np.atleast_1d(np.asarray(heat_w, dtype=float))
    shape = need.shape
    lo = np.broadcast_to(np.asarray(min_speed, dtype=float), shape).astype(float)
    hi = np.ones(shape)
    args = [np.broadcast_to(np.asarray(a, dtype=float), shape)[:, None]
            for a in (water_in_c, air_in_c, c_water_w_k, c_air_rated_w_k, ua_rated_w_k)]
    u = np.linspace(0.0, 1.0, points)[None, :]
    q_lo = q_hi = None
    for _ in range(2):
        s = lo[:, None] + (hi - lo)[:, None] * u
        q = dry_cooler_heat_w(*args, s)
        ok = q >= need[:, None]
        first = np.where(ok.any(axis=1), ok.argmax(axis=1), points - 1)
        j = np.maximum(first, 1)
        rows = np.arange(len(need))
        lo, hi = s[rows, j - 1], s[rows, j]
        q_lo, q_hi = q[rows, j - 1], q[rows, j]
    span = q_hi - q_lo
    frac = np.clip(np.divide(need - q_lo, span, out=np.ones_like(span), where=span > 0), 0.0, 1.0)
    speed = lo + frac * (hi - lo)
    at_min = dry_cooler_heat_w(*(a[:, 0] for a in args), np.broadcast_to(np.asarray(min_speed, dtype=float),
                                                                       shape)) >= need
    full = dry_cooler_heat_w(*(a[:, 0] for a in args), np.ones(shape)) < need
    speed = np.where(full, 1.0, speed)
    out = np.where(at_min, np.broadcast_to(np.asarray(min_speed, dtype=float), shape), speed)
    return out.reshape(np.shape(heat_w)) if np.ndim(heat_w) else out


def fan_duty(heat_w: ArrayLike, heat_at_min_speed_w: ArrayLike) -> np.ndarray:
    """Share of the time fans run when even their lowest speed rejects more heat than needed. [-]

    Below the minimum speed EC fans cycle on and off (or stage units off), so their mean power is
    the power at minimum speed times ``Q / Q(s_min)`` instead of running on while a bypass valve
    wastes the extra cooling: ``d = min(1, Q / Q(s_min))``, 0 when nothing is to be rejected.
    Assumption: the water loop's heat capacity smooths the cycling (minutes), so the time average
    is what matters for energy.
    """
    q = np.maximum(np.asarray(heat_w, dtype=float), 0.0)
    q_min = np.asarray(heat_at_min_speed_w, dtype=float)
    return np.where(q_min > q, np.divide(q, q_min, out=np.zeros(np.broadcast(q, q_min).shape),
                                          where=q_min > 0), 1.0)


def chiller_cop(
    chilled_water_c: ArrayLike,
    ambient_c: ArrayLike,
    rated_cop: ArrayLike,
    rated_chilled_water_c: ArrayLike,
    rated_ambient_c: ArrayLike,
    condenser_approach_k: ArrayLike,
    max_cop: float = 15.0,
) -> np.ndarray:
    """COP of an air-cooled chiller at other temperatures, by a constant fraction of Carnot. [-]

    .. math:: COP = COP_r \\frac{T_e/(T_c - T_e)}{T_{e,r}/(T_{c,r} - T_{e,r})},\\quad
              T_c = T_{amb} + \\Delta T_{cond}, \\; T_e = T_{chw}

    (temperatures in K). The Carnot-fraction model: J. M. Gordon and K. C. Ng, "Cool Thermodynamics",
    Cambridge International Science Publishing, 2000, ch. 3. Capped at ``max_cop`` where the lift
    vanishes (cold ambient), where real chillers switch to free cooling.
    """
    te = np.asarray(chilled_water_c, dtype=float) + 273.15
    tc = np.asarray(ambient_c, dtype=float) + np.asarray(condenser_approach_k, dtype=float) + 273.15
    te_r = np.asarray(rated_chilled_water_c, dtype=float) + 273.15
    tc_r = np.asarray(rated_ambient_c, dtype=float) + np.asarray(condenser_approach_k, dtype=float) + 273.15
    carnot_r = te_r / np.maximum(tc_r - te_r, 1e-3)
    lift = np.maximum(tc - te, 1e-3)
    with np.errstate(invalid="ignore"):
        cop = np.asarray(rated_cop, dtype=float) * (te / lift) / carnot_r
    return np.minimum(cop, max_cop)


def part_load_factor(plr: ArrayLike, coefficients: ArrayLike) -> np.ndarray:
    r"""COP at part load over COP at full load (same temperatures): PLR / EIR(PLR). [-]

    .. math:: EIR(PLR) = a + b\,PLR + c\,PLR^2, \qquad COP(PLR) = COP_{full}\,PLR / EIR(PLR)

    the DOE-2 / EnergyPlus ``Chiller:Electric:EIR`` part-load curve (EnergyPlus Engineering Reference,
    "Electric Chiller Model Based on Condenser Entering Temperature"). ``coefficients`` is ``(a, b, c)``
    along the first axis; ``(0, 1, 0)`` is a chiller whose COP does not change with load. PLR is
    clipped to (0, 1]; at no load the chiller is off (the caller gives it no power).
    """
    a, b, c = (np.asarray(k, dtype=float) for k in coefficients)
    x = np.clip(np.asarray(plr, dtype=float), 1e-6, 1.0)
    eir = a + b * x + c * x * x
    # no curve at all (a loop without that chiller: all zeros): the full-load COP
    return np.divide(x, eir, out=np.ones(np.broadcast(x, eir).shape), where=eir > 0)


def affinity_power_w(rated_power_w: ArrayLike, load_fraction: ArrayLike) -> np.ndarray:
    """Fan or pump power at a fraction of rated flow: P = P_r · x³ (affinity laws). [W]"""
    x = np.clip(np.asarray(load_fraction, dtype=float), 0.0, None)
    return np.asarray(rated_power_w, dtype=float) * x**AFFINITY_EXPONENT
