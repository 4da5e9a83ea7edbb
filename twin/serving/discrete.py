"""Discrete-event serving simulation (simpy): one process per replica, one event per batch iteration.

Requests are routed round-robin to replicas in arrival order. Each replica process forms a batch
(:mod:`twin.serving.schedulers`), prices it with the iteration-cost law
(:class:`twin.serving.perf_model.IterationCost`) and yields one simpy timeout for it; decode-only
stretches are one event in closed form (:mod:`twin.serving.replica`). Tokens are never events.

:func:`simulate_discrete` runs a :class:`~twin.serving.pool.ServingPool` to the end (one epoch per
clock step when a clock schedule is given); the pool itself can be advanced epoch by epoch.

Per replica the simulation records GPU activity in bins of ``activity_step_s``: busy time,
compute-bound and memory-bound time (for the power model), at the clock factor of each step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from twin.serving.metrics import RequestTimes
from twin.serving.perf_model import PerfModel
from twin.serving.pool import DiscreteResult, EpochActivity, ServingPool
from twin.serving.workload import Requests

__all__ = ["DiscreteResult", "EpochActivity", "ServingPool", "simulate_disaggregated", "simulate_discrete"]


def simulate_discrete(perf: PerfModel, reqs: Requests, num_replicas: int, *, activity_step_s: float = 1.0,
                      clock: np.ndarray | None = None, clock_step_s: float = 1.0,
                      progress: Callable[[float], None] | None = None,
                      fast_forward: bool = True, concurrency: int | None = None,
                      decode_only: bool = False) -> DiscreteResult:
    """Serve ``reqs`` on ``num_replicas`` identical replicas; one simpy process each.

    Parameters
    ----------
    perf : PerfModel
        Iteration-time model of one replica.
    reqs : Requests
        Arrival-sorted requests (round-robin routed).
    num_replicas : int
        Replicas serving them.
    activity_step_s : float
        Bin width of the GPU-activity record. [s]
    clock : ndarray, optional
        Clock factor per replica and step, shape ``(num_replicas, num_steps)`` (or ``(num_steps,)``
        for all), each step ``clock_step_s`` long; the last value holds afterwards.
    progress : callable, optional
        Called now and then with the fraction of requests finished.
    fast_forward : bool
        Price decode-only stretches in closed form (one event); ``False`` steps every iteration
        (same results, for testing).
    concurrency : int, optional
        Closed loop (benchmark clients such as AIPerf/genai-perf): at most this many requests in
        flight, split evenly over replicas; a request is sent when an earlier one completes, and the
        given arrival times are ignored after the first ``concurrency``.
    decode_only : bool
        Decode pool of a disaggregated deployment: requests arrive with their KV cache and their
        first token (see :func:`simulate_disaggregated`).

    Raises
    ------
    ServingInputError
        Before simulating, when requests need more tokens (input + output) than the model's
        context (:meth:`Requests.check_context`).
    """
    pool = ServingPool(perf, reqs, num_replicas, activity_step_s=activity_step_s, fast_forward=fast_forward,
                       concurrency=concurrency, decode_only=decode_only, progress=progress)
    if clock is None:
        pool.run()
    else:
        clock = np.atleast_2d(np.asarray(clock, dtype=float))
        if clock.shape[0] == 1:
            clock = np.repeat(clock, num_replicas, axis=0)
        pool.run_clock_schedule(clock, clock_step_s)
    return pool.result()


def simulate_disaggregated(perf_prefill: PerfModel, perf_decode: PerfModel, reqs: Requests,
                           num_prefill: int, num_decode: int, *, same_nvlink_domain: bool = False,
                           activity_step_s: float = 1.0) -> tuple[DiscreteResult, DiscreteResult]:
    """Disaggregated serving: a prefill pool, a KV-cache transfer, a decode pool.

    The prefill pool runs every request to its first token (output length 1); the prompt's KV cache
    (``input_tokens * kv_bytes_per_token``) then moves to a decode replica over NVLink when both pools
    share an NVLink domain, else over the scale-out network (:func:`twin.fabric.collectives
    .kv_transfer_time_s`, the prefill replica's GPUs sending in parallel); the decode pool serves the
    remaining tokens. Decode never pushes back on prefill (unbounded transfer queue).

    Returns
    -------
    (combined, decode) : DiscreteResult
        ``combined`` has the original arrivals, the first token from the prefill pool and the
        completion from the decode pool, and the activity of both pools (prefill replicas first).
    """
    from twin.serving.comm import transfer_time_s

    reqs.check_context(perf_prefill.model)
    n = len(reqs)
    pre = simulate_discrete(perf_prefill, Requests(reqs.arrival_s, reqs.input_tokens, np.ones(n, np.int64)),
                            num_prefill, activity_step_s=activity_step_s)
    first = pre.requests.completed_s
    hw, dep = perf_prefill.hw, perf_prefill.dep
    kv = reqs.input_tokens * perf_prefill.model.kv_bytes_per_token(dep.kv_dtype)
    bw = hw.nvlink_bw_bytes_s / 2.0 if same_nvlink_domain else hw.scale_out_bw_bytes_s
    ready = first + np.asarray(transfer_time_s(kv, bw, num_gpus=dep.num_gpus))
    ok = np.isfinite(ready)
    order = np.argsort(np.where(ok, ready, np.inf), kind="stable")[: int(ok.sum())]
    dreq = Requests(ready[order], reqs.input_tokens[order], reqs.output_tokens[order])
    dec = simulate_discrete(perf_decode, dreq, num_decode, activity_step_s=activity_step_s, decode_only=True)
    done = np.full(n, np.nan)
    done[order] = dec.requests.completed_s
    times = RequestTimes(reqs.arrival_s, first, done, reqs.input_tokens, reqs.output_tokens)
    nb = max(pre.busy_s.shape[1], dec.busy_s.shape[1])

    def pad(a):
        return np.pad(a, ((0, 0), (0, nb - a.shape[1])))

    combined = DiscreteResult(
        times, activity_step_s, np.vstack([pad(pre.busy_s), pad(dec.busy_s)]),
        np.vstack([pad(pre.compute_s), pad(dec.compute_s)]),
        np.vstack([pad(pre.memory_s), pad(dec.memory_s)]),
        pre.num_events + dec.num_events, pre.num_iterations + dec.num_iterations,
        pre.num_preemptions + dec.num_preemptions, pre.num_rejected + dec.num_rejected)
    return combined, dec
