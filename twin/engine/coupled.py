"""The coupled twin: tokens, power, heat and throttling in one time loop (DESIGN.md "Coupling").

Each serving epoch (default 10 s) every deployment's replicas serve their arrivals at the clock
their racks ran at in the previous epoch (:class:`twin.serving.fluid_queue.FluidQueue`), which
gives each rack's share of time in compute- and memory-bound work. Then, at every physics step
(default 1 s):

1. events due are applied (trips and restores, setpoints, load steps, training jobs, demand response);
2. each GPU's demanded power follows from its activity (:func:`twin.power.parts.gpu_activity_power_w`;
   training racks from the job's phase), limited by the thermal-throttle curve at its last
   temperature, by the layout's GPU caps, rack / hall / site caps and a demand-response target
   (:mod:`twin.engine.limits`), and by power smoothing (:mod:`twin.power.smoothing`);
3. rack IT power from its parts (:func:`twin.power.parts.rack_parts_power_w`) goes up the tree with
   its losses (:func:`twin.power.network.solve_power`, with the tripped nodes);
4. the cooling plant integrates temperatures over the step (:func:`twin.thermal.transient.step`,
   with the tripped units and the weather at that time) and reports its own power;
5. the clock of each rack over the epoch feeds the next serving epoch.

The run starts from the steady state of its first epoch's load. Results
(:class:`twin.engine.timeseries.SimResults`) hold every step, per-rack and per-component summaries, the
event log and the invariants.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twin.engine.electrical_heat import LossHeatMap
from twin.engine.limits import group_clock, rack_cap_clock
from twin.engine.scenario import Prepared, ServedDeployment, has_extras, load_scenario, reference
from twin.engine.timeseries import SimResults, StepRecorder
from twin.fabric import build_fabric
from twin.factory import NODE_KINDS
from twin.power.capping import clock_factor_for_cap
from twin.power.losses import LossCurves
from twin.power.network import solve_power
from twin.power.parts import (
    HOST_CPU_LOAD_SERVING,
    MEMORY_BOUND_POWER,
    gpu_activity_power_w,
    rack_parts_power_w,
)
from twin.power.smoothing import SmoothingState, smooth_step
from twin.power.storage import StorageState, settled_state, storage_step
from twin.scenario import Event, Scenario
from twin.serving.fluid import PERCENTILE_SAMPLES, PERCENTILE_SEED, FluidModel
from twin.serving.fluid_queue import LATENCY_QUANTILES, EpochLatency, EpochServing, FluidQueue, QueueState
from twin.thermal.fluids import wet_bulb_psychrometric_c
from twin.thermal.plant import Failures, ThermalParams
from twin.thermal.steady import Ambient, solve_steady
from twin.thermal.throttle import throttle_clock
from twin.thermal.transient import SUBSTEP_FRACTION, initial_state, plan_step, step_planned, time_constants_s

_COOLING_FIELD = {"cdu": "cdus", "cdu_pump": "cdu_pumps", "facility_pump": "fw_pumps",
                  "dry_cooler": "rejection_units", "cooling_tower": "rejection_units",
                  "trim_chiller": "trim_chillers", "crah": "crahs",
                  "air_chiller": "air_chillers", "room_crah": "room_crahs", "room_chiller": "room_chillers"}


def simulate(scenario: str | Path | Scenario | Prepared, *,
             progress: Callable[[float, float], None] | None = None,
             with_reference: bool = True, prices=None, priced: bool = True,
             reference_progress: Callable[[float, float], None] | None = None) -> SimResults:
    """Run a scenario through the coupled twin; returns :class:`~twin.engine.timeseries.SimResults`.

    Parameters
    ----------
    scenario : path, Scenario or Prepared
        A scenario file (read and checked with :func:`twin.engine.scenario.load_scenario`) or records.
    progress : callable(simulated_s, total_s), optional
        Called as the run advances.
    with_reference : bool
        Also run the scenario without its events and policies, for ``tokens_lost`` (skipped when it
        has none).
    prices : twin.economics.prices.Prices, optional
        Price the run with this list (default: the scenario's ``economics:``, else the bundled list).
    priced : bool
        Price the run at all (``SimResults.costs``).
    reference_progress : callable(simulated_s, total_s), optional
        Called as the reference run advances.

    Raises
    ------
    InputError
        A scenario file with problems (every one, with file:line).
    """
    prepared = _prepared(scenario)
    runner = _run_annual if prepared.scenario.run.mode == "annual" else _run
    res = runner(prepared, progress)
    sc = prepared.scenario
    if with_reference and has_extras(sc):
        ref = runner(reference(prepared), reference_progress)
        res = dataclasses.replace(res, reference_output_tokens=ref.output_tokens,
                                  reference_energy_j=ref.energy_j)
    elif with_reference:
        res = dataclasses.replace(res, reference_output_tokens=res.output_tokens,
                                  reference_energy_j=res.energy_j)
    return with_costs(res, prepared, prices) if priced else res


def with_costs(res: SimResults, prepared: Prepared, prices=None) -> SimResults:
    """``res`` priced (:func:`twin.engine.costs.run_costs`), its :class:`CostReport` in ``costs``."""
    from twin.engine.costs import run_costs

    return dataclasses.replace(res, costs=run_costs(res, prices, prepared.catalog))


def steady_point(scenario: str | Path | Scenario | Prepared, *, at_s: float = 0.0) -> SimResults:
    """The steady coupled point of a scenario: one hour solved as the annual mode solves each hour.

    The deployments serve their rate at ``at_s`` (fluid model), the GPUs' power follows their
    activity under the scenario's caps, the cooling plant is at steady state at the weather of
    ``at_s`` (the layout's design ambient without ``weather:``), and throttling is the fixed point
    of clock and temperature. Events, power smoothing and rack storage (time-domain behaviour) are
    left out. The result is a one-step :class:`SimResults` (``steps_table()`` has one row).
    """
    from twin.scenario import RunSettings, Weather

    prepared = _prepared(scenario)
    sc = prepared.scenario
    weather = sc.weather
    if weather is None:
        cool = sc.factory.cooling
        db, rh = ((cool.ambient_dry_bulb_c, cool.ambient_relative_humidity) if cool is not None
                  else (25.0, 0.4))
        weather = Weather(3600.0, np.array([db, db]), np.array([rh, rh]), "design ambient")
    else:
        weather = dataclasses.replace(weather, start_s=weather.start_s - at_s)
    run = sc.run
    start = (run.start_hour + at_s / 3600.0) % 24.0
    one = RunSettings(3600.0, 3600.0, 3600.0, start, "fluid", run.seed, "annual")
    sc1 = sc.replace(run=one, weather=weather, events=(),
                     policies=dataclasses.replace(sc.policies, smoothing=None, storage=None))
    return _run_annual(dataclasses.replace(prepared, scenario=sc1), None)


def run_once(prepared: Prepared, progress=None) -> SimResults:
    """One run of a prepared scenario (transient or annual), no reference run."""
    return (_run_annual if prepared.scenario.run.mode == "annual" else _run)(prepared, progress)


def _prepared(scenario) -> Prepared:
    if isinstance(scenario, Prepared):
        return scenario
    if isinstance(scenario, Scenario):
        from twin.engine.scenario import prepare

        return prepare(scenario)
    return load_scenario(scenario)


class _Server:
    """One deployment's fluid serving state between epochs."""

    def __init__(self, sd: ServedDeployment, start_hour: float) -> None:
        self.sd = sd
        perf = sd.perf
        tr = sd.trace
        if tr is not None:  # a trace: its own lengths, its arrivals counted per epoch
            self.arrivals = np.sort(np.asarray(tr.arrival_s, dtype=float))
            n_in, n_out = float(tr.input_tokens.mean()), float(tr.output_tokens.mean())
            cv2 = float(tr.input_tokens.var()) / n_in ** 2

            def draw(k, rng, tr=tr):  # the trace's own requests
                i = rng.integers(0, len(tr), k)
                return tr.input_tokens[i], tr.output_tokens[i]
        else:
            self.arrivals = None
            probe = sd.input_len.sample(PERCENTILE_SAMPLES, np.random.default_rng(PERCENTILE_SEED))
            cv2 = float(np.var(probe)) / float(np.mean(probe)) ** 2
            n_in, n_out = sd.input_len.mean, sd.output_len.mean

            def draw(k, rng, sd=sd):
                return sd.input_len.sample(k, rng), sd.output_len.sample(k, rng)
        if sd.role == "decode":
            # requests arrive with their prompt and first token in the KV cache and decode the rest
            n_in, n_out = n_in + 1.0, n_out - 1.0

            def draw(k, rng, first=draw):  # noqa: F811 - the same requests, after their first token
                lin, lout = first(k, rng)
                return np.asarray(lin) + 1, np.maximum(np.asarray(lout) - 1, 1)
        self.queue = FluidQueue(FluidModel(perf), n_in, n_out, cv2, draw_lengths=draw, role=sd.role)
        self.feed = 0.0  # a decode pool's arrivals: its prefill pool's completions [requests/s]
        self.state = QueueState(np.zeros(sd.num_replicas))
        wl = sd.plan.workload
        from twin.serving.workload import Workload

        self.shape, _ = Workload(rate_per_s=wl.rate_per_s, rate_profile=wl.profile)._profile()
        self.hourly = np.asarray(wl.hourly_factor) if wl.hourly_factor else None
        self.start_hour = start_hour
        self.factor = 1.0
        self.arrived = self.served = self.tokens = 0.0

    def rate(self, t_mid: float, dt: float = 0.0) -> float:
        """Deployment arrival rate at time ``t_mid`` of the run. [requests/s]

        For a trace: its arrivals in the epoch of length ``dt`` around ``t_mid``, per second. For a
        decode pool: what its prefill pool completed in the epoch (:attr:`feed`).
        """
        if self.sd.upstream is not None:
            return self.feed
        if self.arrivals is not None:
            lo, hi = np.searchsorted(self.arrivals, [t_mid - 0.5 * dt, t_mid + 0.5 * dt])
            return float(hi - lo) / dt * self.factor if dt > 0 else 0.0
        wl = self.sd.plan.workload
        r = wl.rate_per_s * float(self.shape(np.asarray(t_mid)))
        if self.hourly is not None:
            h = int(((self.start_hour * 3600.0 + t_mid) // 3600.0) % 24)
            r *= float(self.hourly[h])
        return r * self.factor

    def epoch(self, t0: float, dt: float, replica_clock: np.ndarray):
        """Serve ``[t0, t0 + dt)`` at the replicas' clocks and keep the new state."""
        state, out = self.preview(t0, dt, replica_clock)
        self.commit(state, out, dt)
        return out

    def commit(self, state: QueueState, out: EpochServing, dt: float) -> None:
        """Keep the state and counts of a previewed epoch."""
        self.state = state
        self.arrived += float(out.arrived.sum())
        self.served += float(out.served_per_s.sum()) * dt
        self.tokens += float(out.output_tokens.sum())

    def preview(self, t0: float, dt: float, replica_clock: np.ndarray) -> tuple[QueueState, EpochServing]:
        """What serving ``[t0, t0 + dt)`` would do, without keeping it (annual fixed points iterate)."""
        sd = self.sd
        up = replica_clock > 0
        n_up = int(up.sum())
        lam = np.zeros(sd.num_replicas)
        backlog = self.state.backlog
        if not n_up:  # nowhere to serve: the arrivals wait, spread over the replicas
            lam[:] = self.rate(t0 + 0.5 * dt, dt) / sd.num_replicas
        else:
            lam[up] = self.rate(t0 + 0.5 * dt, dt) / n_up
            # a down replica's backlog goes to the live ones (the load balancer retries them)
            stranded = float(backlog[~up].sum())
            if stranded:
                backlog = np.where(up, backlog + stranded / n_up, 0.0)
        return self.queue.epoch(QueueState(backlog), lam, dt, replica_clock)


class _DiscreteServer(_Server):
    """One deployment served request by request (:class:`twin.serving.pool.ServingPool`), epoch by epoch.

    Arrivals are drawn once for the whole run from the deployment's rate (its profile, hourly
    factors and load steps) by thinning a Poisson process at the peak rate (Lewis & Shedler 1979),
    with the run's seed. A replica that is down runs at the lowest clock the pool takes (1/1000): its
    queued requests wait for power to return (the pool routes round-robin; it does not re-route).
    """

    def __init__(self, sd: ServedDeployment, start_hour: float, run, steps: list[tuple[float, float]],
                 seed: int) -> None:
        super().__init__(sd, start_hour)
        from twin.serving.workload import MAX_REQUESTS, Requests

        wl = sd.plan.workload
        peak = wl.rate_per_s * (max(wl.hourly_factor) if wl.hourly_factor else 1.0)
        peak *= max([1.0] + [f for _, f in steps])
        peak *= float(np.max(self.shape(np.linspace(0.0, run.duration_s, 4097))))
        expected = peak * run.duration_s
        if expected > MAX_REQUESTS:
            from twin.errors import ServingInputError

            raise ServingInputError(
                f"deployment {sd.plan.name!r}: ~{expected:,.0f} requests at the peak rate; discrete serving "
                f"simulates at most {MAX_REQUESTS:,} per run: use `run.serving: fluid` or a shorter run",
                field="run.serving")
        rng = np.random.default_rng(seed)
        if sd.trace is not None:  # a trace is served as it is (load steps and profiles do not apply)
            self._start_pool(sd, sd.trace, run)
            return
        if self.hourly is None and not steps:
            # the standalone simulator's own draw (twin.serve_sim with the same seed): same requests
            from twin.serving.workload import Workload

            reqs = Workload(rate_per_s=wl.rate_per_s, input_len=sd.input_len, output_len=sd.output_len,
                            duration_s=run.duration_s, rate_profile=wl.profile).generate(rng)
            self._start_pool(sd, reqs, run)
            return
        n_max = int(expected + 10 * math.sqrt(expected) + 10)
        t = np.cumsum(rng.exponential(1.0 / peak, n_max)) if peak > 0 else np.zeros(0)
        t = t[t < run.duration_s]
        factor = np.ones(len(t))
        for at, f in steps:
            factor = np.where(t >= at, f, factor)
        shape = np.asarray(self.shape(t), dtype=float) * factor
        if self.hourly is not None:
            shape = shape * self.hourly[((start_hour * 3600.0 + t) // 3600.0).astype(int) % 24]
        t = t[rng.random(len(t)) < shape * wl.rate_per_s / peak]
        n = len(t)
        self._start_pool(sd, Requests(t, sd.input_len.sample(n, rng), sd.output_len.sample(n, rng),
                                      input_dist=sd.input_len, output_dist=sd.output_len), run)

    def _start_pool(self, sd: ServedDeployment, reqs, run) -> None:
        from twin.serving.pool import ServingPool

        self.reqs = reqs
        self.pool = ServingPool(sd.perf, reqs, sd.num_replicas, activity_step_s=run.serving_epoch_s)

    def epoch(self, t0: float, dt: float, replica_clock: np.ndarray) -> EpochServing:
        """Advance the pool to ``t0 + dt`` at the replicas' clocks; activity and counts of the epoch."""
        ea = self.pool.advance(t0 + dt, np.maximum(replica_clock, 1e-3))
        times = self.pool.times()
        done = (times.completed_s >= t0) & (times.completed_s < t0 + dt)
        ttft = times.first_token_s[done] - times.arrival_s[done]
        multi = done & (times.output_tokens > 1)
        tpot = (times.completed_s[multi] - times.first_token_s[multi]) / (times.output_tokens[multi] - 1)
        r = self.sd.num_replicas
        n_done = float(ea.completed.sum())
        out = EpochServing(
            served_per_s=ea.completed / dt, output_tokens=ea.output_tokens.astype(float),
            prefill_tokens=ea.prefill_tokens.astype(float), compute=ea.compute_s / dt,
            memory=np.maximum(ea.busy_s - ea.compute_s, 0.0) / dt,
            ttft_s=np.full(r, float(ttft.mean()) if len(ttft) else np.nan),
            tpot_s=np.full(r, float(tpot.mean()) if len(tpot) else np.nan),
            arrived=ea.arrived.astype(float), backlog=ea.in_flight.astype(float),
            rejected=ea.rejected.astype(float), latency=_completed_latency(ttft, tpot))
        self.arrived += float(ea.arrived.sum())
        self.served += n_done
        self.tokens += float(ea.output_tokens.sum())
        return out

    def request_stats(self) -> dict:
        """Exact TTFT / TPOT distributions of every request completed in the run (discrete mode)."""
        from twin.serving.metrics import summarize

        s = summarize(self.pool.times(), self.sd.num_replicas * self.sd.deployment.num_gpus,
                      slo_ttft_s=self.sd.plan.slo_ttft_s, slo_tpot_s=self.sd.plan.slo_tpot_s)
        return {"ttft_s": s["ttft_s"], "tpot_s": s["tpot_s"], "e2e_s": s["e2e_s"],
                "slo_attainment": s.get("slo_attainment")}


class _RideThrough:
    """Standby generators that take time to start, and UPS batteries that carry the load meanwhile.

    A switchgear with generators whose utility is lost carries itself only ``backup_start_s`` after
    the loss (NFPA 110 Type 10: 10 s); until then the UPS below it runs on its battery, if it has
    energy left (``battery_j``: modules x rating x autonomy at rated load; ``inf`` for an ideal UPS),
    drained by what the UPS delivers plus its losses. A UPS with an empty battery and no upstream
    drops its racks (dual-corded racks carry on on their other side). Batteries are not recharged
    within a run (assumption: a recharge after the outage would add load the model leaves out).
    """

    def __init__(self, fac) -> None:
        tree = fac.power
        n = len(tree)
        self.is_ups = tree.kind == NODE_KINDS.index("ups")
        self.gen = tree.backup_rating_w > 0
        self.start_s = tree.backup_start_s if tree.backup_start_s is not None else np.zeros(n)
        cap = tree.battery_j if tree.battery_j is not None else np.where(self.is_ups, np.inf, 0.0)
        self.cap = np.where(self.is_ups, cap, 0.0)
        self.soc = self.cap.copy()
        self.lost_since = np.full(n, np.inf)
        self.finite = self.is_ups & np.isfinite(self.cap)
        self.active = bool(np.any(self.start_s[self.gen] > 0) or self.finite.any())

    def backup_ok(self, fac, failed: np.ndarray, t: float) -> np.ndarray | None:
        """Nodes that can carry themselves at ``t``: started generators, UPSs with battery energy.

        None while nothing has failed (nothing needs to carry itself).
        """
        from twin.power.network import energised

        if not failed.any():
            self.lost_since[:] = np.inf
            return None
        tree = fac.power
        grid, _ = energised(fac, failed, np.zeros(len(tree), dtype=bool))  # with no backup at all
        parent_dead = (tree.parent >= 0) & ~grid[np.maximum(tree.parent, 0)]
        self.lost_since = np.where(self.gen & parent_dead, np.minimum(self.lost_since, t), np.inf)
        started = self.gen & (t - self.lost_since >= self.start_s - 1e-9)
        return started | (self.is_ups & (self.soc > 0))

    def discharge(self, flow, h: float) -> float:
        """Drain the batteries of the UPSs carrying themselves over a step; their power. [W]"""
        on = flow.node_on_backup & self.is_ups
        if not on.any():
            return 0.0
        p = np.where(on, flow.node_input_w, 0.0)
        given = np.minimum(p * h, self.soc)  # the step that empties a battery delivers what was left
        self.soc = self.soc - given
        return float(given.sum()) / h

    def soc_share(self) -> float:
        """Energy left in the finite batteries over their capacity (1 without any). [-]"""
        if not self.finite.any():
            return 1.0
        return float(self.soc[self.finite].sum() / self.cap[self.finite].sum())


def _duty_overlap(t: float, dt: float, start: float, period: float, duty: float) -> float:
    """Share of ``[t, t + dt)`` inside the high phases ``[start + k P, start + k P + duty P)``."""
    def high_until(x: float) -> float:  # high time in [start, x]
        if x <= start:
            return 0.0
        n, r = divmod(x - start, period)
        return n * duty * period + min(r, duty * period)

    return (high_until(t + dt) - high_until(t)) / dt


def _run(prepared: Prepared, progress) -> SimResults:
    sc = prepared.scenario
    fac = sc.factory
    racks = fac.racks
    n_racks = len(racks)
    run = sc.run
    dt = run.physics_step_s
    per_epoch = int(round(run.serving_epoch_s / dt))
    n_steps = int(math.ceil(run.duration_s / dt - 1e-9))
    curves = LossCurves.from_models(fac.loss_models)
    fabric = build_fabric(fac)
    network_w = fabric.fabric_power_w()
    extra_heat = np.asarray(fabric.rack_power_w(), dtype=float)
    p = ThermalParams.from_factory(fac) if fac.cooling is not None else None
    failures = Failures.none(p) if p is not None else None
    loop_air = _loop_air(p, fabric) if p is not None else None
    heat_map = LossHeatMap.build(fac, p) if p is not None else None
    sub_key, substep = None, None
    rides = _RideThrough(fac)
    prev_backup = None
    parts_key = None
    prev_flow, prev_version, version = None, -1, 0  # version: bumped by every event that changes the plant
    plan, plan_key, held = None, None, None
    net_ratio = None
    n_nodes = len(fac.power)
    failed = np.zeros(n_nodes, dtype=bool)
    module_loss = np.zeros(n_nodes)
    if run.serving == "discrete":
        steps_at = {i: [(e.time_s, e.factor) for e in sc.events
                        if e.kind == "load_step" and e.deployment == i]
                    for i in range(len(prepared.served))}
        servers = [_DiscreteServer(sd, run.start_hour, run, steps_at[i], run.seed + i)
                   for i, sd in enumerate(prepared.served)]
    else:
        servers = [_Server(sd, run.start_hour) for sd in prepared.served]
    serving_rack = np.zeros(n_racks, dtype=bool)
    for sd in prepared.served:
        serving_rack[sd.plan.racks] = True
    pol = sc.policies
    smooth = pol.smoothing
    smoothed = np.zeros(n_racks, dtype=bool)
    if smooth is not None:
        smoothed[smooth.racks] = True
    s_state = SmoothingState(np.zeros(n_racks), np.zeros(n_racks))
    store = pol.storage
    if store is not None:
        st_racks = store.racks
        st_cap = racks.storage_energy_j[st_racks]
        st_pmax, st_eta = racks.storage_power_w[st_racks], racks.storage_efficiency[st_racks]
        st_state = None
    sto_heat = np.zeros(n_racks)  # heat the storage gave up this step (discharge less stored charge)
    events = list(sc.events)
    ev_i = 0
    trainings: list[Event] = []
    dr: Event | None = None
    dr_start_w = 0.0
    last_meter_w = None
    last_ratio = 1.0  # rack IT (DC) / meter power
    weather = sc.weather
    if weather is not None:  # every point's wet bulb at once (no CoolProp call per step)
        wet_bulb = wet_bulb_psychrometric_c(weather.dry_bulb_c, weather.relative_humidity)
        w_index = np.arange(len(wet_bulb))
    amb0 = (Ambient(fac.cooling.ambient_dry_bulb_c, fac.cooling.ambient_relative_humidity)
            if fac.cooling else None)
    amb = amb0
    rec = StepRecorder(n_steps, n_racks, n_nodes, p.num_loops if p is not None else 0)
    log: list[dict] = []
    compute = np.zeros(n_racks)
    memory = np.zeros(n_racks)
    cpu_load = np.zeros(n_racks)
    serve_clock = np.ones(n_racks)
    clock_sum = np.zeros(n_racks)
    tstate = None
    temps = np.full(n_racks, np.nan)
    wall0 = time.perf_counter()
    epoch_tokens_s = 0.0
    ttft_mean = tpot_mean = math.nan
    pct = (math.nan,) * 4
    throttle_c = racks.gpu_throttle_c
    gpu_idle, gpu_tdp = racks.gpu_idle_w, racks.gpu_tdp_w
    ng = racks.num_gpus
    for k in range(n_steps):
        t = k * dt
        h = min(dt, run.duration_s - t)
        # ---------------------------------------------------------------- events
        while ev_i < len(events) and events[ev_i].time_s <= t + 1e-9:
            e = events[ev_i]
            ev_i += 1
            version += 1
            log.append({"time_s": e.time_s, "event": e.label})
            if e.kind in ("trip", "restore"):
                sign = 1 if e.kind == "trip" else -1
                if e.component_kind == "ups_module":
                    module_loss[e.index] = np.clip(module_loss[e.index] + sign * e.count, 0,
                                                   fac.power.num_modules[e.index])
                elif e.component_kind in _COOLING_FIELD:
                    key = _COOLING_FIELD[e.component_kind]
                    arr = getattr(failures, key).copy()
                    arr[e.index] = max(arr[e.index] + sign * e.count, 0)
                    failures = failures.with_(**{key: arr})
                else:
                    failed[e.index] = e.kind == "trip"
            elif e.kind == "setpoint":
                groups = p.group_loop == e.loop
                changes = {}
                if "fw_supply_c" in e.values:
                    fw = p.fw_supply_c.copy()
                    fw[e.loop] = e.values["fw_supply_c"]
                    changes["fw_supply_c"] = fw
                if "rack_supply_c" in e.values:
                    rs = p.rack_supply_c.copy()
                    rs[groups] = e.values["rack_supply_c"]
                    changes["rack_supply_c"] = rs
                p = dataclasses.replace(p, **changes)
            elif e.kind == "load_step":
                # a disaggregated deployment's rate enters at its prefill pool
                next(s for s in servers if s.sd.plan_index == e.deployment and s.sd.role != "decode"
                     ).factor = e.factor
            elif e.kind == "training":
                trainings.append(e)
            elif e.kind == "demand_response":
                dr = e
                dr_start_w = last_meter_w if last_meter_w is not None else math.nan
        if dr is not None and t >= dr.end_s + dr.ramp_s - 1e-9:
            log.append({"time_s": dr.end_s, "event": "demand response ends (released over its ramp)"})
            dr = None
        trainings = [e for e in trainings if t < e.end_s - 1e-9]
        # ---------------------------------------------------------------- serving epoch
        if k % per_epoch == 0:
            e_len = min(run.serving_epoch_s, run.duration_s - t)
            if k > 0:
                serve_clock = clock_sum / per_epoch
            if failed.any():  # racks dark now (after this step's events) serve nothing this epoch
                backup = rides.backup_ok(fac, failed, t) if rides.active else None
                serve_clock = np.where(_racks_powered(fac, failed, backup), serve_clock, 0.0)
            clock_sum = np.zeros(n_racks)
            compute[:] = 0.0
            memory[:] = 0.0
            cpu_load[:] = 0.0
            acc = [0.0, 0.0, 0.0, 0.0, [], 0.0]  # tokens, served, x TTFT, x TPOT, latencies, served (TPOT)
            epoch_served = []  # each server's completions this epoch [requests/s]
            for srv in servers:
                sd = srv.sd
                rc = sd.replica_min(serve_clock)
                if sd.upstream is not None:
                    srv.feed = float(epoch_served[sd.upstream])
                out = srv.epoch(t, e_len, rc)
                epoch_served.append(float(out.served_per_s.sum()))
                compute += sd.rack_mean(out.compute, n_racks)
                memory += sd.rack_mean(out.memory, n_racks)
                cpu_load += sd.rack_mean(np.where(rc > 0, HOST_CPU_LOAD_SERVING, 0.0), n_racks)
                _tally(rec, sd, out, e_len, n_racks, acc)
            epoch_tokens_s = acc[0] / e_len if e_len > 0 else 0.0
            ttft_mean = acc[2] / acc[1] if acc[1] > 0 else math.nan
            tpot_mean = acc[3] / acc[5] if acc[5] > 0 else math.nan
            pct = _percentiles(acc[4])
        # ---------------------------------------------------------------- GPU demand and limits
        load = np.minimum(compute + MEMORY_BOUND_POWER * memory, 1.0)
        cpu = cpu_load.copy()
        for e in trainings:
            share = _duty_overlap(t - e.time_s, h, 0.0, e.period_s, e.duty)
            load[e.racks] = e.low + (e.high - e.low) * share
            cpu[e.racks] = HOST_CPU_LOAD_SERVING
        c = np.ones(n_racks)
        near = pol.throttle.clock_factor[0] < 1.0 or np.nanmax(temps - throttle_c, initial=-np.inf) > \
            pol.throttle.excess_k[0]
        if tstate is not None and near:
            c = np.minimum(c, throttle_clock(temps, throttle_c, pol.throttle.excess_k,
                                             pol.throttle.clock_factor))
        thermal_clock = c.copy()
        c = _layout_cap_clock(c, load, racks)
        capped = np.zeros(n_racks, dtype=bool)
        if pol.caps or dr is not None:  # each rack's IT power is A + B c^3 (see twin.engine.limits)
            live = prev_flow.rack_powered if prev_flow is not None else np.ones(n_racks, dtype=bool)
            # dark racks draw nothing
            a_w = np.where(live, _rack_it(np.zeros(n_racks), load, cpu, racks), 0.0)
            b_w = np.where(live, _rack_it(np.ones(n_racks), load, cpu, racks), 0.0) - a_w
        if pol.caps:
            if last_meter_w is None and any(cap.scope == "site" for cap in pol.caps):
                # first step: the ratio of the uncapped start, measured now
                last_ratio = _start_ratio(fac, load, cpu, c, failed, curves, network_w, extra_heat, p, amb,
                                          failures, loop_air)
                last_meter_w = math.nan
            c = _apply_caps(c, capped, pol.caps, a_w, b_w, rec.last_shelf_ratio, last_ratio)
        if dr is not None and np.isfinite(dr_start_w):
            # down to the target within the ramp, held, then back up over the same ramp
            frac = 1.0 if dr.ramp_s <= 0 else min(1.0, (t + h - dr.time_s) / dr.ramp_s)
            if t >= dr.end_s:
                frac = 0.0 if dr.ramp_s <= 0 else max(0.0, 1.0 - (t + h - dr.end_s) / dr.ramp_s)
            target_meter = dr_start_w * (1.0 - (1.0 - dr.fraction) * frac)
            budget = target_meter * last_ratio
            cg = group_clock(a_w, b_w, c, budget)
            new = np.minimum(c, cg)
            capped |= new < c - 1e-12
            c = new
        c = np.maximum(c, np.where(load > 0, racks.gpu_min_clock, 0.0))
        gpu_w = gpu_activity_power_w(load, 0.0, c, gpu_idle, gpu_tdp, memory_power=1.0)
        if smooth is not None:
            drawn, s_new = smooth_step(gpu_w[smoothed], SmoothingState(s_state.power_w[smoothed],
                                                                        s_state.hold_s[smoothed]),
                                       h, smooth.floor_fraction * gpu_tdp[smoothed], smooth.ramp_up_w_s,
                                       smooth.ramp_down_w_s, smooth.ramp_down_hysteresis_s)
            if k == 0:  # the run starts settled: at demand, or on the floor
                drawn = np.maximum(gpu_w[smoothed], smooth.floor_fraction * gpu_tdp[smoothed])
                s_new = SmoothingState(drawn.copy(), np.zeros(len(drawn)))
            # a GPU held below its demand by the ramp-up limit runs slower:
            # its clock fits the power it may draw
            short = drawn < gpu_w[smoothed] - 1e-9
            dyn = (gpu_tdp[smoothed] - gpu_idle[smoothed]) * load[smoothed]
            with np.errstate(divide="ignore", invalid="ignore"):
                c_fit = np.cbrt(np.clip((drawn - gpu_idle[smoothed]) / np.where(dyn > 0, dyn, 1), 0, 1))
            cs = c[smoothed]
            c[smoothed] = np.where(short, np.minimum(cs, c_fit), cs)
            gpu_w[smoothed] = drawn
            pw = s_state.power_w.copy()
            hold = s_state.hold_s.copy()
            pw[smoothed], hold[smoothed] = s_new.power_w, s_new.hold_s
            s_state = SmoothingState(pw, hold)
        if (parts_key is not None and np.array_equal(gpu_w, parts_key[0])
                and np.array_equal(cpu, parts_key[1])):
            it_w = parts_key[2]  # the same parts at the same power: the same rack IT power
        else:
            it_w = rack_parts_power_w(gpu_w, cpu, ng, gpu_idle, gpu_tdp, racks.num_cpus, racks.cpu_idle_w,
                                      racks.cpu_tdp_w, racks.fixed_idle_w, racks.fixed_max_w)
            parts_key = (gpu_w, cpu, it_w)
        if store is not None:
            # the storage racks' draw from their cords follows the ramp limits; storage covers the rest
            live = prev_flow.rack_powered[st_racks] if prev_flow is not None else np.ones(len(st_racks), bool)
            if st_state is None:  # the run starts settled: drawing the load, half charged
                st_state = settled_state(it_w[st_racks], st_cap)
            grid, _, st_new = storage_step(it_w[st_racks], st_state, h, st_cap, st_pmax, st_eta,
                                           store.ramp_up_w_s, store.ramp_down_w_s, store.time_constant_s)
            # a dark rack draws nothing: its storage waits as it is
            st_new = StorageState(np.where(live, st_new.grid_w, 0.0),
                                  np.where(live, st_new.energy_j, st_state.energy_j),
                                  np.where(live, st_new.mean_load_w, st_state.mean_load_w))
            sto_heat[st_racks] = (st_state.energy_j - st_new.energy_j) / h
            st_state = st_new
            it_w = it_w.copy()
            it_w[st_racks] = np.where(live, grid, it_w[st_racks])
        # ---------------------------------------------------------------- power tree
        backup_ok = None
        if rides.active:
            backup_ok = rides.backup_ok(fac, failed, t)
        if (prev_flow is not None and prev_version == version and np.array_equal(it_w, prev_flow.it_dc_w)
                and np.array_equal(gpu_w, prev_flow.gpu_w) and np.array_equal(c, prev_flow.clock_factor)
                and (backup_ok is None or np.array_equal(backup_ok, prev_backup))):
            flow = prev_flow  # nothing changed since the last step: the same steady power flow
        else:
            flow = solve_power(fac, load, failed_nodes=failed, module_loss=module_loss, curves=curves,
                               demand=(load, c, it_w, gpu_w), backup_ok=backup_ok)
            prev_flow, prev_version, prev_backup = flow, version, backup_ok
        battery_w = rides.discharge(flow, h) if rides.active else 0.0
        gen_w = float(flow.node_input_w[flow.node_on_backup & rides.gen].sum()) if rides.active else 0.0
        powered = flow.rack_powered
        c = np.where(powered, c, 0.0)
        clock_sum += c
        heat = np.where(powered, flow.rack_input_w + sto_heat, 0.0) + extra_heat
        gpu_heat = np.where(powered, gpu_w, 0.0)
        # what the utility supplies: the tree's sources less the generators and UPS batteries on site
        chain_w = flow.chain_input_w - battery_w - gen_w
        if net_ratio is None:
            # the network racks are not in the tree: their share of the losses is taken at the chain's
            # loss ratio of the first step and held (a swing of the compute racks does not swing it)
            net_ratio = chain_w / flow.it_power_w if flow.it_power_w > 0 else 1.0
        power_chain = chain_w + network_w * net_ratio
        # ---------------------------------------------------------------- cooling
        cooling_w = 0.0
        th_out = None
        lh = None
        if weather is not None and k % per_epoch == 0:
            # the weather (hourly data) is taken at each serving epoch's middle
            t_mid = t + 0.5 * e_len
            x = (t_mid - weather.start_s) / weather.step_s
            db, rh = weather.at(t_mid)
            amb = Ambient(float(db), float(rh), float(np.interp(x, w_index, wet_bulb)))
        if p is not None:
            # the chain's losses (and the network racks' share) heat the halls' air and electrical rooms
            lh = heat_map.split_flow(flow, network_w * (net_ratio - 1.0))
            air_now = loop_air + lh.hall_air_w
            if tstate is None:
                st = solve_steady(p, heat, gpu_heat, amb, failures, air_now, room_heat_w=lh.room_w)
                tstate = initial_state(p, st)
            # the network's shortest time constant changes only with failures and setpoints
            if sub_key is None or sub_key[0] is not failures or sub_key[1] is not p:
                sub_key, substep = (failures, p), SUBSTEP_FRACTION * time_constants_s(p, failures)
            fresh = plan is None or plan_key != (version, id(flow), id(amb))
            # a new power flow or an event (not the epoch's new weather alone) re-evaluates the plant
            changed = plan is None or plan_key[:2] != (version, id(flow))
            if fresh:
                plan = plan_step(p, heat, amb, gpu_power_w=gpu_heat, failures=failures,
                                 loop_air_heat_w=air_now, room_heat_w=lh.room_w, max_substep_s=substep)
                plan_key = (version, id(flow), id(amb))
            # the plant's power (fan speeds for the heat rejected) is evaluated when its inputs change
            # and at each epoch's last step, and held in between (its controllers act over ~30 s)
            last_in_epoch = (k + 1) % per_epoch == 0 or k == n_steps - 1
            evaluate_power = changed or last_in_epoch or held is None
            tstate, th_out = step_planned(plan, tstate, h, cooling_power=evaluate_power)
            if th_out.cooling_power_w is None:
                th_out = dataclasses.replace(th_out, cooling_power_w=held[0], water_kg_s=held[1])
            else:
                held = (th_out.cooling_power_w, th_out.water_kg_s)
            temps = th_out.gpu_temp_c
            cooling_w = float(th_out.cooling_power_w.sum())
        meter = power_chain + cooling_w
        last_meter_w = meter
        it_total = flow.it_power_w + network_w
        last_ratio = float(flow.it_dc_w.sum()) / (meter + gen_w + battery_w) if meter > 0 else 1.0
        rec.record(k, t, h, flow=flow, fac=fac, it_w=it_total, chain_w=power_chain, cooling_w=cooling_w,
                   meter_w=meter, th=th_out, temps=temps, thermal_clock=thermal_clock, capped=capped,
                   clock=c, tokens_s=epoch_tokens_s, ttft_s=ttft_mean, tpot_s=tpot_mean, percentiles=pct,
                   dry_bulb_c=amb.dry_bulb_c if amb else math.nan, network_w=network_w,
                   battery_w=battery_w, battery_soc=rides.soc_share(), generator_w=gen_w,
                   storage_heat_w=sto_heat if store is not None else None,
                   storage_soc=(float(st_state.energy_j.sum() / st_cap.sum()) if store is not None
                                else math.nan),
                   loss_heat=lh)
        if progress is not None and (k % 500 == 0 or k == n_steps - 1):
            progress(t + h, run.duration_s)
    wall = time.perf_counter() - wall0
    if p is not None:
        rec.e_it_cooled_j = _cooled_energy_j(rec, p, extra_heat, loop_air)
    return rec.finish(sc, servers, log, wall, p)


#: Throttle fixed point of an annual hour: at most this many damped iterations, to this clock change.
ANNUAL_ITERATIONS, ANNUAL_CLOCK_TOL = 12, 1e-3


def _run_annual(prepared: Prepared, progress) -> SimResults:
    """Hourly quasi-steady points over the weather: serving, power, steady cooling, throttling.

    Each hour: the deployments serve their hour's rate (fluid model, backlog carried); the GPUs'
    power follows their activity, limited by caps; the cooling plant is solved at steady state at the
    hour's weather; a rack whose GPUs pass their throttle temperature slows, which lowers its power and
    its tokens, until clock and temperature agree (damped fixed-point iteration, at most
    :data:`ANNUAL_ITERATIONS`).
    """
    from types import SimpleNamespace

    sc = prepared.scenario
    fac = sc.factory
    racks = fac.racks
    n_racks = len(racks)
    run = sc.run
    h = 3600.0
    n = int(round(run.duration_s / h))
    curves = LossCurves.from_models(fac.loss_models)
    fabric = build_fabric(fac)
    network_w = fabric.fabric_power_w()
    extra_heat = np.asarray(fabric.rack_power_w(), dtype=float)
    p = ThermalParams.from_factory(fac) if fac.cooling is not None else None
    loop_air = _loop_air(p, fabric) if p is not None else None
    heat_map = LossHeatMap.build(fac, p) if p is not None else None
    servers = [_Server(sd, run.start_hour) for sd in prepared.served]
    pol = sc.policies
    times = np.arange(n) * h
    db, rh = sc.weather.at(times + 0.5 * h)
    wb = wet_bulb_psychrometric_c(db, rh)
    rec = StepRecorder(n, n_racks, len(fac.power), p.num_loops if p is not None else 0)
    failed = np.zeros(len(fac.power), dtype=bool)
    net_ratio = None
    last_ratio = None
    wall0 = time.perf_counter()
    for k in range(n):
        t = float(times[k])
        amb = Ambient(float(db[k]), float(rh[k]), float(wb[k]))
        c_th = np.ones(n_racks)  # the throttle curve's clock
        c_serve = np.ones(n_racks)  # the clock serving runs at: the last iteration's final clock
        ratio_it, shelf_it = last_ratio, rec.last_shelf_ratio  # the caps' budgets from the last solve
        for it in range(ANNUAL_ITERATIONS):
            compute = np.zeros(n_racks)
            memory = np.zeros(n_racks)
            cpu = np.zeros(n_racks)
            outs = []
            for srv in servers:
                sd = srv.sd
                rc = sd.replica_min(c_serve)
                if sd.upstream is not None:
                    srv.feed = float(outs[sd.upstream][1].served_per_s.sum())
                state, out = srv.preview(t, h, rc)
                outs.append((state, out))
                compute += sd.rack_mean(out.compute, n_racks)
                memory += sd.rack_mean(out.memory, n_racks)
                cpu += sd.rack_mean(np.where(rc > 0, HOST_CPU_LOAD_SERVING, 0.0), n_racks)
            load = np.minimum(compute + MEMORY_BOUND_POWER * memory, 1.0)
            c = _layout_cap_clock(c_th.copy(), load, racks)
            capped = np.zeros(n_racks, dtype=bool)
            if pol.caps:  # the first pass finds the site's ratio (ratio_it None: site caps wait)
                a_w = _rack_it(np.zeros(n_racks), load, cpu, racks)
                b_w = _rack_it(np.ones(n_racks), load, cpu, racks) - a_w
                c = _apply_caps(c, capped, pol.caps, a_w, b_w, shelf_it, ratio_it)
            c = np.maximum(c, np.where(load > 0, racks.gpu_min_clock, 0.0))
            gpu_w, it_w = _rack_power(load, cpu, c, racks)
            flow = solve_power(fac, load, failed_nodes=failed, curves=curves, demand=(load, c, it_w, gpu_w))
            heat = flow.rack_input_w + extra_heat
            st = None
            cool_it = 0.0
            c_used = c_th
            if p is not None:
                nr = net_ratio if net_ratio is not None else (flow.chain_input_w / flow.it_power_w
                                                               if flow.it_power_w > 0 else 1.0)
                lh = heat_map.split_flow(flow, network_w * (nr - 1.0))
                air_now = loop_air + lh.hall_air_w
                st = solve_steady(p, heat, gpu_w, amb, None, air_now, fan_method="grid",
                                  room_heat_w=lh.room_w)
                cool_it = st.cooling_power_w
                want = throttle_clock(st.gpu_temp_c, racks.gpu_throttle_c, pol.throttle.excess_k,
                                      pol.throttle.clock_factor)
            else:
                want = c_th
            # this solve's ratios set the caps' budgets of the next pass
            nr = net_ratio if net_ratio is not None else (flow.chain_input_w / flow.it_power_w
                                                           if flow.it_power_w > 0 else 1.0)
            facility_it = flow.chain_input_w + network_w * nr + cool_it
            first_site = any(cap.scope == "site" for cap in pol.caps) and ratio_it is None
            ratio_it = float(flow.it_dc_w.sum()) / facility_it if facility_it > 0 else 1.0
            shelf_it = np.divide(flow.rack_input_w, flow.it_dc_w, out=np.ones(n_racks),
                                 where=flow.it_dc_w > 0)
            settled = (np.max(np.abs(want - c_th)) < ANNUAL_CLOCK_TOL
                       and np.max(np.abs(c - c_serve)) < ANNUAL_CLOCK_TOL and not first_site)
            if settled:
                break
            c_th = np.clip(0.5 * (c_th + want), racks.gpu_min_clock, 1.0) if it else want
            c_serve = c
        acc = [0.0, 0.0, 0.0, 0.0, [], 0.0]  # tokens, served, x TTFT, x TPOT, latencies, served (TPOT)
        for srv, (state, out) in zip(servers, outs, strict=True):
            srv.commit(state, out, h)
            _tally(rec, srv.sd, out, h, n_racks, acc)
        chain_w = flow.chain_input_w
        if net_ratio is None:
            net_ratio = chain_w / flow.it_power_w if flow.it_power_w > 0 else 1.0
        power_chain = chain_w + network_w * net_ratio
        cooling_w = 0.0
        th = None
        temps = np.full(n_racks, np.nan)
        if st is not None:
            cooling_w = st.cooling_power_w
            temps = st.gpu_temp_c
            pumps = p.loop_sum(st.group_pump_w) + st.fw_pump_w
            q_fw = p.loop_sum(st.group_heat_w + st.group_pump_w) + st.fw_pump_w
            air_load = p.rack_loop_sum(st.heat_to_air_w) + air_now
            zeros = np.zeros(p.num_loops)
            th = SimpleNamespace(heat_rejected_w=q_fw, air_heat_removed_w=air_load - st.air_unmet_w,
                                 trim_heat_w=st.trim_heat_w,
                                 air_unmet_w=st.air_unmet_w, water_kg_s=st.water_kg_s,
                                 facility_out_j=h * q_fw, secondary_stored_j=zeros,
                                 facility_stored_j=zeros, pump_work_j=h * pumps)
        meter = power_chain + cooling_w
        last_ratio = float(flow.it_dc_w.sum()) / meter if meter > 0 else 1.0
        rec.record(k, t, h, flow=flow, fac=fac, it_w=flow.it_power_w + network_w, chain_w=power_chain,
                   cooling_w=cooling_w, meter_w=meter, th=th, temps=temps, thermal_clock=c_used,
                   capped=capped,
                   clock=c, tokens_s=acc[0] / h, ttft_s=acc[2] / acc[1] if acc[1] else math.nan,
                   tpot_s=acc[3] / acc[5] if acc[5] else math.nan, percentiles=_percentiles(acc[4]),
                   dry_bulb_c=float(db[k]), network_w=network_w, loss_heat=lh if st is not None else None)
        if progress is not None and (k % 100 == 0 or k == n - 1):
            progress(t + h, run.duration_s)
    if p is not None:
        rec.e_it_cooled_j = _cooled_energy_j(rec, p, extra_heat, loop_air)
    return rec.finish(sc, servers, [], time.perf_counter() - wall0, p)


def _start_ratio(fac, load, cpu, c, failed, curves, network_w, extra_heat, p, amb, failures,
                 loop_air) -> float:
    """DC IT power over facility power of the uncapped first step (what a site cap's budget needs)."""
    g, it = _rack_power(load, cpu, c, fac.racks)
    flow = solve_power(fac, load, failed_nodes=failed, curves=curves, demand=(load, c, it, g))
    ratio = flow.chain_input_w / flow.it_power_w if flow.it_power_w > 0 else 1.0
    cooling = 0.0
    if p is not None:
        lh = LossHeatMap.build(fac, p).split_flow(flow, network_w * (ratio - 1.0))
        cooling = solve_steady(p, flow.rack_input_w + extra_heat, g, amb, failures, loop_air + lh.hall_air_w,
                               room_heat_w=lh.room_w).cooling_power_w
    facility = flow.chain_input_w + network_w * ratio + cooling
    return float(flow.it_dc_w.sum()) / facility if facility > 0 else 1.0


def _cooled_energy_j(rec: StepRecorder, p: ThermalParams, extra_heat: np.ndarray,
                     loop_air: np.ndarray) -> float:
    """Electrical energy the power model delivered into the cooled halls over the run. [J]

    From the power side's own per-rack energies (the racks' input, step by step) plus the fabric parts
    in compute racks and the network racks' heat in the halls' air: the energy invariant compares it
    with what the cooling model rejected and stored.
    """
    inside = p.rack_loop >= 0
    fixed_w = extra_heat[inside].sum() + loop_air.sum()
    released = rec.rack_storage_released_j[inside].sum()
    return float(rec.rack_energy_j[inside].sum() + released + rec.elapsed_s * fixed_w + rec.e_losses_air_j)


def _racks_powered(fac, failed: np.ndarray, backup_ok: np.ndarray | None) -> np.ndarray:
    """Racks with at least one live cord when the ``failed`` nodes are out (as the power solve finds)."""
    from twin.power.network import energised

    tree = fac.power
    alive, _ = energised(fac, failed, backup_ok)
    live = alive[tree.cord_node] & (tree.cord_shelves > 0)
    return np.bincount(tree.cord_rack, weights=live, minlength=fac.num_racks) > 0


def _rack_power(load: np.ndarray, cpu: np.ndarray, clock: np.ndarray, racks) -> tuple[np.ndarray, np.ndarray]:
    """(one GPU's power, rack DC IT power) of every rack at its GPU load share, host load and clock. [W]"""
    g = gpu_activity_power_w(load, 0.0, clock, racks.gpu_idle_w, racks.gpu_tdp_w, memory_power=1.0)
    return g, rack_parts_power_w(g, cpu, racks.num_gpus, racks.gpu_idle_w, racks.gpu_tdp_w, racks.num_cpus,
                                 racks.cpu_idle_w, racks.cpu_tdp_w, racks.fixed_idle_w, racks.fixed_max_w)


def _rack_it(clock: np.ndarray, load: np.ndarray, cpu: np.ndarray, racks) -> np.ndarray:
    return _rack_power(load, cpu, clock, racks)[1]


def _layout_cap_clock(c: np.ndarray, load: np.ndarray, racks) -> np.ndarray:
    """``c`` lowered where the layout's GPU power cap needs it (``clock_factor_for_cap``)."""
    if not np.any(racks.gpu_cap_w < racks.gpu_tdp_w):
        return c
    return np.minimum(c, clock_factor_for_cap(load, racks.gpu_cap_w, racks.gpu_idle_w, racks.gpu_tdp_w,
                                              racks.gpu_min_clock))


def _apply_caps(c: np.ndarray, capped: np.ndarray, caps, a_w: np.ndarray, b_w: np.ndarray,
                shelf_ratio: np.ndarray, site_ratio: float | None) -> np.ndarray:
    """The clocks under rack, hall and site caps (``capped`` marks the racks a cap lowered).

    A rack's DC IT power is ``A + B c³`` (:mod:`twin.engine.limits`); a rack cap is on its input (DC
    times its shelf ratio), a hall cap on its racks' inputs, a site cap on the facility power, carried
    to DC IT power by ``site_ratio`` (DC IT over facility power; a site cap waits while it is None).
    """
    c = c.copy()
    for cap in caps:
        r = cap.racks
        if cap.scope == "rack":
            cc = rack_cap_clock(a_w[r], b_w[r], cap.cap_w / shelf_ratio[r])
        elif cap.scope == "hall":
            cc = group_clock(a_w[r] * shelf_ratio[r], b_w[r] * shelf_ratio[r], c[r], cap.cap_w)
        elif site_ratio is None:
            continue
        else:
            cc = group_clock(a_w[r], b_w[r], c[r], cap.cap_w * site_ratio)
        new = np.minimum(c[r], cc)
        capped[r] |= new < c[r] - 1e-12
        c[r] = new
    return c


def _tally(rec: StepRecorder, sd: ServedDeployment, out: EpochServing, dt: float, n_racks: int,
           acc: list[float]) -> None:
    """Record one deployment's epoch: its tokens per rack and its figures.

    ``acc`` (tokens, requests with a TTFT, their summed TTFT, summed TPOT, latency distributions,
    requests with a TPOT) gathers what the step table's means and percentiles need.
    """
    rec.add_rack_tokens(sd.rack_tokens(out.output_tokens, n_racks))
    x = out.served_per_s
    ok = x > 0
    acc[0] += float(out.output_tokens.sum())
    # TTFT from a disaggregated deployment's prefill pool, TPOT from its decode pool
    if sd.role != "decode":
        acc[1] += float(x[ok].sum())
        acc[2] += float((x[ok] * out.ttft_s[ok]).sum())
    if sd.role != "prefill":
        acc[5] += float(x[ok].sum())
        acc[3] += float((x[ok] * out.tpot_s[ok]).sum())
    acc[4].append(out.latency)
    rec.add_deployment_epoch(sd.plan.name, out, dt, sd.plan.slo_ttft_s, sd.plan.slo_tpot_s)


def _completed_latency(ttft_s: np.ndarray, tpot_s: np.ndarray) -> EpochLatency:
    """The exact latency distribution of the requests an epoch completed (discrete mode), as one group."""
    k = len(LATENCY_QUANTILES)
    if not len(ttft_s):
        return EpochLatency(np.zeros((0, k)), np.zeros((0, k)), np.zeros(0))
    tp = np.quantile(tpot_s, LATENCY_QUANTILES) if len(tpot_s) else np.full(k, np.nan)
    return EpochLatency(np.quantile(ttft_s, LATENCY_QUANTILES)[None, :], tp[None, :],
                        np.array([float(len(ttft_s))]))


def _percentiles(latencies: list) -> tuple[float, float, float, float]:
    """(TTFT P50, TTFT P99, TPOT P50, TPOT P99) of the requests of an epoch's deployments. [s]"""
    pooled = EpochLatency.pool(latencies)
    if pooled is None:
        return (math.nan,) * 4
    ttft, tpot = pooled.quantiles((0.5, 0.99))
    return float(ttft[0]), float(ttft[1]), float(tpot[0]), float(tpot[1])


def _loop_air(p: ThermalParams, fabric) -> np.ndarray:
    """Network racks' heat into each hall's air, by loop (as in the steady evaluation)."""
    air = fabric.network_power_w()
    return np.array([air.get(lp.name, 0.0) for lp in p.loops])


__all__ = ["simulate", "NODE_KINDS"]
