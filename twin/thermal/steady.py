"""Steady-state heat path: cold plate → rack loop → CDU → facility water → heat rejection; air side.

Equations (per rack r, CDU group g, hall loop l; all vectorised):

- rack: :math:`\\Delta T_r = Q_{liq,r} / (\\dot m_r c_p)`, return :math:`T_{s,g} + \\Delta T_r`;
  GPU coolant :math:`T_{s,g} + x_r \\Delta T_r`; junction :math:`T_j = T_{cool} + P_{gpu} R_{j}`.
  Air-cooled GPUs see the air supply plus :math:`x_r \\Delta T_{air}` scaled by rack load.
- CDU group (ε-NTU, CDUs in parallel): the controller holds the secondary supply setpoint when the
  exchanger can, else :math:`T_{s} = T_{fw} + (Q_g + P_{pump})/(\\varepsilon C_{min}) - Q_g/C_{sec}`.
- facility loop: dry coolers modulate fans to hold the supply setpoint, trim chillers take what they
  cannot; when both are at capacity :math:`T_{fw} = T_{air} + (Q - Q_{ch})/(\\varepsilon C_{min}) - Q/C_w`.
- air side: CRAHs and chillers at the CRAH supply setpoint; unmet heat raises the air supply.

Pump work is heat in the fluid it moves. Energy balance (tested): heat to ambient = IT heat + every
cooling electrical load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from twin.thermal.fluids import LATENT_HEAT_J_KG, boiling_point_c, wet_bulb_c
from twin.thermal.hx import effectiveness_counterflow
from twin.thermal.plant import Failures, ThermalParams
from twin.thermal.pressure import max_flow_m3_s, pump_head_pa, pump_power_w
from twin.thermal.rejection import (
    adiabatic_air_c,
    affinity_power_w,
    chiller_cop,
    dry_cooler_fan_speed,
    dry_cooler_heat_w,
    fan_duty,
    part_load_factor,
)
from twin.thermal.tower import make_up_water_kg_s, saturation_specific_heat_j_kg_k, tower_water_kg_s


@dataclass(frozen=True)
class Hydraulics:
    """Flows and pump powers, which do not depend on temperatures."""

    rack_flow_m3_s: np.ndarray
    c_rack_w_k: np.ndarray  # ṁ cp per rack
    cdus_up: np.ndarray  # per group
    c_sec_w_k: np.ndarray  # per group
    c_prim_w_k: np.ndarray  # per group
    ua_w_k: np.ndarray  # per group
    cdu_pump_w: np.ndarray  # per group
    c_fw_w_k: np.ndarray  # per loop, whole facility flow
    fw_pump_w: np.ndarray  # per loop
    # per group, where the catalog gives the pump curve and the racks' drops (NaN elsewhere)
    group_max_flow_m3_s: np.ndarray | None = None  # what the running pumps push at full speed
    group_pressure_at_design_pa: np.ndarray | None = None  # racks + CDUs at the design flow
    group_head_at_design_pa: np.ndarray | None = None  # the running pumps' full-speed head at it


#: Lowest opening of a CDU's primary control valve, as a share of rated primary flow. Assumption.
MIN_PRIMARY_FRACTION = 0.1


def hydraulics(p: ThermalParams, f: Failures, group_heat_w: np.ndarray | None = None) -> Hydraulics:
    """Flows after failures: CDU secondary pumps limit group flow; facility pumps limit primary flow.

    Secondary (rack) flow is set by the racks' design flow, limited by the CDU pumps in service: by
    their rated flows, or, where the catalog gives the CDU's pump curve and every rack's pressure
    drop, by the flow those pumps push at full speed through the racks and CDUs in the group
    (:func:`twin.thermal.pressure.max_flow_m3_s`), with the pumps' power at the operating point.
    Each CDU's primary valve passes flow in proportion to its heat load (constant primary ΔT at the
    rated point), between :data:`MIN_PRIMARY_FRACTION` and fully open; the facility pumps in
    service limit the total.
    """
    cdus_up = np.maximum(p.group_cdus - f.cdus, 0)
    # one CDU of the group may have lost pumps; the group's available flow is the sum over CDUs
    pumps_run = np.clip(p.cdu_pumps - f.cdu_pumps, 0, None)
    per_pump = p.cdu_rated_flow_m3_s / np.maximum(p.cdu_pumps - p.cdu_redundant_pumps, 1)
    healthy = np.minimum(p.cdu_pumps * per_pump, p.cdu_max_flow_m3_s)
    degraded = np.where(f.cdu_pumps > 0, pumps_run * per_pump, healthy)
    avail = np.where(cdus_up > 0, (cdus_up - (f.cdu_pumps > 0)) * healthy + (f.cdu_pumps > 0) * degraded, 0.0)
    need = p.group_flow_design_m3_s
    # with a pump curve and the racks' drops: the flow the running pumps push through racks and CDUs
    # at full speed (twin.thermal.pressure), instead of their rated flows
    hyd = np.isfinite(p.group_k_racks) & np.isfinite(p.cdu_head_pa) & (cdus_up > 0)
    pumps_running = np.where(cdus_up > 0, (cdus_up - (f.cdu_pumps > 0)) * p.cdu_pumps
                             + (f.cdu_pumps > 0) * pumps_run, 0)
    k_sys = p.group_k_racks + p.cdu_k_internal / np.maximum(cdus_up, 1) ** 2
    q_max = max_flow_m3_s(k_sys, pumps_running, p.cdu_shutoff_pa, p.cdu_head_pa, per_pump)
    avail = np.where(hyd, q_max, avail)
    scale = np.divide(np.minimum(avail, need), need, out=np.zeros_like(need), where=need > 0)
    rack_flow = p.flow_design_m3_s * p.per_rack(scale)
    group_flow = need * scale
    rho_cp_rack = p.rho_tcs * p.cp_tcs
    c_rack = rack_flow * rho_cp_rack
    c_sec = p.group_sum(c_rack)
    # pump power: CDUs running share the flow; affinity law on each, or with hydraulics the pumps
    # slowed to the flow against the system's k Q² at the rated point's efficiency
    per_cdu_frac = np.divide(group_flow, np.maximum(cdus_up, 1) * p.cdu_rated_flow_m3_s)
    cdu_pump = cdus_up * affinity_power_w(p.cdu_pump_power_w, per_cdu_frac)
    with np.errstate(invalid="ignore"):
        hyd_pump = pump_power_w(group_flow, k_sys * group_flow**2, p.cdu_pump_efficiency)
    cdu_pump = np.where(hyd, hyd_pump, cdu_pump)
    with np.errstate(invalid="ignore", divide="ignore"):
        head_design = pump_head_pa(need / np.maximum(pumps_running, 1), p.cdu_shutoff_pa, p.cdu_head_pa,
                                   per_pump)
    # facility water: design primary flow of every CDU in service, limited by running pumps
    loop = p.group_loop
    q_g = np.zeros(p.num_groups) if group_heat_w is None else np.asarray(group_heat_w, dtype=float)
    load_frac = np.divide(q_g, cdus_up * p.cdu_capacity_w, out=np.ones_like(q_g), where=cdus_up > 0)
    prim_need_g = cdus_up * p.cdu_prim_flow_m3_s * np.clip(load_frac, MIN_PRIMARY_FRACTION, 1.0)
    prim_need = p.loop_sum(prim_need_g)
    pumps = p.loop_count("num_pumps") - f.fw_pumps
    pump_flow = p.loop_array("pump.rated_flow")
    avail_fw = np.maximum(pumps, 0) * pump_flow
    fw_scale = np.divide(
        np.minimum(avail_fw, prim_need), prim_need, out=np.zeros(p.num_loops), where=prim_need > 0
    )
    fw_flow = prim_need * fw_scale
    fw_pump = np.where(
        pumps > 0,
        np.maximum(pumps, 0)
        * affinity_power_w(
            p.loop_array("pump.rated_power"), np.divide(fw_flow, np.maximum(pumps, 1) * pump_flow)
        ),
        0.0,
    )
    rho_cp_fw = p.rho_fw * p.cp_fw
    return Hydraulics(
        rack_flow_m3_s=rack_flow,
        c_rack_w_k=c_rack,
        cdus_up=cdus_up,
        c_sec_w_k=c_sec,
        c_prim_w_k=prim_need_g * fw_scale[loop] * rho_cp_fw[loop],
        ua_w_k=cdus_up * p.cdu_ua_w_k,
        cdu_pump_w=cdu_pump,
        c_fw_w_k=fw_flow * rho_cp_fw,
        fw_pump_w=fw_pump,
        group_max_flow_m3_s=np.where(hyd, q_max, np.nan),
        group_pressure_at_design_pa=np.where(hyd, k_sys * need**2, np.nan),
        group_head_at_design_pa=np.where(hyd & (pumps_running > 0), head_design, np.nan),
    )


def group_effectiveness(h: Hydraulics) -> tuple[np.ndarray, np.ndarray]:
    """(ε, C_min) of each CDU group's exchangers (CDUs in parallel act as one of UA·n)."""
    c_min = np.minimum(h.c_sec_w_k, h.c_prim_w_k)
    c_max = np.maximum(h.c_sec_w_k, h.c_prim_w_k)
    ok = c_min > 0
    ntu = np.divide(h.ua_w_k, c_min, out=np.zeros_like(c_min), where=ok)
    cr = np.divide(c_min, c_max, out=np.zeros_like(c_min), where=c_max > 0)
    return np.where(ok, effectiveness_counterflow(ntu, cr), 0.0), c_min


