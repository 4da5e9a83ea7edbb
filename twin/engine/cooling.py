"""Coupling of the power chain to the cooling plant at steady state.

All electrical power into a rack becomes heat in that rack; the power model's per-GPU power sets
junction temperatures. Cooling equipment (pumps, fans, chillers, CRAHs) draws its power at the
meter, on its own mechanical distribution (assumption: its transformer losses are not modelled).
GPUs above their throttle temperature are reported; slowing them down is the coupled engine's job.

:func:`evaluate_cooling` computes every headline figure once, into :class:`CoolingResults`; its
``*_rows`` methods give the per-loop, per-CDU-group and per-rack tables, and ``to_dict`` only
assembles them for JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.engine.electrical_heat import LossHeat, LossHeatMap
from twin.factory import Factory
from twin.power.network import PowerFlow
from twin.thermal.failover import CoolingCase, cooling_n_minus_1, max_ambient_c
from twin.thermal.fluids import boiling_point_c
from twin.thermal.plant import ThermalParams
from twin.thermal.steady import Ambient, ThermalResult, solve_steady


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@dataclass(frozen=True)
class CoolingResults:
    """Steady cooling of a factory at one ambient, with cooling N-1 and the ambient limit.

    Powers in W, temperatures in °C. ``heat_to_air_w`` includes ``network_heat_to_air_w`` (the fabric's
    network racks); ``it_power_w`` is the heat of every compute and network rack. Heat in halls without a
    cooling design (their racks' heat, and ``network_heat_outside_loops_w``: network racks there or
    placed site-wide) is counted as heat but removed by no modelled plant: ``cooling_power_w`` and PUE
    leave out its cooling. ``loss_heat`` is where the power chain's losses went
    (:mod:`twin.engine.electrical_heat`): the hall air, the electrical rooms, outdoors.
    """

    factory: Factory
    params: ThermalParams
    ambient: Ambient
    result: ThermalResult
    cases: list[CoolingCase] | None
    max_ambient_c: float | None
    loop_air_heat_w: np.ndarray
    it_power_w: float
    heat_to_liquid_w: float
    heat_to_air_w: float
    network_heat_to_air_w: float
    network_heat_outside_loops_w: float
    heat_rejected_w: float
    cooling_power_w: float
    water_use_m3_h: float  # drawn: adiabatic pads, or the towers' make-up
    max_gpu_temp_c: float | None
    min_throttle_margin_k: float | None
    racks_throttled: int
    loss_heat: LossHeat | None = None
    #: heat in halls without a cooling design: their racks' heat and network racks outside loops [W]
    heat_outside_loops_w: float = 0.0

    @property
    def heat_to_ambient_w(self) -> float:
        """Heat that leaves the site, rejected or not by a modelled plant. [W]

        What the plant rejects, what outdoor transformers shed, and heat no modelled plant removes
        (halls without a cooling design). At steady state with no unmet air heat it equals the
        facility power.
        """
        lh = self.loss_heat
        extra = (lh.outdoor_w + lh.uncooled_w) if lh is not None else 0.0
        return self.heat_rejected_w + extra + self.heat_outside_loops_w

    @property
    def wue_l_per_kwh(self) -> float:
        """Site water drawn per kWh of IT energy at this operating point (The Green Grid's WUE). [L/kWh]"""
        return self.water_use_m3_h * 1e3 / (self.it_power_w / 1e3) if self.it_power_w > 0 else 0.0

    @property
    def unmet_heat_w(self) -> float:
        """Heat the halls' and electrical rooms' air sides could not remove (it heats their air). [W]"""
        r = self.result
        return float(r.air_unmet_w.sum() + r.room_unmet_w.sum())

    @property
    def n_minus_1_survives(self) -> bool | None:
        """True when no single cooling failure throttles a GPU or leaves an electrical room short.

        None when the cooling N-1 was not analysed.
        """
        return None if self.cases is None else all(c.survives for c in self.cases)

    def loop_rows(self) -> list[dict]:
        """One row per hall loop: heat, temperatures, CDU loading, heat rejection."""
        r, p = self.result, self.params
        boil = boiling_point_c()
        rows = []
        for li, lp in enumerate(p.loops):
            in_loop = p.rack_loop == li
            groups = p.group_loop == li
            loading = np.divide(
                r.group_heat_w[groups],
                r.group_capacity_w[groups],
                out=np.full(int(groups.sum()), np.inf),
                where=r.group_capacity_w[groups] > 0,
            )
            rows.append(
                {
                    "name": lp.name,
                    "racks": int(in_loop.sum()),
                    "heat_to_liquid_w": float(r.heat_to_liquid_w[in_loop].sum()),
                    "heat_to_air_w": float(r.heat_to_air_w[in_loop].sum()) + float(self.loop_air_heat_w[li]),
                    "max_gpu_temp_c": _finite(np.nanmax(r.gpu_temp_c[in_loop])) if in_loop.any() else None,
                    "rack_supply_c_max": _finite(np.nanmax(r.group_supply_c[groups]))
                    if groups.any()
                    else None,
                    "cdu_groups": int(groups.sum()),
                    "cdu_loading_max": _finite(loading.max()) if groups.any() else None,
                    "no_steady_state": bool(np.isinf(r.gpu_temp_c[in_loop]).any()),
                    "facility_supply_c": _finite(r.fw_supply_c[li]) if r.fw_return_c[li] < boil else None,
                    "facility_setpoint_c": lp.fw_supply_c,
                    "rack_setpoint_c": lp.rack_supply_c,
                    "facility_return_c": _finite(r.fw_return_c[li]) if r.fw_return_c[li] < boil else None,
                    "rejection_fan_speed": float(r.fan_speed[li]),
                    "air_supply_c": _finite(r.air_supply_c[li]),
                    "air_unmet_w": float(r.air_unmet_w[li]),
                    "water_use_m3_h": float(r.water_kg_s[li] * 3.6),
                    "water_evaporated_m3_h": float(r.evaporated_kg_s[li] * 3.6),
                    "heat_rejection": lp.rejection.kind,
                    "trim_heat_w": float(r.trim_heat_w[li]),
                    "heat_rejected_w": float(r.heat_rejected_w[li]),
                    "losses_to_hall_air_w": float(self.loss_heat.hall_air_w[li]) if self.loss_heat else 0.0,
                    "electrical_room_heat_w": float(r.room_heat_w[li]),
                    "electrical_room_supply_c": _finite(r.room_supply_c[li]) if lp.room is not None else None,
                    "electrical_room_unmet_w": float(r.room_unmet_w[li]),
                }
            )
        return rows

    def group_rows(self) -> list[dict]:
        """One row per CDU group: heat, capacity in service, loading, temperatures, pump power."""
        r, p = self.result, self.params
        return [
            {
                "name": str(p.group_name[g]),
                "cdus": int(p.group_cdus[g]),
                "heat_w": float(r.group_heat_w[g]),
                "capacity_w": float(r.group_capacity_w[g]),
                "loading": (_finite(r.group_heat_w[g] / r.group_capacity_w[g])
                            if r.group_capacity_w[g] else None),
                "supply_c": _finite(r.group_supply_c[g]),
                "return_c": _finite(r.group_return_c[g]),
                "approach_k": _finite(r.group_supply_c[g] - r.fw_supply_c[p.group_loop[g]]),
                "pump_power_w": float(r.group_pump_w[g]),
                "design_flow_l_min": float(r.group_design_flow_m3_s[g] * 60e3),
                "flow_l_min": float(r.rack_flow_m3_s[p.rack_group == g].sum() * 60e3),
                "max_flow_l_min": _finite(r.group_max_flow_m3_s[g] * 60e3),
                "pressure_at_design_kpa": _finite(r.group_pressure_at_design_pa[g] / 1e3),
                "pump_head_at_design_kpa": _finite(r.group_head_at_design_pa[g] / 1e3),
            }
            for g in range(p.num_groups)
        ]

    def rack_rows(self) -> list[dict]:
        """One row per rack in a hall with a cooling design: GPU temperature, margin, coolant, heat."""
        r, p = self.result, self.params
        names = self.factory.racks.name
        return [
            {
                "name": str(names[i]),
                "gpu_temp_c": _finite(r.gpu_temp_c[i]),
                "throttle_margin_k": _finite(r.throttle_margin_k[i]),
                "supply_c": _finite(r.rack_supply_c[i]) if p.liquid[i] else None,
                "return_c": _finite(r.rack_return_c[i]) if p.liquid[i] else None,
                "flow_l_min": float(r.rack_flow_m3_s[i] * 60e3),
                "heat_to_liquid_w": float(r.heat_to_liquid_w[i]),
                "heat_to_air_w": float(r.heat_to_air_w[i]),
            }
            for i in np.flatnonzero(p.rack_loop >= 0)
        ]

    def to_dict(self) -> dict:
        """The figures and tables as JSON-ready data (the ``cooling`` section of ``twin evaluate``)."""
        out = {
            "ambient_dry_bulb_c": self.ambient.dry_bulb_c,
            "ambient_relative_humidity": self.ambient.relative_humidity,
            "max_gpu_temp_c": self.max_gpu_temp_c,
            "min_throttle_margin_k": self.min_throttle_margin_k,
            "racks_throttled": self.racks_throttled,
            "it_power_w": self.it_power_w,
            "heat_to_liquid_w": self.heat_to_liquid_w,
            "heat_to_air_w": self.heat_to_air_w,
            "network_heat_to_air_w": self.network_heat_to_air_w,
            "network_heat_outside_loops_w": self.network_heat_outside_loops_w,
            "heat_rejected_w": self.heat_rejected_w,
            "heat_to_ambient_w": self.heat_to_ambient_w,
            "losses_to_hall_air_w": float(self.loss_heat.hall_air_w.sum()) if self.loss_heat else 0.0,
            "losses_to_electrical_rooms_w": float(self.loss_heat.room_w.sum()) if self.loss_heat else 0.0,
            "losses_outdoors_w": self.loss_heat.outdoor_w if self.loss_heat else 0.0,
            "losses_uncooled_w": self.loss_heat.uncooled_w if self.loss_heat else 0.0,
            "cooling_power_w": self.cooling_power_w,
            "cooling_power_by_kind_w": self.result.cooling_power_by_kind(),
            "water_use_m3_h": self.water_use_m3_h,
            "water_evaporated_m3_h": float(self.result.evaporated_kg_s.sum() * 3.6),
            "wue_l_per_kwh": self.wue_l_per_kwh,
            "max_ambient_c": self.max_ambient_c,
            "loops": self.loop_rows(),
            "cdu_groups": self.group_rows(),
            "racks": self.rack_rows(),
        }
        if self.cases is not None:
            out["n_minus_1_survives"] = self.n_minus_1_survives
            out["n_minus_1"] = [
                {
                    "failed": c.failed,
                    "kind": c.kind,
                    "survives": c.survives,
                    "racks_throttled": c.racks_throttled,
                    "seconds_to_first_throttle": c.seconds_to_first_throttle,
                    "peak_gpu_temp_c": _finite(c.peak_gpu_temp_c),
                    "components_alike": c.alike,
                    "room_unmet_w": c.room_unmet_w,
                }
                for c in self.cases
            ]
        return out


def evaluate_cooling(
    factory: Factory,
    flow: PowerFlow,
    *,
    ambient_c: float | None = None,
    with_n_minus_1: bool = True,
    progress: Callable[[int, int], None] | None = None,
    hall_air_heat_w: dict[str, float] | None = None,
    extra_rack_heat_w: np.ndarray | None = None,
    network_losses_w: float = 0.0,
) -> CoolingResults:
    """Steady cooling for the power flow's rack heat and the chain's losses; optional N-1 and max ambient.

    ``hall_air_heat_w`` is heat released into a hall's air outside the racks, by hall name (the
    fabric's network racks); ``extra_rack_heat_w`` is power in each compute rack that the power
    model does not carry (fabric parts not in the system entry); ``network_losses_w`` the chain's
    losses on the network racks' power, spread over the nodes (:mod:`twin.engine.electrical_heat`). [W]
    """
    p = ThermalParams.from_factory(factory)
    air = np.array([(hall_air_heat_w or {}).get(lp.name, 0.0) for lp in p.loops])
    loss = LossHeatMap.build(factory, p).split_flow(flow, network_losses_w)
    amb = Ambient(p.ambient_dry_bulb_c if ambient_c is None else ambient_c, p.ambient_relative_humidity)
    heat, gpu = flow.rack_input_w, flow.gpu_w
    if extra_rack_heat_w is not None:
        heat = heat + np.asarray(extra_rack_heat_w, dtype=float)
    hall_air = air + loss.hall_air_w
    r = solve_steady(p, heat, gpu, amb, None, hall_air, room_heat_w=loss.room_w)
    cases = (
        cooling_n_minus_1(p, heat, gpu, amb, progress=progress, loop_air_heat_w=hall_air,
                          room_heat_w=loss.room_w)
        if with_n_minus_1
        else None
    )
    limit = max_ambient_c(p, heat, gpu, amb.relative_humidity, loop_air_heat_w=hall_air)
    measured = (p.rack_loop >= 0) & np.isfinite(r.gpu_temp_c) | np.isinf(r.gpu_temp_c)
    tj = r.gpu_temp_c[measured]
    # network racks in a hall without a cooling design, or placed site-wide (fabric scope: site), heat
    # air that no modelled plant removes; it is still heat, counted here (as those halls' compute racks
    # are, through their air share)
    outside = float(sum((hall_air_heat_w or {}).values())) - float(air.sum())
    network_air = float(air.sum()) + outside
    return CoolingResults(
        factory=factory,
        params=p,
        ambient=amb,
        result=r,
        cases=cases,
        max_ambient_c=limit,
        loop_air_heat_w=air,
        it_power_w=float(heat.sum()) + network_air,
        heat_to_liquid_w=float(r.heat_to_liquid_w.sum()),
        heat_to_air_w=float(r.heat_to_air_w.sum()) + network_air,
        network_heat_to_air_w=network_air,
        network_heat_outside_loops_w=outside,
        heat_rejected_w=float(r.heat_rejected_w.sum()),
        cooling_power_w=r.cooling_power_w,
        water_use_m3_h=float(r.water_kg_s.sum() * 3.6),
        max_gpu_temp_c=_finite(tj.max()) if tj.size else None,
        min_throttle_margin_k=_finite((p.gpu_throttle_c[measured] - tj).min()) if tj.size else None,
        racks_throttled=int(np.sum(r.throttle_margin_k[measured] < 0)),
        loss_heat=loss,
        heat_outside_loops_w=float(heat[p.rack_loop < 0].sum()) + outside,
    )
