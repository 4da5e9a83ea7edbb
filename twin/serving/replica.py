"""One replica of the discrete serving simulation: its state and its simpy process.

A replica (or one of its ``pp`` pipeline virtual engines) serves its requests (arrival order) with
iteration-level batching and chunked prefill: each iteration carries one token of every decoding
sequence, then continues partially prefilled prompts, then admits waiting requests while the token
budget, the batch limit and the KV pool allow (:mod:`twin.serving.schedulers` holds the batching
policy and its blocks, on the replica's :class:`~twin.serving.kv_cache.BlockAllocator`). The
iteration is priced by the replica's :class:`~twin.serving.perf_model.IterationCost` at the clock
scales of the current epoch and is one simpy timeout.

Decode-only stretches are exact in closed form: while no request arrives, finishes, needs a KV
block that is not there or meets the epoch's end, consecutive iterations differ only by one more
context token per sequence, so ``k`` of them take ``k t0 + g k (k-1)/2`` (``g``: the attention time
of one more token per sequence). Such a stretch is one event; its ``k`` iterations are counted. A
stretch ends before the epoch's end (``Horizon.until``), and the iteration that crosses it is an
event of its own, so an epoch's tokens are those of the iterations that ended in it and the next
epoch's clock prices every iteration that starts in it.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable

import numpy as np

from twin.serving.kv_cache import BlockAllocator
from twin.serving.perf_model import IterationCost
from twin.serving.schedulers import BatchingPolicy

INF = math.inf


class Horizon:
    """What the pool tells its replicas: the end of the current epoch and the progress hook."""

    __slots__ = ("until", "cross", "progress")

    def __init__(self, progress: Callable[[], None] | None = None) -> None:
        self.until = INF
        #: a decode stretch may cross ``until`` (then it ends at the first iteration that reaches it,
        #: all at the epoch's clock): the clock-schedule input of :func:`simulate_discrete`, whose
        #: event structure (and so its activity bins) this keeps as it was
        self.cross = False
        self.progress = progress


class Activity:
    """Busy, compute-bound and memory-bound seconds of one replica in time bins of ``step`` [s].

    Lists by bin; a bin no iteration touched stays 0.
    """

    __slots__ = ("step", "busy", "comp", "mem")

    def __init__(self, step: float) -> None:
        self.step = step
        self.busy: list[float] = []
        self.comp: list[float] = []
        self.mem: list[float] = []

    def add(self, t0: float, t1: float, comp: float, mem: float) -> None:
        """An iteration from ``t0`` to ``t1`` [s] with its compute- and memory-bound seconds.

        Spread over the bins it spans in proportion to time.
        """
        dur = t1 - t0
        if dur <= 0:
            return
        step = self.step
        b0, b1 = int(t0 // step), int(t1 // step)
        busy, cc, mm = self.busy, self.comp, self.mem
        if b1 >= len(busy):
            more = [0.0] * (b1 + 1 - len(busy))
            busy.extend(more)
            cc.extend(more)
            mm.extend(more)
        if b0 == b1:
            busy[b0] += dur
            cc[b0] += comp
            mm[b0] += mem
            return
        for b in range(b0, b1 + 1):
            ov = min(t1, (b + 1) * step) - max(t0, b * step)
            if ov <= 0:
                continue
            f = ov / dur
            busy[b] += ov
            cc[b] += comp * f
            mm[b] += mem * f

    @property
    def num_bins(self) -> int:
        """Bins up to the last one an iteration touched."""
        n = len(self.busy)
        while n and not self.busy[n - 1]:
            n -= 1
        return n


class ReplicaState:
    """Everything a replica holds between iterations.

    Its requests (local index ``li``, arrival order), queues, running batch, KV blocks, clock scales
    and cumulative counters.

    Decoder ``li`` has context ``base[li] + step`` (``step``: decode iterations run so far), so one
    iteration advances every context by bumping ``step``; ``finish[li]`` is the ``step`` at which it
    emits its last token (heap entries ``(finish, li, version)``; a preemption bumps the version).
    """

    __slots__ = (
        "n", "gidx", "arrival", "input", "output", "prompt", "generated", "base", "finish", "version",
        "first", "done", "concurrency", "assigned", "next_arrival", "remaining",
        "waiting", "prefilling", "decoders", "heap", "kv", "tau", "draft_slots", "started",
        "num_decoding", "ctx_sum", "step", "hold_admission", "adp_held", "adp_ready", "sc", "sm",
        "events", "iterations", "preemptions", "rejected", "completed", "prefill_tokens", "output_tokens",
        "busy_s", "compute_s", "memory_s", "last_start", "last_end", "last_compute", "last_memory",
    )

    def __init__(self, idx: np.ndarray, arrival_s: np.ndarray, input_tokens: np.ndarray,
                 output_tokens: np.ndarray, kv: BlockAllocator, first: np.ndarray, done: np.ndarray,
                 concurrency: int = 0) -> None:
        arr = arrival_s[idx].tolist()
        n = len(arr)
        if concurrency:
            # closed loop: the first `concurrency` requests start at their arrival, each later one when an
            # earlier one finishes
            arr[concurrency:] = [INF] * max(n - concurrency, 0)
        self.n = n
        self.gidx = idx.tolist()
        self.arrival = arr
        self.input = input_tokens[idx].tolist()
        self.output = output_tokens[idx].tolist()
        self.prompt = list(self.input)   # tokens to prefill (grows by the generated ones after a preemption)
        self.generated = [0] * n         # tokens generated so far (set when decoding stops)
        self.base = [0] * n              # context of a decoder = base + step
        self.finish = [0] * n
        self.version = [0] * n
        self.first, self.done = first, done       # shared, by global request index
        self.concurrency = min(concurrency, n) if concurrency else 0
        self.assigned = self.concurrency or n     # requests given an arrival time
        self.next_arrival = 0                     # requests moved into `waiting` so far
        self.remaining = n
        self.waiting: deque[int] = deque()
        self.prefilling: list[list[int]] = []     # [li, prefilled tokens]
        self.decoders: list[int] = []             # admission order (policies whose blocks grow)
        self.heap: list[tuple[int, int, int]] = []
        self.kv = kv
        #: tokens a decoder emits per iteration (speculative decoding's mean accepted length; 1 without)
        self.tau = 1.0
        self.draft_slots = 0      # KV slots of a decoder's draft tokens during verification
        self.started = [0] * n    # the step at which a decoder started (speculative token accounting)
        self.num_decoding = 0
        self.ctx_sum = 0          # sum of base over the decoders
        self.step = 0
        self.hold_admission = False
        self.adp_held = self.adp_ready = 0
        self.sc = self.sm = 1.0   # clock scales of compute- and memory-bound work this epoch
        self.events = self.iterations = self.preemptions = self.rejected = self.completed = 0
        self.prefill_tokens = self.output_tokens = 0
        # activity of every iteration started, and the last one (which may run past the epoch's end)
        self.busy_s = self.compute_s = self.memory_s = 0.0
        self.last_start = self.last_end = self.last_compute = self.last_memory = 0.0

    # ------------------------------------------------------------------ bookkeeping
    def _send_next(self, t: float) -> None:
        if self.assigned < self.n:      # closed loop: a finished request lets the next one go
            self.arrival[self.assigned] = t
            self.assigned += 1

    def complete(self, li: int, t: float) -> None:
        """Request ``li`` emitted its last token at ``t``."""
        self.done[self.gidx[li]] = t
        self.kv.release(li)
        self.remaining -= 1
        self.completed += 1
        self._send_next(t)

    def reject(self, t: float) -> None:
        """The first waiting request can never fit the KV pool: dropped at ``t``."""
        self.waiting.popleft()
        self.rejected += 1
        self.remaining -= 1
        self._send_next(t)

    def start_decoding(self, li: int, track: bool) -> None:
        """Request ``li`` (context ``prompt + 1``, ``generated`` tokens out) joins the decoders.

        Its context grows by ``tau`` tokens per iteration and it finishes after
        ``ceil((output - generated) / tau)`` iterations (``tau = 1`` without speculative decoding).
        """
        c = self.step
        tau = self.tau
        self.num_decoding += 1
        if tau == 1.0:
            b = self.base[li] = self.prompt[li] + 1 - c
            f = self.finish[li] = c + self.output[li] - self.generated[li]
        else:
            b = self.base[li] = self.prompt[li] + 1 - tau * c
            f = self.finish[li] = c + math.ceil((self.output[li] - self.generated[li]) / tau - 1e-9)
            self.started[li] = c
        self.ctx_sum += b
        heapq.heappush(self.heap, (f, li, self.version[li]))
        if track:
            self.decoders.append(li)

    def preempt(self, li: int) -> None:
        """Decoder ``li`` (already off ``decoders``) gives back its blocks and waits, first in line.

        It will recompute its prompt and the tokens it generated.
        """
        self.version[li] += 1
        if self.tau == 1.0:
            g = self.generated[li] = self.output[li] - (self.finish[li] - self.step)
        else:
            g0, ran = self.generated[li], self.step - self.started[li]
            g = self.generated[li] = min(g0 + int(self.tau * ran + 1e-9), self.output[li] - 1)
            self.output_tokens += (g - g0) - self.tau * ran     # the counter took tau per iteration
        self.num_decoding -= 1
        self.ctx_sum -= self.base[li]
        self.kv.release(li)
        self.prompt[li] = self.input[li] + g
        self.waiting.appendleft(li)
        self.preemptions += 1

    def advance_prefills(self, chunks: list[tuple[list[int], int]], t: float, track: bool) -> None:
        """An iteration ending at ``t`` prefilled ``chunks`` (``(prefilling entry, tokens)``).

        Finished prompts emit their first token and start decoding (or finish).
        """
        first, gidx, gen, outl, prompt = self.first, self.gidx, self.generated, self.output, self.prompt
        still = []
        for e in self.prefilling:
            li = e[0]
            for ee, ch in chunks:
                if ee is e:
                    e[1] += ch
                    break
            if e[1] < prompt[li]:
                still.append(e)
                continue
            gi = gidx[li]
            if first[gi] != first[gi]:   # nan: first token of this request
                first[gi] = t
            gen[li] += 1
            self.output_tokens += 1
            if gen[li] >= outl[li]:
                self.complete(li, t)
                continue
            self.start_decoding(li, track)
        self.prefilling[:] = still

    def complete_decodes(self, t: float, track: bool) -> None:
        """Decoders whose last token came with the iteration ending at ``t`` finish."""
        heap, version, base, c = self.heap, self.version, self.base, self.step
        while heap and heap[0][0] <= c:
            _, li, ver = heapq.heappop(heap)
            if ver != version[li]:
                continue
            self.num_decoding -= 1
            self.ctx_sum -= base[li]
            if self.tau != 1.0:     # the counter took tau per iteration; the request had what was left
                left = self.output[li] - self.generated[li]
                self.output_tokens += left - self.tau * (c - self.started[li])
            self.complete(li, t)
            if track:
                self.decoders.remove(li)

    def kv_offset(self, step: int) -> float:
        """What the block policies add to a decoder's ``base`` for its KV after ``step`` iterations.

        ``step`` itself without speculative decoding; ``tau step`` plus the slots of the draft tokens
        being verified with it.
        """
        return step if not self.draft_slots else self.tau * step + self.draft_slots

    # ------------------------------------------------------------------ observation
    def arrived_before(self, t: float) -> int:
        """Requests whose arrival is before ``t`` (closed loop: sent before ``t``)."""
        arr, k = self.arrival, self.concurrency
        if not k:
            return bisect_left(arr, t)
        # the first `concurrency` keep their own arrivals, the later ones are sent at completions
        return bisect_left(arr, t, 0, k) + bisect_left(arr, t, k, self.assigned) - k

    def queued(self, t: float) -> int:
        """Requests arrived before ``t`` and not admitted (waiting, preempted, or not yet looked at)."""
        return len(self.waiting) + self.arrived_before(t) - self.next_arrival

    @property
    def running(self) -> int:
        """Requests admitted and not finished (prefilling or decoding)."""
        return len(self.prefilling) + self.num_decoding

    def activity_until(self, t: float) -> tuple[float, float, float]:
        """Busy, compute-bound and memory-bound seconds of this replica's iterations before ``t``.

        The last one counts pro rata when it runs past ``t``.
        """
        busy, comp, mem = self.busy_s, self.compute_s, self.memory_s
        t0, t1 = self.last_start, self.last_end
        if t1 > t:
            cut = t1 - max(t0, t)
            f = cut / (t1 - t0)
            busy, comp, mem = busy - cut, comp - self.last_compute * f, mem - self.last_memory * f
        return busy, comp, mem


def iterations_until(delta: float, t0: float, g: float) -> int:
    """Smallest k >= 1 with ``k t0 + g k (k-1)/2 >= delta``."""
    if delta <= t0:
        return 1
    if g <= 0.0:
        return max(1, math.ceil(delta / t0 - 1e-12))
    b = t0 - g / 2.0
    k = (-b + math.sqrt(b * b + 2.0 * g * delta)) / g
    return max(1, math.ceil(k - 1e-9))


def _stretch_end(now: float, k: int, t0: float, g: float) -> float:
    return now + (k * t0 + g * (k * (k - 1) / 2.0) if k > 1 else t0)


def iterations_before(now: float, until: float, t0: float, g: float) -> int:
    """Largest k >= 0 with a stretch of ``k`` iterations from ``now`` ending before ``until``.

    The end is computed as the simulation computes it.
    """
    k = iterations_until(until - now, t0, g)
    while k > 0 and _stretch_end(now, k, t0, g) >= until:
        k -= 1
    while _stretch_end(now, k + 1, t0, g) < until:
        k += 1
    return k


def serve(env, st: ReplicaState, policy: BatchingPolicy, cost: IterationCost, horizon: Horizon,
          act: Activity, *, max_tokens: int, max_batch: int, chunked: bool, fast_forward: bool = True,
          decode_only: bool = False, adp_ranks: int = 1, adp_timeout: int = 0, adp_wait: int = 0):
    """Simpy process of one replica: form a batch, price it, yield its time, until every request is done.

    ``decode_only``: the decode pool of a disaggregated deployment, whose requests arrive with
    their KV cache and first token. ``adp_*``: attention-DP balancing (TensorRT-LLM
    ``attention_dp_config``): while every rank decodes, new context requests wait until every rank
    has one and ``adp_wait`` more iterations passed, or ``adp_timeout`` iterations since they started
    waiting; the ranks are the TP GPUs of the replica (whole sequences each).
    """
    # the iteration-cost law (IterationCost.split / .stretch), inlined on list copies of its tables
    base_c, base_m, other, head_c, head_m = cost.tables
    pair_s, ctx_s, ctx_comp, dfloor = cost.prefill_pair_s, cost.decode_ctx_s, cost.decode_ctx_compute, \
        cost.decode_floor_s
    tmax = cost.max_tokens
    n_head = len(head_c)
    # speculative decoding: each decoder puts nq tokens through the target and emits tau on average
    nq, tau = cost.tokens_verified, cost.tokens_per_step
    st.tau, st.draft_slots = tau, nq - 1
    draft_c, draft_m, draft_o = cost.draft_tables
    n_draft = len(draft_c)

    kv_offset = st.kv_offset

    kv = st.kv
    bs, total_blocks = kv.block_size, kv.num_blocks
    arr, prompt, gen, version = st.arrival, st.prompt, st.generated, st.version
    waiting, prefilling, heap = st.waiting, st.prefilling, st.heap
    grows = policy.grows
    if grows:
        decoders, base = st.decoders, st.base
        shortfall, stretch_limit = policy.shortfall, policy.stretch_limit
        after_iteration = policy.after_iteration
    heappop = heapq.heappop
    progress = horizon.progress
    n = st.n
    while st.remaining > 0:
        now = env.now
        nxt = st.next_arrival
        while nxt < n and arr[nxt] <= now:
            waiting.append(nxt)
            nxt += 1
        st.next_arrival = nxt
        sc, sm = st.sc, st.sm
        B = st.num_decoding
        # ---- batch formation: decodes, continuing prefills, new admissions
        budget = max_tokens - B * nq
        seqs = B + len(prefilling)
        T = B * nq
        pairs = 0.0
        chunks: list[tuple[list[int], int]] = []
        for e in prefilling:
            if budget <= 0:
                break
            ch = min(prompt[e[0]] - e[1], budget)
            pairs += ch * (e[1] + ch / 2.0)
            budget -= ch
            T += ch
            chunks.append((e, ch))
        adp_hold = bool(adp_timeout and waiting and B >= adp_ranks and st.adp_held < adp_timeout
                        and not (len(waiting) >= adp_ranks and st.adp_ready >= adp_wait))
        if waiting and not st.hold_admission and not adp_hold:
            wm = policy.watermark
            while waiting and budget > 0 and seqs < max_batch:
                li = waiting[0]
                need = -(-policy.admission_tokens(st, li) // bs)
                if need > total_blocks:          # can never fit: reject
                    st.reject(now)
                    continue
                free = kv.num_free
                if need > free or (need + wm > free and (B or prefilling)):
                    break
                if not chunked and budget < prompt[li] <= max_tokens:
                    break       # no chunked context: the whole prompt in one iteration, or wait
                waiting.popleft()
                kv.reserve(li, need)
                if decode_only:
                    # disaggregated decode pool: the KV cache arrived with the request, which decodes
                    # from its second token on
                    gen[li] = max(gen[li], 1)
                    st.start_decoding(li, grows)
                    B += 1
                    seqs += 1
                    T += nq
                    budget -= nq
                    continue
                e = [li, 0]
                prefilling.append(e)
                seqs += 1
                ch = min(prompt[li], budget)
                pairs += ch * ch / 2.0
                budget -= ch
                T += ch
                chunks.append((e, ch))
        if T == 0:
            if nxt < n and arr[nxt] < INF:
                yield env.timeout(arr[nxt] - now)
                st.events += 1
                continue
            # waiting requests that cannot be admitted with nothing running: reject them
            st.rejected += len(waiting)
            st.remaining -= len(waiting)
            waiting.clear()
            break
        # ---- blocks on demand: grow the decoders' blocks, preempt the newest when the pool is short
        held_before = st.hold_admission     # this iteration admitted nothing because the last one preempted
        st.hold_admission = False
        c = st.step
        if grows and B > 1 and shortfall(decoders, base,
                                         c + 1 if nq == 1 else kv_offset(c + 1)) > kv.num_free:
            preempted = policy.make_room(st)
            B = st.num_decoding
            seqs -= preempted
            T = min(T, B * nq + sum(ch for _, ch in chunks))
        # ---- pricing (IterationCost.split at the epoch's clock scales)
        tt = T if T <= tmax else tmax
        ns = seqs + B * (nq - 1)
        if ns >= n_head:
            ns = n_head - 1
        bd = B if B < n_draft else n_draft - 1
        a_ctx = ctx_s * (st.ctx_sum + B * tau * c)
        cc = base_c[tt] + head_c[ns] + pair_s * pairs + draft_c[bd]
        mm = base_m[tt] + head_m[ns] + (dfloor if B else 0.0) + draft_m[bd]
        if ctx_comp:
            cc += a_ctx
            g = ctx_s * B * tau * sc
        else:
            mm += a_ctx
            g = ctx_s * B * tau * sm
        t0 = cc * sc + mm * sm + other[tt] + draft_o[bd]
        k = 1
        if fast_forward and not chunks and B:
            while heap and version[heap[0][1]] != heap[0][2]:
                heappop(heap)
            k = heap[0][0] - c
            # an arrival ends the stretch when it could join the batch or release held contexts
            if nxt < n and arr[nxt] < INF and ((not waiting and seqs < max_batch) or adp_hold):
                k = min(k, iterations_until(arr[nxt] - now, t0, g))
            until = horizon.until
            if k > 1 and until < INF:
                # the epoch's end: the stretch stops before it, the crossing iteration is one event
                k = min(k, iterations_until(until - now, t0, g) if horizon.cross
                        else max(iterations_before(now, until, t0, g), 1))
            if (st.hold_admission or held_before) and waiting:
                k = 1       # a preemption now or just before: step singly so admission resumes on time
            if adp_hold:
                # held contexts are released after a number of iterations (or by an arrival, above)
                k = min(k, adp_timeout - st.adp_held)
                if len(waiting) >= adp_ranks:
                    k = min(k, max(adp_wait - st.adp_ready, 1))
            if grows and k > 1:
                k = (stretch_limit(decoders, base, c, k) if nq == 1
                     else stretch_limit(decoders, base, kv_offset(c), k, tau))
        if k > 1:
            # IterationCost.stretch
            kk = k * (k - 1) / 2.0
            dur = k * t0 + g * kk
            gsum = ctx_s * B * tau * kk
            comp = (k * cc + (gsum if ctx_comp else 0.0)) * sc
            mem = (k * mm + (0.0 if ctx_comp else gsum)) * sm
        else:
            dur = t0
            comp, mem = cc * sc, mm * sm
        st.busy_s += dur
        st.compute_s += comp
        st.memory_s += mem
        if now + dur > horizon.until:      # runs past the epoch's end: kept to split its activity
            st.last_start, st.last_end, st.last_compute, st.last_memory = now, now + dur, comp, mem
        yield env.timeout(dur)
        st.events += 1
        st.iterations += k
        t_end = env.now
        act.add(now, t_end, comp, mem)
        c += k
        st.step = c
        if adp_hold:
            st.adp_held += k
            if len(waiting) >= adp_ranks:
                st.adp_ready += k
        elif adp_timeout:
            st.adp_held = st.adp_ready = 0
        if grows and B:
            after_iteration(decoders, base, c if nq == 1 else kv_offset(c))
        st.output_tokens += B * k if nq == 1 else B * k * tau
        st.prefill_tokens += T - B * nq
        if chunks:
            st.advance_prefills(chunks, t_end, grows)
        if heap and heap[0][0] <= c:
            st.complete_decodes(t_end, grows)
        if progress is not None:
            progress()
