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

Replicas with the same (offered rate, clock) are solved once; offered rates and clocks are rounded
to :data:`RATE_DIGITS` significant digits and :data:`CLOCK_STEP` before solving, and each distinct
point is remembered, so a day of slowly changing load costs a few hundred fluid solves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.serving.fluid import FluidModel

#: Offered rates are solved at this many significant digits (relative error <= 5e-4).
RATE_DIGITS = 4
#: Clock factors are solved on this grid.
CLOCK_STEP = 1e-3

_FIELDS = ("completed_per_s", "iteration_s", "ttft_s", "slot_wait_s", "saturated", "compute_fraction",
           "memory_fraction", "busy_fraction")


@dataclass(frozen=True)
class QueueState:
    """Backlog of every replica at the start of an epoch. [requests]"""

    backlog: np.ndarray


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


class FluidQueue:
    """Epoch stepping of one deployment's replicas in the fluid model (see the module notes).

    Parameters
    ----------
    model : FluidModel
    mean_input, mean_output : float
        Mean prompt and output lengths. [tokens]
    input_cv2 : float
        Squared coefficient of variation of prompt lengths.
    """

    def __init__(self, model: FluidModel, mean_input: float, mean_output: float, input_cv2: float = 0.0):
        self.model, self.n_in, self.n_out, self.cv2 = model, float(mean_input), float(mean_output), input_cv2
        self._memo: dict[tuple[float, float, float], tuple] = {}
        self.solves = 0

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
                                   clock_factor=np.maximum(c_m, 1e-3), duration_s=dt, input_cv2=self.cv2)
            self.solves += len(missing)
            for k, j in enumerate(missing):
                row = tuple(float(getattr(cur, f)[k]) for f in _FIELDS)
                rows[j] = row
                self._memo[(float(uniq[j, 0]), float(uniq[j, 1]), dt)] = row
        table = np.array(rows, dtype=float)[inverse]
        out = {f: table[:, i] for i, f in enumerate(_FIELDS)}
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
            wide = {k: (None if v is None else np.broadcast_to(v[:1], (n,))) for k, v in one.__dict__.items()}
            return QueueState(np.broadcast_to(st1.backlog[:1], (n,))), EpochServing(**wide)
        up = c > 0
        offered = np.where(up, lam + q / dt_s, 0.0)
        s = self._solve(offered, np.where(up, c, 1.0), dt_s)
        x = np.where(up, s["completed_per_s"], 0.0)
        q_new = np.maximum(q + (lam - x) * dt_s, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            base = s["ttft_s"] - np.where(s["saturated"] > 0, s["slot_wait_s"], 0.0)
            ttft = np.where(x > 0, base + 0.5 * (q + q_new) / x, np.nan)
        tpot = np.where(x > 0, s["iteration_s"], np.nan)
        served = x * dt_s
        out = EpochServing(
            served_per_s=x,
            output_tokens=served * self.n_out,
            prefill_tokens=served * self.n_in,
            compute=np.where(up, s["compute_fraction"], 0.0),
            memory=np.where(up, s["busy_fraction"] - s["compute_fraction"], 0.0),
            ttft_s=ttft,
            tpot_s=tpot,
            arrived=lam * dt_s,
            backlog=q_new,
        )
        return QueueState(q_new), out


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
