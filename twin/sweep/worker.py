"""What a Dask worker runs: a batch of sweep points, each applied to the base file, loaded and run.

The base (its parsed YAML and, for a layout, its catalog) is read once per worker process and
reused by every batch of the same base content. A layout point is the base's parsed mapping with
the point's values set (:func:`twin.sweep.paths.assigned`: only the containers on the axes' paths
are copied), checked and expanded by the layout loader's own steps (the schema, then
:func:`twin.layout.expand.expand` with the cached catalog), exactly as ``load_layout`` checks a
file, its problems naming the base file. A scenario point's values are written into a plain copy of
the base's YAML, saved in a temporary folder (relative paths such as a scenario's ``layout:``,
weather and trace files made absolute against the base's folder) and read back with
:func:`twin.engine.scenario.load_scenario`. A point whose data has problems, or whose run raises,
is returned as failed with its message; it never stops the batch. Workers return rows; the client
alone writes results.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

#: Keys whose string values are files relative to the file that holds them.
PATH_KEYS = frozenset({"catalog", "layout", "csv", "tmy", "trace", "energy_prices", "prices"})

_CACHE: dict[tuple, dict] = {}


def _base(job: dict) -> dict:
    """The base files parsed once per process (and the layout's catalog); checked against the job's digest."""
    files = [Path(job["base"])] + ([Path(job["layout"])] if job["layout"] else [])
    key = (job["base"], job["layout"], job["digest"])
    if key in _CACHE:
        return _CACHE[key]
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
        h.update(b"\0")
    if h.hexdigest() != job["digest"]:
        raise RuntimeError(f"the base file {files[0]} (or its layout) changed since the sweep was read; "
                           "start the sweep again")
    from twin.layout.yamlio import load_yaml
    from twin.sweep.paths import plain

    base = {"data": plain(load_yaml(files[0])),
            "layout_data": plain(load_yaml(files[1])) if len(files) > 1 else None}
    if job["base_kind"] == "layout":
        from twin.layout import load_layout_and_catalog
        from twin.layout.yamlio import load_mapping

        try:
            base["marked"] = load_mapping(files[0], "'name:', 'utility_feeds:' and 'halls:'")[0]
            base["catalog"] = load_layout_and_catalog(files[0])[1]
        except Exception as exc:  # the base itself fails: every point reports it
            base["error"] = _message(exc, {})
    _CACHE.clear()
    _CACHE[key] = base
    return base


def _absolute(node: Any, folder: Path) -> Any:
    """Relative file paths under :data:`PATH_KEYS` made absolute against ``folder`` (where they exist)."""
    def fix(v: Any) -> Any:
        if isinstance(v, str) and v and not os.path.isabs(v) and (folder / v).exists():
            return str((folder / v).resolve())
        return v

    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in PATH_KEYS:
                out[k] = [fix(x) for x in v] if isinstance(v, list) else fix(v) if isinstance(v, str) \
                    else _absolute(v, folder)
            else:
                out[k] = _absolute(v, folder)
        return out
    if isinstance(node, list):
        return [_absolute(v, folder) for v in node]
    return node


def _write(data: Any, path: Path) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@contextlib.contextmanager
def _allow(folders: list[str]):
    """``TWIN_ALLOW_CATALOG`` extended by ``folders`` while loading (a modified layout's own catalog)."""
    old = os.environ.get("TWIN_ALLOW_CATALOG")
    if folders:
        given = old.split(os.pathsep) if old else []
        os.environ["TWIN_ALLOW_CATALOG"] = os.pathsep.join([*given, *folders])
    try:
        yield
    finally:
        if folders:
            if old is None:
                os.environ.pop("TWIN_ALLOW_CATALOG", None)
            else:
                os.environ["TWIN_ALLOW_CATALOG"] = old


def _message(exc: BaseException, names: dict[str, str]) -> str:
    """An error as text; the temporary files' names replaced by the base files' (their lines dropped)."""
    from twin.errors import InputError, Problem

    if isinstance(exc, InputError):
        lines = []
        for p in exc.problems:
            if p.file in names:
                p = Problem(names[p.file], None, p.field, p.message)
            lines.append(str(p))
        return "\n".join(lines)
    text = str(exc) or type(exc).__name__
    for tmp, name in names.items():
        text = text.replace(tmp, name)
    from twin.errors import TwinError

    return text if isinstance(exc, TwinError) else f"{type(exc).__name__}: {text}"


def _layout_point(job: dict, base: dict, assignments: list):
    """The steady result of one layout point: the base's mapping with its values, checked, expanded, run."""
    from twin.engine.steady import evaluate
    from twin.errors import InputError
    from twin.layout.expand import expand
    from twin.layout.problems import validate_marked
    from twin.layout.schema import Layout
    from twin.sweep.paths import assigned

    data = assigned(base["marked"], [(tuple(loc), value) for _, loc, value in assignments])
    file = job["base"]
    factory, problems = expand(validate_marked(Layout, data, file), base["catalog"], file, data)
    if problems:
        raise InputError(problems)
    opts = job.get("options") or {}
    return evaluate(factory, opts.get("utilisation", 1.0), with_n_minus_1=opts.get("n_minus_1", True),
                    ambient_c=opts.get("ambient_c"))


def _one(job: dict, base: dict, assignments: list, folder: Path) -> tuple[dict, bytes | None]:
    """KPIs of one point, and its step table as Parquet bytes when the sweep keeps time series.

    Raises what loading or running the point raises.
    """
    from twin.sweep.kpis import compute
    from twin.sweep.paths import assign

    if job["base_kind"] == "layout":
        return compute(job["kpis"], "layout", _layout_point(job, base, assignments)), None
    if job["base_kind"] == "grid":
        from twin.grid import simulate as grid_simulate

        data = copy.deepcopy(base["data"])
        for _, loc, value in assignments:
            assign(data, tuple(loc), copy.deepcopy(value))
        base_path = Path(job["base"])
        f = _write(_absolute(data, base_path.parent), folder / base_path.name)
        return compute(job["kpis"], "grid", grid_simulate(f)), None
    from twin.engine.costs import scenario_prices
    from twin.engine.coupled import simulate, steady_point, with_costs
    from twin.engine.scenario import load_scenario

    data = copy.deepcopy(base["data"])
    layout = copy.deepcopy(base["layout_data"]) if any(t == "layout" for t, _, _ in assignments) else None
    for target, loc, value in assignments:
        assign(layout if target == "layout" else data, tuple(loc), copy.deepcopy(value))
    base_path = Path(job["base"])
    layout_path = Path(job["layout"])
    allow: list[str] = []
    if layout is not None:
        layout = _absolute(layout, layout_path.parent)
        allow = [c for c in layout.get("catalog", []) if isinstance(c, str)]
        data["layout"] = str(_write(layout, folder / f"layout-{layout_path.name}"))
    else:
        data["layout"] = str(layout_path)
    f = _write(_absolute(data, base_path.parent), folder / base_path.name)
    with _allow(allow):
        prepared = load_scenario(f)
    prices = scenario_prices(prepared.scenario)
    series = None
    if job["run"] == "simulate":
        result = simulate(prepared, prices=prices)
        if job.get("timeseries"):
            import io

            buf = io.BytesIO()
            result.steps_table().to_parquet(buf, index=False)
            series = buf.getvalue()
    else:
        result = with_costs(steady_point(prepared), prepared, prices)
    return compute(job["kpis"], job["base_kind"], result), series


def run_batch(job: dict, points: list) -> list[dict]:
    """Run ``points`` (``(key, [(target, loc, value), ...])`` each) of a sweep; one result dict per point.

    Each result has ``key``, ``status`` (``"ok"`` or ``"failed"``), ``error`` (``""`` when ok),
    ``kpis`` (name -> value; empty when failed) and ``wall_s`` (loading and running the point). [s]
    """
    out = []
    try:
        base = _base(job)
    except Exception as exc:
        return [{"key": k, "status": "failed", "error": _message(exc, {}), "kpis": {}, "wall_s": 0.0}
                for k, _ in points]
    with tempfile.TemporaryDirectory(prefix="twin-sweep-") as tmp:
        folder = Path(tmp)
        names = {str(folder / Path(job["base"]).name): Path(job["base"]).name,
                 job["base"]: Path(job["base"]).name}
        if job["layout"]:
            names[str(folder / f"layout-{Path(job['layout']).name}")] = Path(job["layout"]).name
        for key, assignments in points:
            t0 = time.perf_counter()
            series = None
            try:
                if "error" in base:
                    kpis, status, error = {}, "failed", base["error"]
                else:
                    (kpis, series), status, error = _one(job, base, assignments, folder), "ok", ""
            except Exception as exc:  # a point that raises is recorded, never stops the sweep
                kpis, status, error = {}, "failed", _message(exc, names)
            out.append({"key": key, "status": status, "error": error, "kpis": kpis,
                        "wall_s": time.perf_counter() - t0})
            if series is not None:
                out[-1]["series"] = series
    return out
