"""Vectorised parameters of a factory's cooling plant, and the failure state it runs under.

:class:`ThermalParams` turns the rated figures of the Factory's cooling topology into arrays per
rack, per CDU group and per hall loop (flows, capacity rates, conductances, heat capacities), once;
the steady and transient models then only do array arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from twin.factory import CoolingLoop, Factory
from twin.thermal.fluids import air_cp_j_kg_k, coolant
from twin.thermal.hx import ua_from_design
from twin.thermal.pressure import k_from_rating
from twin.thermal.tower import saturation_specific_heat_j_kg_k

#: Density of air at ~30 °C, 1 atm: 1.16 kg/m³ (CoolProp). Used for dry-cooler air capacity rates.
AIR_DENSITY_KG_M3 = 1.16

#: Specific heat of water at the rating points of heat-rejection catalogs (~30 °C). [J/(kg K)]
WATER_CP_RATING_J_KG_K = 4180.0

#: Time constant of the ideal CDU and facility-water temperature controllers. Assumption: valve
#: and fan loops of CDUs and dry coolers settle in tens of seconds.
CONTROL_TIME_CONSTANT_S = 30.0


@dataclass(frozen=True)
class Failures:
    """Cooling equipment out of service (counts), per CDU group or per loop. Zero = healthy."""

    cdus: np.ndarray  # per group: CDUs failed
    cdu_pumps: np.ndarray  # per group: pumps failed in one CDU of the group
    fw_pumps: np.ndarray  # per loop
    rejection_units: np.ndarray  # per loop: dry coolers or cooling towers
    trim_chillers: np.ndarray  # per loop
    crahs: np.ndarray  # per loop
    air_chillers: np.ndarray  # per loop
    room_crahs: np.ndarray  # per loop: the electrical room's
    room_chillers: np.ndarray  # per loop
    @classmethod
    def none(cls, params: ThermalParams) -> Failures:
        """No failures: zero counts for every CDU group and loop of ``params``."""
        g, n = params.num_groups, params.num_loops
        z = lambda k: np.zeros(k, dtype=np.int64)  # noqa: E731
        return cls(z(g), z(g), z(n), z(n), z(n), z(n), z(n), z(n), z(n))

    def with_(self, **changes: np.ndarray) -> Failures:
        """A copy with the given fields replaced, e.g. ``with_(crahs=...)``."""
        return replace(self, **changes)


@dataclass(frozen=True)
class ThermalParams:
    """Arrays of the cooling plant (SI). Built by :meth:`from_factory`."""

    loops: tuple[CoolingLoop, ...]
    # per rack
    rack_group: np.ndarray
    rack_loop: np.ndarray
    liquid: np.ndarray  # bool: rack has a liquid loop on a CDU group
    liquid_fraction: np.ndarray
    gpu_liquid: np.ndarray
    num_gpus: np.ndarray
    nameplate_w: np.ndarray
    flow_design_m3_s: np.ndarray
    cp_tcs: np.ndarray  # J/(kg K) of the rack's TCS coolant
    rho_tcs: np.ndarray
    c_rack_j_k: np.ndarray  # rack coolant heat capacity
    gpu_r_k_w: np.ndarray
    gpu_c_j_k: np.ndarray
    gpu_throttle_c: np.ndarray
    position: np.ndarray
    air_delta_t_k: np.ndarray
    # per CDU group
    group_loop: np.ndarray
    group_cdus: np.ndarray
    group_name: np.ndarray
    group_flow_design_m3_s: np.ndarray
    cdu_max_flow_m3_s: np.ndarray  # one CDU, all pumps running
    cdu_pumps: np.ndarray
    cdu_redundant_pumps: np.ndarray
    cdu_pump_power_w: np.ndarray
    cdu_rated_flow_m3_s: np.ndarray
    cdu_ua_w_k: np.ndarray
    cdu_prim_flow_m3_s: np.ndarray
    cdu_capacity_w: np.ndarray
    c_group_j_k: np.ndarray  # per CDU: secondary volume heat capacity
    # hydraulics per group (NaN where the catalog gives no pump curve or some rack no pressure drop)
    group_k_racks: np.ndarray  # the group's racks in parallel, k = ΔP/Q² [Pa/(m³/s)²]
    cdu_k_internal: np.ndarray  # one CDU's exchanger and strainer
    cdu_head_pa: np.ndarray  # one pump's head at its rated flow
    cdu_shutoff_pa: np.ndarray
    cdu_pump_efficiency: np.ndarray  # hydraulic power / electrical power at the rated point
    rack_supply_c: np.ndarray  # per group setpoint
    # per loop
    fw_supply_c: np.ndarray
    cp_fw: np.ndarray
    rho_fw: np.ndarray
    c_fw_j_k: np.ndarray
    ambient_dry_bulb_c: float
    ambient_relative_humidity: float
    extras: dict = field(default_factory=dict)

    @property
    def num_groups(self) -> int:
        """CDU groups of the plant."""
        return len(self.group_loop)

    @property
    def num_loops(self) -> int:
        """Cooling loops (one per hall with a cooling design)."""
        return len(self.loops)

    @classmethod
    def from_factory(cls, factory: Factory) -> ThermalParams:
        """Arrays of the factory's cooling plant; raises ValueError when it has no cooling design."""
        plant = factory.cooling
        if plant is None:
            raise ValueError(f"layout {factory.name!r} has no 'cooling:' section in any hall")
        racks = factory.racks
        loops = plant.loops
        rl = plant.rack_loop
        has_loop = rl >= 0
        lidx = np.where(has_loop, rl, 0)
        cp_tcs_l = np.array([coolant(lp.tcs_coolant, lp.rack_supply_c + 5).cp_j_kg_k for lp in loops])
        rho_tcs_l = np.array([coolant(lp.tcs_coolant, lp.rack_supply_c + 5).density_kg_m3 for lp in loops])
        fpp = np.array([lp.flow_per_power_m3_s_w for lp in loops])
        liquid = plant.rack_group >= 0
        flow = np.where(liquid, fpp[lidx] * racks.cooling_design_w, 0.0)
        cp_tcs, rho_tcs = cp_tcs_l[lidx], rho_tcs_l[lidx]
        g_loop = plant.group_loop
        cdu = [lp.cdu for lp in loops]
        per_cdu = lambda key: np.array([c[key] for c in cdu])[g_loop]  # noqa: E731
        pumps, red = per_cdu("pumps"), per_cdu("redundant_pumps")
        rated_flow = per_cdu("rated_secondary_flow")
        cp_g, rho_g = cp_tcs_l[g_loop], rho_tcs_l[g_loop]
        cp_fw = np.array([coolant(lp.fw_coolant, lp.fw_supply_c + 5).cp_j_kg_k for lp in loops])
        rho_fw = np.array([coolant(lp.fw_coolant, lp.fw_supply_c + 5).density_kg_m3 for lp in loops])
        prim_flow = per_cdu("rated_primary_flow")
        # CDU conductance from its rated point: capacity at the rated approach and flows.
        cap = per_cdu("capacity")
        c_sec_r = rated_flow * rho_g * cp_g
        c_pri_r = prim_flow * rho_fw[g_loop] * cp_fw[g_loop]
        ua = ua_from_design(cap, per_cdu("rated_approach") + cap / c_sec_r, 0.0, c_sec_r, c_pri_r)
        group_flow = np.bincount(
            plant.rack_group[liquid], weights=flow[liquid], minlength=len(g_loop)
        ).astype(float)
        # hydraulics: racks in parallel on the group header, k from each rack's drop at its design flow
        k_rack = k_from_rating(racks.rack_pressure_drop_pa, np.where(liquid, flow, np.nan))
        inv_sqrt = np.bincount(plant.rack_group[liquid], weights=1.0 / np.sqrt(k_rack[liquid]),
                               minlength=len(g_loop)).astype(float)
        group_k = np.divide(1.0, inv_sqrt**2, out=np.full(len(g_loop), np.nan), where=inv_sqrt > 0)
        per_cdu_opt = lambda key: np.array([c.values.get(key, np.nan) for c in cdu])[g_loop]  # noqa: E731
        head = per_cdu_opt("rated_head")
        return cls(
            loops=loops,
            rack_group=plant.rack_group,
            rack_loop=rl,
            liquid=liquid,
            liquid_fraction=np.where(liquid, racks.liquid_fraction, 0.0),
            gpu_liquid=racks.gpu_liquid & liquid,
            num_gpus=racks.num_gpus,
            nameplate_w=racks.nameplate_w,
            flow_design_m3_s=flow,
            cp_tcs=cp_tcs,
            rho_tcs=rho_tcs,
            c_rack_j_k=racks.coolant_volume_m3 * rho_tcs * cp_tcs,
            gpu_r_k_w=racks.gpu_r_k_w,
            gpu_c_j_k=racks.gpu_c_j_k,
            gpu_throttle_c=racks.gpu_throttle_c,
            position=racks.coolant_position,
            air_delta_t_k=racks.air_delta_t_k,
            group_loop=g_loop,
            group_cdus=plant.group_cdus,
            group_name=plant.group_name,
            group_flow_design_m3_s=group_flow,
            cdu_max_flow_m3_s=rated_flow * pumps / np.maximum(pumps - red, 1),
            cdu_pumps=pumps,
            cdu_redundant_pumps=red,
            cdu_pump_power_w=per_cdu("pump_power"),
            cdu_rated_flow_m3_s=rated_flow,
            cdu_ua_w_k=ua,
            cdu_prim_flow_m3_s=prim_flow,
            cdu_capacity_w=cap,
            c_group_j_k=per_cdu("secondary_volume") * rho_g * cp_g,
            group_k_racks=group_k,
            cdu_k_internal=k_from_rating(per_cdu_opt("internal_pressure_drop"), rated_flow),
            cdu_head_pa=head,
            cdu_shutoff_pa=per_cdu_opt("shutoff_head"),
            cdu_pump_efficiency=head * rated_flow / per_cdu("pump_power"),
            rack_supply_c=np.array([lp.rack_supply_c for lp in loops])[g_loop],
            fw_supply_c=np.array([lp.fw_supply_c for lp in loops]),
            cp_fw=cp_fw,
            rho_fw=rho_fw,
            c_fw_j_k=np.array([lp.fw_volume_m3 for lp in loops]) * rho_fw * cp_fw,
            ambient_dry_bulb_c=plant.ambient_dry_bulb_c,
            ambient_relative_humidity=plant.ambient_relative_humidity,
            extras={"air_cp": air_cp_j_kg_k(), **_rejection_ratings(loops, rho_fw, cp_fw)},
        )

    def group_sum(self, rack_values: np.ndarray) -> np.ndarray:
        """Sum a per-rack array over each CDU group's racks (float, also with no groups)."""
        v = np.asarray(rack_values, dtype=float)
        return np.bincount(
            self.rack_group[self.liquid], weights=v[self.liquid], minlength=self.num_groups
        ).astype(float)

    def loop_sum(self, group_values: np.ndarray) -> np.ndarray:
        """Sum a per-group array over each hall loop's CDU groups."""
        return np.bincount(
            self.group_loop, weights=np.asarray(group_values, dtype=float), minlength=self.num_loops
        ).astype(float)

    def rack_loop_sum(self, rack_values: np.ndarray) -> np.ndarray:
        """Sum a per-rack array over each hall loop's racks (racks of halls without cooling skipped)."""
        v = np.asarray(rack_values, dtype=float)
        inside = self.rack_loop >= 0
        return np.bincount(self.rack_loop[inside], weights=v[inside], minlength=self.num_loops).astype(float)

    def per_rack(self, group_values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Spread a per-group array onto racks (``fill`` for racks without a CDU group)."""
        out = np.full(len(self.rack_group), fill, dtype=float)
        out[self.liquid] = np.asarray(group_values, dtype=float)[self.rack_group[self.liquid]]
        return out

    def loop_array(self, key: str, default: float | None = None) -> np.ndarray:
        """A figure of each loop's equipment, e.g. ``loop_array('rejection.capacity')``.

        0 where the loop has no such equipment; ``default`` where its entry lacks the figure (None:
        every entry must have it).
        """
        obj, _, fld = key.partition(".")
        out = []
        for lp in self.loops:
            eq = getattr(lp, obj)
            if eq is None:
                out.append(0.0)
            else:
                out.append(eq[fld] if default is None else eq.values.get(fld, default))
        return np.array(out, dtype=float)

    @property
    def tower_loop(self) -> np.ndarray:
        """Per loop: its heat rejection is cooling towers (else dry coolers)."""
        return np.array([lp.rejection.kind == "cooling_tower" for lp in self.loops], dtype=bool)

    def room_array(self, key: str, default: float | None = None) -> np.ndarray:
        """A figure of each loop's electrical room (0 where it has none), e.g. ``'crah.capacity'``.

        ``default`` where the room's equipment entry lacks the figure (None: it must have it).
        """
        obj, _, fld = key.partition(".")
        out = []
        for lp in self.loops:
            if lp.room is None:
                out.append(0.0)
            elif fld:
                eq = getattr(lp.room, obj)
                out.append(eq[fld] if default is None else eq.values.get(fld, default))
            else:
                out.append(getattr(lp.room, obj))
        return np.array(out, dtype=float)

    def room_count(self, key: str) -> np.ndarray:
        """A count of each loop's electrical room as floats (0 where it has none)."""
        return np.array([getattr(lp.room, key) if lp.room is not None else 0 for lp in self.loops],
                        dtype=float)

    @property
    def has_room(self) -> np.ndarray:
        """Per loop: the hall has an electrical-room cooling design."""
        return np.array([lp.room is not None for lp in self.loops], dtype=bool)

    def loop_count(self, key: str) -> np.ndarray:
        """A count of each loop as floats, e.g. ``loop_count('num_crahs')``."""
        return np.array([getattr(lp, key) for lp in self.loops], dtype=float)


def _rejection_ratings(loops, rho_fw: np.ndarray, cp_fw: np.ndarray) -> dict[str, np.ndarray]:
    """Air rate, UA and approach of one heat-rejection unit of each loop, from its rated point.

    ``rej_air_unit``: dry coolers ṁ_a c_p of the rated air [W/K]; cooling towers the rated dry-air
    mass flow [kg/s] (times Braun's c_pe at each operating point, :func:`twin.thermal.steady.rejection_bank`).
    ``rej_ua_unit`` [W/K]; ``rej_approach_k``: leaving water above the air (towers: the wet bulb) at
    rated duty [K], the condenser water a water-cooled chiller on the loop gets.
    """
    air_rate = AIR_DENSITY_KG_M3 * air_cp_j_kg_k()
    n = len(loops)
    air, ua, approach = np.zeros(n), np.zeros(n), np.zeros(n)
    for i, lp in enumerate(loops):
        eq = lp.rejection
        cap = eq["capacity"]
        if eq.kind == "cooling_tower":
            c_w = cap / eq["rated_range"]
            wb = eq["rated_wet_bulb"]
            t_in = wb + eq["rated_approach"] + eq["rated_range"]
            m_air = c_w / WATER_CP_RATING_J_KG_K * eq["air_to_water_ratio"]
            c_a = m_air * float(saturation_specific_heat_j_kg_k(t_in, wb))
            eps = cap / (min(c_a, c_w) * (t_in - wb))
            what = (f"cooling tower {eq.name!r}: capacity {cap / 1e3:.0f} kW at approach "
                    f"{eq['rated_approach']:g} K and range {eq['rated_range']:g} K")
            hot_in, c_cold, cold_in = t_in, c_a, wb
            air[i], approach[i] = m_air, eq["rated_approach"]
        else:
            c_a = eq["rated_air_flow"] * air_rate
            c_w = eq["rated_water_flow"] * rho_fw[i] * cp_fw[i]
            itd = eq["rated_itd"]
            eps = cap / (min(c_a, c_w) * itd)
            what = f"dry cooler {eq.name!r}: capacity {cap / 1e3:.0f} kW at ITD {itd:g} K"
            hot_in, c_cold, cold_in = itd, c_a, 0.0
            air[i], approach[i] = c_a, itd - cap / c_w
        if not 0 < eps < 1:
            raise ValueError(f"{what} needs effectiveness {eps:.2f}, impossible (must be below 1): raise the "
                             "rated flows or the temperature difference")
        ua[i] = float(ua_from_design(cap, hot_in, cold_in, c_w, c_cold))
    return {"rej_air_unit": air, "rej_ua_unit": ua, "rej_approach_k": approach}


def select_loop(p: ThermalParams, loop: int) -> tuple[ThermalParams, np.ndarray, np.ndarray]:
    """Parameters of one hall loop alone (loops do not exchange heat), with its rack and group indices.

    The indices are those of the racks and CDU groups it keeps, so a failure in one hall is simulated
    on that hall only.
    """
    racks = np.flatnonzero(p.rack_loop == loop)
    groups = np.flatnonzero(p.group_loop == loop)
    remap = np.full(p.num_groups, -1, dtype=np.int64)
    remap[groups] = np.arange(len(groups))
    rack_fields = {
        "liquid",
        "liquid_fraction",
        "gpu_liquid",
        "num_gpus",
        "nameplate_w",
        "flow_design_m3_s",
        "cp_tcs",
        "rho_tcs",
        "c_rack_j_k",
        "gpu_r_k_w",
        "gpu_c_j_k",
        "gpu_throttle_c",
        "position",
        "air_delta_t_k",
    }
    group_fields = {
        "group_cdus",
        "group_name",
        "group_flow_design_m3_s",
        "cdu_max_flow_m3_s",
        "cdu_pumps",
        "cdu_redundant_pumps",
        "cdu_pump_power_w",
        "cdu_rated_flow_m3_s",
        "cdu_ua_w_k",
        "cdu_prim_flow_m3_s",
        "cdu_capacity_w",
        "c_group_j_k",
        "rack_supply_c",
        "group_k_racks",
        "cdu_k_internal",
        "cdu_head_pa",
        "cdu_shutoff_pa",
        "cdu_pump_efficiency",
    }
    loop_fields = {"fw_supply_c", "cp_fw", "rho_fw", "c_fw_j_k"}
    changes: dict = {f: getattr(p, f)[racks] for f in rack_fields}
    changes |= {f: getattr(p, f)[groups] for f in group_fields}
    changes |= {f: getattr(p, f)[[loop]] for f in loop_fields}
    rg = p.rack_group[racks]
    new_group = np.full(len(rg), -1, dtype=np.int64)
    new_group[rg >= 0] = remap[rg[rg >= 0]]
    changes["rack_group"] = new_group
    changes["rack_loop"] = np.zeros(len(racks), dtype=np.int64)
    changes["group_loop"] = np.zeros(len(groups), dtype=np.int64)
    changes["loops"] = (p.loops[loop],)
    changes["extras"] = {k: (v[[loop]] if isinstance(v, np.ndarray) else v) for k, v in p.extras.items()}
    return replace(p, **changes), racks, groups
