"""Record-level entry point of the serving simulator: build a replica, run a workload, get metrics.

``simulate`` takes plain records (:mod:`twin.records`); to run by catalog names use
:func:`twin.serve_sim` (:mod:`twin.engine.serve`), which builds them from the catalog::

    import twin
    result = twin.serve_sim(system="gb200-nvl72", gpus=72, model="llama-3.1-70b", precision="fp8", tp=8,
                            rate=50, input_tokens=2048, output_tokens=256, duration_s=600)
    result["output_tokens_per_s"]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from twin.serving.capacity import max_rate_at_slo
from twin.serving.discrete import simulate_disaggregated, simulate_discrete
from twin.serving.fluid import FluidResult, fluid_point
from twin.serving.host import FrontendSchedule, HostPath, frontend_fluid, frontend_schedule
from twin.serving.metrics import RequestTimes, summarize
from twin.serving.perf_model import PerfModel
from twin.serving.pool import ServingPool
from twin.serving.specs import Deployment, HardwareSpec, ModelSpec, ServingInputError
from twin.serving.workload import Workload


def num_replicas(num_gpus: int, dep: Deployment) -> int:
    """Replicas that fit on ``num_gpus`` GPUs (``gpus // (tp * pp)``); error if none."""
    r = num_gpus // dep.num_gpus
    if r < 1:
        raise ServingInputError(f"{num_gpus} GPUs cannot hold one replica of TP={dep.tp} x PP={dep.pp} "
                                f"= {dep.num_gpus} GPUs", field="gpus")
    return r


def _info(perf: PerfModel, replicas: int, mode: str) -> dict:
    """What ran where: the keys every result of this module starts with."""
    m, h, d = perf.model, perf.hw, perf.dep
    return {
        "model": m.name, "system": h.name, "num_gpus": replicas * d.num_gpus, "num_replicas": replicas,
        "tp": d.tp, "pp": d.pp, "ep": d.ep, "precision": d.precision, "kv_precision": d.kv_dtype,
        "max_batch": d.max_batch, "max_num_tokens": d.max_num_tokens, "backend": perf.backend,
        "mode": mode, "memory": perf.memory.to_dict(), "speculative": _speculative_info(d),
    }


def _speculative_info(d: Deployment) -> dict | None:
    sp = d.speculative
    if sp is None:
        return None
    return {"method": sp.method, "num_draft_tokens": sp.num_draft_tokens,
            "acceptance": list(sp.position_rates()), "tokens_per_step": sp.tokens_per_step,
            "draft_model": sp.draft_model.name if sp.draft_model else None,
            "draft_precision": sp.draft_precision or d.precision}


def simulate(model: ModelSpec, hardware: HardwareSpec, deployment: Deployment, workload: Workload,
             num_gpus: int, *, fluid: bool = False, backend: str = "auto", seed: int = 0,
             slo_ttft_s: float | None = None, slo_tpot_s: float | None = None,
             activity_step_s: float = 1.0, progress: Callable[[float], None] | None = None,
             prefill_gpus: int | None = None, concurrency: int | None = None,
             clock: np.ndarray | None = None, clock_step_s: float = 1.0,
             prefill_deployment: Deployment | None = None, host: HostPath | None = None) -> dict:
    """Run one deployment on ``num_gpus`` GPUs under a workload and return the metrics as a dict.

    The keys are those of :func:`twin.serving.metrics.summarize` plus ``deployment``, ``memory``,
    ``backend`` and, for the discrete mode, per-replica GPU activity (``activity``).

    ``prefill_gpus`` splits the GPUs into a prefill pool of that many GPUs and a decode pool of the
    rest (disaggregated serving, KV cache moved over NVLink when the system's NVLink domain holds
    both pools, else over the scale-out network); ``prefill_deployment`` gives the prefill pool its own
    shape (TP, EP, batch and token limits; the decode pool keeps ``deployment``), as disaggregated
    deployments usually do. ``concurrency`` runs a closed loop of that many
    clients instead of open arrivals. ``clock`` is the clock factor per replica and step
    (``(replicas, steps)`` or ``(steps,)``, each ``clock_step_s`` long) from the coupled engine: it
    slows compute-bound work as ``1/f`` and memory-bound work as ``max(1, 0.5/f)``; in fluid mode its
    mean over steps per replica is used. ``host`` puts the CPU front end in front of the engine
    (:mod:`twin.serving.host`: tokenization before a request reaches the engine, detokenization and
    streaming on the same cores); the result then has a ``host`` entry (cores, utilisation, waits,
    whether the front end is the bottleneck).
    """
    if prefill_deployment is not None and not prefill_gpus:
        raise ServingInputError("a prefill-pool shape (`prefill_*`: tp, ep, max_batch, max_num_tokens) "
                                "needs a prefill pool: give `prefill_gpus`", field="prefill_gpus")
    if host is not None:
        host.check()
        if concurrency is not None:
            raise ServingInputError("the host front end is modelled for open arrivals (a rate, a trace or "
                                    "offline), not for closed-loop `concurrency`", field="concurrency")
    hps = host.per_output_token_s if host is not None and host.engine_detokenizes else 0.0
    perf = PerfModel(model, hardware, deployment, backend=backend, host_s_per_decode=hps)
    replicas = num_replicas(num_gpus, deployment)
    info = _info(perf, replicas, "fluid" if fluid else "discrete")
    if fluid:
        f = 1.0 if clock is None else np.broadcast_to(
            np.atleast_2d(np.asarray(clock, dtype=float)).mean(axis=1), (replicas,))
        if host is None:
            res: FluidResult = fluid_point(perf, workload, replicas, clock_factor=f)
            return info | res.to_dict(replicas * deployment.num_gpus)
        return info | _fluid_with_host(perf, workload, replicas, f, host)
    rng = np.random.default_rng(seed)
    reqs = workload.generate(rng)
    fe = None
    original = reqs
    if host is not None:
        # the front end first: requests reach the engine when tokenized, in that order
        fe = frontend_schedule(reqs.arrival_s, reqs.input_tokens, reqs.output_tokens, host)
        order = np.argsort(fe.ready_s, kind="stable")
        reqs = dataclasses.replace(reqs, arrival_s=fe.ready_s[order], input_tokens=reqs.input_tokens[order],
                                   output_tokens=reqs.output_tokens[order],
                                   lines=None if reqs.lines is None else reqs.lines[order])
    gpus_used = replicas * deployment.num_gpus
    if prefill_gpus:
        pre_dep = prefill_deployment or deployment
        perf_pre = (perf if prefill_deployment is None
                    else PerfModel(model, hardware, pre_dep, backend=backend))
        n_pre = prefill_gpus // pre_dep.num_gpus
        n_dec = (num_gpus - prefill_gpus) // deployment.num_gpus
        if n_pre < 1 or n_dec < 1:
            raise ServingInputError(
                f"disaggregated serving needs at least one replica in each pool; `prefill_gpus` "
                f"{prefill_gpus} of {num_gpus} GPUs gives {n_pre} prefill replicas of {pre_dep.num_gpus} "
                f"GPUs and {n_dec} decode replicas of {deployment.num_gpus} GPUs")
        out, _ = simulate_disaggregated(perf_pre, perf, reqs, n_pre, n_dec,
                                        same_nvlink_domain=num_gpus <= hardware.nvlink_domain_gpus,
                                        activity_step_s=activity_step_s)
        replicas = n_pre + n_dec
        gpus_used = n_pre * pre_dep.num_gpus + n_dec * deployment.num_gpus
        info |= {"num_replicas": replicas, "num_gpus": gpus_used,
                 "disaggregated": {"prefill_replicas": n_pre, "decode_replicas": n_dec,
                                   "prefill_tp": pre_dep.tp, "prefill_pp": pre_dep.pp,
                                   "prefill_ep": pre_dep.ep, "prefill_max_batch": pre_dep.max_batch,
                                   "prefill_max_num_tokens": pre_dep.max_num_tokens,
                                   "prefill_memory": perf_pre.memory.to_dict()}}
    else:
        out = simulate_discrete(perf, reqs, replicas, activity_step_s=activity_step_s, progress=progress,
                                concurrency=concurrency, clock=clock, clock_step_s=clock_step_s)
    times = out.requests
    extra = {}
    if fe is not None:
        # back to arrival order, latencies from the arrival at the front end
        first, done = np.full(len(order), np.nan), np.full(len(order), np.nan)
        first[order], done[order] = times.first_token_s, times.completed_s
        times = RequestTimes(original.arrival_s, first, done, original.input_tokens, original.output_tokens)
        extra = {"host": _host_info(fe, host, times, original)}
    summary = summarize(times, gpus_used, slo_ttft_s=slo_ttft_s, slo_tpot_s=slo_tpot_s)
    return info | summary | extra | {"activity": out.activity_dict(), "num_iterations": out.num_iterations,
                                     "num_events": out.num_events, "num_preemptions": out.num_preemptions}


def _host_info(fe: FrontendSchedule, host: HostPath, times: RequestTimes, reqs) -> dict:
    """The front end's figures of a discrete run: cores, utilisation over the run, waits, the verdict."""
    done = np.isfinite(times.completed_s)
    t0 = float(reqs.arrival_s.min())
    span = float(np.nanmax(times.completed_s)) - t0 if done.any() else 0.0
    # the front end's own busy span: from the first arrival until its last job ends
    host_span = float(np.max(fe.start_s + host.job_s(reqs.input_tokens, reqs.output_tokens))) - t0
    wait = fe.start_s - reqs.arrival_s
    return {"cores": host.cores, "utilisation": fe.utilisation(span), "mean_wait_s": float(wait.mean()),
            "mean_tokenize_s": float((fe.ready_s - fe.start_s).mean()),
            "per_output_token_s": host.per_output_token_s, "engine_detokenizes": host.engine_detokenizes,
            # host-bound: its cores never rested while it worked, and it worked for most of the run (the
            # rest is the engine finishing the last requests it passed)
            "bound": bool(fe.utilisation(host_span) >= 0.95 and host_span >= 0.75 * span)}


def _fluid_with_host(perf: PerfModel, workload, replicas: int, clock_factor, host: HostPath) -> dict:
    """Fluid mode behind the front end: the engine sees what the cores pass, TTFT adds their wait."""
    if workload.trace is not None:
        tr = workload.trace
        dur = float(np.ptp(tr.arrival_s))
        # a single request (or all at one instant) loads the front end with no steady rate
        rate = (len(tr) - 1) / dur if len(tr) > 1 and dur > 0 else 0.0
        n_in, n_out = float(tr.input_tokens.mean()), float(tr.output_tokens.mean())
    elif workload.offline:
        raise ServingInputError("the fluid mode's host front end needs an arrival rate (offline: use the "
                                "discrete mode)", field="fluid")
    else:
        rate, n_in, n_out, dur = (workload.rate_per_s, workload.input_len.mean, workload.output_len.mean,
                                  workload.duration_s)
    fe = frontend_fluid(rate, n_in, n_out, host, dur)
    if workload.trace is None:
        passed = dataclasses.replace(workload, rate_per_s=fe["passed_per_s"])
    elif fe["bound"]:
        # the front end passes the trace's requests at its capacity: the same requests, spread out in time
        tr, t0 = workload.trace, float(workload.trace.arrival_s.min())
        stretched = dataclasses.replace(tr, arrival_s=t0 + (tr.arrival_s - t0) * rate / fe["passed_per_s"])
        passed = dataclasses.replace(workload, trace=stretched)
    else:
        passed = workload
    res = fluid_point(perf, passed, replicas, clock_factor=clock_factor)
    add = fe["wait_s"] + fe["tokenize_s"]
    res.curve.ttft_s = res.curve.ttft_s + add
    res.curve.e2e_s = res.curve.e2e_s + add
    out = res.to_dict(replicas * perf.dep.num_gpus)
    for key in ("ttft_s", "e2e_s"):
        out[key] = {k: (None if v is None else v + add) if k != "mean" else v for k, v in out[key].items()}
    return out | {"host": {"cores": host.cores, "utilisation": fe["utilisation"], "mean_wait_s": fe["wait_s"],
                           "mean_tokenize_s": fe["tokenize_s"], "per_output_token_s": host.per_output_token_s,
                           "engine_detokenizes": host.engine_detokenizes, "bound": fe["bound"],
                           "capacity_requests_per_s": fe["capacity_per_s"]}}


def _ttft_verdict(p99_ttft_s: float, num_requests: int) -> Callable[[ServingPool], bool]:
    """``stop(pool)``: True once the run's P99 TTFT is certain to exceed ``p99_ttft_s``.

    The P99 is ``numpy.percentile`` (linear) over the TTFT of the completed requests, at most
    ``n = num_requests`` of them: at sorted index ``i = floor(0.99 (n - 1))``. Once ``k`` completed
    requests had a TTFT above the limit with ``k >= n - i`` (which grows with ``n``, so it holds for any
    number completed by the end), the value at index ``i`` and so the P99 is above the limit, whatever
    the rest of the run does.
    """
    need = num_requests - math.floor(0.99 * (num_requests - 1))

    def stop(pool: ServingPool) -> bool:
        t = pool.times()
        done = np.isfinite(t.completed_s)
        return int(np.count_nonzero(t.first_token_s[done] - t.arrival_s[done] > p99_ttft_s)) >= need

    return stop


def max_rate(model: ModelSpec, hardware: HardwareSpec, deployment: Deployment, workload: Workload,
             num_gpus: int, *, p99_ttft_s: float | None, p99_tpot_s: float | None, backend: str = "auto",
             seed: int = 0, rel_tol: float = 0.02,
             progress: Callable[[float], None] | None = None) -> dict:
    """Highest Poisson arrival rate whose P99 TTFT and P99 TPOT meet the limits, and the metrics there.

    MLPerf Server/Interactive scoring (see :mod:`twin.serving.capacity`): the workload's lengths,
    duration and rate profile are kept, its rate is searched (discrete simulation, same seed for every
    probe). Returns :func:`simulate`'s keys at the highest passing rate plus ``capacity``: the limits,
    every probe, and the steady-state throughput there (``output_tokens_per_s``, ``..._per_gpu``: rate x
    mean output; the summary's span-based figures are lower by the run's final drain);
    ``capacity.max_rate_per_s`` is None when no probe down to 20 expected arrivals passed. A probe
    whose P99 TTFT is certain to miss its limit is stopped there (its record has ``stopped_at_s`` and
    the percentiles of the requests completed by then): the verdicts, and so the answer, are those of
    full runs (:func:`_ttft_verdict`).
    """
    if workload.offline or workload.trace is not None or workload.rate_per_s is None:
        raise ServingInputError("a capacity search varies the Poisson arrival rate: give a rate workload "
                                "(not `offline`, `concurrency` or `trace`)", field="max_rate_search")
    perf = PerfModel(model, hardware, deployment, backend=backend)
    replicas = num_replicas(num_gpus, deployment)
    workload.check()
    # first probe: the fluid model's saturation rate over all replicas
    sat = dataclasses.replace(workload, rate_per_s=1e6 * replicas, duration_s=1.0, num_requests=None)
    initial = float(fluid_point(perf, sat, replicas).curve.completed_per_s.sum())
    gpus = replicas * deployment.num_gpus

    def run(rate: float) -> dict:
        w = dataclasses.replace(workload, rate_per_s=rate)
        w.check()
        reqs = w.generate(np.random.default_rng(seed))
        pool = ServingPool(perf, reqs, replicas)
        if p99_ttft_s is None:
            pool.run()
            return summarize(pool.times(), gpus)
        # an overloaded probe's verdict is certain long before its queue drains: stop it then
        stopped = pool.run_until(_ttft_verdict(p99_ttft_s, len(reqs)),
                                 every_s=max(workload.duration_s / 60.0, 1e-3))
        out = summarize(pool.times(), gpus)
        return out | {"stopped_at_s": pool.now} if stopped else out

    # assumption: below ~20 expected arrivals in the window a P99 means nothing, so the search stops there
    res = max_rate_at_slo(run, initial, p99_ttft_s=p99_ttft_s, p99_tpot_s=p99_tpot_s, rel_tol=rel_tol,
                          min_rate_per_s=20.0 / workload.duration_s, progress=progress)
    info = _info(perf, replicas, "capacity search")
    cap = res.to_dict()
    cap["output_tokens_per_s_per_gpu"] = (None if cap["output_tokens_per_s"] is None
                                          else cap["output_tokens_per_s"] / gpus)
    return info | (res.summary or {}) | {"capacity": cap}
