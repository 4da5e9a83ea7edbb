"""Capacity at a latency SLA: the highest arrival rate whose P99 TTFT and P99 TPOT meet their limits.

This is how MLPerf Inference's Server and Interactive scenarios score a system (MLCommons inference
rules and ``mlperf.conf`` of v5.1): LoadGen sends Poisson queries at a target rate for at least 600 s and
the run is valid only if the 99th percentiles of time to first token and of time per output token
stay within the benchmark's limits; the result is the throughput at the highest valid rate. It is
also the planner's question "how many tokens per second at this SLA".

The search brackets the limit rate from an initial guess (doubling or halving), then bisects until
the bracket is narrower than ``rel_tol``. Each probe is one full simulation with the same seed, so
probes differ only in the rate. Latency near capacity is not perfectly monotone in rate for a finite
run; bisection returns a rate that passed with its neighbour ``(1 + rel_tol)`` times higher failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from twin.serving.metrics import TPOT, TTFT
from twin.serving.specs import ServingInputError


@dataclass
class RateSearch:
    """Result of :func:`max_rate_at_slo`."""

    rate_per_s: float | None            #: highest rate that met the limits (None: even the lowest failed)
    summary: dict | None                #: metrics of the run at that rate
    p99_ttft_limit_s: float | None
    p99_tpot_limit_s: float | None
    probes: list[dict] = field(default_factory=list)   #: every probe: rate, P99s, completed, ok

    @property
    def output_tokens_per_s(self) -> float | None:
        """Steady-state output throughput at the highest passing rate: ``rate x mean output length``.

        Every request of a passing run completes, so the long-run served rate is the arrival rate;
        the span-based throughput of the summary is lower by the final drain of a finite run, which
        MLPerf's long runs (>= 600 s, often 2,400 s) make small.
        """
        if self.rate_per_s is None or self.summary is None:
            return None
        return self.rate_per_s * float(self.summary["mean_output_tokens"])

    def to_dict(self) -> dict:
        """The search as plain values: best rate [1/s], its output throughput [tokens/s], limits, probes."""
        return {
            "max_rate_per_s": self.rate_per_s,
            "output_tokens_per_s": self.output_tokens_per_s,
            "p99_ttft_limit_s": self.p99_ttft_limit_s,
            "p99_tpot_limit_s": self.p99_tpot_limit_s,
            "probes": self.probes,
        }


def meets_slo(summary: dict, p99_ttft_s: float | None, p99_tpot_s: float | None) -> bool:
    """Every request completed and the P99 TTFT and P99 TPOT are within their limits."""
    if summary["num_completed"] < summary["num_requests"] or summary["num_completed"] == 0:
        return False
    ttft = summary[TTFT]["p99"]
    tpot = summary[TPOT]["p99"]
    if p99_ttft_s is not None and (ttft is None or ttft > p99_ttft_s):
        return False
    return not (p99_tpot_s is not None and tpot is not None and tpot > p99_tpot_s)


def max_rate_at_slo(run: Callable[[float], dict], initial_rate_per_s: float, *,
                    p99_ttft_s: float | None, p99_tpot_s: float | None, rel_tol: float = 0.01,
                    max_probes: int = 40, min_rate_per_s: float = 0.0,
                    progress: Callable[[float], None] | None = None) -> RateSearch:
    """Highest rate ``r`` for which ``run(r)`` (a metrics summary) meets the P99 limits.

    Parameters
    ----------
    run
        Simulates the workload at a rate [requests/s] and returns :func:`twin.serving.metrics.summarize`.
    initial_rate_per_s
        First probe, e.g. the fluid model's capacity; the bracket grows or shrinks by 2x from it.
    p99_ttft_s, p99_tpot_s
        Limits on the 99th percentiles [s]; at least one is required.
    rel_tol
        Relative width of the final bracket (0.01: the answer is within 1 % of the limit rate).
    min_rate_per_s
        The search gives up (no passing rate) rather than probe below this rate.
    progress
        Called with the fraction of the probe budget used after each probe.
    """
    if p99_ttft_s is None and p99_tpot_s is None:
        raise ServingInputError("a capacity search needs a P99 TTFT limit, a P99 TPOT limit or both")
    for name, v in (("P99 TTFT", p99_ttft_s), ("P99 TPOT", p99_tpot_s)):
        if v is not None and not v > 0:
            raise ServingInputError(f"{name} limit must be > 0 s, got {v}")
    if not initial_rate_per_s > 0:
        raise ServingInputError(f"initial rate must be > 0 requests/s, got {initial_rate_per_s}")
    if not 0 < rel_tol < 1:
        raise ServingInputError(f"relative tolerance must be in (0, 1), got {rel_tol}")
    res = RateSearch(None, None, p99_ttft_s, p99_tpot_s)
    summaries: dict[float, dict] = {}

    def probe(rate: float) -> bool:
        s = run(rate)
        ok = meets_slo(s, p99_ttft_s, p99_tpot_s)
        summaries[rate] = s
        res.probes.append({"rate_per_s": rate, "p99_ttft_s": s[TTFT]["p99"], "p99_tpot_s": s[TPOT]["p99"],
                           "completed": s["num_completed"], "requests": s["num_requests"], "ok": ok}
                          | ({"stopped_at_s": s["stopped_at_s"]} if "stopped_at_s" in s else {}))
        if progress is not None:
            progress(min(len(res.probes) / max_probes, 1.0))
        return ok

    lo = hi = None
    rate = float(initial_rate_per_s)
    while len(res.probes) < max_probes:
        if probe(rate):
            lo = rate
            if hi is not None:
                break
            rate *= 2.0
        else:
            hi = rate
            if lo is not None or rate / 2.0 < min_rate_per_s:
                break
            rate /= 2.0
    while lo is not None and hi is not None and hi / lo - 1.0 > rel_tol and len(res.probes) < max_probes:
        mid = (lo * hi) ** 0.5
        if probe(mid):
            lo = mid
        else:
            hi = mid
    if lo is not None:
        res.rate_per_s, res.summary = lo, summaries[lo]
    if progress is not None:
        progress(1.0)
    return res
