"""Evaporative heat rejection: cooling towers by the ε-NTU method on air enthalpy, and their water.

A wet cooling tower (open, or closed-circuit with the loop's fluid in a coil) moves heat from water
to air by evaporation and convection together, driven by the difference between the saturation
enthalpy of air at the water temperature and the enthalpy of the air. Merkel's theory with the
effectiveness model of J. E. Braun, S. A. Klein and J. W. Mitchell, "Effectiveness models for
cooling towers and cooling coils", ASHRAE Transactions 95(2), 1989, pp. 164-174 (the model of
EnergyPlus's cooling towers and of Modelica Buildings' YorkCalc alternatives): with the
*saturation specific heat*

.. math:: c_{pe} = \\frac{h_s(T_{w,i}) - h_s(T_{wb})}{T_{w,i} - T_{wb}}

the air behaves as a stream of capacity rate :math:`C_a = \\dot m_a c_{pe}` entering at the wet bulb,
and the tower is a counterflow exchanger: :math:`Q = \\varepsilon\\,C_{min}\\,(T_{w,i} - T_{wb})`,
:math:`\\varepsilon = f(NTU, C_{min}/C_{max})`, NTU = UA / C_min with UA from the rated point
(:func:`twin.thermal.hx.ua_from_design`). Fan speed scales the air flow and UA as for dry coolers.

The air leaves saturated (Merkel's assumption) at the enthalpy the heat gives it, which sets the
water evaporated, :math:`\\dot m_{evap} = \\dot m_a (W_o - W_i)`; drift is a share of the water
circulated and blowdown keeps the cycles of concentration:
:math:`\\dot m_{bd} = \\dot m_{evap} / (n - 1) - \\dot m_{drift}` (EnergyPlus Engineering Reference,
"Cooling Towers and Evaporative Fluid Coolers", make-up water). The heat splits into the latent heat
of the vapour and the sensible heating of the air, which add up to the heat rejected (tested).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from twin.thermal.fluids import saturation_pressure_pa

#: Standard atmospheric pressure used for the psychrometrics of heat rejection. [Pa]
ATMOSPHERE_PA = 101325.0
#: Specific heats of dry air and water vapour and the latent heat at 0 °C in the moist-air enthalpy
#: h = 1006 t + W (2,501,000 + 1860 t) J/kg dry air (ASHRAE Handbook - Fundamentals 2017, ch. 1, eq. (32)).
CP_AIR_J_KG_K, CP_VAPOUR_J_KG_K, H_FG0_J_KG = 1006.0, 1860.0, 2.501e6


def humidity_ratio(temp_c: ArrayLike, relative_humidity: ArrayLike, pressure_pa: float = ATMOSPHERE_PA
                   ) -> np.ndarray:
    """Humidity ratio W = 0.621945 p_w / (p − p_w), p_w = RH p_ws(t) (ASHRAE Fundamentals ch. 1). [kg/kg]"""
    pw = np.clip(np.asarray(relative_humidity, dtype=float), 0.0, 1.0) * saturation_pressure_pa(temp_c)
    return 0.621945 * pw / (pressure_pa - pw)


def moist_air_enthalpy_j_kg(temp_c: ArrayLike, humidity: ArrayLike) -> np.ndarray:
    """Enthalpy of moist air per kg of dry air, h = 1006 t + W (2,501,000 + 1860 t). [J/kg]"""
    t = np.asarray(temp_c, dtype=float)
    return CP_AIR_J_KG_K * t + np.asarray(humidity, dtype=float) * (H_FG0_J_KG + CP_VAPOUR_J_KG_K * t)


def saturation_enthalpy_j_kg(temp_c: ArrayLike) -> np.ndarray:
    """Enthalpy of saturated air at ``temp_c``. [J/kg dry air]"""
    return moist_air_enthalpy_j_kg(temp_c, humidity_ratio(temp_c, 1.0))


def saturation_temperature_c(enthalpy_j_kg: ArrayLike, iterations: int = 40) -> np.ndarray:
    """Temperature of saturated air of the given enthalpy (inverse of :func:`saturation_enthalpy_j_kg`). [°C]

    Bisection on −40..90 °C (the saturation enthalpy rises monotonically with temperature).
    """
    h = np.asarray(enthalpy_j_kg, dtype=float)
    lo, hi = np.full(h.shape, -40.0), np.full(h.shape, 90.0)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        above = saturation_enthalpy_j_kg(mid) > h
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return 0.5 * (lo + hi)


def saturation_specific_heat_j_kg_k(water_in_c: ArrayLike, wet_bulb_c: ArrayLike) -> np.ndarray:
    """Braun's saturation specific heat c_pe = (h_s(T_w,i) − h_s(T_wb)) / (T_w,i − T_wb). [J/(kg K)]

    The slope of the saturation line at the wet bulb where the two temperatures meet.
    """
    tw = np.asarray(water_in_c, dtype=float)
    wb = np.asarray(wet_bulb_c, dtype=float)
    dt = tw - wb
    close = np.abs(dt) < 0.05
    tw_eff = np.where(close, wb + 0.05, tw)
    return (saturation_enthalpy_j_kg(tw_eff) - saturation_enthalpy_j_kg(wb)) / (tw_eff - wb)


def tower_air_rate_w_k(air_kg_s: ArrayLike, water_in_c: ArrayLike, wet_bulb_c: ArrayLike) -> np.ndarray:
    """Effective capacity rate of the tower's air, C_a = ṁ_a c_pe. [W/K]"""
    return np.asarray(air_kg_s, dtype=float) * saturation_specific_heat_j_kg_k(water_in_c, wet_bulb_c)


