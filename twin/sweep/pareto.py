"""The Pareto front of a sweep's results, and reading a results folder.

:func:`pareto_mask` finds the non-dominated rows of a table of objectives (pure numpy, vectorised:
a sort-based sweep for two objectives, blockwise broadcasting for more). :func:`read_results` reads
what the runner writes (``DIR/results.parquet`` and its copy of the sweep file ``DIR/sweep.yaml``)
and names the sweep's axes and KPIs. :func:`better_high` says whether a KPI is better high
(tokens per dollar, margins) or low (power, PUE, cost, temperature).

The results contract: one row per scenario with the columns ``scenario``, ``key``, one per sweep
axis (named by its field path as the sweep file writes it), one per KPI (named as the KPI, SI
units), ``feasible``, one ``constraint: <text>`` column per constraint, ``status`` (``ok`` or
``failed``), ``error`` and ``wall_s``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from twin.errors import ArgumentError, InputError, Problem

#: The results table's file in a results folder.
RESULTS_FILE = "results.parquet"
#: The copy of the sweep file in a results folder.
SWEEP_FILE = "sweep.yaml"
#: Columns every results table has, besides its axes, KPIs and constraints.
FIXED_COLUMNS = ("scenario", "key", "feasible", "status", "error", "wall_s")
#: Prefix of a constraint's column.
CONSTRAINT_PREFIX = "constraint: "
#: Pairs of rows compared at once in :func:`pareto_mask` (k >= 3): a block costs about twice
#: ``BLOCK_ELEMENTS`` booleans of scratch memory.
BLOCK_ELEMENTS = 2_000_000

#: KPIs whose direction is known by name: ``True`` when higher is better.
KPI_DIRECTIONS: dict[str, bool] = {
    "tokens_per_dollar": True,
    "tokens_per_s": True,
    "tokens_per_joule": True,
    "n_minus_1_survives": True,
    "feasible": True,
    "facility_power_w": False,
    "it_power_w": False,
    "peak_power_w": False,
    "pue": False,
    "wue": False,
    "max_gpu_temp_c": False,
    "max_ambient_c": True,  # the hottest day the plant holds without throttling
    "output_tokens": True,
    "usd_per_million_tokens": False,
    "wall_s": False,
}

#: Name patterns, tried in order after :data:`KPI_DIRECTIONS`: ``(regex, higher is better)``.
KPI_PATTERNS: tuple[tuple[re.Pattern, bool], ...] = tuple((re.compile(p), high) for p, high in (
    (r"(^|_)tokens_per_", True),  # tokens per s, per dollar, per MW, per kWh
    (r"(margin|headroom|growth|survives|throughput|goodput|revenue|profit|attainment|sla_met|slo_met|"
     r"availability|uptime|capacity|_hold$)", True),
    (r"(power|_w$|_mw$|_kw$|pue|wue|cost|usd|price|capex|opex|tco|temp|_c$|_k$|latency|ttft|tpot|"
     r"e2e|throttl|energy|_j$|_wh$|_kwh$|loss|lost|overload|water|carbon|co2|emission|_s$|_seconds$|"
     r"violation)", False),
))


def better_high(name: str, maximise: Mapping[str, bool] | None = None) -> bool:
    """Whether a larger value of KPI ``name`` is better.

    ``maximise`` overrides by name; otherwise :data:`KPI_DIRECTIONS`, then :data:`KPI_PATTERNS`
    (``tokens_per_*``, margins, headroom, growth are better high; power, PUE, cost, temperature,
    latency, energy are better low).

    Raises
    ------
    ArgumentError
        For a name whose direction is not known and not given in ``maximise``.
    """
    if maximise is not None and name in maximise:
        return bool(maximise[name])
    if name in KPI_DIRECTIONS:
        return KPI_DIRECTIONS[name]
    for pattern, high in KPI_PATTERNS:
        if pattern.search(name):
            return high
    raise ArgumentError(f"{name!r}: whether it is better high or low is not known; say which (maximise "
                        f"or minimise it)", field=name)


def _minimised(values, maximise) -> np.ndarray:
    """``values`` as a float (n, k) array in which every column is to be minimised."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ArgumentError(f"values: expected a 2-D array (rows, objectives), got {v.ndim}-D",
                            field="values")
    k = v.shape[1]
    if k < 1:
        raise ArgumentError("values: needs at least one objective (column)", field="values")
    m = np.broadcast_to(np.asarray(maximise, dtype=bool), (k,)) if np.ndim(maximise) == 0 else \
        np.asarray(maximise, dtype=bool)
    if m.shape != (k,):
        raise ArgumentError(f"maximise: one flag per objective ({k}), got {m.size}", field="maximise")
    return np.where(m, -v, v)