@dataclass(frozen=True)
class Ambient:
    """Weather at one instant."""

    dry_bulb_c: float
    relative_humidity: float
    #: the wet bulb when already known (weather series compute theirs at once,
    #: :func:`twin.thermal.fluids.wet_bulb_psychrometric_c`); None: CoolProp's
    wet_bulb_known_c: float | None = None

    @property
    def wet_bulb_c(self) -> float:
        """Thermodynamic wet-bulb temperature of this weather. [°C]"""
        if self.wet_bulb_known_c is not None:
            return self.wet_bulb_known_c
        return wet_bulb_c(self.dry_bulb_c, self.relative_humidity)


def rejection_air_c(p: ThermalParams, amb: Ambient, pads: ArrayLike = True) -> np.ndarray:
    """Air temperature the heat rejection works against, per loop. [°C]

    Dry coolers: the dry bulb, or the air after adiabatic pads where fitted and ``pads`` (per loop)
    wets them; cooling towers: the wet bulb (:mod:`twin.thermal.tower`).
    """
    adiabatic = np.array([lp.adiabatic for lp in p.loops]) & np.asarray(pads, dtype=bool)
    out = np.full(p.num_loops, amb.dry_bulb_c)
    if adiabatic.any():
        eff = np.where(adiabatic, p.loop_array("rejection.adiabatic_effectiveness", 0.0), 0.0)
        out = adiabatic_air_c(amb.dry_bulb_c, amb.wet_bulb_c, eff)
    if p.tower_loop.any():
        out = np.where(p.tower_loop, amb.wet_bulb_c, out)
    return out


