"""Request metrics from primitive timestamps (definitions: docs/metrics.md).

For request ``r``: arrival ``a_r``, first output token ``f_r``, completion ``d_r``, output length
``o_r``. TTFT ``= f_r - a_r``; TPOT ``= (d_r - f_r) / (o_r - 1)`` (requests with ``o_r > 1``);
end-to-end ``= d_r - a_r``. Throughputs divide by the span from the first arrival to the last
completion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: metric names (keys of the summary)
TTFT = "ttft_s"
TPOT = "tpot_s"
E2E = "e2e_s"
QUANTILES = {"p50": 50, "p90": 90, "p99": 99}


@dataclass
class RequestTimes:
    """Per-request timestamps [s] and lengths; ``nan`` where a request did not reach that point."""

    arrival_s: np.ndarray
    first_token_s: np.ndarray
    completed_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray


def stats(x: np.ndarray) -> dict:
    """Mean and P50/P90/P99 of the finite values (None when there are none)."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return {"mean": None} | {k: None for k in QUANTILES}
    q = np.percentile(x, list(QUANTILES.values()))
    return {"mean": float(x.mean())} | {k: float(v) for k, v in zip(QUANTILES, q, strict=True)}


def summarize(req: RequestTimes, num_gpus: int, slo_ttft_s: float | None = None,
              slo_tpot_s: float | None = None) -> dict:
    """Throughput, latency distributions and goodput of completed requests."""
    done = np.isfinite(req.completed_s)
    n_done = int(done.sum())
    ttft = req.first_token_s - req.arrival_s
    e2e = req.completed_s - req.arrival_s
    multi = done & (req.output_tokens > 1)
    tpot = np.full(len(ttft), np.nan)
    tpot[multi] = (req.completed_s[multi] - req.first_token_s[multi]) / (req.output_tokens[multi] - 1)
    if n_done:
        span = float(req.completed_s[done].max() - req.arrival_s.min())
    else:
        span = float("nan")
    out_tok = float(req.output_tokens[done].sum())
    in_tok = float(req.input_tokens[done].sum())
    ok = span > 0
    res = {
        "num_requests": int(len(ttft)),
        "num_completed": n_done,
        "span_s": span if ok else None,
        "output_tokens_per_s": out_tok / span if ok else 0.0,
        "output_tokens_per_s_per_gpu": out_tok / span / num_gpus if ok else 0.0,
        "total_tokens_per_s": (out_tok + in_tok) / span if ok else 0.0,
        "requests_per_s": n_done / span if ok else 0.0,
        "mean_input_tokens": float(req.input_tokens.mean()) if len(ttft) else None,
        "mean_output_tokens": float(req.output_tokens.mean()) if len(ttft) else None,
        TTFT: stats(ttft[done]),
        TPOT: stats(tpot),
        E2E: stats(e2e[done]),
        "goodput_requests_per_s": None,
        "slo_attainment": None,
    }
    if slo_ttft_s is not None or slo_tpot_s is not None:
        good = done.copy()
        if slo_ttft_s is not None:
            good &= ttft <= slo_ttft_s
        if slo_tpot_s is not None:
            good &= ~(tpot > slo_tpot_s)
        res["goodput_requests_per_s"] = float(good.sum() / span) if ok else 0.0
        res["slo_attainment"] = float(good.sum() / max(len(ttft), 1))
    return res
