"""Request generators: arrivals (Poisson, diurnal or bursty rate, offline, CSV trace) and lengths.

Everything random draws from an explicit ``numpy.random.Generator`` (no global RNG). A workload
turns into :class:`Requests`: struct-of-arrays sorted by arrival time.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.serving.specs import ServingInputError

#: length distributions: name -> parameters ``--input-tokens NAME:P1,P2`` takes
LENGTH_KINDS: dict[str, str] = {
    "fixed": "N",
    "normal": "MEAN,STD (truncated at 1)",
    "uniform": "LO,HI (inclusive)",
    "lognormal": "MEAN,STD of the lengths themselves",
    "exponential": "MEAN",
}


@dataclass(frozen=True)
class LengthDist:
    """Distribution of prompt or output lengths [tokens], clipped to ``[1, max_len]``."""

    kind: str = "fixed"
    params: tuple[float, ...] = (256,)
    max_len: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in LENGTH_KINDS:
            raise ServingInputError(
                f"unknown length distribution {self.kind!r}; valid: "
                f"{', '.join(f'{k}:{v}' for k, v in LENGTH_KINDS.items())}"
            )

    @property
    def mean(self) -> float:
        """Mean before clipping (exact for fixed/uniform)."""
        p = self.params
        return {
            "fixed": p[0],
            "normal": p[0],
            "uniform": (p[0] + p[-1]) / 2,
            "lognormal": p[0],
            "exponential": p[0],
        }[self.kind]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` integer lengths >= 1."""
        p = self.params
        if self.kind == "fixed":
            x = np.full(n, p[0])
        elif self.kind == "normal":
            x = rng.normal(p[0], p[1], n)
        elif self.kind == "uniform":
            x = rng.integers(int(p[0]), int(p[1]) + 1, n)
        elif self.kind == "lognormal":
            mean, std = p
            s2 = math.log(1.0 + (std / mean) ** 2)
            x = rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)
        else:
            x = rng.exponential(p[0], n)
        x = np.maximum(np.rint(x), 1).astype(np.int64)
        if self.max_len:
            x = np.minimum(x, self.max_len)
        return x


#: Most requests one discrete run draws (~0.5 GB of request state; 100,000 requests use ~320 MiB,
#: benchmarks/README.md). Larger factories belong to the fluid mode.
MAX_REQUESTS = 10_000_000

#: Longest simulated time span accepted: one year [s]. The per-replica activity record is binned over
#: the whole span, so an arrival at 1e12 s would need terabytes.
MAX_SPAN_S = 365 * 24 * 3600.0

#: Longest prompt or output accepted, in tokens (above every catalog model's context window).
MAX_TOKENS = 10_000_000


def parse_length(text: str, what: str = "length") -> LengthDist:
    """``"2048"``, ``"normal:1147,400"``, ``"uniform:800,1000"``, ``"lognormal:1147,1000"``."""
    text = text.strip()
    try:
        if ":" not in text:
            f = float(text)
            if not math.isfinite(f):
                raise ValueError
            v = int(f)
            if v < 1 or f != v:
                raise ValueError
            if v >= MAX_TOKENS:
                raise ValueError
            return LengthDist("fixed", (v,))
        kind, _, rest = text.partition(":")
        params = tuple(float(x) for x in rest.split(","))
    except ValueError:
        raise ServingInputError(
            f"{what} tokens {text!r}: expected a whole number >= 1 or NAME:PARAMS with NAME one of "
            f"{', '.join(f'{k}:{v}' for k, v in LENGTH_KINDS.items())}"
        ) from None
    need = {"fixed": 1, "normal": 2, "uniform": 2, "lognormal": 2, "exponential": 1}.get(kind)
    if need is None:
        raise ServingInputError(
            f"{what} tokens {text!r}: unknown distribution {kind!r}; valid: {', '.join(LENGTH_KINDS)}"
        )
    if len(params) != need or any(not (0 < p < MAX_TOKENS) for p in params):
        raise ServingInputError(
            f"{what} tokens {text!r}: {kind} takes {LENGTH_KINDS[kind]}, all > 0 and below {MAX_TOKENS:,}"
        )
    if kind == "uniform" and params[1] < params[0]:
        raise ServingInputError(f"{what} tokens {text!r}: uniform needs LO <= HI")
    return LengthDist(kind, params)


