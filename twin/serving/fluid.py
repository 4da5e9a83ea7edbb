"""Fluid (analytic) serving model: steady-state throughput and latency vs load, vectorised over replicas.

Each replica with Poisson arrivals ``lam`` [req/s], mean prompt ``n_in`` and output ``n_out`` settles, under
continuous batching with chunked prefill, where the iteration time ``t`` satisfies (Little's law on the
decoding sequences and on the prefill tokens)::

    B = lam * n_out * t          (sequences decoding)
    P = lam * n_in * t          (prefill tokens per iteration)
    t = F(B, P)              (the iteration-cost law, IterationCost, as in the discrete simulation)

solved by bisection for all replicas at once.

Low load (``B < 1``): ``B`` is a time average, but a serving replica never runs an iteration of a
fraction of a sequence (each iteration reads the weights in full, whatever its batch), so ``F`` is
priced at the batch of a *busy* iteration, ``b_act = max(B, 1)``, with ``P / u = b_act n_in / n_out``
prefill tokens, and the replica is busy a share ``u = min(B, 1)`` of the time and idle otherwise.
This is an M/G/1-like occupancy: below one sequence on average, requests are taken as served one at
a time (overlaps are neglected); at ``B >= 1`` the replica is taken as always busy. It is exact for
regular arrivals (round-robin over many replicas makes each replica's nearly so) and overstates the
busy share for Poisson arrivals at one replica (``1 - exp(-B)`` there: 0.44 instead of 0.58 at
``B = 0.58``), where overlapping requests share iterations. ``TPOT = t`` is the busy iteration's
time, Little's law holds for the time average ``B = lam n_out t``, and the GPU activity shares
(compute-bound, memory-bound, busy) are the busy iteration's times a share ``u``, so the energy of an
idle replica is its idle power.
(Evaluating ``F`` at a fractional batch instead interpolated the kernel tables below one token and
gave a fraction of an iteration's time: TPOT 4-5x too short and the GPUs always busy at low load.)

The replica saturates when ``B`` would exceed
``B_sat = min(max_batch, KV capacity in requests, max_num_tokens * n_out / (n_in + n_out))``; then
it completes ``mu = B_sat / (n_out * t_sat)`` requests/s. Latencies: ``TPOT = t``;
``TTFT = u t/2 + W_slot + W_prefill + T_prefill`` (a share ``u`` of arrivals finds an iteration
running and waits half of it; the rest find the replica idle):

- ``W_slot``, the wait for a batch slot, from the M/D/c approximation of Sakasegawa (1977),
  ``W_slot ~ rho^(sqrt(2(c+1)) - 1) / (c (1 - rho)) * S / 2``, ``S = n_out t`` the time a request holds
  a slot and ``c = B_sat`` slots; overloaded replicas (``lam >= mu``) wait the mean backlog of the
  arrival window, ``(1 - mu/lam) D / 2``, instead;
- ``W_prefill``, the wait behind earlier prompts for the iteration's prefill budget ``C = max_num_tokens
  - B`` tokens: an M/G/1 queue of prompts (Pollaczek-Khinchine), service ``n_in / C * t_C`` (``t_C`` the
  iteration carrying a full chunk), ``W = lam E[S^2] / (2 (1 - rho_p))``, ``rho_p = lam E[S]``, with
  ``E[S^2] = E[S]^2 (1 + cv^2)`` from the prompt lengths' coefficient of variation;
- ``T_prefill``, the prompt's own chunks: ``(ceil(n_in / C) - 1) t_C`` plus the iteration of the rest.

Percentiles (:meth:`FluidResult.to_dict`) come from the same pieces as distributions, sampled with a
fixed seed (20,000 requests, pooled over replicas by their completion rates): the arrival phase is
uniform over an iteration with probability ``u`` and zero otherwise, each wait is zero with
probability ``1 - rho`` (``1 - P_wait`` for the slot, ``P_wait = rho^(sqrt(2(c+1)) - 1)``) and
exponential otherwise with the mean above, the prompt and output lengths are drawn from the
workload, and a request's TPOT averages its ``n_out - 1`` iterations, of which a binomial share
carries a prefill chunk (``t_mixed``) and the rest decode only (``t_decode``). Batch-size
fluctuations are not modelled, so TPOT tails are too narrow near saturation. Tests keep the fluid
throughput and mean TPOT within 10 %, mean TTFT within 25 %, and the P50/P90/P99 of TTFT and TPOT
within 30 % of the discrete simulation on shared cases up to 65 % of saturation.

References
----------
H. Sakasegawa, "An approximation formula L_q ~ alpha rho^beta / (1 - rho)", Annals of the Institute
of Statistical Mathematics 29 (1977) 67-75. L. Kleinrock, Queueing Systems vol. 1 (1975), 5.7
(Pollaczek-Khinchine mean wait of M/G/1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.serving.perf_model import PerfModel, clock_scales
from twin.serving.workload import Workload


@dataclass
class FluidCurve:
    """Per-replica steady state (arrays over replicas)."""

    rate_per_s: np.ndarray
    completed_per_s: np.ndarray
    iteration_s: np.ndarray
    batch: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_s: np.ndarray
    saturated: np.ndarray
    #: shares of time in compute-bound and memory-bound work and busy at all (``u``, see the module notes)
    compute_fraction: np.ndarray
    memory_fraction: np.ndarray
    busy_fraction: np.ndarray
    #: pieces of the latency distributions (see the module notes)
    decode_iteration_s: np.ndarray
    mixed_iteration_s: np.ndarray
    mixed_fraction: np.ndarray
    chunk_tokens: np.ndarray
    chunk_iteration_s: np.ndarray
    slot_wait_probability: np.ndarray
    slot_wait_s: np.ndarray
    prefill_utilisation: np.ndarray
    prefill_wait_s: np.ndarray
    #: time multipliers of compute-bound and memory-bound work at the replica's clock factor
    compute_scale: np.ndarray
    memory_scale: np.ndarray


class FluidModel:
    """The iteration-time law of one replica type (:class:`IterationCost`) in array form.

    Solves many replicas at once.
    """

    def __init__(self, perf: PerfModel) -> None:
        self.perf = perf
        self.cost = perf.cost

    def parts(self, B, P, n_in, n_out, sc=1.0, sm=1.0):
        """(t, compute_s, memory_s) of an iteration with ``B`` decodes and ``P`` prefill tokens.

        Decodes have mean context ``n_in + n_out/2``; the prefill tokens are chunks of prompts of
        ``n_in`` tokens, on average half prefilled; clock scales ``(sc, sm)`` (:func:`clock_scales`).
        """
        nq = self.cost.tokens_verified
        T = B * nq + P
        S = B * nq + np.minimum(P / np.maximum(n_in, 1.0), 1.0)
        cc, mm, other = self.cost.split_interp(T, S, decode_ctx_tokens=B * (n_in + n_out / 2.0),
                                               prefill_pairs=P * n_in / 2.0, decoding=B > 0, num_decode=B)
        cc, mm = cc * sc, mm * sm
        return cc + mm + other, cc, mm

    def mixed(self, B, P, n_in, n_out, chunk, sc, sm):
        """Mean iteration (t, compute_s, memory_s) when prefill arrives in chunks of ``chunk`` tokens.

        With ``P <= chunk`` prefill tokens per iteration on average, a fraction ``q = P / chunk`` of
        the iterations carries one full chunk and the rest decode only (averaging the tokens instead
        would miss the convexity of the GEMM times); above one chunk every iteration carries ``P``.
        """
        q, decode, mixed = self.mixed_pieces(B, P, n_in, n_out, chunk, sc, sm)
        return tuple(d + q * (x - d) for d, x in zip(decode, mixed, strict=True))

    def mixed_pieces(self, B, P, n_in, n_out, chunk, sc, sm):
        """The pieces of :meth:`mixed`: ``(q, decode-only (t, c, m), chunk-carrying (t, c, m))``.

        ``q`` is the share of iterations carrying a chunk, then the two kinds of iteration as
        ``(t, compute_s, memory_s)``.
        """
        q = np.minimum(np.maximum(P / chunk, 0.0), 1.0)
        return (q, self.parts(B, 0.0 * P, n_in, n_out, sc, sm),
                self.parts(B, np.maximum(P, chunk), n_in, n_out, sc, sm))

    def _saturation(self, n_in, n_out, sc, sm, pf: float, ve: int):
        """The saturated state of one virtual engine: its batch, iteration time and completion rate.

        Returns ``(n_tok, nq, tau, n_dec, n_it, b_sat, t_sat, mu)``: the token budget, tokens verified
        per sequence and iteration, tokens per step, decode iterations and slot-holding iterations of a
        request, the saturated batch (``max_batch``, the KV blocks or the token budget), its iteration
        time and ``mu = b_sat / (n_it t_sat)`` requests/s.
        """
        dep, mem = self.perf.dep, self.perf.memory
        from twin.serving.schedulers import get_scheduler

        if get_scheduler(dep.scheduler).reserve_output:
            kv_req = mem.num_blocks // ve / np.maximum(np.ceil((n_in + n_out) / dep.block_size), 1)
        else:
            kv_req = mem.kv_capacity_tokens / ve / (n_in + n_out / 2.0)
        n_tok = float(self.perf.max_tokens)
        # speculative decoding: a sequence decodes n_it = n_out / tau iterations, each putting nq tokens
        # through the target (Little's law counts iterations, throughput counts tokens)
        nq, tau = self.cost.tokens_verified, self.cost.tokens_per_step
        # iterations a request holds a slot: its prefill's plus ceil((n_out - 1) / tau) decode iterations
        # (n_out without speculation, as before)
        n_dec = decode_iterations(n_out, tau)
        n_it = np.maximum(1.0 + n_dec, 1.0) if tau != 1.0 else n_out
        b_sat = np.minimum(np.minimum(float(dep.max_batch), kv_req), n_tok / (pf * n_in / n_it + nq))
        b_sat = np.maximum(b_sat, 1.0)
        chunk_sat = np.maximum(np.minimum(n_in, n_tok - nq * b_sat), 1.0)
        t_sat, _, _ = self.mixed(b_sat, pf * b_sat * n_in / n_it, n_in, n_out, chunk_sat, sc, sm)
        return n_tok, nq, tau, n_dec, n_it, b_sat, t_sat, b_sat / (n_it * t_sat)

    def capacity_per_s(self, mean_input, mean_output, *, clock_factor=1.0, decode_only: bool = False):
        """Requests/s one replica completes when saturated.

        The ``completed_per_s`` of :meth:`curve` at an unbounded rate, without solving the rest of the
        state.
        """
        ve = self.perf.dep.pp
        sc, sm = clock_scales(np.asarray(clock_factor, dtype=float))
        n_in, n_out = np.asarray(mean_input, dtype=float), np.asarray(mean_output, dtype=float)
        mu = self._saturation(n_in, n_out, sc, sm, 0.0 if decode_only else 1.0, ve)[-1]
        return mu * ve

    def curve(
        self, rate_per_s, mean_input, mean_output, *, clock_factor=1.0, duration_s: float = float("inf"),
        input_cv2: float = 0.0, decode_only: bool = False,
    ) -> FluidCurve:
        """Steady state of every replica; inputs are scalars or arrays over replicas.

        Replicas with equal (rate, lengths, clock) are solved once. ``input_cv2`` is the squared
        coefficient of variation of the prompt lengths (0 for fixed lengths), used by the prefill wait.
        ``decode_only``: the decode pool of a disaggregated deployment, whose requests arrive with
        their prompt's KV cache (context ``mean_input``) and decode ``mean_output`` tokens, no prefill
        (``P = 0``; TTFT is then the wait for the first decode iteration).
        """
        pf = 0.0 if decode_only else 1.0  # prefill tokens per prompt token
        lam0 = np.atleast_1d(np.asarray(rate_per_s, dtype=float))
        shape0 = lam0.shape
        keys = np.stack(
            [
                lam0,
                np.broadcast_to(np.asarray(mean_input, dtype=float), shape0),
                np.broadcast_to(np.asarray(mean_output, dtype=float), shape0),
                np.broadcast_to(np.asarray(clock_factor, dtype=float), shape0),
            ],
            axis=1,
        )
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        lam, n_in, n_out, f = uniq.T
        # pipeline parallelism: `pp` virtual engines per replica (see the discrete simulation), each
        # with 1/pp of the arrivals and of the KV blocks; solved per engine, summed per replica
        ve = self.perf.dep.pp
        lam = lam / ve
        shape = lam.shape
        sc, sm = clock_scales(f)
        n_tok, nq, tau, n_dec, n_it, b_sat, t_sat, mu = self._saturation(n_in, n_out, sc, sm, pf, ve)
        sat = lam >= mu
        # bisection on t for the unsaturated replicas: h(t) = F(max(lam O t, 1), P_busy) - t is decreasing
        # (an iteration carries at least one sequence; see the module notes on low load)
        lo = np.zeros(shape)
        hi = np.array(t_sat, copy=True)
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            b = np.maximum(lam * n_it * mid, 1.0)
            ch = np.maximum(np.minimum(n_in, n_tok - nq * b), 1.0)
            tm, _, _ = self.mixed(b, pf * b * n_in / n_it, n_in, n_out, ch, sc, sm)
            up = tm > mid
            lo = np.where(up, mid, lo)
            hi = np.where(up, hi, mid)
        t = np.where(sat, t_sat, hi)
        B = np.where(sat, b_sat, lam * n_it * t)  # time average (Little's law)
        u = np.minimum(B, 1.0)  # share of time the replica is busy
        b_act = np.maximum(B, 1.0)  # decodes per busy iteration
        P = pf * b_act * n_in / n_it  # prefill tokens per busy iteration, lam I t / u
        chunk = np.maximum(np.minimum(n_in, n_tok - nq * b_act), 1.0)
        q, (t_dec, c0, m0), (t_mix, c1, m1) = self.mixed_pieces(b_act, P, n_in, n_out, chunk, sc, sm)
        cc, mm = c0 + q * (c1 - c0), m0 + q * (m1 - m0)
        done = np.where(sat, mu, lam)
        # latency: wait for a slot, half an iteration, then the prompt's chunks
        rho = np.clip(B / b_sat, 0.0, 0.999)
        c = b_sat
        p_wait = rho ** (np.sqrt(2.0 * (c + 1.0)) - 1.0)
        wq = p_wait / (c * (1.0 - rho)) * (n_it * t) / 2.0
        if np.isfinite(duration_s):
            wq = np.where(sat, (1.0 - mu / np.maximum(lam, 1e-300)) * duration_s / 2.0, wq)
        else:
            wq = np.where(sat, np.inf, wq)
        # prefill: a full chunk of C tokens per iteration; the prompt queue is M/G/1 (Pollaczek-Khinchine)
        cap = np.maximum(n_tok - nq * B, 1.0)
        t_cap, _, _ = self.parts(B, cap, n_in, n_out, sc, sm)
        full = pf * (np.ceil(n_in / cap) - 1.0)
        t_rest, _, _ = self.parts(B, pf * (n_in - full * cap), n_in, n_out, sc, sm)
        s_pre = pf * n_in / cap * t_cap
        rho_p = np.clip(lam * s_pre, 0.0, 0.999)
        w_pre = np.where(sat, 0.0, lam * s_pre ** 2 * (1.0 + input_cv2) / (2.0 * (1.0 - rho_p)))
        p_slot = np.where(sat, 1.0, p_wait)
        # the arrival phase: a share u of arrivals finds an iteration running, the rest an idle replica
        ttft = 0.5 * u * t + full * t_cap + t_rest + wq + w_pre
        tpot = t if tau == 1.0 else t * n_dec / np.maximum(n_out - 1.0, 1.0)
        e2e = ttft + (n_out - 1.0) * tpot
        busy = u
        cur = FluidCurve(lam * ve, done * ve, t, B * ve, ttft, tpot, e2e, sat, busy * cc / t, busy * mm / t,
                         busy, t_dec, t_mix, q, cap, t_cap, p_slot, wq, np.where(sat, 1.0, rho_p), w_pre,
                         sc, sm)
        for name in cur.__dataclass_fields__:
            setattr(cur, name, getattr(cur, name)[inverse])
        return cur


def decode_iterations(n_out, tau: float):
    """Decode iterations of a request of ``n_out`` output tokens at ``tau`` tokens per iteration.

    The first token comes with the prefill; the other ``n_out - 1`` take ``ceil((n_out - 1) / tau)``
    iterations (as the discrete replicas run them); ``n_out - 1`` without speculation.
    """
    rest = np.maximum(np.asarray(n_out, dtype=float) - 1.0, 0.0)
    return rest if tau == 1.0 else np.ceil(rest / tau - 1e-9)


#: requests drawn to estimate the fluid percentiles, and their fixed seed (results are deterministic)
PERCENTILE_SAMPLES, PERCENTILE_SEED = 20_000, 0


@dataclass
class FluidResult:
    """A fluid run summarised like the discrete one (percentiles from the sampled pieces, see notes)."""

    curve: FluidCurve
    num_requests: int
    mean_input: float
    mean_output: float
    offline: bool
    makespan_s: float | None = None
    window_s: float | None = None  # arrival window of an online workload [s]
    model: FluidModel | None = None
    #: draw ``n`` (prompt, output) lengths with a generator: the workload's distributions or trace rows
    draw_lengths: object = None

    def latency_samples(self) -> dict[str, np.ndarray] | None:
        """TTFT, TPOT and end-to-end latency [s] of sampled requests.

        Pooled over the replicas by their completion rates (see the module notes); None without the
        model or the lengths.
        """
        if self.model is None or self.draw_lengths is None:
            return None
        c, n = self.curve, PERCENTILE_SAMPLES
        rng = np.random.default_rng(PERCENTILE_SEED)
        w = np.where(np.isfinite(c.completed_per_s), c.completed_per_s, 0.0)
        r = rng.choice(len(w), size=n, p=w / w.sum()) if w.sum() > 0 else np.zeros(n, dtype=int)
        lin, lout = (np.asarray(x, dtype=float) for x in self.draw_lengths(n, rng))
        return request_latency_samples(self.model, c, r, lin, lout, rng, self.mean_input, self.mean_output,
                                       offline=self.offline)

    def to_dict(self, num_gpus: int) -> dict:
        """The summary of :func:`twin.serving.metrics.summarize`, for ``num_gpus`` GPUs."""
        c = self.curve
        req_s = float(c.completed_per_s.sum())
        out_s = req_s * self.mean_output
        samples = self.latency_samples()

        def m(x, key):  # noqa: E306
            v = float(np.mean(x))
            out = {"mean": v if np.isfinite(v) else None, "p50": None, "p90": None, "p99": None}
            s = None if samples is None else samples[key]
            if out["mean"] is not None and s is not None and np.isfinite(s).any():
                p50, p90, p99 = np.nanpercentile(s, [50, 90, 99])
                out |= {"p50": float(p50), "p90": float(p90), "p99": float(p99)}
            return out

        return {
            # saturated replicas serve at capacity: over the window they complete less than offered
            "num_requests": self.num_requests,
            "num_completed": (
                self.num_requests
                if self.offline or not c.saturated.any() or not self.window_s
                else min(self.num_requests, int(req_s * self.window_s))
            ),
            "span_s": self.makespan_s,
            "output_tokens_per_s": out_s,
            "output_tokens_per_s_per_gpu": out_s / num_gpus,
            "total_tokens_per_s": req_s * (self.mean_input + self.mean_output),
            "requests_per_s": req_s,
            "mean_input_tokens": self.mean_input,
            "mean_output_tokens": self.mean_output,
            "ttft_s": m(c.ttft_s, "ttft_s"),
            "tpot_s": m(c.tpot_s, "tpot_s"),
            "e2e_s": m(c.e2e_s, "e2e_s"),
            "goodput_requests_per_s": None,
            "slo_attainment": None,
            "saturated_replicas": int(c.saturated.sum()),
            "mean_batch": float(np.mean(c.batch)),
            "compute_bound_fraction": float(np.mean(c.compute_fraction)),
            "memory_bound_fraction": float(np.mean(c.memory_fraction)),
        }


def request_latency_samples(model: FluidModel, c: FluidCurve, r: np.ndarray, lin: np.ndarray,
                            lout: np.ndarray, rng: np.random.Generator, mean_input: float, mean_output: float,
                            *, offline: bool = False) -> dict[str, np.ndarray]:
    """TTFT, TPOT and end-to-end latency [s] of requests ``i`` served at point ``r[i]`` of curve ``c``.

    ``lin``/``lout`` are the requests' prompt and output lengths; the waits and the mix of iterations
    are drawn with ``rng`` (see the module notes).
    """
    n = len(r)
    t, B = c.iteration_s[r], c.batch[r] / model.perf.dep.pp
    cap, t_cap = c.chunk_tokens[r], c.chunk_iteration_s[r]
    full = np.ceil(lin / cap) - 1.0
    t_rest = model.parts(B, lin - full * cap, mean_input, mean_output, c.compute_scale[r],
                         c.memory_scale[r])[0]
    u = rng.random(n)
    if offline:
        # every request is present at t=0 and starts when a slot frees: uniform over the run
        ttft = t + u * 2.0 * np.maximum(c.ttft_s[r] - t, 0.0)
    else:
        def wait(prob, mean):  # zero, or exponential with the given overall mean
            hit = rng.random(n) < prob
            return np.where(hit, rng.exponential(1.0, n) * mean / np.maximum(prob, 1e-12), 0.0)

        backlog = rng.random(n) * 2.0 * c.slot_wait_s[r]      # saturated: uniform over the window
        slot = np.where(c.saturated[r], backlog, wait(c.slot_wait_probability[r], c.slot_wait_s[r]))
        # arrival phase: uniform over a running iteration with probability busy, else none (idle replica);
        # u < busy is that event and u / busy, given it, is uniform (no further draw)
        busy = c.busy_fraction[r]
        phase = np.where(u < busy, u / np.maximum(busy, 1e-300), 0.0) * t
        ttft = phase + full * t_cap + t_rest + slot + wait(c.prefill_utilisation[r], c.prefill_wait_s[r])
    tau = model.cost.tokens_per_step
    steps = np.maximum(decode_iterations(lout, tau), 1.0)     # decode iterations (tau tokens each)
    mixed = rng.binomial(steps.astype(np.int64), np.clip(c.mixed_fraction[r], 0.0, 1.0))
    tpot = (c.decode_iteration_s[r] + (c.mixed_iteration_s[r] - c.decode_iteration_s[r]) * mixed / steps) \
        * steps / np.maximum(lout - 1.0, 1.0)
    tpot = np.where(lout > 1, tpot, np.nan)
    e2e = ttft + (lout - 1.0) * np.nan_to_num(tpot)
    return {"ttft_s": ttft, "tpot_s": tpot, "e2e_s": e2e}


def fluid_point(perf: PerfModel, workload: Workload, num_replicas: int, clock_factor=1.0) -> FluidResult:
    """Fluid estimate of a workload spread evenly over ``num_replicas`` replicas.

    Raises :class:`ServingInputError` for a workload that cannot run (see :meth:`Workload.check`) or
    whose requests need more tokens than the model's context (:meth:`Workload.check_context`).
    """
    workload.check()
    workload.check_context(perf.model)
    fm = FluidModel(perf)
    if workload.trace is not None:
        tr = workload.trace
        n_in, n_out = float(tr.input_tokens.mean()), float(tr.output_tokens.mean())
        cv2 = float(tr.input_tokens.var()) / n_in ** 2

        def draw(k, rng, tr=tr):
            i = rng.integers(0, len(tr), k)
            return tr.input_tokens[i], tr.output_tokens[i]
        dur = float(tr.arrival_s.max() - tr.arrival_s.min()) or 1.0
        n = len(tr)
        rate = n / dur / num_replicas
        offline = False
    else:
        n_in, n_out = workload.input_len.mean, workload.output_len.mean
        probe = workload.input_len.sample(PERCENTILE_SAMPLES, np.random.default_rng(PERCENTILE_SEED))
        cv2 = float(np.var(probe)) / float(np.mean(probe)) ** 2

        def draw(k, rng, wl=workload):
            return wl.input_len.sample(k, rng), wl.output_len.sample(k, rng)

        offline = workload.offline
        if offline:
            n = int(workload.num_requests)
            rate = np.inf
            dur = 0.0
        else:
            dur = workload.duration_s
            rate = workload.rate_per_s / num_replicas
            n = int(round(workload.rate_per_s * dur))
            if workload.num_requests is not None:
                n = min(n, workload.num_requests)
    rates = np.full(num_replicas, rate if np.isfinite(rate) else 1e30)
    curve = fm.curve(rates, n_in, n_out, clock_factor=clock_factor, duration_s=dur if not offline else np.inf,
                     input_cv2=cv2)
    makespan = None
    if offline:
        mu = curve.completed_per_s
        makespan = float(n / mu.sum())
        # all start at t=0: a request waits for the ones ahead of it, on average half the makespan
        t = curve.iteration_s
        curve.ttft_s = makespan / 2.0 - (n_out - 1.0) * t / 2.0 + t
        curve.ttft_s = np.maximum(curve.ttft_s, t)
        curve.e2e_s = curve.ttft_s + (n_out - 1.0) * t
    return FluidResult(curve, n, n_in, n_out, offline, makespan, None if offline else dur, fm, draw)
