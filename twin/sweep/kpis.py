"""The KPIs a sweep can keep: name -> unit, description and how it is read off a run's result.

Three registries: :data:`GRID_KPIS` for a grid scenario (:func:`twin.grid.simulate`),
:data:`LAYOUT_KPIS` for a layout base (a steady evaluation,
:class:`twin.engine.results.Results`), :data:`SCENARIO_KPIS` for a scenario base (its steady coupled
point or full run, :class:`twin.engine.timeseries.SimResults`, priced). Values are SI floats (the
unit is in the name), booleans or, for ``first_limit``, a resource name; a figure the result does not
have (PUE without a cooling design) is ``None``, stored as NaN / null.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

#: Share of a deployment's requests that must meet its SLA for ``sla_met`` (P99, as MLPerf Server). [-]
SLA_MET_SHARE = 0.99


@dataclass(frozen=True)
class Kpi:
    """One KPI: its unit, what it is, its column type and how to compute it from a :class:`Run`."""

    name: str
    unit: str
    description: str
    fn: Callable[[Run], Any]
    dtype: str = "float"  # "float", "bool" or "str"
    kind: str | None = None  # the twin.units kind a constraint's threshold with units is read as


class Run:
    """A finished run's result, with what several KPIs share computed once (capacity)."""

    def __init__(self, result: Any) -> None:
        self.result = result

    @cached_property
    def capacity(self):
        """:func:`twin.engine.capacity.capacity` of a steady result."""
        from twin.engine.capacity import capacity

        return capacity(self.result)

    @cached_property
    def kpis(self) -> dict:
        """``SimResults.kpis()`` of a scenario's run."""
        return self.result.kpis()

    @cached_property
    def deployments(self) -> list[dict]:
        """The scenario run's per-deployment figures."""
        return list(self.result.deployments.values())


def _cool(attr: str):
    def get(run: Run):
        c = run.result.cooling
        return None if c is None else getattr(c, attr)
    return get


def _first_limit(run: Run, n_minus_1: bool):
    first = run.capacity.first_limit(n_minus_1)
    if first is None:
        return None
    g = first.growth_n_minus_1 if n_minus_1 and first.growth_n_minus_1 is not None else first.growth
    return g


def _limit_name(run: Run):
    first = run.capacity.first_limit(True)
    return None if first is None else first.name


def _layout(name: str, unit: str, description: str, fn, dtype: str = "float", kind: str | None = None) -> Kpi:
    return Kpi(name, unit, description, fn, dtype, kind)


LAYOUT_KPIS: dict[str, Kpi] = {k.name: k for k in [
    _layout("facility_power_w", "W", "power at the meter: IT, electrical losses and cooling",
            lambda r: r.result.facility_power_w, kind="power"),
    _layout("it_power_w", "W", "IT power: compute racks and network racks", lambda r: r.result.it_power_w,
            kind="power"),
    _layout("power_chain_w", "W", "input of the power chain (IT and its electrical losses)",
            lambda r: r.result.power_chain_w, kind="power"),
    _layout("losses_total_w", "W", "electrical losses outside IT power", lambda r: r.result.losses_total_w,
            kind="power"),
    _layout("fabric_power_w", "W", "power of the network racks", lambda r: r.result.network_power_w,
            kind="power"),
    _layout("cooling_power_w", "W", "power of the cooling plant", lambda r: r.result.cooling_power_w,
            kind="power"),
    _layout("pue", "-", "facility power / IT power (None without a cooling design)", lambda r: r.result.pue),
    _layout("pue_electrical", "-", "power-chain input / IT power", lambda r: r.result.pue_electrical),
    _layout("max_gpu_temp_c", "degC", "hottest GPU at the design ambient", _cool("max_gpu_temp_c"),
            kind="temperature"),
    _layout("min_throttle_margin_k", "K", "smallest margin of a GPU below its throttle temperature",
            _cool("min_throttle_margin_k"), kind="temperature_difference"),
    _layout("racks_throttled", "count", "racks whose GPUs throttle at the design ambient",
            _cool("racks_throttled")),
    _layout("max_ambient_c", "degC", "highest ambient dry bulb the plant holds without throttling",
            _cool("max_ambient_c"), kind="temperature"),
    _layout("heat_rejected_w", "W", "heat the plant rejects to ambient", _cool("heat_rejected_w"),
            kind="power"),
    _layout("water_use_m3_s", "m**3/s", "evaporated water (adiabatic coolers, towers)",
            lambda r: None if r.result.cooling is None else r.result.cooling.water_use_m3_h / 3600.0,
            kind="flow"),
    _layout("n_minus_1_survives", "bool", "every single power failure leaves no rack dropped, nothing "
            "overloaded", lambda r: r.result.n_minus_1_survives, "bool"),
    _layout("cooling_n_minus_1_survives", "bool",
            "no single cooling failure throttles a GPU or leaves a room short",
            _cool("n_minus_1_survives"), "bool"),
    _layout("baseline_overloads", "count", "components over their rating in normal operation",
            lambda r: len(r.result.baseline_overloads)),
    _layout("invariants_hold", "bool", "every invariant of the evaluation holds",
            lambda r: all(r.result.invariants.values()), "bool"),
    _layout("num_racks", "count", "racks in the layout", lambda r: r.result.factory.num_racks),
    _layout("num_gpus", "count", "GPUs in the layout", lambda r: r.result.factory.num_gpus),
    _layout("first_limit", "name", "the load resource that binds first as load grows (N-1 kept)",
            _limit_name, "str"),
    _layout("first_limit_growth", "-", "factor the load can grow by before the first limit binds, its "
            "N-1 margin kept (twin.engine.capacity)", lambda r: _first_limit(r, True)),
    _layout("first_limit_growth_without_n_minus_1", "-", "as first_limit_growth, N-1 margins given up",
            lambda r: _first_limit(r, False)),
]}


