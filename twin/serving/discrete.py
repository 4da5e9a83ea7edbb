"""Discrete-event serving simulation (simpy): one process per replica, one event per batch iteration.

Requests are routed round-robin to replicas in arrival order. Each replica process forms a batch
(:mod:`twin.serving.schedulers`), prices it with the iteration-time model and yields one simpy
timeout for it. Tokens are never events.

Decode-only stretches are exact in closed form: while no request arrives, finishes, changes clock
step or needs a KV block that is not there, consecutive iterations differ only by one more context
token per sequence, so ``k`` of them take ``k t0 + g k (k-1)/2`` (``g``: the attention time of one
more token per sequence). Such a stretch is one event; its ``k`` iterations are counted. Results are
the same as stepping every iteration (tested).

Per replica the simulation records GPU activity in bins of ``activity_step_s``: busy time,
compute-bound and memory-bound time (for the power model), at the clock factor of each step.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from twin.serving.metrics import RequestTimes
from twin.serving.perf_model import PerfModel, clock_scales
from twin.serving.schedulers import get_scheduler
from twin.serving.workload import Requests


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


class _Activity:
    """Accumulates busy/compute/memory seconds of one replica into time bins."""

    __slots__ = ("step", "busy", "comp", "mem")

    def __init__(self, step: float) -> None:
        self.step = step
        self.busy: dict[int, float] = {}
        self.comp: dict[int, float] = {}
        self.mem: dict[int, float] = {}

    def add(self, t0: float, t1: float, comp: float, mem: float) -> None:
        dur = t1 - t0
        if dur <= 0:
            return
        step = self.step
        b0, b1 = int(t0 // step), int(t1 // step)
        if b0 == b1:
            self.busy[b0] = self.busy.get(b0, 0.0) + dur
            self.comp[b0] = self.comp.get(b0, 0.0) + comp
            self.mem[b0] = self.mem.get(b0, 0.0) + mem
            return
        for b in range(b0, b1 + 1):
            ov = min(t1, (b + 1) * step) - max(t0, b * step)
            if ov <= 0:
                continue
            f = ov / dur
            self.busy[b] = self.busy.get(b, 0.0) + ov
            self.comp[b] = self.comp.get(b, 0.0) + comp * f
            self.mem[b] = self.mem.get(b, 0.0) + mem * f


def _iterations_until(delta: float, t0: float, g: float) -> int:
    """Smallest k >= 1 with ``k t0 + g k (k-1)/2 >= delta``."""
    if delta <= t0:
        return 1
    if g <= 0.0:
        return max(1, math.ceil(delta / t0 - 1e-12))
    b = t0 - g / 2.0
    k = (-b + math.sqrt(b * b + 2.0 * g * delta)) / g
    return max(1, math.ceil(k - 1e-9))


def _replica(env: simpy.Environment, perf: PerfModel, reqs: Requests, idx: np.ndarray, first: np.ndarray,
             done: np.ndarray, act: _Activity, counters: list, clock: np.ndarray | None, clock_step: float,
             progress: Callable[[], None] | None, fast_forward: bool = True, concurrency: int = 0,
             arrivals_out: np.ndarray | None = None, decode_only: bool = False, kv_share: int = 1):
    """simpy process of one replica (or one of its ``kv_share`` pipeline virtual engines, holding that
    share of the KV blocks) serving the requests ``idx`` (arrival-sorted)."""
    dep = perf.dep
    sched = get_scheduler(dep.scheduler)
    reserve, preempt = sched.reserve_output, sched.preempt
    co = perf.coefficients()
    base_c, base_m, other = co["base_c"], co["base_m"], co["other"]
    head_c, head_m = co["head_c"], co["head_m"]
    pair_s, ctx_s, ctx_comp, dfloor = (co["prefill_pair_s"], co["decode_ctx_s"], co["decode_ctx_compute"],
                                       co["decode_floor_s"])
    max_tokens, max_batch, bs = perf.max_tokens, dep.max_batch, dep.block_size
    total_blocks = perf.memory.num_blocks // kv_share
    free = total_blocks
    # schedulers that take blocks on demand keep a watermark of free blocks at admission and admit
    # nothing in the iteration after a preemption, so a paused request is not re-admitted only to be
    # paused again (vLLM's scheduler: ``watermark=0.01`` of the blocks, no prefills scheduled in a step
    # that preempted)
    watermark = math.ceil(0.01 * total_blocks) if preempt else 0
    hold_admission = False
    chunked = dep.chunked_prefill
    # attention-DP balancing (TensorRT-LLM attention_dp_config): while every rank decodes, new context
    # requests wait until every rank has one and `adp_wait` more iterations passed, or `adp_timeout`
    # iterations since they started waiting; ranks are the TP GPUs of the replica (whole sequences each)
    ranks = dep.tp
    adp_timeout = dep.adp_balance_timeout_iters if dep.attention_dp else 0
    adp_wait = dep.adp_balance_wait_iters
    adp_held = adp_ready = 0

    arr = reqs.arrival_s[idx].tolist()
    if concurrency:
        # closed loop: the first `concurrency` requests start at their arrival, each later one when an
        # earlier one finishes (completions happen in time order, so `arr` stays sorted)
        arr[concurrency:] = [math.inf] * max(len(arr) - concurrency, 0)
    assigned = min(concurrency, len(arr)) if concurrency else len(arr)
    inp = reqs.input_tokens[idx].tolist()
    outl = reqs.output_tokens[idx].tolist()
    gidx = idx.tolist()
    n = len(arr)
    prompt_total = list(inp)     # tokens to prefill (grows by the generated tokens after a preemption)
    gen = [0] * n                # tokens generated so far (set when decoding stops)
    held = [0] * n
    base = [0] * n               # context of a decoder = base + c
    finish = [0] * n
    version = [0] * n
    waiting: deque[int] = deque()
    prefilling: list[list[int]] = []   # [local index, prefilled tokens]
    decoders: list[int] = []           # admission order (for preemption)
    heap: list[tuple[int, int, int]] = []
    B = 0
    dec_A = 0
    c = 0
    nxt = 0
    remaining = n
    sc, sm = 1.0, 1.0
    while remaining > 0:
        now = env.now
        while nxt < n and arr[nxt] <= now:
            waiting.append(nxt)
            nxt += 1
        if clock is not None:
            sc, sm = clock_scales(clock[min(int(now // clock_step), len(clock) - 1)])
        # ---- batch formation: decodes, continuing prefills, new admissions
        budget = max_tokens - B
        seqs = B + len(prefilling)
        T = B
        pairs = 0.0
        chunks: list[tuple[list[int], int]] = []
        for e in prefilling:
            if budget <= 0:
                break
            li = e[0]
            ch = min(prompt_total[li] - e[1], budget)
            pairs += ch * (e[1] + ch / 2.0)
            budget -= ch
            T += ch
            chunks.append((e, ch))
        adp_hold = bool(adp_timeout and waiting and B >= ranks and adp_held < adp_timeout
                        and not (len(waiting) >= ranks and adp_ready >= adp_wait))
        while waiting and budget > 0 and seqs < max_batch and not hold_admission and not adp_hold:
            li = waiting[0]
            need = -(-(prompt_total[li] + (outl[li] - gen[li] if reserve else 1)) // bs)
            if need > total_blocks:          # can never fit: reject
                waiting.popleft()
                counters[3] += 1
                remaining -= 1
                if assigned < n:
                    arr[assigned] = now
                    assigned += 1
                continue
            if need > free or (need + watermark > free and (B or prefilling)):
                break
            if not chunked and budget < prompt_total[li] <= max_tokens:
                break       # no chunked context: the whole prompt in one iteration, or wait
            waiting.popleft()
            free -= need
            held[li] = need
            if decode_only:
                # disaggregated decode pool: the KV cache arrived with the request, which decodes
                # from its second token on
                gen[li] = max(gen[li], 1)
                base[li] = prompt_total[li] + 1 - c
                dec_A += base[li]
                B += 1
                seqs += 1
                T += 1
                budget -= 1
                finish[li] = c + outl[li] - gen[li]
                heapq.heappush(heap, (finish[li], li, version[li]))
                if preempt:
                    decoders.append(li)
                continue
            e = [li, 0]
            prefilling.append(e)
            seqs += 1
            ch = min(prompt_total[li], budget)
            pairs += ch * ch / 2.0
            budget -= ch
            T += ch
            chunks.append((e, ch))
        if T == 0:
            if nxt < n and arr[nxt] < math.inf:
                yield env.timeout(arr[nxt] - now)
                counters[0] += 1
                continue
            # waiting requests that cannot be admitted with nothing running: reject them
            counters[3] += len(waiting)
            remaining -= len(waiting)
            waiting.clear()
            break
        # ---- vLLM: grow KV blocks of decoders, preempt the newest when the pool is short
        held_before = hold_admission     # this iteration admitted nothing because the last one preempted
        hold_admission = False
        if preempt and B:
            while True:
                grow = 0
                for li in decoders:
                    g_ = -(-(base[li] + c + 1) // bs) - held[li]
                    if g_ > 0:
                        grow += g_
                if grow <= free or B <= 1:
                    break
                li = decoders.pop()
                version[li] += 1
                gen[li] = outl[li] - (finish[li] - c)
                B -= 1
                seqs -= 1
                dec_A -= base[li]
                free += held[li]
                held[li] = 0
                prompt_total[li] = inp[li] + gen[li]
                waiting.appendleft(li)
                counters[2] += 1
                hold_admission = True
            T = min(T, B + sum(ch for _, ch in chunks))
        S = dec_A + B * c
        tt = T if T <= max_tokens else max_tokens
        ns = seqs if seqs < len(head_c) else len(head_c) - 1
        a_ctx = ctx_s * S
        cc = base_c[tt] + head_c[ns] + pair_s * pairs
        mm = base_m[tt] + head_m[ns] + (dfloor if B else 0.0)
        if ctx_comp:
            cc += a_ctx
            g = ctx_s * B * sc
        else:
            mm += a_ctx
            g = ctx_s * B * sm
        t0 = cc * sc + mm * sm + other[tt]
        k = 1
        if fast_forward and not chunks and B:
            while heap and version[heap[0][1]] != heap[0][2]:
                heapq.heappop(heap)
            k = heap[0][0] - c
            # an arrival ends the stretch when it could join the batch or release held contexts
            if nxt < n and arr[nxt] < math.inf and ((not waiting and seqs < max_batch) or adp_hold):
                k = min(k, _iterations_until(arr[nxt] - now, t0, g))
            if clock is not None:
                k = min(k, _iterations_until((int(now // clock_step) + 1) * clock_step - now, t0, g))
            if (hold_admission or held_before) and waiting:
                k = 1       # a preemption now or just before: step singly so admission resumes on time
            if adp_hold:
                # held contexts are released after a number of iterations (or by an arrival, above)
                k = min(k, adp_timeout - adp_held)
                if len(waiting) >= ranks:
                    k = min(k, max(adp_wait - adp_ready, 1))
            if preempt and k > 1:
                lo, hi = 1, k
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    grow = 0
                    for li in decoders:
                        g_ = -(-(base[li] + c + mid) // bs) - held[li]
                        if g_ > 0:
                            grow += g_
                    if grow <= free:
                        lo = mid
                    else:
                        hi = mid - 1
                k = lo
        if k > 1:
            kk = k * (k - 1) / 2.0
            dur = k * t0 + g * kk
            gsum = ctx_s * B * kk
            comp = (k * cc + (gsum if ctx_comp else 0.0)) * sc
            mem = (k * mm + (0.0 if ctx_comp else gsum)) * sm
        else:
            dur = t0
            comp, mem = cc * sc, mm * sm
        yield env.timeout(dur)
        counters[0] += 1
        counters[1] += k
        t_end = env.now
        act.add(now, t_end, comp, mem)
        c += k
        if adp_hold:
            adp_held += k
            if len(waiting) >= ranks:
                adp_ready += k
        else:
            adp_held = adp_ready = 0
        if preempt and B:
            for li in decoders:
                need = -(-(base[li] + c) // bs)
                if need > held[li]:
                    free -= need - held[li]
                    held[li] = need
        # ---- prefill progress: finished prompts emit their first token and start decoding
        if chunks:
            still = []
            for e in prefilling:
                li = e[0]
                for ee, ch in chunks:
                    if ee is e:
                        e[1] += ch
                        break
                if e[1] < prompt_total[li]:
                    still.append(e)
                    continue
                gi = gidx[li]
                if first[gi] != first[gi]:   # nan: first token of this request
                    first[gi] = t_end
                gen[li] += 1
                if gen[li] >= outl[li]:
                    done[gi] = t_end
                    free += held[li]
                    held[li] = 0
                    remaining -= 1
                    if assigned < n:
                        arr[assigned] = t_end
                        assigned += 1
                    continue
                base[li] = prompt_total[li] + 1 - c
                dec_A += base[li]
                B += 1
                finish[li] = c + outl[li] - gen[li]
                heapq.heappush(heap, (finish[li], li, version[li]))
                if preempt:
                    decoders.append(li)
            prefilling = still
        # ---- decode completions
        while heap and heap[0][0] <= c:
            f_, li, ver = heapq.heappop(heap)
            if ver != version[li]:
                continue
            done[gidx[li]] = t_end
            B -= 1
            dec_A -= base[li]
            free += held[li]
            held[li] = 0
            remaining -= 1
            if assigned < n:
                arr[assigned] = t_end
                assigned += 1
            if preempt:
                decoders.remove(li)
        if progress is not None:
            progress()
    if concurrency and arrivals_out is not None:
        arrivals_out[idx] = arr


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
    reqs.check_context(perf.model)
    n = len(reqs)
    first = np.full(n, np.nan)
    done = np.full(n, np.nan)
    env = simpy.Environment()
    counters = [0, 0, 0, 0]  # events, iterations, preemptions, rejected
    acts = [_Activity(activity_step_s) for _ in range(num_replicas)]
    if clock is not None:
        clock = np.atleast_2d(np.asarray(clock, dtype=float))
        if clock.shape[0] == 1:
            clock = np.repeat(clock, num_replicas, axis=0)
    prog = None
    if progress is not None:
        tick = [0]

        def prog() -> None:
            tick[0] += 1
            if tick[0] % 20000 == 0:
                progress(float(np.isfinite(done).sum()) / max(n, 1))

    order = np.arange(n)
    arrivals = np.array(reqs.arrival_s, dtype=float, copy=True)
    # pipeline parallelism: each replica runs `pp` virtual engines (vLLM's design), each with its own
    # scheduler, batch limit and 1/pp of the KV blocks; a virtual engine's iteration passes the pp
    # stages in turn, and the stages work on the other engines' micro-batches meanwhile
    ve = perf.dep.pp
    procs = num_replicas * ve
    active = min(procs, concurrency) if concurrency else procs
    ve_acts = [_Activity(activity_step_s) for _ in range(active)] if ve > 1 else acts
    for k in range(active):
        idx = order[k::active]
        r = k % num_replicas
        conc = 0
        if concurrency:
            conc = concurrency // active + (1 if k < concurrency % active else 0)
        if len(idx):
            env.process(_replica(env, perf, reqs, idx, first, done, ve_acts[k], counters,
                                 None if clock is None else clock[r], clock_step_s, prog, fast_forward,
                                 conc, arrivals, decode_only, ve))
    env.run()
    if ve > 1:
        # a replica's GPUs spend 1/pp of each virtual engine's iteration on it (one stage each)
        for k, a in enumerate(ve_acts):
            tgt = acts[k % num_replicas]
            for b, v in a.busy.items():
                tgt.busy[b] = tgt.busy.get(b, 0.0) + v / ve
                tgt.comp[b] = tgt.comp.get(b, 0.0) + a.comp[b] / ve
                tgt.mem[b] = tgt.mem.get(b, 0.0) + a.mem[b] / ve
    nbins = max((max(a.busy, default=-1) for a in acts), default=-1) + 1
    busy = np.zeros((num_replicas, nbins))
    comp = np.zeros((num_replicas, nbins))
    mem = np.zeros((num_replicas, nbins))
    for r, a in enumerate(acts):
        for b, v in a.busy.items():
            busy[r, b] = v
            comp[r, b] = a.comp[b]
            mem[r, b] = a.mem[b]
    if decode_only:
        first = np.where(np.isfinite(done), first, np.nan)
    times = RequestTimes(arrivals, first, done, reqs.input_tokens, reqs.output_tokens)
    return DiscreteResult(times, activity_step_s, busy, comp, mem, counters[0], counters[1], counters[2],
                          counters[3])


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