def tower_water_kg_s(heat_w: ArrayLike, air_kg_s: ArrayLike, dry_bulb_c: ArrayLike,
                     relative_humidity: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(evaporated water [kg/s], latent heat [W], sensible heat [W]) of towers rejecting ``heat_w``.

    The air enters at the ambient (dry bulb, RH) and leaves saturated at
    :math:`h_o = h_i + Q/\\dot m_a`; evaporation :math:`\\dot m_a (W_o - W_i)`, latent heat
    :math:`\\dot m_a (W_o h_{g}(t_o) - W_i h_g(t_i))` with :math:`h_g(t) = 2{,}501{,}000 + 1860\\,t`, sensible
    :math:`\\dot m_a\\,1006\\,(t_o - t_i)`; latent + sensible = Q exactly. No air (fans off): zeros.
    """
    q = np.maximum(np.asarray(heat_w, dtype=float), 0.0)
    ma = np.asarray(air_kg_s, dtype=float)
    q, ma, db, rh = np.broadcast_arrays(q, ma, np.asarray(dry_bulb_c, dtype=float),
                                        np.asarray(relative_humidity, dtype=float))
    wi = humidity_ratio(db, rh)
    hi = moist_air_enthalpy_j_kg(db, wi)
    on = (ma > 0) & (q > 0)
    ho = hi + np.divide(q, ma, out=np.zeros_like(q), where=on)
    to = saturation_temperature_c(ho)
    wo = humidity_ratio(to, 1.0)
    # very dry air warmed little may leave below saturation: never less vapour than it came with
    wo = np.maximum(wo, wi)
    to = np.where(wo > wi, to, (ho - wi * H_FG0_J_KG) / (CP_AIR_J_KG_K + wi * CP_VAPOUR_J_KG_K))
    evap = np.where(on, ma * (wo - wi), 0.0)
    sensible = np.where(on, ma * CP_AIR_J_KG_K * (to - db), 0.0)
    vapour_out = wo * (H_FG0_J_KG + CP_VAPOUR_J_KG_K * to)
    vapour_in = wi * (H_FG0_J_KG + CP_VAPOUR_J_KG_K * db)
    latent = np.where(on, ma * (vapour_out - vapour_in), 0.0)
    return evap, latent, sensible


def make_up_water_kg_s(evaporated_kg_s: ArrayLike, circulating_kg_s: ArrayLike, drift: ArrayLike,
                       cycles: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(drift, blowdown, make-up) water of towers [kg/s]: make-up = evaporation + drift + blowdown.

    Drift is the share ``drift`` of the water circulated; blowdown holds ``cycles`` of concentration,
    :math:`\\max(0, \\dot m_{evap}/(n-1) - \\dot m_{drift})` (drift also carries solids out).
    """
    ev = np.asarray(evaporated_kg_s, dtype=float)
    dr = np.where(ev > 0, np.asarray(drift, dtype=float) * np.asarray(circulating_kg_s, dtype=float), 0.0)
    bd = np.maximum(ev / (np.asarray(cycles, dtype=float) - 1.0) - dr, 0.0)
    return dr, bd, ev + dr + bd
