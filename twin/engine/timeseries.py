"""Results of a coupled run: every step, per rack, per power component, per deployment, events, invariants.

:class:`StepRecorder` fills preallocated arrays as the engine steps (memory is fixed by the number of
steps, not grown); :meth:`StepRecorder.finish` computes the run's figures and invariants once into
:class:`SimResults`. Tables are pandas DataFrames built on demand; :meth:`SimResults.to_parquet`
writes them to a folder atomically (a temporary folder renamed into place, so a failed or
interrupted run leaves nothing half-written).

Invariants of every run (``SimResults.invariants``):

- ``energy_balance``: over the run, the heat the power model put into the cooled halls plus the pump
  work equals the heat rejected by the liquid loops, the heat the air side removed or left unmet, and
  the change of heat stored in coolant and metal, to 0.1 % of the IT energy (two independent sums:
  the power model's rack heat, the thermal model's bookkeeping);
- ``power_conserved_every_step``: at every step the tree's input equals the racks' cords plus every
  energised node's loss, to 1e-9;
- ``requests_conserved``: per deployment, requests arrived = served + in flight (waiting or running) +
  rejected;
- ``no_nan``: every recorded step figure is a number (temperatures may be +inf for a runaway; the
  latency columns are NaN in steps without requests, ``trim_heat_w`` outside the annual mode).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Relative tolerance of the energy balance over a run (the issue's 0.1 %).
ENERGY_RTOL = 1e-3
#: Relative tolerance of the power balance at every step.
POWER_RTOL = 1e-9
#: Frequency band of power fluctuations that grid operators watch (0.1-20 Hz: arXiv 2508.14318). [Hz]
GRID_BAND_HZ = (0.1, 20.0)

#: Bin edges of the run's latency histograms: 100 per decade from 1 us to 10^6 s.
LATENCY_BINS_S = np.geomspace(1e-6, 1e6, 1201)

_STEP_COLUMNS = ("time_s", "meter_w", "facility_w", "generator_w", "it_w", "power_chain_w", "cooling_w",
                 "losses_w", "losses_hall_air_w", "losses_room_w", "heat_rejected_w", "trim_heat_w",
                 "tokens_per_s", "ttft_mean_s", "tpot_mean_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s",
                 "tpot_p99_s", "max_gpu_temp_c", "throttled_racks",
                 "capped_racks", "unpowered_racks", "overloaded_components", "dry_bulb_c", "water_kg_s",
                 "battery_w", "battery_soc", "rack_storage_w", "rack_storage_soc", "power_residual_w")


class StepRecorder:
    """Preallocated per-step, per-rack and per-node records of one run."""

    def __init__(self, n_steps: int, n_racks: int, n_nodes: int, n_loops: int) -> None:
        self.n = n_steps
        self.steps = {c: np.zeros(n_steps) for c in _STEP_COLUMNS}
        self.steps["trim_heat_w"][:] = np.nan  # only the annual mode's steady plant reports it
        self.rack_energy_j = np.zeros(n_racks)
        self.rack_storage_released_j = np.zeros(n_racks)  # energy the racks' storage gave up (heat)
        self.rack_max_temp_c = np.full(n_racks, -np.inf)
        self.rack_throttled_s = np.zeros(n_racks)
        self.rack_capped_s = np.zeros(n_racks)
        self.rack_unpowered_s = np.zeros(n_racks)
        self.rack_tokens = np.zeros(n_racks)
        self.rack_clock_s = np.zeros(n_racks)
        self.node_peak_loading = np.zeros(n_nodes)
        self.last_shelf_ratio = np.ones(n_racks)
        self.e_it_cooled_j = 0.0
        self.e_losses_air_j = 0.0  # the power chain's losses that heated the cooled halls' air
        self.e_pump_j = 0.0
        self.e_rejected_j = 0.0
        self.e_air_j = 0.0
        self.e_stored_j = 0.0
        self.e_it_j = 0.0
        self.e_meter_j = 0.0
        self._last_flow = None
        self._ratio_flow = None
        self.e_facility_j = 0.0
        self.e_cooling_j = 0.0
        self.water_kg = 0.0
        self.elapsed_s = 0.0
        self.deployments: dict[str, dict] = {}

    def add_rack_tokens(self, tokens: np.ndarray) -> None:
        """Add the tokens each rack produced over a step to its total."""
        self.rack_tokens += tokens

    def add_deployment_epoch(self, name: str, out, dt: float, slo_ttft_s, slo_tpot_s, times: int = 1,
                             with_latency: bool = False) -> None:
        """Accumulate one serving epoch of deployment ``name``: requests, tokens, latencies, SLO hits.

        ``with_latency``: the epoch's latency distribution was already counted (the SLO share too).
        """
        d = self.deployments.get(name)
        if d is None:
            d = self.deployments[name] = {
                "arrived": 0.0, "served": 0.0, "tokens": 0.0, "input_tokens": 0.0, "w_ttft": 0.0,
                "w_tpot": 0.0, "met": 0.0,
                "backlog": 0.0, "slo_ttft_s": slo_ttft_s, "slo_tpot_s": slo_tpot_s,
                "n_ttft": 0.0, "n_tpot": 0.0,
                "ttft_hist": np.zeros(len(LATENCY_BINS_S) + 1),
                "tpot_hist": np.zeros(len(LATENCY_BINS_S) + 1)}
        lat = out.latency
        with_latency = with_latency or lat is not None
        if lat is not None and len(lat.weight):
            # the requests' latency distribution, binned (a run's percentiles at ~2 % resolution)
            k = lat.ttft_s.shape[1]
            w = np.repeat(lat.weight / k, k)
            for key, table in (("ttft_hist", lat.ttft_s), ("tpot_hist", lat.tpot_s)):
                v = table.reshape(-1)
                ok = np.isfinite(v)
                d[key] += np.bincount(np.searchsorted(LATENCY_BINS_S, v[ok]), weights=w[ok],
                                      minlength=len(LATENCY_BINS_S) + 1)
            if slo_ttft_s is not None or slo_tpot_s is not None:
                # requests within the SLO: per group, P(TTFT <= a) P(TPOT <= b) (taken as independent)
                f = np.ones(len(lat.weight))
                if slo_ttft_s is not None:
                    f *= (lat.ttft_s <= slo_ttft_s).mean(axis=1)
                if slo_tpot_s is not None:
                    f *= np.where(np.isnan(lat.tpot_s), True, lat.tpot_s <= slo_tpot_s).mean(axis=1)
                d["met"] += float((lat.weight * f).sum())
        from twin.serving.fluid_queue import alike

        same = all(alike(a) for a in (out.served_per_s, out.ttft_s, out.tpot_s, out.arrived, out.backlog,
                                      out.output_tokens, out.prefill_tokens)
                   if a is not None) and (out.rejected is None or alike(out.rejected))
        if len(out.served_per_s) > 1 and same and out.served_per_s[0] > 0:
            # every replica alike: one replica's figures times their number (cheap for 10^4 replicas)
            from dataclasses import replace

            n = len(out.served_per_s)
            one = replace(out, **{k: (None if v is None else v[:1]) for k, v in out.__dict__.items()
                                  if k != "latency"}, latency=None)
            self.add_deployment_epoch(name, one, dt, slo_ttft_s, slo_tpot_s, times=n,
                                      with_latency=with_latency)
            return
        x = out.served_per_s * dt
        ok = x > 0
        d["arrived"] += times * float(out.arrived.sum())
        d["served"] += times * float(x.sum())
        d["tokens"] += times * float(out.output_tokens.sum())
        d["input_tokens"] += times * float(out.prefill_tokens.sum())
        d["backlog"] = times * float(out.backlog.sum())
        if out.rejected is not None:
            d["rejected"] = d.get("rejected", 0.0) + times * float(out.rejected.sum())
        if ok.any():
            # a disaggregated pool has TTFT (prefill) or TPOT (decode) only: means over what it has
            for key, v in (("ttft", out.ttft_s[ok]), ("tpot", out.tpot_s[ok])):
                f = np.isfinite(v)
                d[f"w_{key}"] += times * float((x[ok][f] * v[f]).sum())
                d[f"n_{key}"] += times * float(x[ok][f].sum())
            if not with_latency and (slo_ttft_s is not None or slo_tpot_s is not None):
                # no distribution: each replica's epoch means against the SLO
                met = np.ones(int(ok.sum()), dtype=bool)
                if slo_ttft_s is not None:
                    met &= out.ttft_s[ok] <= slo_ttft_s
                if slo_tpot_s is not None:
                    met &= out.tpot_s[ok] <= slo_tpot_s
                d["met"] += times * float(x[ok][met].sum())

    def record(self, k: int, t: float, h: float, *, flow, fac, it_w, chain_w, cooling_w, meter_w, th, temps,
               thermal_clock, capped, clock, tokens_s, ttft_s, tpot_s, dry_bulb_c, network_w,
               percentiles=(math.nan,) * 4,
               battery_w: float = 0.0, battery_soc: float = 1.0, generator_w: float = 0.0,
               storage_heat_w: np.ndarray | None = None, storage_soc: float = math.nan,
               loss_heat=None) -> None:
        """Record step ``k`` at time ``t`` (length ``h``) in the step table and the running totals.

        ``loss_heat`` (:class:`twin.engine.electrical_heat.LossHeat`) is where the step's chain losses
        went: those in the cooled halls' air enter the energy balance.
        """
        s = self.steps
        if loss_heat is not None:
            s["losses_hall_air_w"][k] = float(loss_heat.hall_air_w.sum())
            s["losses_room_w"][k] = float(loss_heat.room_w.sum())
            self.e_losses_air_j += h * float(loss_heat.hall_air_w.sum())
        s["time_s"][k] = t
        s["meter_w"][k] = meter_w
        s["generator_w"][k] = generator_w
        s["facility_w"][k] = meter_w + generator_w + battery_w
        s["it_w"][k] = it_w
        s["power_chain_w"][k] = chain_w
        s["cooling_w"][k] = cooling_w
        s["losses_w"][k] = chain_w + battery_w + generator_w - it_w  # on-site sources feed the chain too
        s["battery_w"][k] = battery_w
        s["battery_soc"][k] = battery_soc
        s["rack_storage_soc"][k] = storage_soc
        if storage_heat_w is not None:
            # what the racks' storage delivered to the load, net of what it took in (its losses are heat)
            s["rack_storage_w"][k] = float(storage_heat_w.sum())
            self.rack_storage_released_j += h * storage_heat_w
        s["tokens_per_s"][k] = tokens_s
        s["ttft_mean_s"][k] = ttft_s
        s["tpot_mean_s"][k] = tpot_s
        s["ttft_p50_s"][k], s["ttft_p99_s"][k], s["tpot_p50_s"][k], s["tpot_p99_s"][k] = percentiles
        finite = temps[np.isfinite(temps) | (temps == np.inf)]
        s["max_gpu_temp_c"][k] = float(finite.max()) if finite.size else math.nan
        throttled = thermal_clock < 1.0 - 1e-12
        s["throttled_racks"][k] = int(throttled.sum())
        s["capped_racks"][k] = int(capped.sum())
        unpowered = ~flow.rack_powered
        s["unpowered_racks"][k] = int(unpowered.sum())
        if flow is not self._last_flow:  # a flow reused from the last step has the same loadings
            rating = flow.node_rating_w
            alive = flow.node_alive & (rating > 0)
            loading = np.divide(flow.node_load_w, rating, out=np.zeros_like(rating), where=alive)
            self._overloaded = int((loading > 1.0 + 1e-9).sum())
            np.maximum(self.node_peak_loading, loading, out=self.node_peak_loading)
            src = float(flow.node_input_w[flow.node_is_source].sum())
            self._residual = (src - float(flow.cord_w.sum())
                              - float(flow.node_loss_w[flow.node_alive].sum()))
            self._last_flow = flow
        s["overloaded_components"][k] = self._overloaded
        s["dry_bulb_c"][k] = dry_bulb_c
        # power balance of the tree: sources = cords + losses of every energised node (per flow, above)
        s["power_residual_w"][k] = self._residual
        powered = flow.rack_powered
        if flow is not self._ratio_flow:
            self.last_shelf_ratio = np.where(powered & (flow.it_dc_w > 0),
                                             np.divide(flow.rack_input_w, flow.it_dc_w,
                                                       out=np.ones_like(flow.it_dc_w),
                                                       where=flow.it_dc_w > 0),
                                             self.last_shelf_ratio)
            self._ratio_flow = flow
        self.rack_energy_j += h * flow.rack_input_w
        self.rack_throttled_s += h * throttled
        self.rack_capped_s += h * capped
        self.rack_unpowered_s += h * unpowered
        self.rack_clock_s += h * clock
        np.fmax(self.rack_max_temp_c, np.where(np.isnan(temps), -np.inf, temps), out=self.rack_max_temp_c)
        self.e_it_j += h * it_w
        self.e_meter_j += h * meter_w
        self.e_facility_j += h * (meter_w + generator_w + battery_w)
        self.e_cooling_j += h * cooling_w
        self.elapsed_s += h
        if th is not None:
            rej = float(th.heat_rejected_w.sum()) + float(th.air_heat_removed_w.sum())
            s["heat_rejected_w"][k] = rej
            s["water_kg_s"][k] = float(th.water_kg_s.sum())
            trim = getattr(th, "trim_heat_w", None)  # the annual mode's steady plant reports it
            s["trim_heat_w"][k] = float(trim.sum()) if trim is not None else math.nan
            self.water_kg += h * float(th.water_kg_s.sum())
            self.e_rejected_j += float(th.facility_out_j.sum())
            self.e_air_j += h * float(th.air_heat_removed_w.sum() + th.air_unmet_w.sum())
            self.e_stored_j += float(th.secondary_stored_j.sum() + th.facility_stored_j.sum())
            self.e_pump_j += float(th.pump_work_j.sum())

    def add_cooled_heat(self, h: float, heat_in_loops_w: float) -> None:
        """Add the IT heat that went into the cooling loops over a step of length ``h``."""
        self.e_it_cooled_j += h * heat_in_loops_w

    def finish(self, scenario, servers, log: list[dict], wall_s: float, params) -> SimResults:
        """Check the run's invariants and assemble its :class:`SimResults`."""
        s = self.steps
        dt = scenario.run.physics_step_s
        inv: dict[str, str | None] = {}
        if params is not None:
            lhs = self.e_it_cooled_j + self.e_pump_j
            rhs = self.e_rejected_j + self.e_air_j + self.e_stored_j
            err = abs(lhs - rhs)
            inv["energy_balance"] = None if err <= ENERGY_RTOL * max(self.e_it_cooled_j, 1.0) else (
                f"heat in {lhs / 3.6e9:.6g} MWh (IT heat in cooled halls + pump work) != out + stored "
                f"{rhs / 3.6e9:.6g} MWh: off by {err / max(lhs, 1.0):.3%}")
        else:
            inv["energy_balance"] = None
        res = np.abs(s["power_residual_w"])
        worst = int(np.argmax(res)) if len(res) else 0
        inv["power_conserved_every_step"] = None if (
            not len(res) or res[worst] <= 1e-6 + POWER_RTOL * max(s["power_chain_w"][worst], 1.0)
        ) else (f"at t = {s['time_s'][worst]:g} s the tree's sources differ from "
                f"cords + losses by {res[worst]:.3g} W")
        bad = [f"{n}: arrived {d['arrived']:.6g} != served {d['served']:.6g} + in flight {d['backlog']:.6g} "
               f"+ rejected {d.get('rejected', 0.0):.6g}"
               for n, d in self.deployments.items()
               if abs(d["arrived"] - d["served"] - d["backlog"] - d.get("rejected", 0.0))
               > 1e-6 * max(d["arrived"], 1.0)]
        inv["requests_conserved"] = "; ".join(bad) or None
        maybe_nan = ("ttft_mean_s", "tpot_mean_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s",
                     "max_gpu_temp_c", "rack_storage_soc", "dry_bulb_c", "trim_heat_w")
        nan_cols = [c for c in _STEP_COLUMNS if c not in maybe_nan and np.isnan(s[c]).any()]
        inv["no_nan"] = f"NaN in {', '.join(nan_cols)}" if nan_cols else None
        deps = {}
        for n, d in self.deployments.items():
            served = d["served"]
            deps[n] = {
                "requests_arrived": d["arrived"], "requests_served": served,
                "requests_waiting_at_end": d["backlog"],
                "requests_rejected": d.get("rejected", 0.0),
                "output_tokens": d["tokens"],
                "input_tokens": d["input_tokens"],
                "ttft_mean_s": d["w_ttft"] / d["n_ttft"] if d["n_ttft"] > 0 else None,
                "tpot_mean_s": d["w_tpot"] / d["n_tpot"] if d["n_tpot"] > 0 else None,
                "ttft_s": _hist_percentiles(d["ttft_hist"]),
                "tpot_s": _hist_percentiles(d["tpot_hist"]),
                "slo_ttft_s": d["slo_ttft_s"], "slo_tpot_s": d["slo_tpot_s"],
                "slo_met_share": (d["met"] / served
                                  if served > 0 and (d["slo_ttft_s"] or d["slo_tpot_s"]) else None),
            }
        request_times = {}
        for srv in servers:
            if hasattr(srv, "request_stats") and srv.sd.plan.name in deps:
                deps[srv.sd.plan.name]["requests"] = srv.request_stats()
                request_times[srv.sd.plan.name] = srv.pool.times()
        return SimResults(
            scenario=scenario, steps={c: v.copy() for c, v in s.items()}, physics_step_s=dt,
            rack_energy_j=self.rack_energy_j, rack_max_temp_c=np.where(np.isfinite(self.rack_max_temp_c) |
                                                                        (self.rack_max_temp_c == np.inf),
                                                                        self.rack_max_temp_c, np.nan),
            rack_throttled_s=self.rack_throttled_s, rack_capped_s=self.rack_capped_s,
            rack_unpowered_s=self.rack_unpowered_s, rack_tokens=self.rack_tokens,
            rack_mean_clock=self.rack_clock_s / max(self.elapsed_s, 1e-300),
            node_peak_loading=self.node_peak_loading, deployments=deps, events=log,
            energy_j=self.e_meter_j, facility_energy_j=self.e_facility_j, it_energy_j=self.e_it_j,
            cooling_energy_j=self.e_cooling_j,
            water_kg=self.water_kg, wall_s=wall_s, invariant_messages=inv, request_times=request_times,
        )