@dataclass
class Requests:
    """Requests as arrays, sorted by arrival: arrival time [s], prompt and output lengths [tokens]."""

    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_s)


def read_trace(path: str | Path) -> Requests:
    """Read a CSV trace with columns ``arrival_s,input_tokens,output_tokens`` (header required).

    Raises
    ------
    ServingInputError
        Listing every bad row as ``file:line: message`` (missing columns, non-numbers, negative
        times, lengths below 1).
    """
    path = Path(path)
    if path.is_dir():
        raise ServingInputError(f"{path}: is a folder; expected a CSV trace file")
    if not path.is_file():
        raise ServingInputError(f"{path}: trace file not found")
    cols = ("arrival_s", "input_tokens", "output_tokens")
    problems: list[str] = []
    rows: list[tuple[float, int, int]] = []
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate the BOM spreadsheets write
    except UnicodeDecodeError:
        raise ServingInputError(f"{path}: not a text CSV file (expected columns {', '.join(cols)})") from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or any(c not in reader.fieldnames for c in cols):
            raise ServingInputError(
                f"{path}:1: header must name the columns {', '.join(cols)}; got "
                f"{', '.join(reader.fieldnames or [])}"
            )
        for row in reader:
            line = reader.line_num
            try:
                a = float(row["arrival_s"])
                i = float(row["input_tokens"])
                o = float(row["output_tokens"])
            except (TypeError, ValueError):
                problems.append(
                    f"{path}:{line}: expected numbers in {', '.join(cols)}, got {[row.get(c) for c in cols]}"
                )
                continue
            if not math.isfinite(a) or not 0 <= a <= MAX_SPAN_S:
                problems.append(
                    f"{path}:{line}: arrival_s must be a time from 0 to {MAX_SPAN_S:.0f} s "
                    f"(one year), got {row['arrival_s']}"
                )
                continue
            if not (math.isfinite(i) and 1 <= i < MAX_TOKENS) or i != int(i):
                problems.append(
                    f"{path}:{line}: input_tokens must be a whole number from 1 to "
                    f"{MAX_TOKENS - 1:,}, got {row['input_tokens']}"
                )
                continue
            if not (math.isfinite(o) and 1 <= o < MAX_TOKENS) or o != int(o):
                problems.append(
                    f"{path}:{line}: output_tokens must be a whole number from 1 to "
                    f"{MAX_TOKENS - 1:,}, got {row['output_tokens']}"
                )
                continue
            rows.append((a, int(i), int(o)))
    if problems:
        raise ServingInputError(f"{len(problems)} bad row(s) in the trace:\n  " + "\n  ".join(problems))
    if not rows:
        raise ServingInputError(f"{path}: the trace has no requests")
    arr = np.array(rows, dtype=float)
    order = np.argsort(arr[:, 0], kind="stable")
    arr = arr[order]
    return Requests(arr[:, 0], arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64))


