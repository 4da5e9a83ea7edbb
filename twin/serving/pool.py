"""A steppable pool of identical serving replicas (discrete-event, simpy).

:class:`ServingPool` routes requests round-robin to replicas in arrival order (with ``pp > 1``, to
the ``pp`` pipeline virtual engines of each replica) and runs one simpy process per replica
(:func:`twin.serving.replica.serve`). :meth:`ServingPool.advance` runs the simulation up to a time
at one clock factor per replica and returns what the replicas did in that epoch
(:class:`EpochActivity`); queues, KV blocks and requests in flight carry over to the next call.
Running to the end is one call (:meth:`ServingPool.run`); a run advanced in many epochs gives the
same request times as one call (to float rounding), because decode stretches stop at epoch ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from twin.serving.kv_cache import BlockAllocator
from twin.serving.metrics import RequestTimes
from twin.serving.perf_model import PerfModel, clock_scales
from twin.serving.replica import Activity, Horizon, ReplicaState, serve
from twin.serving.schedulers import get_scheduler
from twin.serving.workload import Requests


class _Stopped(Exception):
    """Raised by the watcher of :meth:`ServingPool.run_until` to end the simulation."""


@dataclass
class DiscreteResult:
    """Per-request times, activity per replica and bin, and event counts."""

    requests: RequestTimes
    activity_step_s: float
    busy_s: np.ndarray      # (replicas, bins)
    compute_s: np.ndarray   # (replicas, bins)
    memory_s: np.ndarray    # (replicas, bins)
    num_events: int
    num_iterations: int
    num_preemptions: int
    num_rejected: int

    def activity_dict(self) -> dict:
        """Activity summed over replicas per bin, plus the shares the power model reads."""
        busy = self.busy_s.sum(axis=0)
        comp = self.compute_s.sum(axis=0)
        mem = self.memory_s.sum(axis=0)
        n = self.busy_s.shape[0]
        return {
            "step_s": self.activity_step_s,
            "num_replicas": n,
            "busy_fraction": (busy / (n * self.activity_step_s)).round(6).tolist(),
            "compute_bound_fraction": (comp / (n * self.activity_step_s)).round(6).tolist(),
            "memory_bound_fraction": (mem / (n * self.activity_step_s)).round(6).tolist(),
        }


@dataclass(frozen=True)
class EpochActivity:
    """What each replica did in one epoch ``[start_s, end_s)`` (arrays over replicas).

    Busy, compute-bound and memory-bound seconds are those inside the epoch (an iteration running
    past its end counts pro rata, and the rest in the next epoch; with ``pp > 1`` a replica's GPUs
    spend ``1/pp`` of each virtual engine's iteration on it). Tokens and completions count at the end
    of the iteration that produced them. ``queued`` and ``running`` are the requests in flight at
    ``end_s``; over a run, requests arrived = completed + rejected + in flight, at every epoch.
    """

    start_s: float
    end_s: float
    clock_factor: np.ndarray      # held during the epoch
    busy_s: np.ndarray            # [s]
    compute_s: np.ndarray         # [s]
    memory_s: np.ndarray          # [s]
    prefill_tokens: np.ndarray    # prompt tokens prefilled (recomputation after a preemption included)
    output_tokens: np.ndarray     # tokens generated (the first one of a request with its prefill)
    arrived: np.ndarray           # requests (closed loop: sent)
    completed: np.ndarray
    rejected: np.ndarray          # requests that can never fit the KV pool
    queued: np.ndarray            # at end_s: arrived, not admitted (waiting or preempted)
    running: np.ndarray           # at end_s: admitted, not finished

    @property
    def duration_s(self) -> float:
        """Length of the epoch [s]."""
        return self.end_s - self.start_s

    @property
    def in_flight(self) -> np.ndarray:
        """Requests arrived and not finished at ``end_s``: queued + running."""
        return self.queued + self.running


_CUMULATIVE = ("busy_s", "compute_s", "memory_s", "prefill_tokens", "output_tokens", "arrived", "completed",
               "rejected")


class ServingPool:
    """``num_replicas`` identical replicas serving ``reqs``, advanced epoch by epoch.

    Parameters
    ----------
    perf : PerfModel
        Iteration cost and KV pool of one replica.
    reqs : Requests
        Arrival-sorted requests (round-robin routed).
    num_replicas : int
        Replicas serving them.
    activity_step_s : float
        Bin width of the GPU-activity record of :meth:`result`. [s]
    fast_forward : bool
        Price decode-only stretches in closed form (one event); ``False`` steps every iteration
        (same results, for testing).
    concurrency : int, optional
        Closed loop (benchmark clients such as AIPerf/genai-perf): at most this many requests in
        flight, split evenly over replicas; a request is sent when an earlier one completes, and the
        given arrival times are ignored after the first ``concurrency``.
    decode_only : bool
        Decode pool of a disaggregated deployment: requests arrive with their KV cache and their
        first token.
    progress : callable, optional
        Called now and then with the fraction of requests finished.

    Raises
    ------
    ServingInputError
        When requests need more tokens (input + output) than the model's context
        (:meth:`Requests.check_context`).
    """

    def __init__(self, perf: PerfModel, reqs: Requests, num_replicas: int, *, activity_step_s: float = 1.0,
                 fast_forward: bool = True, concurrency: int | None = None, decode_only: bool = False,
                 progress: Callable[[float], None] | None = None) -> None:
        reqs.check_context(perf.model)
        n = len(reqs)
        self.perf, self.num_replicas, self.activity_step_s = perf, num_replicas, activity_step_s
        self.concurrency, self.decode_only = concurrency, decode_only
        self.env = simpy.Environment()
        self._first = np.full(n, np.nan)
        self._done = np.full(n, np.nan)
        self._arrivals = np.array(reqs.arrival_s, dtype=float, copy=True)
        self._reqs = reqs
        hook = None
        if progress is not None:
            horizon_ticks = [0]

            def hook() -> None:
                horizon_ticks[0] += 1
                if horizon_ticks[0] % 20000 == 0:
                    progress(float(np.isfinite(self._done).sum()) / max(n, 1))

        self._horizon = Horizon(hook)
        dep = perf.dep
        sched = get_scheduler(dep.scheduler)
        # pipeline parallelism: each replica runs `pp` virtual engines (vLLM's design), each with its own
        # scheduler, batch limit and 1/pp of the KV blocks; a virtual engine's iteration passes the pp
        # stages in turn, and the stages work on the other engines' micro-batches meanwhile
        self._ve = ve = dep.pp
        procs = num_replicas * ve
        active = min(procs, concurrency) if concurrency else procs
        order = np.arange(n)
        self._states: list[ReplicaState] = []
        self._replica: list[int] = []
        self._acts: list[Activity] = []
        self._idx: list[np.ndarray] = []
        self._procs: list[simpy.Process] = []
        opts = {"max_tokens": perf.max_tokens, "max_batch": dep.max_batch, "chunked": dep.chunked_prefill,
                "fast_forward": fast_forward, "decode_only": decode_only, "adp_ranks": dep.tp,
                "adp_timeout": dep.adp_balance_timeout_iters if dep.attention_dp else 0,
                "adp_wait": dep.adp_balance_wait_iters}
        for k in range(active):
            idx = order[k::active]
            if not len(idx):
                continue
            conc = 0
            if concurrency:
                conc = concurrency // active + (1 if k < concurrency % active else 0)
            kv = BlockAllocator(perf.memory.num_blocks // ve, dep.block_size, len(idx))
            st = ReplicaState(idx, reqs.arrival_s, reqs.input_tokens, reqs.output_tokens, kv, self._first,
                              self._done, conc)
            act = Activity(activity_step_s)
            proc = serve(self.env, st, sched.batching(kv), perf.cost, self._horizon, act, **opts)
            self._procs.append(self.env.process(proc))
            self._states.append(st)
            self._replica.append(k % num_replicas)
            self._acts.append(act)
            self._idx.append(idx)
        self._start = 0.0
        self._seen = np.zeros((len(_CUMULATIVE), num_replicas))

    # ------------------------------------------------------------------ stepping
    @property
    def now(self) -> float:
        """Simulated time reached [s]."""
        return float(self.env.now)

    @property
    def finished(self) -> bool:
        """Every replica has served (or rejected) all its requests."""
        return not any(p.is_alive for p in self._procs)

    def advance(self, until_s: float, clock_factor=None) -> EpochActivity:
        """Run up to ``until_s`` (``inf``: to the end) with every replica at its clock factor.

        Parameters
        ----------
        until_s : float
            End of the epoch [s], not before :attr:`now`.
        clock_factor : float or array, optional
            SM clock as a fraction of nominal, one value for all replicas or one per replica, held
            for the epoch (:func:`twin.serving.perf_model.clock_scales`); default nominal (1). Every
            iteration that starts in the epoch runs at it (one in flight at the epoch's start keeps
            the clock it started at).

        Returns
        -------
        EpochActivity
            What each replica did from the previous epoch's end to ``until_s``.
        """
        until_s = float(until_s)
        f = self._step(until_s, clock_factor)
        end = until_s if until_s < math.inf else self.now
        return self._epoch(until_s, end, f)

    def run(self, clock_factor=None) -> EpochActivity:
        """Run to the end (:meth:`advance` to ``inf``)."""
        return self.advance(math.inf, clock_factor)

    def run_clock_schedule(self, clock: np.ndarray, clock_step_s: float) -> None:
        """Run to the end with clock factors per replica and step, one epoch per step, no records.

        ``clock`` has shape ``(replicas, steps)``, each step ``clock_step_s`` long, the last value
        holding afterwards. A decode stretch may cross a step's end at that step's clock (then its activity
        spreads linearly over the bins it spans), which keeps the events and activity bins of the
        simulator before it could be stepped; request times are the same as with :meth:`advance`.
        """
        self._horizon.cross = True
        try:
            i, last = 0, clock.shape[1] - 1
            while not self.finished:
                self._step((i + 1) * clock_step_s, clock[:, min(i, last)])
                i += 1
        finally:
            self._horizon.cross = False

    def run_until(self, stop: Callable[[ServingPool], bool], every_s: float) -> bool:
        """Run to the end at nominal clock, or until ``stop(pool)`` holds at a check; True if stopped.

        ``stop`` is called every ``every_s`` of simulated time by a watcher process that only reads the
        pool, so a run it does not stop is the same as :meth:`run`, event for event and bit for bit; a
        stopped pool is left where it stopped. Used to end a capacity probe as soon as its verdict is
        certain (:func:`twin.serving.api.max_rate`).
        """
        if not every_s > 0:
            raise ValueError(f"every_s must be > 0, got {every_s}")

        def watch():
            while not self.finished:
                yield self.env.timeout(every_s)
                if not self.finished and stop(self):
                    raise _Stopped

        self.env.process(watch())
        try:
            self._step(math.inf, None)
        except _Stopped:
            return True
        return False

    def _step(self, until_s: float, clock_factor) -> np.ndarray:
        if until_s < self.env.now:
            raise ValueError(f"cannot advance to {until_s} s: the pool is at {self.env.now} s")
        f = np.array(np.broadcast_to(np.asarray(1.0 if clock_factor is None else clock_factor, dtype=float),
                                     (self.num_replicas,)))
        sc, sm = clock_scales(f)
        for st, r in zip(self._states, self._replica, strict=True):
            st.sc, st.sm = float(sc[r]), float(sm[r])
        self._horizon.until = until_s
        if until_s == math.inf:
            self.env.run()
        elif until_s > self.env.now:
            self.env.run(until=until_s)
        return f

    def _epoch(self, until: float, end: float, f: np.ndarray) -> EpochActivity:
        R, ve = self.num_replicas, self._ve
        tot = np.zeros((len(_CUMULATIVE), R))
        queued = np.zeros(R, dtype=np.int64)
        running = np.zeros(R, dtype=np.int64)
        for st, r in zip(self._states, self._replica, strict=True):
            busy, comp, mem = st.activity_until(until)
            tot[:, r] += (busy / ve, comp / ve, mem / ve, st.prefill_tokens, st.output_tokens,
                          st.arrived_before(until), st.completed, st.rejected)
            queued[r] += st.queued(until)
            running[r] += st.running
        d = tot - self._seen
        self._seen = tot
        ints = d[3:].round().astype(np.int64)
        rec = EpochActivity(self._start, end, f, d[0], d[1], d[2], *ints, queued, running)
        self._start = end
        return rec

    # ------------------------------------------------------------------ results
    def times(self) -> RequestTimes:
        """Per-request arrival, first-token and completion times so far (nan: not reached yet). [s]"""
        arrivals = self._arrivals.copy()
        if self.concurrency:
            for st, idx in zip(self._states, self._idx, strict=True):
                arrivals[idx] = st.arrival
        first = self._first.copy()
        done = self._done.copy()
        if self.decode_only:
            first = np.where(np.isfinite(done), first, np.nan)
        reqs = self._reqs
        return RequestTimes(arrivals, first, done, reqs.input_tokens, reqs.output_tokens)

    def result(self) -> DiscreteResult:
        """Request times, activity bins and counters of the run so far (nan: not reached yet)."""
        R, ve = self.num_replicas, self._ve
        nbins = max((a.num_bins for a in self._acts), default=0)
        busy = np.zeros((R, nbins))
        comp = np.zeros((R, nbins))
        mem = np.zeros((R, nbins))
        for r, a in zip(self._replica, self._acts, strict=True):
            nb = a.num_bins
            if ve > 1:
                # a replica's GPUs spend 1/pp of each virtual engine's iteration on it (one stage each)
                busy[r, :nb] += np.array(a.busy[:nb]) / ve
                comp[r, :nb] += np.array(a.comp[:nb]) / ve
                mem[r, :nb] += np.array(a.mem[:nb]) / ve
            else:
                busy[r, :nb] = a.busy[:nb]
                comp[r, :nb] = a.comp[:nb]
                mem[r, :nb] = a.mem[:nb]
        times = self.times()
        s = self._states
        return DiscreteResult(times, self.activity_step_s, busy, comp, mem, sum(x.events for x in s),
                              sum(x.iterations for x in s), sum(x.preemptions for x in s),
                              sum(x.rejected for x in s))
