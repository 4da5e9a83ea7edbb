"""Transient thermal model: lumped heat capacities integrated in time.

Nodes (well mixed): the die + cold plate of one representative GPU per rack (``C_die``), the
coolant of each rack loop (``C_rack``, its outlet is the node temperature), the secondary side of
each CDU group (``C_group``, its outlet is the rack supply), and the facility-water supply
(``C_fw``). Heat paths and flows are those of :mod:`twin.thermal.steady`:

.. math::
    C_{die}\\dot T_{die} &= P_{gpu} - (T_{die} - T_{cool})/R \\\\
    C_{rack}\\dot T_r &= Q_{other} + N_{gpu} (T_{die} - T_{cool})/R + \\dot m c_p (T_s - T_r) \\\\
    C_{g}\\dot T_s &= C_{sec} (T_{ret} - T_s) + P_{pump} - Q_{hx} \\\\
    C_{fw}\\dot T_{fw} &= \\sum Q_{hx} + P_{fw,pump} - Q_{rej}

CDU valves and dry-cooler fans are ideal controllers with time constant
:data:`~twin.thermal.plant.CONTROL_TIME_CONSTANT_S`: they deliver what holds the setpoint, up to
what the exchanger or the heat-rejection plant can do at that instant. Integration is explicit
Euler with sub-steps no longer than a quarter of the shortest time constant, so each step's energy
bookkeeping is exact: heat in = heat out + heat stored, per loop (tested to 1e-6). The fixed point
of these equations is the steady solution of :func:`twin.thermal.steady.solve_steady` (tested to
0.1 K).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from twin.thermal.plant import CONTROL_TIME_CONSTANT_S, Failures, ThermalParams
from twin.thermal.rejection import dry_cooler_heat_w
from twin.thermal.steady import (
    Ambient,
    ThermalResult,
    air_side,
    gpu_coolant_c,
    group_effectiveness,
    hydraulics,
    rejection_air_in_c,
    rejection_bank,
    rejection_power,
    room_air_capacity_w_k,
    room_side,
    trim_capacity_w,
)

#: Sub-steps are at most this fraction of the shortest time constant (explicit Euler accuracy).
SUBSTEP_FRACTION = 0.25


@dataclass(frozen=True)
class ThermalState:
    """Temperatures of every node. [°C]"""

    time_s: float
    gpu_c: np.ndarray  # per rack
    rack_c: np.ndarray  # per rack (liquid racks; supply temperature elsewhere)
    group_c: np.ndarray  # per CDU group: secondary supply
    fw_c: np.ndarray  # per loop: facility supply


@dataclass(frozen=True)
class StepOutputs:
    """What one step produced: temperatures, and the energy each loop took in, gave out and stored."""

    gpu_temp_c: np.ndarray
    throttle_margin_k: np.ndarray
    group_supply_c: np.ndarray
    fw_supply_c: np.ndarray
    heat_rejected_w: np.ndarray  # per loop, liquid side, averaged over the step
    secondary_in_j: np.ndarray  # per group: heat into racks' liquid + CDU pump work
    secondary_out_j: np.ndarray  # per group: heat passed to facility water
    secondary_stored_j: np.ndarray  # per group: in rack coolant, CDU volume and GPU dies
    facility_in_j: np.ndarray
    facility_out_j: np.ndarray
    facility_stored_j: np.ndarray
    #: per loop, at the end of the step: pumps, dry-cooler fans, trim chillers, CRAH fans, air chillers [W]
    cooling_power_w: np.ndarray | None = None
    air_heat_removed_w: np.ndarray | None = None  # per loop: heat the air side removed [W]
    air_unmet_w: np.ndarray | None = None  # per loop: air-side heat no CRAH or chiller removed [W]
    water_kg_s: np.ndarray | None = None  # per loop: water drawn (adiabatic pads, towers' make-up)
    #: per loop: CDU and facility pump work over the step (heat into the water)
    pump_work_j: np.ndarray | None = None


def initial_state(p: ThermalParams, steady: ThermalResult) -> ThermalState:
    """State at a steady solution (start of a transient)."""
    rack = np.where(p.liquid, steady.rack_return_c, 0.0)
    if not (np.isfinite(steady.group_supply_c).all() and np.isfinite(rack).all()):
        raise ValueError("cannot start a transient from a steady state without coolant flow")
    return ThermalState(
        0.0, steady.gpu_temp_c.copy(), rack, steady.group_supply_c.copy(), steady.fw_supply_c.copy()
    )


def time_constants_s(p: ThermalParams, f: Failures) -> float:
    """Shortest time constant of the network under failures ``f``. [s]"""
    h = hydraulics(p, f)
    taus = [CONTROL_TIME_CONSTANT_S, float(np.min(p.gpu_c_j_k * p.gpu_r_k_w))]
    flow = p.liquid & (h.c_rack_w_k > 0)
    if flow.any():
        taus.append(float(np.min(p.c_rack_j_k[flow] / h.c_rack_w_k[flow])))
    c_g = p.group_cdus * p.c_group_j_k
    ok = h.c_sec_w_k > 0
    if ok.any():
        taus.append(float(np.min(c_g[ok] / h.c_sec_w_k[ok])))
    okw = h.c_fw_w_k > 0
    if okw.any():
        taus.append(float(np.min(p.c_fw_j_k[okw] / h.c_fw_w_k[okw])))
    return min(taus)


@dataclass(frozen=True)
class StepPlan:
    """Everything a step computes from its inputs before integrating (held constant over the step).

    Built by :func:`plan_step`; a caller whose heat, ambient and failures do not change from one
    step to the next (the coupled engine within a serving epoch) builds it once and advances with
    :func:`step_planned` many times.
    """

    p: ThermalParams
    f: Failures
    ambient: Ambient
    q: np.ndarray
    pg: np.ndarray
    q_other: np.ndarray
    group_heat_in_w: np.ndarray  # heat into each group's liquid (racks) plus its CDU pumps
    h: object
    eps_cmin: np.ndarray
    c_g: np.ndarray
    loop_r: np.ndarray
    in_loop: np.ndarray
    air_in: np.ndarray
    c_air_dc: np.ndarray
    ua_dc: np.ndarray
    trim: np.ndarray
    air: object
    max_substep_s: float
    room: object = None  # the electrical rooms' air side (twin.thermal.steady.room_side)
    #: heat the running dry coolers reject per kelvin of water-to-air difference at full fan speed
    #: (ε C_min, fixed while flows and fans hold) [W/K], and the trim chillers' capacity where water flows
    dc_w_per_k: np.ndarray | None = None
    trim_on: np.ndarray | None = None


def plan_step(
    p: ThermalParams,
    rack_heat_w: ArrayLike,
    ambient: Ambient,
    *,
    gpu_power_w: ArrayLike,
    failures: Failures | None = None,
    max_substep_s: float | None = None,
    loop_air_heat_w: ArrayLike | None = None,
    room_heat_w: ArrayLike | None = None,
) -> StepPlan:
    """The setup of :func:`step` for these inputs (see :class:`StepPlan`)."""
    f = failures or Failures.none(p)
    q = np.asarray(rack_heat_w, dtype=float)
    pg = np.broadcast_to(np.asarray(gpu_power_w, dtype=float), q.shape)
    q_liq = p.liquid_fraction * q
    q_air = q - q_liq
    gl = p.gpu_liquid
    q_other = np.where(gl, q_liq - p.num_gpus * pg, q_liq)
    q_group = p.group_sum(q_liq)
    h = hydraulics(p, f, q_group)
    eps, c_min = group_effectiveness(h)
    heat_in_r = np.where(gl, q_other + p.num_gpus * pg, q_other)
    q_air_loop = p.rack_loop_sum(q_air)
    if loop_air_heat_w is not None:
        q_air_loop = q_air_loop + np.asarray(loop_air_heat_w, dtype=float)
    c_w = h.c_fw_w_k
    # towers' air rate depends on the water temperature: taken at the return the setpoint would have
    q_fw = p.loop_sum(q_group + h.cdu_pump_w) + h.fw_pump_w
    air_in = rejection_air_in_c(p, f, h, q_fw, ambient)
    ret = p.fw_supply_c + np.divide(q_fw, c_w, out=np.zeros_like(c_w), where=c_w > 0)
    ret = np.maximum(ret, air_in + 1.0)
    c_air_dc, ua_dc = rejection_bank(p, f, ret, air_in)
    trim = trim_capacity_w(p, f)
    return StepPlan(
        p=p, f=f, ambient=ambient, q=q, pg=pg, q_other=q_other,
        group_heat_in_w=p.group_sum(heat_in_r) + h.cdu_pump_w, h=h, eps_cmin=eps * c_min,
        c_g=p.group_cdus * p.c_group_j_k, loop_r=np.where(p.rack_loop >= 0, p.rack_loop, 0),
        in_loop=p.rack_loop >= 0, air_in=air_in, c_air_dc=c_air_dc, ua_dc=ua_dc,
        trim=trim, air=air_side(p, f, q_air_loop, room_air_capacity_w_k(p), ambient),
        max_substep_s=max_substep_s or SUBSTEP_FRACTION * time_constants_s(p, f),
        dc_w_per_k=dry_cooler_heat_w(ret, air_in, c_w, c_air_dc, ua_dc, 1.0) / (ret - air_in),
        trim_on=np.where(c_w > 0, trim, 0.0),
        room=room_side(p, np.zeros(p.num_loops) if room_heat_w is None
                       else np.asarray(room_heat_w, dtype=float), ambient, f),
    )


def step(
    p: ThermalParams,
    state: ThermalState,
    rack_heat_w: ArrayLike,
    ambient: Ambient,
    dt_s: float,
    *,
    gpu_power_w: ArrayLike,
    failures: Failures | None = None,
    max_substep_s: float | None = None,
    loop_air_heat_w: ArrayLike | None = None,
) -> tuple[ThermalState, StepOutputs]:
    """Advance every node by ``dt_s`` with heat and power held constant over the step.

    Parameters
    ----------
    p : ThermalParams
    state : ThermalState
    rack_heat_w : array over racks
        Electrical power into each rack (all becomes heat). [W]
    ambient : Ambient
    dt_s : float
        Step length. [s]
    gpu_power_w : array over racks
        Power of one GPU in each rack. [W]
    failures : Failures, optional
    max_substep_s : float, optional
        Longest explicit sub-step; defaults to a quarter of the shortest time constant.
    loop_air_heat_w : array over loops, optional
        Heat into each hall's air outside the racks (network racks). [W]
    """
    if not dt_s > 0:
        raise ValueError(f"dt_s must be positive, got {dt_s}")
    plan = plan_step(p, rack_heat_w, ambient, gpu_power_w=gpu_power_w, failures=failures,
                     max_substep_s=max_substep_s, loop_air_heat_w=loop_air_heat_w)
    return step_planned(plan, state, dt_s)


def step_planned(plan: StepPlan, state: ThermalState, dt_s: float, *, cooling_power: bool = True
                 ) -> tuple[ThermalState, StepOutputs]:
    """:func:`step` from a :class:`StepPlan`.

    ``cooling_power=False`` skips the plant's power (None in the outputs).

    The cooling plant's power (fan speeds solved for the heat rejected) is the one output the
    integration does not need; a caller stepping at 1 s may evaluate it less often.
    """
    if not dt_s > 0:
        raise ValueError(f"dt_s must be positive, got {dt_s}")
    p, f, h, air = plan.p, plan.f, plan.h, plan.air
    q, pg, q_other = plan.q, plan.pg, plan.q_other
    liquid, gl = p.liquid, p.gpu_liquid
    eps_cmin, c_g, loop_g, loop_r = plan.eps_cmin, plan.c_g, p.group_loop, plan.loop_r
    air_in = plan.air_in
    set_s = p.rack_supply_c
    set_fw = p.fw_supply_c
    tau_c = CONTROL_TIME_CONSTANT_S
    n = max(1, int(np.ceil(dt_s / plan.max_substep_s)))
    h_dt = dt_s / n
    t_die, t_r, t_s, t_fw = state.gpu_c.copy(), state.rack_c.copy(), state.group_c.copy(), state.fw_c.copy()
    sec_in = np.zeros(p.num_groups)
    sec_out = np.zeros(p.num_groups)
    sec_stored = np.zeros(p.num_groups)
    fw_in = np.zeros(p.num_loops)
    fw_out = np.zeros(p.num_loops)
    fw_stored = np.zeros(p.num_loops)
    rej_sum = np.zeros(p.num_loops)
    c_rack = h.c_rack_w_k
    c_w = h.c_fw_w_k
    for _ in range(n):
        t_sup_r = p.per_rack(t_s)
        t_cool = gpu_coolant_c(p, t_sup_r, np.where(liquid, t_r, 0.0), air.supply_c[loop_r], q)
        q_die = (t_die - t_cool) / p.gpu_r_k_w  # per GPU, die → coolant (or air)
        # rack loops
        into_rack = q_other + np.where(gl, p.num_gpus * q_die, 0.0)
        d_rack = np.where(
            liquid, h_dt * (into_rack + c_rack * (t_sup_r - t_r)) / np.where(liquid, p.c_rack_j_k, 1.0), 0.0
        )
        # CDU groups
        mix = p.group_sum(c_rack * t_r)
        t_ret = np.divide(mix, h.c_sec_w_k, out=t_s.copy(), where=h.c_sec_w_k > 0)
        q_max = np.maximum(eps_cmin * (t_ret - t_fw[loop_g]), 0.0)
        q_hold = h.c_sec_w_k * (t_ret - set_s) + h.cdu_pump_w + c_g * (t_s - set_s) / tau_c
        q_hx = np.clip(np.minimum(q_max, q_hold), 0.0, None)
        d_s = h_dt * (h.c_sec_w_k * (t_ret - t_s) + h.cdu_pump_w - q_hx) / c_g
        # facility water
        into_fw = p.loop_sum(q_hx) + h.fw_pump_w
        t_fwr = t_fw + np.divide(into_fw, c_w, out=np.zeros_like(c_w), where=c_w > 0)
        # ε-NTU at full fan speed is linear in the water-to-air difference (dry_cooler_heat_w)
        rej_max = plan.dc_w_per_k * np.maximum(t_fwr - air_in, 0.0) + plan.trim_on
        rej_hold = into_fw + p.c_fw_j_k * (t_fw - set_fw) / tau_c
        q_rej = np.clip(np.minimum(rej_max, rej_hold), 0.0, None)
        d_fw = h_dt * (into_fw - q_rej) / p.c_fw_j_k
        # dies
        d_die = h_dt * (pg - q_die) / p.gpu_c_j_k
        # energy bookkeeping (before the update, with the same rates)
        die_store = p.num_gpus * p.gpu_c_j_k * d_die
        rack_store = p.c_rack_j_k * d_rack
        stored_r = np.where(gl, die_store, 0.0) + np.where(liquid, rack_store, 0.0)
        sec_stored += p.group_sum(stored_r)
        sec_stored += c_g * d_s
        sec_in += h_dt * plan.group_heat_in_w
        sec_out += h_dt * q_hx
        fw_in += h_dt * into_fw
        fw_out += h_dt * q_rej
        fw_stored += p.c_fw_j_k * d_fw
        rej_sum += q_rej
        t_die = t_die + d_die
        t_r = t_r + d_rack
        t_s = t_s + d_s
        t_fw = t_fw + d_fw
    new = ThermalState(state.time_s + dt_s, t_die, t_r, t_s, t_fw)
    q_rej_mean = rej_sum / n
    cooling_w = water = None
    if cooling_power:
        rej = rejection_power(p, f, h, q_rej_mean, t_fwr, t_fw, air_in, plan.ambient, fan_method="grid")
        cooling_w = (p.loop_sum(h.cdu_pump_w) + h.fw_pump_w + rej.rejection_fan_w + rej.trim_chiller_w
                     + air.crah_fan_w + air.chiller_w + plan.room.crah_fan_w + plan.room.chiller_w)
        water = rej.water_kg_s
    t_j = np.where(plan.in_loop, t_die, np.nan)
    out = StepOutputs(
        gpu_temp_c=t_j,
        throttle_margin_k=p.gpu_throttle_c - t_j,
        group_supply_c=t_s,
        fw_supply_c=t_fw,
        heat_rejected_w=q_rej_mean,
        secondary_in_j=sec_in,
        secondary_out_j=sec_out,
        secondary_stored_j=sec_stored,
        facility_in_j=fw_in,
        facility_out_j=fw_out,
        facility_stored_j=fw_stored,
        cooling_power_w=cooling_w,
        air_heat_removed_w=air.chilled_water_load_w - air.crah_fan_w,
        air_unmet_w=air.unmet_w,
        water_kg_s=water,
        pump_work_j=dt_s * (p.loop_sum(h.cdu_pump_w) + h.fw_pump_w),
    )
    return new, out