@dataclass
class Workload:
    """What arrives: a rate profile and length distributions, all at time zero, or a trace.

    ``rate_profile`` is ``constant``, ``diurnal:PERIOD_S,AMPLITUDE`` (rate
    ``r (1 + A sin(2 pi t / P))``) or ``bursty:PERIOD_S,DUTY,FACTOR`` (rate ``r * FACTOR`` for the
    first ``DUTY`` fraction of every period, scaled so the mean stays ``r``).
    """

    rate_per_s: float | None = None
    input_len: LengthDist = field(default_factory=lambda: LengthDist("fixed", (2048,)))
    output_len: LengthDist = field(default_factory=lambda: LengthDist("fixed", (256,)))
    duration_s: float = 600.0
    num_requests: int | None = None
    offline: bool = False
    rate_profile: str = "constant"
    trace: Requests | None = None

    def check(self) -> None:
        """Raise :class:`ServingInputError` for a workload that sends nothing or cannot be drawn."""
        if self.trace is not None:
            return
        if self.offline:
            if not self.num_requests or self.num_requests < 1:
                raise ServingInputError("offline mode needs --num-requests >= 1")
            if self.num_requests > MAX_REQUESTS:
                raise ServingInputError(
                    f"--num-requests {self.num_requests:,} is above the {MAX_REQUESTS:,} one run simulates"
                )
            return
        if self.rate_per_s is None or not self.rate_per_s > 0 or not math.isfinite(self.rate_per_s):
            raise ServingInputError(
                f"arrival rate must be greater than zero requests/s, got {self.rate_per_s}"
            )
        if not 0 < self.duration_s <= MAX_SPAN_S:
            raise ServingInputError(
                f"duration must be greater than zero and at most {MAX_SPAN_S:.0f} s "
                f"(one year), got {self.duration_s}"
            )
        if self.num_requests is not None and self.num_requests < 1:
            raise ServingInputError("--num-requests must be at least 1")
        self._profile()

    def _profile(self):
        kind, _, rest = self.rate_profile.partition(":")
        try:
            p = tuple(float(x) for x in rest.split(",")) if rest else ()
        except ValueError:
            p = None
        if kind == "constant" and not p:
            return lambda t: np.ones_like(t), 1.0
        if kind == "diurnal" and p and len(p) == 2 and p[0] > 0 and 0 <= p[1] <= 1:
            period, amp = p
            return (lambda t: 1.0 + amp * np.sin(2 * np.pi * t / period)), 1.0 + amp
        if kind == "bursty" and p and len(p) == 3 and p[0] > 0 and 0 < p[1] < 1 and p[2] >= 1:
            period, duty, factor = p
            low = (1.0 - duty * factor) / (1.0 - duty)
            if low < 0:
                raise ServingInputError(f"rate profile {self.rate_profile!r}: DUTY x FACTOR must be <= 1")
            return (lambda t: np.where((t % period) < duty * period, factor, low)), factor
        raise ServingInputError(
            f"unknown rate profile {self.rate_profile!r}; valid: constant, "
            "diurnal:PERIOD_S,AMPLITUDE(0-1), bursty:PERIOD_S,DUTY(0-1),FACTOR(>=1)"
        )

    def generate(self, rng: np.random.Generator) -> Requests:
        """Draw the requests (arrival-sorted)."""
        self.check()
        if self.trace is not None:
            return self.trace
        if self.offline:
            n = int(self.num_requests)
            arrival = np.zeros(n)
        else:
            shape, peak = self._profile()
            expected = self.rate_per_s * peak * self.duration_s
            if expected > MAX_REQUESTS and (self.num_requests is None or self.num_requests > MAX_REQUESTS):
                raise ServingInputError(
                    f"--rate x --duration asks for ~{expected:,.0f} requests; one discrete run simulates "
                    f"at most {MAX_REQUESTS:,}: lower --rate or --duration, cap with --num-requests, or "
                    "use --fluid"
                )
            lam = self.rate_per_s * peak
            # homogeneous Poisson at the peak rate, thinned to the profile (Lewis & Shedler 1979)
            n_max = int(lam * self.duration_s + 10 * math.sqrt(lam * self.duration_s) + 10)
            t = np.cumsum(rng.exponential(1.0 / lam, n_max))
            t = t[t < self.duration_s]
            if self.rate_profile != "constant":
                t = t[rng.random(len(t)) < shape(t) / peak]
            if self.num_requests is not None:
                t = t[: self.num_requests]
            arrival = t
            n = len(t)
            if n == 0:
                raise ServingInputError(
                    f"no request arrives in {self.duration_s} s at {self.rate_per_s} "
                    "requests/s; raise --rate or --duration"
                )
        return Requests(arrival, self.input_len.sample(n, rng), self.output_len.sample(n, rng))