def rejection_air_in_c(p: ThermalParams, f: Failures, h: Hydraulics, q_fw_w: np.ndarray, amb: Ambient
                       ) -> np.ndarray:
    """Air the heat rejection sees, with adiabatic pads wetted only when they are needed. [°C]

    Pads run when the dry coolers could not hold the facility-water setpoint on dry air at full fan
    speed (the usual water-saving control of adiabatic coolers: wet operation at peak only);
    otherwise the air is the dry bulb.
    """
    dry = rejection_air_c(p, amb, pads=False)
    if not any(lp.adiabatic for lp in p.loops):
        return dry
    c_w = h.c_fw_w_k
    ret = p.fw_supply_c + np.divide(q_fw_w, c_w, out=np.zeros_like(c_w), where=c_w > 0)
    c_air, ua = rejection_bank(p, f, ret, dry)
    holds = dry_cooler_heat_w(ret, dry, c_w, c_air, ua, 1.0) >= q_fw_w * (1 - 1e-12)
    return np.where(holds, dry, rejection_air_c(p, amb))


def rejection_bank(p: ThermalParams, f: Failures, water_in_c: ArrayLike, air_in_c: ArrayLike
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(air capacity rate at full fan speed, UA) of each loop's running heat-rejection units. [W/K]

    Dry coolers: ṁ_a c_p of their rated air flow. Cooling towers: ṁ_a c_pe, with Braun's saturation
    specific heat between the entering water and the wet bulb (``air_in_c`` for tower loops).
    """
    n = np.maximum(p.loop_count("num_rejection") - f.rejection_units, 0)
    unit = p.extras["rej_air_unit"]
    if p.tower_loop.any():
        cpe = saturation_specific_heat_j_kg_k(np.maximum(water_in_c, np.asarray(air_in_c) + 0.05), air_in_c)
        unit = np.where(p.tower_loop, unit * cpe, unit)
    return n * unit, n * p.extras["rej_ua_unit"]


def trim_capacity_w(p: ThermalParams, f: Failures) -> np.ndarray:
    """Rated capacity of each loop's running trim chillers. [W]"""
    n = np.maximum(p.loop_count("num_trim_chillers") - f.trim_chillers, 0)
    return n * p.loop_array("trim_chiller.capacity")


def facility_supply_c(
    p: ThermalParams, f: Failures, h: Hydraulics, q_fw_w: np.ndarray, air_in_c: np.ndarray
) -> np.ndarray:
    """Steady facility-water supply temperature: the setpoint, or higher when rejection is short."""
    set_c = p.fw_supply_c
    c_w = h.c_fw_w_k
    ret_at_set = set_c + np.divide(q_fw_w, c_w, out=np.zeros_like(c_w), where=c_w > 0)
    c_air, ua = rejection_bank(p, f, ret_at_set, air_in_c)
    q_dc_at_set = dry_cooler_heat_w(ret_at_set, air_in_c, c_w, c_air, ua, 1.0)
    q_ch = trim_capacity_w(p, f)
    short = q_dc_at_set + q_ch < q_fw_w * (1 - 1e-12)
    c_min = np.minimum(c_air, c_w)
    c_max = np.maximum(c_air, c_w)
    ntu = np.divide(ua, c_min, out=np.zeros_like(c_min), where=c_min > 0)
    eps = effectiveness_counterflow(ntu, np.divide(c_min, c_max, out=np.zeros_like(c_min), where=c_max > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        raised = air_in_c + (q_fw_w - q_ch) / (eps * c_min) - q_fw_w / c_w
    raised = np.where((eps * c_min > 0) & (c_w > 0), raised, np.inf)
    return np.where(short, np.maximum(raised, set_c), set_c)


@dataclass(frozen=True)
class RejectionPower:
    """Heat rejection of each loop: fan and chiller power, fan speed, heat split and water.

    Fan power of the heat-rejection units (dry coolers or cooling towers), their fan speed [-],
    trim-chiller power, the heat the units and the trim chillers take from the facility water, the
    water drawn [kg/s] (adiabatic pads; towers: evaporation + drift + blowdown) and evaporated, and
    the latent share of the towers' heat [W] (with the sensible share it makes up all they reject).
    """

    rejection_fan_w: np.ndarray
    fan_speed: np.ndarray
    trim_chiller_w: np.ndarray
    heat_rejection_units_w: np.ndarray
    heat_trim_w: np.ndarray
    water_kg_s: np.ndarray
    evaporated_kg_s: np.ndarray | None = None
    latent_w: np.ndarray | None = None
    tower_heat_w: np.ndarray | None = None  # all the towers reject: free cooling + chiller condensers


def chiller_cop_at(p: ThermalParams, key: str, chilled_water_c: ArrayLike, amb: Ambient, air_in_c: ArrayLike,
                   load_w: ArrayLike, capacity_w: ArrayLike, room: bool = False) -> np.ndarray:
    """COP of each loop's chillers ``key`` at their condenser medium, chilled water and part load. [-]

    Air-cooled condensers see the dry bulb; water-cooled ones the condenser water the loop's heat
    rejection makes, taken at the air it works against plus its rated approach (towers: wet bulb +
    approach). The temperature law is :func:`twin.thermal.rejection.chiller_cop`, the part load
    :func:`twin.thermal.rejection.part_load_factor` at PLR = load / capacity in service.
    """
    get = p.room_array if room else p.loop_array
    water = get(f"{key}.condenser_water", 0.0) > 0.5
    condenser_c = np.where(water, np.asarray(air_in_c, dtype=float) + p.extras["rej_approach_k"],
                           amb.dry_bulb_c)
    cop = chiller_cop(chilled_water_c, condenser_c, get(f"{key}.rated_cop"),
                      get(f"{key}.rated_chilled_water_temp"), get(f"{key}.rated_ambient_temp"),
                      get(f"{key}.condenser_approach"))
    plr = np.divide(load_w, capacity_w, out=np.ones(np.broadcast(load_w, capacity_w).shape),
                    where=np.asarray(capacity_w) > 0)
    coeffs = np.stack([get(f"{key}.part_load_{c}", d) for c, d in (("a", 0.0), ("b", 1.0), ("c", 0.0))])
    return cop * part_load_factor(plr, coeffs)


def rejection_power(
    p: ThermalParams,
    f: Failures,
    h: Hydraulics,
    q_rej_w: np.ndarray,
    return_c: np.ndarray,
    supply_c: np.ndarray,
    air_in_c: np.ndarray,
    amb: Ambient,
    fan_method: str = "bisection",
) -> RejectionPower:
    """Split the rejected heat between the heat-rejection units (first) and trim chillers; power, water.

    The units cool the facility water as far as they can (free cooling, the economiser); the trim
    chillers take the rest to the setpoint. Water-cooled trim chillers reject their condenser heat
    (load + compressor power) to the same units (assumption: at the facility-water return
    temperature, for the fans and the water; their capacity limit is not re-checked).
    ``fan_method`` is how the fan speed is solved (:func:`twin.thermal.rejection.dry_cooler_fan_speed`).
    """
    c_w = h.c_fw_w_k
    c_air, ua = rejection_bank(p, f, return_c, air_in_c)
    n_units = np.maximum(p.loop_count("num_rejection") - f.rejection_units, 0)
    q_dc_max = dry_cooler_heat_w(return_c, air_in_c, c_w, c_air, ua, 1.0)
    q_dc = np.minimum(q_rej_w, q_dc_max)
    q_ch = np.maximum(q_rej_w - q_dc, 0.0)
    trim_cap = trim_capacity_w(p, f)
    cop = chiller_cop_at(p, "trim_chiller", supply_c, amb, air_in_c, q_ch, trim_cap)
    ch_w = np.divide(q_ch, cop, out=np.zeros_like(q_ch), where=cop > 0)
    water_cooled = p.loop_array("trim_chiller.condenser_water", 0.0) > 0.5
    q_units = q_dc + np.where(water_cooled, q_ch + ch_w, 0.0)  # what the units' fans must move
    min_speed = p.loop_array("rejection.min_fan_speed")
    speed = dry_cooler_fan_speed(np.minimum(q_units, q_dc_max), return_c, air_in_c, c_w, c_air, ua, min_speed,
                                 method=fan_method)
    speed = np.where(q_units > q_dc_max * (1 + 1e-12), 1.0, speed)
    # fans that can do no work stop: nothing to reject, or water no warmer than the air
    speed = np.where(q_units > 0, speed, 0.0)
    duty = fan_duty(q_units, dry_cooler_heat_w(return_c, air_in_c, c_w, c_air, ua, min_speed))
    fan_rated_w = p.loop_array("rejection.fan_power")
    fan_w = np.where(n_units > 0, n_units * duty * affinity_power_w(fan_rated_w, speed), 0.0)
    # dry coolers: the pads' evaporation is the sensible cooling of the air over the latent heat;
    # once-through pads draw more than they evaporate
    drawn = p.loop_array("rejection.pad_water_per_evaporated", 1.0)
    pads = duty * c_air * speed * (amb.dry_bulb_c - air_in_c) / LATENT_HEAT_J_KG
    evap = np.maximum(pads, 0.0)
    water = drawn * evap
    latent = np.zeros(p.num_loops)
    if p.tower_loop.any():
        t = p.tower_loop
        air_on = n_units * p.extras["rej_air_unit"] * speed  # kg/s of dry air while the fans run
        q_on = np.divide(q_units, duty, out=np.zeros_like(q_units), where=duty > 0)
        ev_on, lat_on, _ = tower_water_kg_s(q_on, air_on, amb.dry_bulb_c, amb.relative_humidity)
        ev_t = duty * ev_on
        circulating = np.where(q_units > 0, c_w / p.cp_fw, 0.0)
        _, _, make_up = make_up_water_kg_s(ev_t, circulating, p.loop_array("rejection.drift", 0.0),
                                           p.loop_array("rejection.cycles_of_concentration", 2.0))
        evap = np.where(t, ev_t, evap)
        water = np.where(t, make_up, water)
        latent = np.where(t, duty * lat_on, 0.0)
    return RejectionPower(fan_w, speed, ch_w, q_dc, q_ch, water, evap, latent,
                          np.where(p.tower_loop, q_units, 0.0))


@dataclass(frozen=True)
class AirSide:
    """Air side of each loop: CRAH fan and chiller power, chilled-water load, supply air, unmet heat."""

    crah_fan_w: np.ndarray
    chiller_w: np.ndarray
    chilled_water_load_w: np.ndarray
    supply_c: np.ndarray
    unmet_w: np.ndarray


def air_plant(
    q_air_w: np.ndarray,
    n_crah: np.ndarray,
    crah_capacity_w: np.ndarray,
    crah_fan_w: np.ndarray,
    n_chiller: np.ndarray,
    chiller_capacity_w: np.ndarray,
    chiller_cop_: Callable[[np.ndarray, np.ndarray], np.ndarray],
    supply_setpoint_c: np.ndarray,
    c_air_room_w_k: np.ndarray,
) -> AirSide:
    """CRAHs on chilled water from chillers: fan power ∝ load³, chiller power = load / COP.

    The CRAHs move ``q_air_w`` plus their own fan heat onto the chilled water; what the CRAH or
    chiller capacity cannot take is unmet and raises the supply air by ``unmet / (ṁ c_p)``.
    ``chiller_cop_(served_w, capacity_w)`` is the chillers' COP at the load they serve.
    """
    crah_cap = n_crah * crah_capacity_w
    share = np.divide(q_air_w, crah_cap, out=np.full_like(q_air_w, np.inf), where=crah_cap > 0)
    fan = np.where(n_crah > 0, n_crah * affinity_power_w(crah_fan_w, np.minimum(share, 1.0)), 0.0)
    load = q_air_w + fan
    ch_cap = n_chiller * chiller_capacity_w
    served = np.minimum(np.minimum(load, ch_cap), crah_cap + fan)
    unmet = np.maximum(load - served, 0.0)
    cop = chiller_cop_(served, ch_cap)
    chiller_w = np.divide(served, cop, out=np.zeros_like(served), where=cop > 0)
    supply = supply_setpoint_c + np.divide(
        unmet, c_air_room_w_k, out=np.where(unmet > 0, np.inf, 0.0), where=c_air_room_w_k > 0
    )
    return AirSide(fan, chiller_w, served, supply, unmet)


def _rated_cop(p: ThermalParams, key: str, amb: Ambient, load_w: np.ndarray, capacity_w: np.ndarray,
               room: bool = False) -> np.ndarray:
    """COP of each loop's air-side (or electrical-room) chillers (:func:`chiller_cop_at`).

    At their rated chilled water, the ambient (or condenser water) and their part load.
    """
    get = p.room_array if room else p.loop_array
    return chiller_cop_at(p, key, get(f"{key}.rated_chilled_water_temp"), amb, rejection_air_c(p, amb),
                          load_w, capacity_w, room=room)


def air_side(
    p: ThermalParams, f: Failures, q_air_loop_w: np.ndarray, c_air_room_w_k: np.ndarray, amb: Ambient
) -> AirSide:
    """CRAHs and air-side chillers of each hall (:func:`air_plant`), after failures."""
    return air_plant(
        q_air_loop_w,
        np.maximum(p.loop_count("num_crahs") - f.crahs, 0),
        p.loop_array("crah.capacity"),
        p.loop_array("crah.fan_power"),
        np.maximum(p.loop_count("num_air_chillers") - f.air_chillers, 0),
        p.loop_array("air_chiller.capacity"),
        lambda q, cap: _rated_cop(p, "air_chiller", amb, q, cap),
        np.array([lp.air_supply_c for lp in p.loops]),
        c_air_room_w_k,
    )


#: Air temperature rise across an electrical room's CRAH coils at their rated capacity, which sets
#: the room air's capacity rate (ṁ c_p = capacity / rise). Assumption: chilled-water CRAHs are
#: selected for a ~10-12 K air-side ΔT (ASHRAE TC 9.9 practice for raised-supply rooms).
ROOM_AIR_RISE_K = 11.0


def room_side(p: ThermalParams, q_room_w: np.ndarray, amb: Ambient, f: Failures | None = None) -> AirSide:
    """CRAHs and chillers of each hall's electrical rooms, for the power chain's losses there.

    Loops without an electrical-room design get zeros (their losses go to the hall air instead,
    which the caller adds to the hall's air heat). ``f``: room units out of service.
    """
    f = f or Failures.none(p)
    n_crah = np.maximum(p.room_count("num_crahs") - f.room_crahs, 0)
    crah_cap = p.room_array("crah.capacity")
    return air_plant(
        np.asarray(q_room_w, dtype=float),
        n_crah,
        crah_cap,
        p.room_array("crah.fan_power"),
        np.maximum(p.room_count("num_chillers") - f.room_chillers, 0),
        p.room_array("chiller.capacity"),
        lambda q, cap: _rated_cop(p, "chiller", amb, q, cap, room=True),
        p.room_array("supply_c"),
        p.room_count("num_crahs") * crah_cap / ROOM_AIR_RISE_K,  # the room's air, as designed
    )


@dataclass(frozen=True)
class ThermalResult:
    """Steady temperatures and powers. Rack arrays per rack, group arrays per CDU group, loops per hall."""

    gpu_temp_c: np.ndarray  # junction, inf where a rack has lost all coolant flow
    throttle_margin_k: np.ndarray
    rack_supply_c: np.ndarray
    rack_return_c: np.ndarray
    rack_flow_m3_s: np.ndarray
    heat_to_liquid_w: np.ndarray  # per rack
    heat_to_air_w: np.ndarray  # per rack
    group_heat_w: np.ndarray
    group_supply_c: np.ndarray
    group_return_c: np.ndarray
    group_capacity_w: np.ndarray  # CDUs in service x rated capacity
    group_pump_w: np.ndarray
    fw_supply_c: np.ndarray
    fw_return_c: np.ndarray
    fw_pump_w: np.ndarray
    rejection_fan_w: np.ndarray
    fan_speed: np.ndarray
    trim_chiller_w: np.ndarray
    crah_fan_w: np.ndarray
    air_chiller_w: np.ndarray
    air_supply_c: np.ndarray
    air_unmet_w: np.ndarray
    water_kg_s: np.ndarray  # drawn: adiabatic pads, or towers' make-up (evaporation + drift + blowdown)
    heat_rejected_w: np.ndarray  # per loop, to ambient
    tower_loop: np.ndarray  # per loop: heat rejection by cooling towers
    evaporated_kg_s: np.ndarray
    latent_w: np.ndarray  # the towers' heat carried by evaporated water
    tower_heat_w: np.ndarray  # all the towers reject (free cooling + water-cooled chiller condensers)
    trim_heat_w: np.ndarray  # the facility water's heat the trim chillers take (0: free cooling only)
    # hydraulics per CDU group (NaN where the catalog gives no pump curve or rack pressure drop)
    group_design_flow_m3_s: np.ndarray
    group_max_flow_m3_s: np.ndarray
    group_pressure_at_design_pa: np.ndarray
    group_head_at_design_pa: np.ndarray
    # electrical rooms, per loop (zeros where a hall has none)
    room_heat_w: np.ndarray  # the power chain's losses in the rooms
    room_crah_fan_w: np.ndarray
    room_chiller_w: np.ndarray
    room_supply_c: np.ndarray
    room_unmet_w: np.ndarray

    @property
    def cooling_power_w(self) -> float:
        """Power of every cooling load (:meth:`cooling_power_by_kind`). [W]

        CDU and facility pumps, dry-cooler fans, trim chillers, CRAH fans, air chillers, and the
        electrical rooms' CRAH fans and chillers.
        """
        return float(sum(self.cooling_power_by_kind().values()))

    def cooling_power_by_kind(self) -> dict[str, float]:
        """Cooling power by kind of equipment, summed over the plant. [W]"""
        return {
            "cdu_pumps": float(self.group_pump_w.sum()),
            "facility_pumps": float(self.fw_pump_w.sum()),
            "dry_cooler_fans": float(self.rejection_fan_w[~self.tower_loop].sum()),
            "cooling_tower_fans": float(self.rejection_fan_w[self.tower_loop].sum()),
            "trim_chillers": float(self.trim_chiller_w.sum()),
            "crah_fans": float(self.crah_fan_w.sum()),
            "air_chillers": float(self.air_chiller_w.sum()),
            "electrical_room_fans": float(self.room_crah_fan_w.sum()),
            "electrical_room_chillers": float(self.room_chiller_w.sum()),
        }


def _heat_split(p: ThermalParams, rack_heat_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q_liq = p.liquid_fraction * rack_heat_w
    return q_liq, rack_heat_w - q_liq


def gpu_coolant_c(
    p: ThermalParams, supply_c: np.ndarray, return_c: np.ndarray, air_c: np.ndarray, rack_heat_w: np.ndarray
) -> np.ndarray:
    """Temperature of the fluid that cools each rack's GPUs (liquid or air). [°C]"""
    liquid = supply_c + p.position * (return_c - supply_c)
    air_rise = p.air_delta_t_k * np.divide(
        rack_heat_w, p.nameplate_w, out=np.zeros_like(rack_heat_w), where=p.nameplate_w > 0
    )
    air = air_c + p.position * air_rise
    return np.where(p.gpu_liquid, liquid, air)


def room_air_capacity_w_k(p: ThermalParams) -> np.ndarray:
    """ṁ·cp of the room air per loop: the air-cooled share of nameplate heat over its design rise."""
    share = (1.0 - p.liquid_fraction) * p.nameplate_w / p.air_delta_t_k
    return p.rack_loop_sum(share)


def solve_steady(
    p: ThermalParams,
    rack_heat_w: ArrayLike,
    gpu_power_w: ArrayLike,
    ambient: Ambient | None = None,
    failures: Failures | None = None,
    loop_air_heat_w: ArrayLike | None = None,
    fan_method: str = "bisection",
    room_heat_w: ArrayLike | None = None,
) -> ThermalResult:
    """Steady temperatures, flows and cooling power for per-rack heat and per-GPU power.

    Parameters
    ----------
    p : ThermalParams
    rack_heat_w : array over racks
        Electrical power into each rack, all of which becomes heat. [W]
    gpu_power_w : array over racks
        Power of one GPU of each rack. [W]
    ambient : Ambient, optional
        Defaults to the layout's design ambient.
    failures : Failures, optional
    loop_air_heat_w : array over loops, optional
        Heat released into each hall's air outside the racks (network racks, lighting). [W]
    fan_method : str
        How dry-cooler fan speeds are solved (:func:`twin.thermal.rejection.dry_cooler_fan_speed`).
    room_heat_w : array over loops, optional
        Losses of the power chain in each hall's electrical rooms (:func:`room_side`); a hall
        without an electrical-room design takes them in its air instead (the caller's
        ``loop_air_heat_w``). [W]
    """
    amb = ambient or Ambient(p.ambient_dry_bulb_c, p.ambient_relative_humidity)
    f = failures or Failures.none(p)
    q = np.asarray(rack_heat_w, dtype=float)
    pg = np.broadcast_to(np.asarray(gpu_power_w, dtype=float), q.shape)
    q_liq, q_air = _heat_split(p, q)
    q_group = p.group_sum(q_liq)
    h = hydraulics(p, f, q_group)
    # pump work ends up as heat in the secondary loop; a group with no CDU or no flow passes nothing
    # to the facility water (its racks have no steady state, see below)
    eps, c_min = group_effectiveness(h)
    passes = (h.c_sec_w_k > 0) & (eps * c_min > 0)
    q_hx = np.where(passes, q_group + h.cdu_pump_w, 0.0)
    loop_g = p.group_loop
    q_fw = p.loop_sum(q_hx) + h.fw_pump_w
    air_in = rejection_air_in_c(p, f, h, q_fw, amb)
    t_fw = facility_supply_c(p, f, h, q_fw, air_in)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_s_min = t_fw[loop_g] + q_hx / (eps * c_min) - q_group / h.c_sec_w_k
    t_s_min = np.where((eps * c_min > 0) & (h.c_sec_w_k > 0), t_s_min, np.inf)
    t_s = np.maximum(p.rack_supply_c, t_s_min)
    supply = p.per_rack(t_s, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.where(h.c_rack_w_k > 0, q_liq / h.c_rack_w_k, np.where(q_liq > 0, np.inf, 0.0))
    ret = supply + rise
    # air side
    loop = np.where(p.rack_loop >= 0, p.rack_loop, 0)
    q_air_loop = p.rack_loop_sum(q_air)
    if loop_air_heat_w is not None:
        q_air_loop = q_air_loop + np.asarray(loop_air_heat_w, dtype=float)
    air = air_side(p, f, q_air_loop, room_air_capacity_w_k(p), amb)
    # a rack whose liquid loop has lost all flow (or whose CDU group reaches no steady supply) has
    # no steady state: its GPUs heat without bound, reported as +inf
    # ... and so has a loop whose coolant would boil (far too little flow or heat rejection)
    boil = boiling_point_c()
    loop_boils = ~(
        np.maximum(t_fw, t_fw + np.divide(q_fw, h.c_fw_w_k, out=np.zeros_like(q_fw), where=h.c_fw_w_k > 0))
        < boil
    )
    runaway = p.liquid & ~(np.isfinite(supply) & np.isfinite(ret) & (ret < boil))
    runaway |= p.liquid & loop_boils[np.where(p.rack_loop >= 0, p.rack_loop, 0)]
    safe_sup = np.where(p.liquid & ~runaway, supply, 0.0)
    safe_ret = np.where(p.liquid & ~runaway, ret, 0.0)
    coolant_c = gpu_coolant_c(p, safe_sup, safe_ret, air.supply_c[loop], q)
    t_j = coolant_c + pg * p.gpu_r_k_w
    t_j = np.where(runaway & p.gpu_liquid, np.inf, t_j)
    t_j = np.where(p.rack_loop >= 0, t_j, np.nan)
    ret_group = t_s + np.divide(
        q_group, h.c_sec_w_k, out=np.where(q_group > 0, np.inf, 0.0), where=h.c_sec_w_k > 0
    )
    t_fw_ret = t_fw + np.divide(q_fw, h.c_fw_w_k, out=np.where(q_fw > 0, np.inf, 0.0), where=h.c_fw_w_k > 0)
    rej = rejection_power(p, f, h, q_fw, t_fw_ret, t_fw, air_in, amb, fan_method)
    q_room = np.zeros(p.num_loops) if room_heat_w is None else np.asarray(room_heat_w, dtype=float)
    room = room_side(p, q_room, amb, f)
    heat_rejected = (
        q_fw + rej.trim_chiller_w + rej.rejection_fan_w + air.chilled_water_load_w + air.chiller_w
        + room.chilled_water_load_w + room.chiller_w
    )
    return ThermalResult(
        gpu_temp_c=t_j,
        throttle_margin_k=p.gpu_throttle_c - t_j,
        rack_supply_c=supply,
        rack_return_c=ret,
        rack_flow_m3_s=h.rack_flow_m3_s,
        heat_to_liquid_w=q_liq,
        heat_to_air_w=q_air,
        group_heat_w=q_group,
        group_supply_c=t_s,
        group_return_c=ret_group,
        group_capacity_w=h.cdus_up * p.cdu_capacity_w,
        group_pump_w=h.cdu_pump_w,
        fw_supply_c=t_fw,
        fw_return_c=t_fw_ret,
        fw_pump_w=h.fw_pump_w,
        rejection_fan_w=rej.rejection_fan_w,
        fan_speed=rej.fan_speed,
        trim_chiller_w=rej.trim_chiller_w,
        crah_fan_w=air.crah_fan_w,
        air_chiller_w=air.chiller_w,
        air_supply_c=air.supply_c,
        air_unmet_w=air.unmet_w,
        water_kg_s=rej.water_kg_s,
        heat_rejected_w=heat_rejected,
        tower_loop=p.tower_loop,
        evaporated_kg_s=rej.evaporated_kg_s,
        latent_w=rej.latent_w,
        tower_heat_w=rej.tower_heat_w,
        trim_heat_w=rej.heat_trim_w,
        group_design_flow_m3_s=p.group_flow_design_m3_s,
        group_max_flow_m3_s=h.group_max_flow_m3_s,
        group_pressure_at_design_pa=h.group_pressure_at_design_pa,
        group_head_at_design_pa=h.group_head_at_design_pa,
        room_heat_w=q_room,
        room_crah_fan_w=room.crah_fan_w,
        room_chiller_w=room.chiller_w,
        room_supply_c=room.supply_c,
        room_unmet_w=room.unmet_w,
    )