def _k(key: str):
    return lambda r: r.kpis.get(key)


def _slo_share(run: Run):
    shares = [d["slo_met_share"] for d in run.deployments if d.get("slo_met_share") is not None]
    return min(shares) if shares else None


def _sla_met(run: Run):
    share = _slo_share(run)
    return None if share is None else bool(share >= SLA_MET_SHARE)


def _max_pct(name: str):
    def get(run: Run):
        vals = [(d.get(name) or {}).get("p99") for d in run.deployments]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None
    return get


def _tokens_per_s(run: Run):
    k = run.kpis
    return k["output_tokens"] / k["duration_s"] if k["duration_s"] > 0 else None


_SIM = [
    ("duration_s", "s", "simulated time", "time"),
    ("output_tokens", "tokens", "output tokens served", None),
    ("energy_j", "J", "energy at the meter", "energy"),
    ("facility_energy_j", "J", "energy of the facility (utility and generators)", "energy"),
    ("generator_energy_j", "J", "energy from generators", "energy"),
    ("it_energy_j", "J", "IT energy", "energy"),
    ("cooling_energy_j", "J", "cooling energy", "energy"),
    ("peak_power_w", "W", "peak power at the meter", "power"),
    ("mean_power_w", "W", "mean power at the meter", "power"),
    ("max_ramp_w_per_s", "W/s", "largest power ramp at the meter", "power_ramp"),
    ("max_gpu_temp_c", "degC", "hottest GPU of the run", "temperature"),
    ("throttled_rack_seconds", "s", "rack-seconds spent thermally throttled", "time"),
    ("capped_rack_seconds", "s", "rack-seconds spent under a power cap", "time"),
    ("unpowered_rack_seconds", "s", "rack-seconds without power", "time"),
    ("tokens_lost", "tokens", "output tokens lost to events and policies (against the run without them)",
     None),
    ("pue", "-", "facility energy / IT energy", None),
    ("annual_pue", "-", "PUE of a whole-year run (None otherwise)", None),
    ("wue_l_per_kwh", "L/kWh", "site water drawn per IT energy", None),
    ("free_cooling_hours", "h", "hours with no trim chiller running (annual mode; None otherwise)", "time"),
    ("peak_overloaded_components", "count", "most components over their rating at once", None),
    ("cost_usd", "USD", "cost of the run (capital share, energy, operations)", "money"),
    ("usd_per_gpu_hour", "USD/GPU/h", "cost per GPU-hour", None),
    ("tokens_per_dollar", "tokens/USD", "output tokens per dollar", None),
    ("usd_per_million_tokens", "USD/Mtoken", "dollars per million output tokens", None),
    ("usd_per_million_total_tokens", "USD/Mtoken", "dollars per million input and output tokens", None),
    ("tokens_per_mw", "tokens/s/MW", "output tokens per second per MW at the meter", None),
    ("tokens_per_kwh", "tokens/kWh", "output tokens per kWh at the meter", None),
    ("lost_tokens_usd", "USD", "value of the tokens lost", "money"),
]

