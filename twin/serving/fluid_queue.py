"""Fluid serving advanced epoch by epoch: the steady fluid model plus a backlog that carries over.

State in, state out.

Within an epoch of length ``Δ`` each replica sees arrivals at rate ``λ`` and holds a backlog ``Q``
(requests that arrived and are not yet being served). It serves at the fluid model's rate for the
offered load ``λ + Q/Δ`` at its clock (:meth:`twin.serving.fluid.FluidModel.curve`):

.. math::
    x = \\min(\\lambda + Q/\\Delta,\\ \\mu(c)), \\qquad Q' = Q + (\\lambda - x)\\,\\Delta

so requests are conserved exactly: arrived = served + backlog. Latency: the fluid TTFT at the
served rate, plus the mean wait of the backlog ``(Q + Q') / (2x)`` (Little's law); TPOT is the
iteration time. A replica that is down (clock 0: unpowered) serves nothing; the engine routes its
arrivals and backlog to the deployment's live replicas.

Request latency distributions: each solved point also keeps tables of the TTFT (before the
backlog's wait) and TPOT quantiles of its requests, at :data:`LATENCY_QUANTILES`, from
:data:`LATENCY_SAMPLES` requests sampled as the steady fluid model samples its percentiles
(:func:`twin.serving.fluid.request_latency_samples`: waits for a slot and for the prefill budget,
the prompt's chunks, the mix of iterations over a request's output). An epoch's requests are then
the replicas' tables, each shifted by its backlog's mean wait and weighted by the requests it
served (:class:`EpochLatency`): percentiles of TTFT and TPOT per epoch and over a run, not only means.

Replicas with the same (offered rate, clock) are solved once; offered rates and clocks are rounded
to :data:`RATE_DIGITS` significant digits and :data:`CLOCK_STEP` before solving, and each distinct
point is remembered, so a day of slowly changing load costs a few hundred fluid solves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from twin.serving.fluid import PERCENTILE_SEED, FluidModel, decode_iterations, request_latency_samples

#: Offered rates are solved at this many significant digits (relative error <= 5e-4).
RATE_DIGITS = 4
#: Clock factors are solved on this grid.
CLOCK_STEP = 1e-3

#: Quantile levels of each solved point's latency tables: mid-points of 200 equal-probability bins.
LATENCY_QUANTILES = (np.arange(200) + 0.5) / 200.0
#: Requests sampled per solved point for its latency tables.
LATENCY_SAMPLES = 1000
#: Backlog waits are grouped at this many significant digits when an epoch's latencies are pooled.
WAIT_DIGITS = 3

_FIELDS = ("completed_per_s", "iteration_s", "ttft_s", "slot_wait_s", "saturated", "compute_fraction",
           "memory_fraction", "busy_fraction")


@dataclass(frozen=True)
class QueueState:
    """Backlog of every replica at the start of an epoch. [requests]"""

    backlog: np.ndarray


@dataclass(frozen=True)
class EpochLatency:
    """Latencies of the requests one epoch served, as weighted groups of quantile tables.

    Group ``g`` holds ``weight[g]`` requests whose TTFT and TPOT quantiles at :data:`LATENCY_QUANTILES`
    are the rows ``ttft_s[g]`` and ``tpot_s[g]`` (nan: no request of the group has a TPOT).
    """

    ttft_s: np.ndarray  # (groups, quantiles) [s]
    tpot_s: np.ndarray
    weight: np.ndarray  # (groups,) requests

    def scaled(self, factor: float) -> EpochLatency:
        """The same distribution for ``factor`` times as many requests."""
        return EpochLatency(self.ttft_s, self.tpot_s, self.weight * factor)

    def quantiles(self, q: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """(TTFT, TPOT) at the levels ``q`` of the pooled requests. [s]"""
        return _pooled_quantile(self.ttft_s, self.weight, q), _pooled_quantile(self.tpot_s, self.weight, q)

    @staticmethod
    def pool(parts: Sequence[EpochLatency | None]) -> EpochLatency | None:
        """Several epochs' or deployments' requests as one distribution (None when none served)."""
        parts = [p for p in parts if p is not None and len(p.weight)]
        if not parts:
            return None
        return EpochLatency(*(np.concatenate([getattr(p, f) for p in parts])
                              for f in ("ttft_s", "tpot_s", "weight")))


def _pooled_quantile(table: np.ndarray, weight: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles at levels ``q`` of the groups' tables pooled with their weights (nan values left out)."""
    v = table.reshape(-1)
    w = np.repeat(weight / table.shape[1], table.shape[1])
    ok = np.isfinite(v) & (w > 0)
    if not ok.any():
        return np.full(len(q), np.nan)
    order = np.argsort(v[ok], kind="stable")
    v, w = v[ok][order], w[ok][order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()  # each value at the middle of its probability mass
    return np.interp(np.asarray(q, dtype=float), cum, v)


@dataclass(frozen=True)
class EpochServing:
    """What every replica did in one epoch (arrays over replicas)."""

    served_per_s: np.ndarray  # requests/s taken into service and completed (fluid)
    output_tokens: np.ndarray
    prefill_tokens: np.ndarray
    compute: np.ndarray  # share of the epoch in compute-bound work [-]
    memory: np.ndarray  # ... in memory-bound work and communication [-]
    ttft_s: np.ndarray  # mean over the epoch's requests (nan: served none)
    tpot_s: np.ndarray
    arrived: np.ndarray  # requests
    backlog: np.ndarray  # at the end of the epoch (discrete: queued + running)
    rejected: np.ndarray | None = None  # requests that can never fit the KV pool (discrete mode)
    latency: EpochLatency | None = None  # the latency distribution of the epoch's requests


class FluidQueue:
    """Epoch stepping of one deployment's replicas in the fluid model (see the module notes).

    Parameters
    ----------
    model : FluidModel
    mean_input, mean_output : float
        Mean prompt and output lengths. [tokens]
    input_cv2 : float
        Squared coefficient of variation of prompt lengths.
    draw_lengths : callable(n, rng) -> (prompt lengths, output lengths), optional
        The workload's request lengths, for the latency tables (without it, epochs carry no
        :class:`EpochLatency`).
    role : str
        ``both`` (aggregated serving), or a disaggregated deployment's ``prefill`` pool (requests of
        one output token: TTFT, no TPOT) or ``decode`` pool (requests arrive with their KV cache,
        :meth:`FluidModel.curve` with ``decode_only``: TPOT, no TTFT).
    """

    def __init__(self, model: FluidModel, mean_input: float, mean_output: float, input_cv2: float = 0.0,
                 draw_lengths: Callable | None = None, role: str = "both"):
        self.model, self.n_in, self.n_out, self.cv2 = model, float(mean_input), float(mean_output), input_cv2
        self.role = role
        self._memo: dict[tuple[float, float, float], tuple] = {}
        self.solves = 0
        self._lengths = None
        if draw_lengths is not None:
            lin, lout = draw_lengths(LATENCY_SAMPLES, np.random.default_rng(PERCENTILE_SEED))
            self._lengths = (np.asarray(lin, dtype=float), np.asarray(lout, dtype=float))

    def _tables(self, cur) -> tuple[np.ndarray, np.ndarray]:
        """TTFT (before the backlog's wait) and TPOT quantile tables of each point of ``cur``. [s]"""
        n_pts, m = len(cur.iteration_s), LATENCY_SAMPLES
        # a saturated point's wait is the backlog's, which the epoch adds itself
        c = dataclasses.replace(cur, slot_wait_s=np.where(cur.saturated > 0, 0.0, cur.slot_wait_s))
        r = np.repeat(np.arange(n_pts), m)
        lin, lout = (np.tile(x, n_pts) for x in self._lengths)
        smp = request_latency_samples(self.model, c, r, lin, lout, np.random.default_rng(PERCENTILE_SEED),
                                      self.n_in, self.n_out)
        ttft = np.quantile(smp["ttft_s"].reshape(n_pts, m), LATENCY_QUANTILES, axis=1).T
        if self.role == "decode":  # the first token came from the prefill pool
            ttft = np.full_like(ttft, np.nan)
        tp = smp["tpot_s"].reshape(n_pts, m)
        tpot = np.full((n_pts, len(LATENCY_QUANTILES)), np.nan)
        has = np.isfinite(tp).any(axis=1)
        if has.any():
            tpot[has] = np.nanquantile(tp[has], LATENCY_QUANTILES, axis=1).T
        return ttft, tpot

    def _solve(self, offered: np.ndarray, clock: np.ndarray, dt: float) -> dict[str, np.ndarray]:
        rate = np.where(offered > 0, offered, 0.0)
        q_rate = _round_sig(rate, RATE_DIGITS)
        q_clock = np.round(clock / CLOCK_STEP) * CLOCK_STEP
        if len(q_rate) and q_rate.min() == q_rate.max() and q_clock.min() == q_clock.max():
            # every replica alike (the common case): one point, no sorting
            uniq, inverse = np.array([[q_rate[0], q_clock[0]]]), np.zeros(len(q_rate), dtype=np.int64)
        else:
            keys = np.stack([q_rate, q_clock], axis=1)
            uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
        rows = []
        missing = []
        for j, (r, c) in enumerate(uniq):
            hit = self._memo.get((r, c, dt))
            rows.append(hit)
            if hit is None:
                missing.append(j)
        if missing:
            r_m = uniq[missing, 0]
            c_m = uniq[missing, 1]
            cur = self.model.curve(np.maximum(r_m, 1e-12), self.n_in, self.n_out,
                                   clock_factor=np.maximum(c_m, 1e-3), duration_s=dt, input_cv2=self.cv2,
                                   decode_only=self.role == "decode")
            self.solves += len(missing)
            tq = self._tables(cur) if self._lengths is not None else None
            for k, j in enumerate(missing):
                row = (tuple(float(getattr(cur, f)[k]) for f in _FIELDS),
                       None if tq is None else (tq[0][k], tq[1][k]))
                rows[j] = row
                self._memo[(float(uniq[j, 0]), float(uniq[j, 1]), dt)] = row
        table = np.array([row[0] for row in rows], dtype=float)[inverse]
        out = {f: table[:, i] for i, f in enumerate(_FIELDS)}
        out["point"] = inverse
        out["tables"] = [row[1] for row in rows]
        # the memo holds the fluid answer at the rounded rate; the served rate never exceeds what was offered
        idle = rate <= 0
        for f in ("completed_per_s", "compute_fraction", "memory_fraction", "busy_fraction"):
            out[f] = np.where(idle, 0.0, out[f])
        out["completed_per_s"] = np.minimum(out["completed_per_s"], rate)
        return out

    def epoch(self, state: QueueState, rate_per_s: np.ndarray, dt_s: float, clock: np.ndarray
              ) -> tuple[QueueState, EpochServing]:
        """Advance every replica by ``dt_s`` at arrival rates ``rate_per_s`` and clock factors ``clock``.

        A replica with ``clock <= 0`` is down: it serves nothing (its arrivals and backlog should be
        routed elsewhere by the caller; what is given to it stays in its backlog).
        """
        lam = np.asarray(rate_per_s, dtype=float)
        c = np.asarray(clock, dtype=float)
        q = state.backlog
        n = len(q)
        if n > 1 and alike(lam) and alike(c) and alike(q):
            # every replica in the same state (the common case): solve one, share the answer
            st1, one = self.epoch(QueueState(q[:1]), lam[:1], dt_s, c[:1])
            # read-only views of one value (no copies of 10^4-element arrays)
            wide = {k: (None if v is None else np.broadcast_to(v[:1], (n,))) for k, v in one.__dict__.items()
                    if k != "latency"}
            lat = None if one.latency is None else one.latency.scaled(n)
            return QueueState(np.broadcast_to(st1.backlog[:1], (n,))), EpochServing(**wide, latency=lat)
        up = c > 0
        offered = np.where(up, lam + q / dt_s, 0.0)
        s = self._solve(offered, np.where(up, c, 1.0), dt_s)
        x = np.where(up, s["completed_per_s"], 0.0)
        q_new = np.maximum(q + (lam - x) * dt_s, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            base = s["ttft_s"] - np.where(s["saturated"] > 0, s["slot_wait_s"], 0.0)
            ttft = np.where(x > 0, base + 0.5 * (q + q_new) / x, np.nan)
        # speculative decoding emits tokens_per_step tokens per iteration (TPOT as the fluid curve has it)
        tau = self.model.cost.tokens_per_step
        per = 1.0 if tau == 1.0 else float(decode_iterations(self.n_out, tau)) / max(self.n_out - 1.0, 1.0)
        tpot = np.where(x > 0, s["iteration_s"] * per, np.nan)
        if self.role == "decode":  # the first token came from the prefill pool
            ttft = np.full_like(ttft, np.nan)
        elif self.role == "prefill":  # one token per request here: no time per output token
            tpot = np.full_like(tpot, np.nan)
        served = x * dt_s
        dist = None
        if self._lengths is not None:
            wait = 0.5 * (q + q_new) / np.where(x > 0, x, 1.0)
            dist = _epoch_latency(s["point"], s["tables"], served, wait)
        out = EpochServing(
            served_per_s=x,
            output_tokens=served * self.n_out,
            prefill_tokens=served * (0.0 if self.role == "decode" else self.n_in),
            compute=np.where(up, s["compute_fraction"], 0.0),
            memory=np.where(up, s["busy_fraction"] - s["compute_fraction"], 0.0),
            ttft_s=ttft,
            tpot_s=tpot,
            arrived=lam * dt_s,
            backlog=q_new,
            latency=dist,
        )
        return QueueState(q_new), out


def _epoch_latency(point: np.ndarray, tables: list, served: np.ndarray, wait_s: np.ndarray) -> EpochLatency:
    """The epoch's requests as groups of (solved point, backlog wait rounded to WAIT_DIGITS)."""
    ok = served > 0
    if not ok.any():
        return EpochLatency(np.zeros((0, len(LATENCY_QUANTILES))), np.zeros((0, len(LATENCY_QUANTILES))),
                            np.zeros(0))
    if len(served) == 1:  # one replica (the alike case): one group, nothing to sort
        t = tables[int(point[0])]
        return EpochLatency((t[0] + float(wait_s[0]))[None, :], t[1][None, :], served.astype(float))
    w = _round_sig(wait_s[ok], WAIT_DIGITS)
    keys = np.stack([point[ok].astype(float), w], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    weight = np.bincount(inv.reshape(-1), weights=served[ok], minlength=len(uniq))
    pts = uniq[:, 0].astype(int)
    ttft = np.stack([tables[i][0] for i in pts]) + uniq[:, 1:2]
    tpot = np.stack([tables[i][1] for i in pts])
    return EpochLatency(ttft, tpot, weight)


def alike(x: np.ndarray) -> bool:
    """Every element equal (nan-free arrays); instant for the broadcast views this module returns."""
    if x.ndim == 1 and x.strides[0] == 0:
        return True
    return bool(x.min() == x.max())


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (zeros stay zero)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        mag = np.where(x > 0, np.floor(np.log10(np.where(x > 0, x, 1.0))), 0.0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(x * scale) / scale