def _front_2d(v: np.ndarray) -> np.ndarray:
    """Non-dominated rows of a finite-or-infinite (n, 2) minimisation table: a sort and a running minimum.

    Sorted by (x, y), a row is dominated when a row of the same x has a smaller y, or when some row
    of a smaller x has a y no larger.
    """
    n = len(v)
    order = np.lexsort((v[:, 1], v[:, 0]))
    x, y = v[order, 0], v[order, 1]
    start = np.r_[True, x[1:] != x[:-1]]
    group = np.cumsum(start) - 1
    group_min = y[start]  # the smallest y of each x (sorted by y within x)
    # smallest y of all smaller x (NaN for the first x: no row, and NaN <= y is false even for y = inf)
    before = np.r_[np.nan, np.minimum.accumulate(group_min)[:-1]]
    dominated = (y > group_min[group]) | (before[group] <= y)
    out = np.zeros(n, dtype=bool)
    out[order] = ~dominated
    return out


def _front_blockwise(v: np.ndarray) -> np.ndarray:
    """Non-dominated rows of an (n, k) minimisation table: candidates culled block by block.

    Rows are taken in order of their rank sum (the sum over columns of each value's dense rank in
    its column): a dominating row has a strictly smaller rank sum, so it comes first, and a row
    already taken is never dominated by a later one. Each block of surviving rows removes, in one
    broadcast, every later surviving row it dominates. A row equal to another is not dominated by it.
    """
    n, k = v.shape
    rank_sum = sum(np.unique(v[:, j], return_inverse=True)[1].reshape(n) for j in range(k))
    order = np.argsort(rank_sum, kind="stable")
    cand, rs = v[order], rank_sum[order]
    alive = np.arange(n)  # positions (in ``order``) of the rows not found dominated
    i = 0  # ``alive[:i]`` are on the front (each has been used to cull the rows after it)
    while i < len(alive):
        rest = cand[alive[i:]]
        block = max(1, min(len(rest), BLOCK_ELEMENTS // len(rest)))
        # no worse in every column, and not equal: with ranks no larger, equal rows have equal rank sums
        beaten = rs[alive[i:i + block], None] < rs[None, alive[i:]]
        for j in range(k):
            beaten &= rest[:block, j, None] <= rest[None, :, j]
        kept = ~beaten.any(axis=0)
        # the block's own survivors are final: nothing later can dominate them
        alive = np.concatenate([alive[:i], alive[i:][kept]])
        i += int(np.count_nonzero(kept[:block]))
    out = np.zeros(n, dtype=bool)
    out[order[alive]] = True
    return out


def pareto_mask(values, maximise: Sequence[bool] | bool) -> np.ndarray:
    """The non-dominated rows of ``values`` (n, k): a boolean array of n.

    Row a dominates row b when a is no worse in every column and better in one; a row equal to
    another is therefore not dominated by it (both are on the front). A row with a NaN is never on
    the front (and dominates nothing); infinities compare as numbers. ``maximise`` says, per
    column (or once for all), whether larger is better.

    Two objectives take a sort (n log n); more are culled blockwise (about n times the size of
    the front): 50,000 rows take milliseconds.

    Raises
    ------
    ArgumentError
        If ``values`` is not 2-D with at least one column, or ``maximise`` has not one flag per column.
    """
    v = _minimised(values, maximise)
    n, k = v.shape
    out = np.zeros(n, dtype=bool)
    ok = ~np.isnan(v).any(axis=1)
    if not ok.any():
        return out
    w = v[ok]
    if k == 1:
        front = w[:, 0] == w[:, 0].min()
    elif k == 2:
        front = _front_2d(w)
    else:
        front = _front_blockwise(w)
    out[np.flatnonzero(ok)[front]] = True
    return out


def front_rows(df, x: str, y: str, maximise: Sequence[bool] | None = None) -> np.ndarray:
    """The rows of a results table on the Pareto front of (``x``, ``y``): a boolean array of its rows.

    Only rows that ran (``status`` ``ok``) and hold every constraint (``feasible``) compete; the
    directions default to :func:`better_high` of each column.
    """
    if maximise is None:
        maximise = (better_high(x), better_high(y))
    mask = np.zeros(len(df), dtype=bool)
    eligible = eligible_rows(df)
    if not eligible.any():
        return mask
    vals = np.column_stack([numeric_values(df[c]) for c in (x, y)])[eligible]
    mask[np.flatnonzero(eligible)[pareto_mask(vals, maximise)]] = True
    return mask


def eligible_rows(df) -> np.ndarray:
    """Rows that ran and hold their constraints."""
    ok = df["status"].eq("ok").to_numpy(dtype=bool, copy=True) if "status" in df else \
        np.ones(len(df), dtype=bool)
    if "feasible" in df:
        ok &= df["feasible"].eq(True).to_numpy(dtype=bool)
    return ok


def is_number_column(col) -> bool:
    """Whether a column holds numbers (not booleans, not text)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(col.dtype) and not is_bool_dtype(col.dtype)


def numeric_values(col) -> np.ndarray:
    """A column as floats (booleans as 0/1; anything not a number as NaN)."""
    import pandas as pd

    if not is_number_column(col) and set(col.dropna().unique()) <= {True, False}:
        return col.astype(float).to_numpy(dtype=float)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def constraint_columns(df) -> list[str]:
    """The constraint columns of a results table (``constraint: <text>``), in table order."""
    return [c for c in df.columns if str(c).startswith(CONSTRAINT_PREFIX)]


def _problem(name: str, message: str, line: int | None = None, field: str = "") -> InputError:
    return InputError([Problem(name, line, field, message)])


def _names(spec, key: str, sweep_name: str) -> list[str]:
    """The names under ``key`` of the sweep file: the keys of a mapping, or a list's strings."""
    from twin.layout.yamlio import line_of

    value = spec.get(key)
    line = line_of(spec, (key,))
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    if isinstance(value, list):
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
                out.append(item["name"])
            elif isinstance(item, Mapping) and len(item) == 1:
                out.append(str(next(iter(item))))
            else:
                raise _problem(sweep_name, f"expected a name, got {type(item).__name__}",
                               line_of(spec, (key, i)), f"{key}[{i}]")
        return out
    raise _problem(sweep_name, f"expected a {'mapping of field path -> values' if key == 'axes' else 'list'}"
                   f", got {type(value).__name__ if value is not None else 'nothing'}", line, key)


def read_results(directory: str | Path):
    """The results table of a sweep's results folder, its axes and its KPIs.

    Returns ``(df, axes, kpis)``: the table of ``DIR/results.parquet`` (a file, or a folder of
    Parquet parts), the axis columns (the keys of ``axes:`` in ``DIR/sweep.yaml``, in its order)
    and the KPI columns (its ``kpis:``). ``df.attrs`` holds ``axes``, ``kpis`` and ``name``.

    Raises
    ------
    InputError
        If the folder is missing or not a sweep's results (no results.parquet or sweep.yaml), a
        file cannot be read, or the table lacks a column the contract or the sweep file names.
    """
    import pandas as pd

    from twin.layout.problems import did_you_mean
    from twin.layout.yamlio import load_yaml

    d = Path(directory)
    name = str(directory)
    if not d.is_dir():
        raise _problem(name, "no such folder; expected a sweep's results folder (twin sweep run SPEC "
                             "--out DIR writes one)" if not d.exists() else
                       "is a file; expected a sweep's results folder (holding results.parquet and "
                       "sweep.yaml)")
    table, spec_file = d / RESULTS_FILE, d / SWEEP_FILE
    for f in (table, spec_file):
        if not f.exists():
            raise _problem(name, f"is not a sweep's results folder: it has no {f.name} (twin sweep run "
                                 f"SPEC --out DIR writes results.parquet and sweep.yaml)")
    sweep_name = str(spec_file)
    spec = load_yaml(spec_file, sweep_name)
    if not isinstance(spec, Mapping):
        raise _problem(sweep_name, f"expected a mapping (name, axes, kpis, ...), got "
                                   f"{type(spec).__name__ if spec is not None else 'an empty file'}")
    axes = _names(spec, "axes", sweep_name)
    kpis = _names(spec, "kpis", sweep_name)
    if not table.is_dir() and not table.is_file():
        raise _problem(str(table), "is not a regular file; expected a Parquet table")
    try:
        df = pd.read_parquet(table)
    except Exception as exc:  # pyarrow raises its own kinds (ArrowInvalid, OSError) for a bad file
        raise _problem(str(table), f"cannot be read as a Parquet table: {exc}") from None
    cols = [str(c) for c in df.columns]
    missing = [c for c in (*FIXED_COLUMNS, *axes, *kpis) if c not in cols]
    if missing:
        raise InputError([Problem(str(table), None, c, f"the results have no column {c!r}"
                                  f"{did_you_mean(c, cols)}" + (" (an axis of sweep.yaml)" if c in axes else
                                                               " (a KPI of sweep.yaml)" if c in kpis else ""))
                          for c in missing])
    df.attrs.update(axes=list(axes), kpis=list(kpis), name=str(spec.get("name") or d.name))
    return df, axes, kpis