SCENARIO_KPIS: dict[str, Kpi] = {k.name: k for k in [
    *(Kpi(name, unit, desc, _k(name), "float", kind) for name, unit, desc, kind in _SIM),
    Kpi("output_tokens_per_s", "tokens/s", "output tokens per second (mean over the run)", _tokens_per_s),
    Kpi("min_slo_met_share", "-", "smallest share of requests meeting their deployment's SLA", _slo_share),
    Kpi("sla_met", "bool", f"every deployment with an SLA meets it for at least {SLA_MET_SHARE:.0%} of "
        "its requests", _sla_met, "bool"),
    Kpi("max_ttft_p99_s", "s", "largest P99 time to first token over the deployments", _max_pct("ttft_s"),
        kind="time"),
    Kpi("max_tpot_p99_s", "s", "largest P99 time per output token over the deployments",
        _max_pct("tpot_s"), kind="time"),
    Kpi("invariants_hold", "bool", "every invariant of the run holds",
        lambda r: all(r.result.invariants.values()), "bool"),
]}


def _grid(key: str):
    return lambda r: r.result.totals.get(key)


def _central(key: str):
    return lambda r: None if r.result.central is None else r.result.central["totals"].get(key)


#: KPIs of a grid base (:func:`twin.grid.simulate`, its ``totals`` and the everything-central run)
GRID_KPIS: dict[str, Kpi] = {k.name: k for k in [
    Kpi("deadline_miss_rate", "-", "share of requests missing their deadline (rejected included)",
        _grid("deadline_miss_rate")),
    Kpi("served_per_s", "req/s", "requests served per second", _grid("served_per_s")),
    Kpi("rejected_per_s", "req/s", "requests no site could take, per second", _grid("rejected_per_s")),
    Kpi("output_tokens_per_s", "tokens/s", "output tokens per second over every site",
        _grid("output_tokens_per_s")),
    Kpi("site_power_w", "W", "power of every site", _grid("site_power_w"), kind="power"),
    Kpi("cost_usd_per_h", "USD/h", "electricity, GPU-hours and traffic of every site per hour",
        _grid("cost_usd_per_h")),
    Kpi("tokens_per_dollar", "tokens/USD", "output tokens per dollar over the grid", _grid("tokens_per_usd")),
    Kpi("energy_mwh", "MWh", "energy of every site over a timeline (none for one steady state)",
        _grid("energy_mwh")),
    Kpi("cost_usd", "USD", "cost of every site over a timeline (none for one steady state)",
        _grid("cost_usd")),
    Kpi("site_power_peak_w", "W", "highest power of every site together over a timeline's steps",
        _grid("site_power_peak_w"), kind="power"),
    Kpi("worst_region_miss_rate", "-", "largest share of a region's requests missing their deadline",
        lambda r: max((x["deadline_miss_rate"] for x in r.result.regions), default=None)),
    Kpi("max_ttft_p99_s", "s", "largest P99 time to first token at the user over the regions",
        lambda r: max((x["ttft_s"]["p99"] for x in r.result.regions if x["ttft_s"]["p99"] is not None),
                      default=None), kind="time"),
    Kpi("central_deadline_miss_rate", "-", "deadline misses with everything at the central site",
        _central("deadline_miss_rate")),
    Kpi("invariants_hold", "bool", "requests are conserved per region and site",
        lambda r: all(r.result.invariants.values()), "bool"),
]}


def registry(base_kind: str) -> dict[str, Kpi]:
    """The KPIs of a ``"layout"``, ``"scenario"`` or ``"grid"`` base."""
    return {"layout": LAYOUT_KPIS, "grid": GRID_KPIS}.get(base_kind, SCENARIO_KPIS)


def compute(names: list[str], base_kind: str, result: Any) -> dict[str, Any]:
    """KPI name -> value (float, bool, str or None) for the named KPIs of one result."""
    reg = registry(base_kind)
    run = Run(result)
    out = {}
    for name in names:
        kpi = reg[name]
        v = kpi.fn(run)
        if v is None:
            out[name] = None
        elif kpi.dtype == "bool":
            out[name] = bool(v)
        elif kpi.dtype == "str":
            out[name] = str(v)
        else:
            f = float(v)
            out[name] = f if math.isfinite(f) or math.isinf(f) else None
    return out
