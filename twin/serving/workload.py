"""Request generators: arrivals (Poisson, diurnal or bursty rate, offline, CSV trace) and lengths.

Everything random draws from an explicit ``numpy.random.Generator`` (no global RNG). A workload
turns into :class:`Requests`: struct-of-arrays sorted by arrival time.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.serving.specs import ServingInputError

if TYPE_CHECKING:
    from twin.serving.specs import ModelSpec

#: length distributions: name -> parameters ``--input-tokens NAME:P1,P2`` takes
LENGTH_KINDS: dict[str, str] = {
    "fixed": "N",
    "normal": "MEAN,STD[,MAX] (truncated at 1)",
    "uniform": "LO,HI (inclusive)",
    "lognormal": "MEAN,STD[,MAX] of the lengths themselves",
    "exponential": "MEAN[,MAX]",
}
#: parameters each length distribution needs; the unbounded ones take an optional MAX after them
_LENGTH_PARAMS: dict[str, int] = {"fixed": 1, "normal": 2, "uniform": 2, "lognormal": 2, "exponential": 1}
_UNBOUNDED = ("normal", "lognormal", "exponential")


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
    def upper(self) -> int | None:
        """Largest length a draw can take [tokens]: N, HI or ``max_len``; None for an unbounded tail."""
        p = self.params
        hi = {"fixed": max(int(np.rint(p[0])), 1), "uniform": max(int(p[-1]), 1)}.get(self.kind)
        if self.max_len:
            hi = self.max_len if hi is None else min(hi, self.max_len)
        return hi

    def __str__(self) -> str:
        """As ``--input-tokens`` takes it (``lognormal:294,294,1024``); a cap it has no form for in words."""
        text = f"{self.kind}:{','.join(f'{x:g}' for x in self.params)}"
        if self.max_len and self.kind in _UNBOUNDED:
            return f"{text},{self.max_len}"
        return text + (f" (at most {self.max_len})" if self.max_len else "")

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
    """``"2048"``, ``"normal:1147,400"``, ``"uniform:800,1000"``, ``"lognormal:1147,1000"``.

    normal, lognormal and exponential have no upper bound; a third (second for exponential) number
    clips their draws: ``"lognormal:294,294,1024"`` never exceeds 1024 tokens.
    """
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
    need = _LENGTH_PARAMS.get(kind)
    if need is None:
        raise ServingInputError(
            f"{what} tokens {text!r}: unknown distribution {kind!r}; valid: {', '.join(LENGTH_KINDS)}"
        )
    takes = (need, need + 1) if kind in _UNBOUNDED else (need,)
    if len(params) not in takes or any(not (0 < p < MAX_TOKENS) for p in params):
        raise ServingInputError(
            f"{what} tokens {text!r}: {kind} takes {LENGTH_KINDS[kind]}, all > 0 and below {MAX_TOKENS:,}"
        )
    if kind == "fixed" and (params[0] != int(params[0]) or params[0] < 1):
        raise ServingInputError(f"{what} tokens {text!r}: a fixed length is a whole number of tokens >= 1, "
                                f"got {params[0]:g}")
    if kind == "uniform" and params[1] < params[0]:
        raise ServingInputError(f"{what} tokens {text!r}: uniform needs LO <= HI")
    if len(params) > need:
        cap = params[-1]
        if cap != int(cap):
            raise ServingInputError(f"{what} tokens {text!r}: MAX must be a whole number, got {cap:g}")
        return LengthDist(kind, params[:need], int(cap))
    return LengthDist(kind, params)


@dataclass
class Requests:
    """Requests as arrays, sorted by arrival: arrival time [s], prompt and output lengths [tokens].

    The optional fields say where the requests came from, for :meth:`check_context`: the length
    distributions they were drawn from, or the trace file and the CSV line of each request.
    """

    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    #: distributions the lengths were drawn from (None: given, e.g. a trace)
    input_dist: LengthDist | None = None
    output_dist: LengthDist | None = None
    #: trace file the requests were read from, and the CSV line of each request
    source: str | None = None
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.arrival_s)

    def check_context(self, model: ModelSpec) -> None:
        """Raise :class:`ServingInputError` if a request needs more than ``model.max_context`` tokens.

        A request holds its prompt and every output token in the context, so it needs
        ``input + output`` tokens. Lengths drawn from bounded distributions (fixed, uniform, or
        clipped with a MAX) are judged by the largest the distributions can give, so the verdict does
        not depend on the seed; otherwise each request is checked, and a trace names its first
        offending row. A model whose context is unknown (0) is not checked.
        """
        ctx = model.max_context
        if not ctx or not len(self):
            return
        bounds = [d.upper if d is not None else None for d in (self.input_dist, self.output_dist)]
        if None not in bounds:
            _context_bound_error(model, *bounds, self.input_dist, self.output_dist)
            return
        total = self.input_tokens + self.output_tokens
        bad = np.flatnonzero(total > ctx)
        if not len(bad):
            return
        worst = int(np.argmax(total))
        largest = (f"the largest asks {int(self.input_tokens[worst]):,} input + "
                   f"{int(self.output_tokens[worst]):,} output = {int(total[worst]):,} tokens")
        head = (f"{model.name} takes at most {ctx:,} tokens per request (input + output, its context), "
                f"but {len(bad):,} of {len(self):,} requests need more")
        if self.lines is not None:
            first = int(bad[np.argmin(self.lines[bad])])
            raise ServingInputError(
                f"{head}; the first is {self.source}:{int(self.lines[first])} with "
                f"{int(self.input_tokens[first]):,} input + {int(self.output_tokens[first]):,} output = "
                f"{int(total[first]):,} tokens; {largest}"
            )
        unbounded = [f"{what} {d}" for what, d in (("input", self.input_dist), ("output", self.output_dist))
                     if d is not None and d.upper is None]
        fix = (f": {' and '.join(unbounded)} {'has' if len(unbounded) == 1 else 'have'} no upper bound; "
               "give a MAX (e.g. lognormal:MEAN,STD,MAX) so that input + output stays within "
               f"{ctx:,}") if unbounded else ""
        raise ServingInputError(f"{head} ({largest}){fix}")


def _context_bound_error(model: ModelSpec, n_in: float, n_out: float, d_in: LengthDist, d_out: LengthDist,
                         what: str = "largest") -> None:
    """Raise if ``n_in + n_out`` (the largest or mean request of a workload) exceeds the context."""
    ctx = model.max_context
    if n_in + n_out <= ctx:
        return
    raise ServingInputError(
        f"{model.name} takes at most {ctx:,} tokens per request (input + output, its context), but the "
        f"{what} request asks {n_in:,.0f} input ({d_in}) + {n_out:,.0f} output ({d_out}) = "
        f"{n_in + n_out:,.0f} tokens; lower the input or output tokens"
    )


#: Largest trace file read (~2.5 million requests). [bytes]
MAX_TRACE_BYTES = 64 * 2**20
#: Bad rows of a trace listed in one message.
MAX_LISTED_ROWS = 50


def read_trace(path: str | Path) -> Requests:
    """Read a CSV trace with columns ``arrival_s,input_tokens,output_tokens`` (header required).

    Raises
    ------
    ServingInputError
        Listing every bad row as ``file:line: message`` (missing columns, non-numbers, negative
        times, lengths below 1).
    """
    from twin.errors import InputError
    from twin.inputs import read_text

    path = Path(path)
    if path.is_dir():
        raise ServingInputError(f"{path}: is a folder; expected a CSV trace file")
    cols = ("arrival_s", "input_tokens", "output_tokens")
    problems: list[str] = []
    rows: list[tuple[float, int, int, int]] = []
    try:  # a BOM (spreadsheets write one) is fine; binary, UTF-16 and oversized files are refused
        text = read_text(path, max_bytes=MAX_TRACE_BYTES, what=f"a CSV trace ({', '.join(cols)})")
    except InputError as exc:
        p = exc.problems[0]
        where = f"{p.file}:{p.line}" if p.line else p.file
        raise ServingInputError(f"{where}: {p.message}" if "not found" not in p.message
                                else f"{path}: trace file not found") from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            names = reader.fieldnames
        except csv.Error as exc:
            raise ServingInputError(f"{path}:1: not a CSV header: {exc}") from None
        if names is None or any(c not in names for c in cols):
            got = ", ".join(n[:40] for n in (names or [])[:10])
            raise ServingInputError(f"{path}:1: header must name the columns {', '.join(cols)}; got {got}")
        rows_iter = iter(reader)
        while True:
            try:
                row = next(rows_iter)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
                raise ServingInputError(f"{path}:{reader.line_num}: not a CSV row: {exc}") from None
            if len(problems) > MAX_LISTED_ROWS:
                break
            line = reader.line_num
            try:
                a = float(row["arrival_s"])
                i = float(row["input_tokens"])
                o = float(row["output_tokens"])
            except (TypeError, ValueError):
                got = [str(row.get(c))[:40] for c in cols]
                problems.append(f"{path}:{line}: expected numbers in {', '.join(cols)}, got {got}")
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
            rows.append((a, int(i), int(o), line))
    if problems:
        shown = problems[:MAX_LISTED_ROWS]
        more = " (the first ones; more follow)" if len(problems) > MAX_LISTED_ROWS else ""
        raise ServingInputError(f"{len(shown)} bad row(s) in the trace{more}:\n  " + "\n  ".join(shown))
    if not rows:
        raise ServingInputError(f"{path}: the trace has no requests")
    arr = np.array(rows, dtype=float)
    order = np.argsort(arr[:, 0], kind="stable")
    arr = arr[order]
    return Requests(arr[:, 0], arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64), source=str(path),
                    lines=arr[:, 3].astype(np.int64))


#: rate profiles: name -> its parameters, each (name, what it must be, test)
RATE_PROFILES: dict[str, tuple[tuple[str, str, Callable[[float], bool]], ...]] = {
    "constant": (),
    "diurnal": (
        ("PERIOD_S", "> 0 s (a finite number)", lambda v: 0 < v < math.inf),
        ("AMPLITUDE", "from 0 to 1 (the rate swings between (1 - A) and (1 + A) times the mean)",
         lambda v: 0 <= v <= 1),
    ),
    "bursty": (
        ("PERIOD_S", "> 0 s (a finite number)", lambda v: 0 < v < math.inf),
        ("DUTY", "a fraction of the period strictly between 0 and 1", lambda v: 0 < v < 1),
        ("FACTOR", "a burst rate >= 1 times the mean", lambda v: 1 <= v < math.inf),
    ),
}


def _profile_forms() -> str:
    return ", ".join(f"{k}:{','.join(n for n, _, _ in s)}" if s else k for k, s in RATE_PROFILES.items())


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
                raise ServingInputError("offline mode needs `workload.num_requests` >= 1",
                                        field="workload.num_requests")
            if self.num_requests > MAX_REQUESTS:
                raise ServingInputError(
                    f"`workload.num_requests` {self.num_requests:,} is above the {MAX_REQUESTS:,} one run "
                    "simulates", field="workload.num_requests")
            return
        if self.rate_per_s is None or not self.rate_per_s > 0 or not math.isfinite(self.rate_per_s):
            raise ServingInputError(
                "arrival rate `workload.rate_per_s` must be greater than zero requests/s, got "
                f"{self.rate_per_s}",
                field="workload.rate_per_s")
        if not 0 < self.duration_s <= MAX_SPAN_S:
            raise ServingInputError(
                f"`workload.duration_s` must be greater than zero and at most {MAX_SPAN_S:.0f} s "
                f"(one year), got {self.duration_s}", field="workload.duration_s")
        if self.num_requests is not None and self.num_requests < 1:
            raise ServingInputError("`workload.num_requests` must be at least 1",
                                    field="workload.num_requests")
        self._profile()

    def check_context(self, model: ModelSpec) -> None:
        """Raise :class:`ServingInputError` if requests would need more than ``model.max_context`` tokens.

        Before simulation: every row of a trace; the largest request bounded length distributions
        can give (fixed N, uniform HI, or a MAX); the mean request where a distribution has no upper
        bound (the discrete simulation checks each drawn request again, see
        :meth:`Requests.check_context`). A model whose context is unknown (0) is not checked.
        """
        if not model.max_context:
            return
        if self.trace is not None:
            self.trace.check_context(model)
            return
        i_hi, o_hi = self.input_len.upper, self.output_len.upper
        if i_hi is not None and o_hi is not None:
            _context_bound_error(model, i_hi, o_hi, self.input_len, self.output_len)
        else:
            _context_bound_error(model, self.input_len.mean, self.output_len.mean, self.input_len,
                                 self.output_len, what="mean")

    def _profile(self):
        """``(shape(t), peak)``: the rate is ``rate_per_s * shape(t)``, at most ``rate_per_s * peak``."""
        text = self.rate_profile
        kind, _, rest = text.strip().partition(":")
        kind = kind.strip()
        if kind not in RATE_PROFILES:
            raise ServingInputError(
                f"unknown rate profile {kind!r}" + (f" in {text!r}" if rest else "")
                + f"; valid: {_profile_forms()}"
            )
        spec = RATE_PROFILES[kind]
        words = [w.strip() for w in rest.split(",")] if rest.strip() else []
        form = ",".join(name for name, _, _ in spec)
        if len(words) != len(spec):
            takes = f"{len(spec)} numbers, {kind}:{form}" if spec else "no parameters"
            raise ServingInputError(
                f"rate profile {text!r}: {kind} takes {takes}; got {len(words)} ({rest.strip()!r})"
            )
        p, problems = [], []
        for w, (name, expect, ok) in zip(words, spec, strict=True):
            try:
                v = float(w)
            except ValueError:
                v = math.nan
            if not ok(v):
                problems.append(f"{name} must be {expect}, got {w or 'nothing'}")
            p.append(v)
        if problems:
            raise ServingInputError(f"rate profile {text!r}: {kind}: " + "; ".join(problems))
        if kind == "constant":
            return lambda t: np.ones_like(t), 1.0
        if kind == "diurnal":
            period, amp = p
            return (lambda t: 1.0 + amp * np.sin(2 * np.pi * t / period)), 1.0 + amp
        period, duty, factor = p
        if duty * factor > 1:
            raise ServingInputError(
                f"rate profile {text!r}: bursty: DUTY x FACTOR must be <= 1 (the burst alone would carry "
                f"more than the mean rate), got {words[1]} x {words[2]} = {duty * factor:g}"
            )
        low = (1.0 - duty * factor) / (1.0 - duty)
        return (lambda t: np.where((t % period) < duty * period, factor, low)), factor

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
                    f"`workload.rate_per_s` x `workload.duration_s` asks for ~{expected:,.0f} requests; one "
                    f"discrete run simulates at most {MAX_REQUESTS:,}: lower `workload.rate_per_s` or "
                    "`workload.duration_s`, cap with `workload.num_requests`, or use the fluid mode "
                    "(`fluid`)",
                    field="workload.rate_per_s")
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
                    "requests/s; raise `workload.rate_per_s` or `workload.duration_s`",
                    field="workload.rate_per_s")
        return Requests(arrival, self.input_len.sample(n, rng), self.output_len.sample(n, rng),
                        input_dist=self.input_len, output_dist=self.output_len)
