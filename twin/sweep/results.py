"""The results of a sweep on disk: one Parquet part per finished scenario, one table rebuilt from them.

The contract (docs/sweeps.md, relied on by plots): ``DIR/results.parquet`` has one row per scenario
and the columns, in this order,

- ``scenario`` (int): its index in the sweep's order;
- ``key`` (str): hex sha256 of its resolved inputs and the base files' content;
- one column per axis, named by its path exactly as written in the sweep file (SI floats for
  quantities, else the value as given; lists and mappings as JSON text);
- one column per KPI, named as the KPI (SI; yes/no KPIs as nullable booleans);
- ``feasible`` (bool): every constraint holds; then one bool column per constraint,
  ``constraint: <text>``;
- ``status`` (``"ok"`` | ``"failed"``), ``error`` (str, empty when ok), ``wall_s`` (float, seconds
  to load and run the scenario).

Each finished task's scenarios are written as one part (a temporary name, then ``os.replace``: a
kill never leaves half a file): ``DIR/parts/<key>.parquet`` for a task of one scenario,
``DIR/parts/b-<first key>-<n>.parquet`` for a batch of ``n`` (its ``key`` column says which). A
scenario is done when a part holds its key. Only the client writes. ``DIR/sweep.yaml`` is a
copy of the sweep file and ``DIR/keys.json`` its keys in order; a different sweep is refused in the
same folder unless its keys are the same.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from twin.errors import TwinError

#: The table's file name inside the sweep's folder.
RESULTS = "results.parquet"


class SweepDirError(TwinError):
    """The output folder holds something else than this sweep's results."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary name and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def prepare_dir(out: Path, sweep) -> None:
    """Make ``out`` ready for ``sweep``: new, or holding the same sweep (same keys); else refuse.

    Raises
    ------
    SweepDirError
        When ``out`` is a file, holds other files than a sweep's, or another sweep's results.
    """
    keys = [p.key for p in sweep.points]
    if out.exists() and not out.is_dir():
        raise SweepDirError(f"--out {out} is a file; expected a folder for the sweep's results")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "sweep.yaml").is_file() or not (out / "keys.json").is_file():
            raise SweepDirError(f"{out} is not empty and holds no sweep (no sweep.yaml and keys.json); "
                                "write the results to a new or empty folder")
        try:
            old = json.loads((out / "keys.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SweepDirError(f"{out / 'keys.json'} cannot be read ({exc}); delete {out} to start again") \
                from None
        if old != keys:
            differ = len(set(keys) - set(old))
            raise SweepDirError(
                f"{out} holds the results of another sweep: {differ} of this sweep's {len(keys)} scenarios "
                f"are not in it ({sweep.file} differs from {out / 'sweep.yaml'} in what it computes); "
                f"write to another --out folder, or delete {out} to start again")
    (out / "parts").mkdir(parents=True, exist_ok=True)
    atomic_write(out / "sweep.yaml", sweep.text.encode("utf-8"))
    atomic_write(out / "keys.json", json.dumps(keys).encode())
    for stale in (out / "parts").glob(".*.tmp"):  # a run killed while writing a part
        stale.unlink(missing_ok=True)


#: File-name prefix of a part holding several scenarios.
BATCH_PREFIX = "b-"


def _part_files(out: Path) -> tuple[list[Path], list[Path]]:
    """(one-scenario parts, batch parts) in ``out/parts``."""
    single, batch = [], []
    for p in sorted((out / "parts").glob("*.parquet")):
        (batch if p.name.startswith(BATCH_PREFIX) else single).append(p)
    return single, batch


def done_keys(out: Path) -> set[str]:
    """Keys of the scenarios already written in ``out/parts``."""
    import pyarrow.parquet as pq

    single, batch = _part_files(out)
    keys = {p.name.removesuffix(".parquet") for p in single}
    for p in batch:
        keys.update(pq.read_table(p, columns=["key"]).column("key").to_pylist())
    return keys


def columns(sweep) -> list[str]:
    """The table's columns in order (see the module notes)."""
    return (["scenario", "key", *(a.column for a in sweep.axes), *sweep.kpis, "feasible",
             *(c.column for c in sweep.constraints), "status", "error", "wall_s"])


def row(sweep, point, result: dict) -> dict[str, Any]:
    """One table row from a worker's result for ``point``."""
    kpis = result["kpis"]
    holds = {c.column: result["status"] == "ok" and c.holds(kpis) for c in sweep.constraints}
    out: dict[str, Any] = {"scenario": point.index, "key": point.key}
    out |= {a.column: sweep.columns[a.column][point.index] for a in sweep.axes}
    out |= {k: kpis.get(k) for k in sweep.kpis}
    out["feasible"] = result["status"] == "ok" and all(holds.values())
    out |= holds
    out |= {"status": result["status"], "error": result["error"], "wall_s": float(result["wall_s"])}
    return out


def _frame(sweep, rows: list[dict]):
    """Rows as a DataFrame with the contract's column types."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=columns(sweep))
    df["scenario"] = df["scenario"].astype("int64")
    df["key"] = df["key"].astype(object)
    for a in sweep.axes:
        values = sweep.columns[a.column]
        if all(isinstance(v, float | int) and not isinstance(v, bool) for v in values):
            kind = "int64" if all(isinstance(v, int) for v in values) else "float64"
            df[a.column] = df[a.column].astype(kind)
        elif all(isinstance(v, bool) for v in values):
            df[a.column] = df[a.column].astype(bool)
        else:
            df[a.column] = df[a.column].map(lambda v: v if isinstance(v, str) else json.dumps(v))
    for name, kpi in sweep.kpi_specs.items():
        if kpi.dtype == "bool":
            df[name] = df[name].astype("boolean")
        elif kpi.dtype == "str":
            df[name] = df[name].astype(object)
        else:
            df[name] = pd.to_numeric(df[name].map(lambda v: math.nan if v is None else v)).astype("float64")
    for c in ["feasible", *(c.column for c in sweep.constraints)]:
        df[c] = df[c].astype(bool)
    df["wall_s"] = df["wall_s"].astype("float64")
    return df


def write_series(out: Path, results: list[dict]) -> None:
    """Write the step tables the results carry as ``timeseries/<key>.parquet`` (atomically).

    Takes them out of the results; called before the results' part is written, so a row never
    lacks its series.
    """
    for r in results:
        data = r.pop("series", None)
        if data is not None:
            folder = out / "timeseries"
            folder.mkdir(exist_ok=True)
            atomic_write(folder / f"{r['key']}.parquet", data)


def write_part(out: Path, sweep, point, result: dict) -> None:
    """Write the finished scenario ``point`` as ``parts/<key>.parquet`` (atomically)."""
    write_parts(out, sweep, [(point, result)])


def write_parts(out: Path, sweep, finished: list) -> None:
    """Write finished ``(point, result)`` pairs as one part (atomically; see the module notes)."""
    if not finished:
        return
    df = _frame(sweep, [row(sweep, p, r) for p, r in finished])
    first = finished[0][0].key
    name = f"{first}.parquet" if len(finished) == 1 else f"{BATCH_PREFIX}{first}-{len(finished)}.parquet"
    path = out / "parts" / name
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def records(out: Path, wanted: set[str]) -> dict[str, dict]:
    """The rows the parts hold for the keys of ``wanted``: key -> row (the keys without a part left out)."""
    import pyarrow.parquet as pq

    single, batch = _part_files(out)
    cache: dict[str, dict] = {}
    for f in single:
        if f.name.removesuffix(".parquet") in wanted:
            for rec in pq.read_table(f).to_pylist():
                cache[rec["key"]] = rec
    for f in batch:
        for rec in pq.read_table(f).to_pylist():
            if rec["key"] in wanted:
                cache.setdefault(rec["key"], rec)
    return cache


def assemble(out: Path, sweep):
    """Rebuild ``results.parquet`` from the parts of ``sweep``'s scenarios (those finished), in order.

    A scenario whose inputs equal an earlier one's (the same key) gets that part's figures. Returns
    the table as read back from the file.
    """
    cache = records(out, {p.key for p in sweep.points})
    rows = []
    for p in sweep.points:
        if p.key not in cache:
            continue
        rec = dict(cache[p.key])
        rec["scenario"] = p.index
        rec |= {a.column: sweep.columns[a.column][p.index] for a in sweep.axes}
        rows.append(rec)
    return write_table(out, sweep, rows)


def write_table(out: Path, sweep, rows: list[dict]):
    """Write ``rows`` (in ``sweep.points``' order) as ``results.parquet``; returns the table read back."""
    import pandas as pd

    df = _frame(sweep, rows)
    tmp = out / f".{RESULTS}.{os.getpid()}.tmp"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, out / RESULTS)
    return pd.read_parquet(out / RESULTS)  # exactly what the file holds (its column types)