def _hist_percentiles(hist: np.ndarray) -> dict[str, float | None]:
    """P50 / P90 / P99 of a latency histogram over :data:`LATENCY_BINS_S` (geometric within a bin). [s]"""
    total = hist.sum()
    out: dict[str, float | None] = {}
    edges = np.concatenate([[LATENCY_BINS_S[0]], LATENCY_BINS_S, [LATENCY_BINS_S[-1]]])
    cum = np.cumsum(hist)
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        if total <= 0:
            out[name] = None
            continue
        i = int(np.searchsorted(cum, q * total))
        below = cum[i - 1] if i > 0 else 0.0
        frac = (q * total - below) / hist[i] if hist[i] > 0 else 0.0
        lo, hi = edges[i], edges[i + 1]
        out[name] = float(lo * (hi / lo) ** frac)
    return out


@dataclass(frozen=True)
class SimResults:
    """One coupled run (see the module notes). Powers in W, energies in J, times in s."""

    scenario: object
    steps: dict[str, np.ndarray]
    physics_step_s: float
    rack_energy_j: np.ndarray
    rack_max_temp_c: np.ndarray
    rack_throttled_s: np.ndarray
    rack_capped_s: np.ndarray
    rack_unpowered_s: np.ndarray
    rack_tokens: np.ndarray
    rack_mean_clock: np.ndarray
    node_peak_loading: np.ndarray
    deployments: dict[str, dict]
    events: list[dict]
    energy_j: float  # at the utility meter
    facility_energy_j: float  # what the facility used: utility + standby generators + UPS batteries
    it_energy_j: float
    cooling_energy_j: float
    water_kg: float
    wall_s: float
    invariant_messages: dict[str, str | None] = field(default_factory=dict)
    reference_output_tokens: float | None = None
    reference_energy_j: float | None = None  # at the meter, of the same run without events and policies
    #: discrete serving: every request's arrival, first-token and completion time, by deployment
    request_times: dict = field(default_factory=dict)
    #: what the run cost (:class:`twin.economics.tco.CostReport`), when priced
    costs: object = None

    # ------------------------------------------------------------------ headline figures
    @property
    def duration_s(self) -> float:
        """Simulated time. [s]"""
        return float(self.scenario.run.duration_s)

    @property
    def output_tokens(self) -> float:
        """Tokens generated over the run, every deployment."""
        return float(sum(d["output_tokens"] for d in self.deployments.values()))

    @property
    def tokens_lost(self) -> float | None:
        """Output tokens the events and policies cost, against the same scenario without them."""
        if self.reference_output_tokens is None:
            return None
        return self.reference_output_tokens - self.output_tokens

    @property
    def invariants(self) -> dict[str, bool]:
        """Invariant name -> passed."""
        return {k: v is None for k, v in self.invariant_messages.items()}

    @property
    def pue(self) -> float | None:
        """Facility energy (utility, standby generators, UPS batteries) over IT energy, over the run.

        A year-long run gives the annual PUE.
        """
        return self.facility_energy_j / self.it_energy_j if self.it_energy_j > 0 else None

    @property
    def free_cooling_hours(self) -> float | None:
        """Hours in which no trim chiller ran: the heat rejection alone held the setpoints. [h]

        The economiser (free-cooling) hours of the annual mode; None for runs that do not report it.
        """
        trim = self.steps["trim_heat_w"]
        if not len(trim) or np.isnan(trim).all():
            return None
        return float(np.sum(np.nan_to_num(trim, nan=1.0) <= 0.0) * self.physics_step_s / 3600.0)

    @property
    def wue_l_per_kwh(self) -> float:
        """Site water drawn per IT kWh (The Green Grid's WUE, site water only). [L/kWh]

        Adiabatic pads, or cooling towers' evaporation + drift + blowdown.
        """
        return self.water_kg / (self.it_energy_j / 3.6e6) if self.it_energy_j > 0 else 0.0

    def power_quality(self) -> dict:
        """Ramps and swings of the meter power, and where its fluctuation energy lies in frequency.

        ``band_share`` is the share of the fluctuation energy (variance of the meter power) in the
        grid band :data:`GRID_BAND_HZ` as far as the step resolves it (up to the Nyquist frequency
        ``1 / (2 dt)``; a 1 s step resolves up to 0.5 Hz).
        """
        p = self.steps["meter_w"]
        dt = self.physics_step_s
        nyq = 0.5 / dt
        out = {"max_ramp_w_per_s": float(np.max(np.abs(np.diff(p))) / dt) if len(p) > 1 else 0.0,
               "peak_to_peak_w": float(p.max() - p.min()) if len(p) else 0.0,
               "resolved_up_to_hz": nyq, "band_hz": [GRID_BAND_HZ[0], min(GRID_BAND_HZ[1], nyq)],
               "band_share": None}
        if len(p) >= 4:
            x = p - p.mean()
            spec = np.abs(np.fft.rfft(x)) ** 2
            f = np.fft.rfftfreq(len(x), dt)
            total = spec[1:].sum()
            band = spec[(f >= GRID_BAND_HZ[0]) & (f <= GRID_BAND_HZ[1])].sum()
            out["band_share"] = float(band / total) if total > 0 else 0.0
        return out

    def kpis(self) -> dict:
        """The headline figures of the run (what ``--json`` leads with)."""
        s = self.steps
        temps = s["max_gpu_temp_c"]
        finite_t = temps[~np.isnan(temps)]
        annual = self.duration_s >= 365 * 86400.0 - 1.0
        return {
            "duration_s": self.duration_s,
            "output_tokens": self.output_tokens,
            "energy_j": self.energy_j,
            "facility_energy_j": self.facility_energy_j,
            "generator_energy_j": float(np.sum(self.steps["generator_w"]) * self.physics_step_s),
            "it_energy_j": self.it_energy_j,
            "cooling_energy_j": self.cooling_energy_j,
            "peak_power_w": float(s["meter_w"].max()) if self.steps["meter_w"].size else 0.0,
            "mean_power_w": self.energy_j / self.duration_s if self.duration_s > 0 else 0.0,
            "max_ramp_w_per_s": self.power_quality()["max_ramp_w_per_s"],
            "max_gpu_temp_c": _json_float(float(finite_t.max())) if finite_t.size else None,
            "throttled_rack_seconds": float(self.rack_throttled_s.sum()),
            "capped_rack_seconds": float(self.rack_capped_s.sum()),
            "unpowered_rack_seconds": float(self.rack_unpowered_s.sum()),
            "tokens_lost": self.tokens_lost,
            "pue": self.pue,
            "annual_pue": self.pue if annual else None,
            "wue_l_per_kwh": self.wue_l_per_kwh,
            "free_cooling_hours": self.free_cooling_hours,
            "peak_overloaded_components": (int(s["overloaded_components"].max())
                                           if s["overloaded_components"].size else 0),
            **self.cost_kpis(),
        }

    def cost_kpis(self) -> dict:
        """The economics' headline figures (empty when the run was not priced)."""
        if self.costs is None:
            return {}
        k = self.costs.kpis
        return {key: k[key] for key in ("cost_usd", "usd_per_gpu_hour", "tokens_per_dollar",
                                        "usd_per_million_tokens", "usd_per_million_total_tokens",
                                        "tokens_per_mw", "tokens_per_kwh", "lost_tokens_usd")}

    def costs_table(self):
        """The cost lines of the run (category, item, usd, usd_per_hour, usd_per_year); None unpriced."""
        return None if self.costs is None else self.costs.table()

    def to_dict(self) -> dict:
        """KPIs, power quality, deployments, the event log, invariants (``--json``)."""
        sc = self.scenario
        return {
            "scenario": sc.name,
            "layout": sc.factory.name,
            **self.kpis(),
            "power_quality": self.power_quality(),
            "deployments": self.deployments,
            "events": self.events,
            "economics": self.costs.to_dict() if self.costs is not None else None,
            "invariants": self.invariants,
            "invariant_failures": {k: v for k, v in self.invariant_messages.items() if v},
            "wall_s": self.wall_s,
            "simulated_s_per_wall_s": self.duration_s / self.wall_s if self.wall_s > 0 else None,
        }

    # ------------------------------------------------------------------ tables
    def steps_table(self) -> pd.DataFrame:
        """One row per physics step."""
        import pandas as pd

        df = pd.DataFrame(self.steps)
        df["pue"] = np.where(df["it_w"] > 0, df["facility_w"] / df["it_w"].where(df["it_w"] > 0, 1.0), np.nan)
        return df

    def racks_table(self) -> pd.DataFrame:
        """One row per rack.

        Energy, hottest GPU, throttled / capped / unpowered seconds, tokens, mean clock.
        """
        import pandas as pd

        r = self.scenario.factory.racks
        return pd.DataFrame({
            "rack": r.name.astype(str), "hall": r.hall.astype(str), "row": r.row.astype(str),
            "energy_j": self.rack_energy_j, "max_gpu_temp_c": self.rack_max_temp_c,
            "throttled_s": self.rack_throttled_s, "capped_s": self.rack_capped_s,
            "unpowered_s": self.rack_unpowered_s, "output_tokens": self.rack_tokens,
            "mean_clock_factor": self.rack_mean_clock,
        })

    def components_table(self) -> pd.DataFrame:
        """One row per power node: its peak loading over the run."""
        import pandas as pd

        from twin.factory import NODE_KINDS

        t = self.scenario.factory.power
        return pd.DataFrame({"component": t.name.astype(str), "kind": [NODE_KINDS[k] for k in t.kind],
                             "rating_w": t.rating_w, "peak_loading": self.node_peak_loading})

    def events_table(self) -> pd.DataFrame:
        """The event log: time and what happened."""
        import pandas as pd

        return pd.DataFrame(self.events, columns=["time_s", "event"])

    def requests_table(self) -> pd.DataFrame:
        """Discrete serving: one row per request (deployment, arrival, first token, completion, lengths)."""
        import pandas as pd

        frames = [pd.DataFrame({"deployment": name, "arrival_s": t.arrival_s,
                                "first_token_s": t.first_token_s,
                                "completed_s": t.completed_s, "input_tokens": t.input_tokens,
                                "output_tokens": t.output_tokens})
                  for name, t in self.request_times.items()]
        cols = ["deployment", "arrival_s", "first_token_s", "completed_s", "input_tokens", "output_tokens"]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    def to_parquet(self, folder: str | Path) -> list[Path]:
        """Write steps, racks, components, events (and costs) as Parquet into ``folder``, all or nothing.

        The tables are written to a temporary folder beside ``folder`` and moved into place at the
        end; an existing ``folder`` is replaced only then.
        """
        out = Path(folder)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            names = {"steps": self.steps_table, "racks": self.racks_table,
                     "components": self.components_table, "events": self.events_table}
            if self.request_times:
                names["requests"] = self.requests_table
            if self.costs is not None:
                names["costs"] = self.costs_table
            for name, table in names.items():
                table().to_parquet(tmp / f"{name}.parquet", index=False)
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return [out / f"{n}.parquet" for n in names]


def _json_float(x: float) -> float | None:
    return x if math.isfinite(x) else None
