"""Sweep files (``sweeps/*.yaml``): a base layout or scenario, axes over its fields, KPIs and constraints.

Read through the same safe YAML reader as every input (:func:`twin.layout.yamlio.load_mapping`) and
checked with a pydantic schema; every problem is reported at once as ``file:line: field: message``
(:class:`~twin.errors.InputError`). :func:`load_sweep` also resolves each axis path against the base
file (a path that is not there is an error with a did-you-mean), learns from the base which axes
are quantities (``30 degC``: checked for the right dimension here, stored as SI floats) and
computes the points of the sweep, each with its key: the sha256 of its resolved inputs and the base
files' content (the resume key of :mod:`twin.sweep.results`). See docs/sweeps.md.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from twin.errors import ArgumentError, InputError, Problem, UnitError
from twin.layout.fields import Strict, bounded
from twin.layout.problems import did_you_mean, validate_marked
from twin.layout.yamlio import MarkedDict, MarkedList, line_of, load_mapping
from twin.sweep.kpis import Kpi, registry
from twin.sweep.paths import PathError, expand, parse_path, plain, value_at
from twin.units import KINDS, parse

#: Most points one sweep may hold.
MAX_POINTS = 1_000_000
#: Version of the key recipe (bump when what a key covers changes).
KEY_VERSION = 1


class SampleSpec(Strict):
    """How the points are drawn from the axes."""

    method: Literal["grid", "list", "random", "lhs"] = "grid"
    n: bounded(MAX_POINTS, "the points a sweep may hold") | None = None


#: Samplers of ``optimise:`` (Optuna's).
SAMPLERS = ("tpe", "random", "grid", "nsga2")
#: Trials of ``twin sweep optimise`` when neither the file nor the command says.
DEFAULT_TRIALS = 40
#: Objective of a scenario base when ``optimise:`` names none.
DEFAULT_SCENARIO_OBJECTIVE = "tokens_per_dollar"


class OptimiseSpec(Strict):
    """The ``optimise:`` block: what ``twin sweep optimise`` searches for, and how."""

    objective: str | None = None
    direction: Literal["maximise", "minimise"] | None = None
    trials: bounded(100_000, "the trials a study may run") | None = None
    sampler: Literal["tpe", "random", "grid", "nsga2"] = "tpe"
    pareto: str | None = None  # a second KPI: the Pareto set (and nsga2's second objective)


class SweepFile(Strict):
    """Schema of a sweep file."""

    name: str = Field(min_length=1)
    description: str = ""
    base: str = Field(min_length=1)
    run: Literal["steady", "simulate"] = "steady"
    seed: bounded(2**32 - 1, "the largest seed", lo=0) = 0
    axes: dict[str, Any] = Field(min_length=1)
    sample: SampleSpec = SampleSpec()
    kpis: list[str] = Field(min_length=1)
    constraints: list[str] = Field(default_factory=list)
    n_minus_1: bool = True  # layout bases: both N-1 analyses at every point
    utilisation: float | None = Field(default=None, ge=0.0, le=1.0)  # layout bases [-]
    ambient: str | float | None = None  # layout bases: the dry bulb instead of the design ambient
    optimise: OptimiseSpec | None = None
    timeseries: bool = False  # run: simulate: keep every scenario's step table in DIR/timeseries/


#: KPIs that only an evaluation with its N-1 analyses has.
N_MINUS_1_KPIS = ("n_minus_1_survives", "cooling_n_minus_1_survives")


@dataclass(frozen=True)
class Optimise:
    """The checked ``optimise:`` block (see :mod:`twin.sweep.search`)."""

    objective: str
    maximise: bool
    trials: int
    sampler: str
    pareto: str | None
    line: int | None

    @property
    def direction(self) -> str:
        """``"maximise"`` or ``"minimise"``."""
        return "maximise" if self.maximise else "minimise"


@dataclass(frozen=True)
class Axis:
    """One axis: its path as written, where it applies, and its values or range."""

    path: str
    target: str  # "base", or "layout" (a scenario's layout file)
    locs: tuple[tuple, ...]  # concrete locations in the target file
    kind: str | None  # twin.units kind of a quantity field, else None
    line: int | None
    values: tuple = ()  # grid / list / choices: the values as written
    low: float | None = None  # random / lhs range, SI when a quantity
    high: float | None = None
    integer: bool = False  # a whole-number range

    @property
    def column(self) -> str:
        """Its column in the results table: the path exactly as written."""
        return self.path

    def si(self, value: Any) -> Any:
        """The value in the results table: SI float for a quantity, else as given (containers as JSON)."""
        if self.kind is not None:
            return float(value) if isinstance(value, float | int) and not isinstance(value, bool) \
                else parse(value, self.kind)
        if isinstance(value, dict | list):
            return json.dumps(value, sort_keys=True)
        return value

    def written(self, si_value: float) -> Any:
        """A sampled SI value as written into the base file (with its SI unit for a quantity)."""
        if self.integer:
            return int(si_value)
        if self.kind is None or self.kind == "fraction":
            return float(si_value)
        return f"{float(si_value)!r} {KINDS[self.kind][0]}"


@dataclass(frozen=True)
class Constraint:
    """``<kpi> <op> <threshold>``, or a bare boolean KPI."""

    text: str
    kpi: str
    op: str
    threshold: Any

    @property
    def column(self) -> str:
        """Its column in the results table."""
        return f"constraint: {self.text}"

    def holds(self, kpis: dict) -> bool:
        """True when the KPI value meets it (a missing value never does)."""
        v = kpis.get(self.kpi)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return False
        return bool(_OPS[self.op](v, self.threshold))


_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
        "is": lambda a, b: bool(a) is b}
_CONSTRAINT = re.compile(r"\s*(not\s+)?([A-Za-z_]\w*)\s*(?:(<=|>=|==|!=|<|>)\s*(.+?))?\s*")


@dataclass(frozen=True)
class Point:
    """One scenario of the sweep: its index, the values written per axis, its key."""

    index: int
    written: tuple
    key: str


@dataclass(frozen=True)
class Sweep:
    """A checked sweep file with its points (from :func:`load_sweep`)."""

    name: str
    file: str
    text: str
    base: Path
    base_kind: str  # "layout" or "scenario"
    layout: Path | None  # a scenario base's layout file
    run: str
    seed: int
    method: str
    axes: tuple[Axis, ...]
    kpis: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    points: tuple[Point, ...]
    base_digest: str
    columns: dict[str, Any] = field(default_factory=dict)  # axis column -> tuple of values per point
    key_inputs: dict = field(default_factory=dict)  # what every key covers besides the point's values
    options: dict = field(default_factory=dict)  # a layout's run: n_minus_1, utilisation, ambient_c
    optimise: Optimise | None = None  # the optimise: block, None when the file has none
    line: int | None = None  # of the name: (problems of the file as a whole)
    timeseries: bool = False  # keep each scenario's step table as DIR/timeseries/<key>.parquet

    @property
    def kpi_specs(self) -> dict[str, Kpi]:
        """The KPI registry entries of :attr:`kpis`."""
        reg = registry(self.base_kind)
        return {k: reg[k] for k in self.kpis}

    def job(self) -> dict:
        """What a worker needs besides the points (plain data, sent with each batch)."""
        return {"base": str(self.base), "base_kind": self.base_kind,
                "layout": str(self.layout) if self.layout else None, "run": self.run,
                "kpis": list(self.kpis), "digest": self.base_digest,
                "axes": [(a.target, a.locs) for a in self.axes], "options": dict(self.options),
                "timeseries": self.timeseries}

    def point(self, index: int, written: tuple) -> Point:
        """A point of these axes outside the sweep's own (an optimiser's trial), with its key."""
        return Point(index, tuple(written), point_key(self.key_inputs, tuple(written), self.axes))


def _digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def point_key(sweep_inputs: dict, written: tuple, axes: tuple[Axis, ...]) -> str:
    """The hex sha256 of a point's resolved inputs (axis path -> value written) and the base's content."""
    payload = {**sweep_inputs, "inputs": [[a.path, v] for a, v in zip(axes, written, strict=True)]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file and compute its points (see the module notes).

    Raises
    ------
    InputError
        Every problem found, each with the sweep file's line (or the base file's, for its own).
    """
    path = Path(path)
    data, display = load_mapping(path, "'name:', 'base:', 'axes:' and 'kpis:'")
    spec = validate_marked(SweepFile, data, display)
    problems: list[Problem] = []

    def add(loc: tuple, fld: str, message: str) -> None:
        problems.append(Problem(display, line_of(data, loc), fld, message))

    base = (path.parent / spec.base).resolve()
    if not base.is_file():
        add(("base",), "base", f"base file not found: {path.parent / spec.base}")
        raise InputError(problems)
    base_data, base_display = load_mapping(base, "a layout, a scenario or a grid scenario")
    base_kind = ("scenario" if "layout" in base_data and "run" in base_data
                 else "grid" if "sites" in base_data and "regions" in base_data else "layout")
    if base_kind == "grid":
        from twin.layout.schema_grid import GridSpec

        validate_marked(GridSpec, base_data, base_display)
        if spec.run == "simulate":
            add(("run",), "run", "a grid scenario is placed and served in steady state: use 'run: steady'")
    layout_path, layout_data = None, None
    if base_kind == "scenario":
        from twin.layout.schema_scenario import ScenarioSpec

        validate_marked(ScenarioSpec, base_data, base_display)
        layout_path = (base.parent / str(base_data["layout"])).resolve()
        if not layout_path.is_file():
            raise InputError([Problem(base_display, line_of(base_data, ("layout",)), "layout",
                                      f"layout file not found: {layout_path}")])
        layout_data, layout_display = load_mapping(layout_path, "'name:', 'utility_feeds:' and 'halls:'")
    from twin.layout.schema import Layout

    if spec.timeseries and spec.run != "simulate":
        add(("timeseries",), "timeseries", "a time series comes from a run in time: 'timeseries: true' "
            "needs a scenario base and 'run: simulate'")
    if spec.run == "simulate" and base_kind == "layout":
        add(("run",), "run", "'run: simulate' runs a scenario in time; this base is a layout (steady only): "
            "name a scenario as the base, or use 'run: steady'")

    models: dict[str, Any] = {}

    def model(target: str):
        if target not in models:
            if base_kind == "grid":
                from twin.layout.schema_grid import GridSpec

                models[target] = validate_marked(GridSpec, base_data, base_display)
            elif target == "layout" or base_kind == "layout":
                d, disp = (layout_data, str(layout_path)) if target == "layout" else (base_data, base_display)
                models[target] = validate_marked(Layout, d, disp)
            else:
                from twin.layout.schema_scenario import ScenarioSpec

                models[target] = validate_marked(ScenarioSpec, base_data, base_display)
        return models[target]

    method = spec.sample.method
    n = spec.sample.n
    if method in ("random", "lhs") and n is None:
        add(("sample",), "sample.n", f"sample method {method!r} needs 'n:', the number of points to draw")
    if method in ("grid", "list") and n is not None:
        add(("sample", "n"), "sample.n", f"'n' is for the random and lhs methods; {method!r} takes every "
            "value listed")
    axes: list[Axis] = []
    for path_text, raw in data["axes"].items():
        loc = ("axes", path_text)
        fld = f"axes.{path_text}"
        ax = _axis(path_text, raw, loc, fld, method, base_kind, base_data, layout_data, model, data, add)
        if ax is not None:
            axes.append(ax)
    kpis = list(spec.kpis)
    reg = registry(base_kind)
    other = registry("scenario" if base_kind == "layout" else "layout") if base_kind != "grid" else {}
    for i, name in enumerate(kpis):
        if name not in reg:
            where = (f"; {name!r} is a {'scenario' if base_kind == 'layout' else 'layout'} KPI and this "
                     f"base is a {base_kind}" if name in other else did_you_mean(name, list(reg)))
            add(("kpis", i), f"kpis[{i}]", f"unknown KPI {name!r}{where}; KPIs of a {base_kind}: "
                f"{', '.join(reg)}")
    constraints = []
    for i, text in enumerate(spec.constraints):
        c = _constraint(text, reg, lambda msg, i=i: add(("constraints", i), f"constraints[{i}]", msg))
        if c is not None:
            constraints.append(c)
            if c.kpi not in kpis:
                kpis.append(c.kpi)
    options = _options(spec, base_kind, kpis, data, add)
    opt = _optimise(spec, base_kind, axes, kpis, reg, data, add)
    if problems:
        raise InputError(sorted(problems, key=lambda p: p.line or 0))

    written = _points(axes, method, n, spec.seed, data, display)
    files = [base] + ([layout_path] if layout_path else [])
    digest = _digest(*files)
    inputs = {"v": KEY_VERSION, "run": spec.run, "kpis": kpis, "constraints": [c.text for c in constraints],
              "base": digest}
    defaults = {"n_minus_1": True, "utilisation": 1.0, "ambient_c": None}
    changed = {k: v for k, v in options.items() if v != defaults[k]}
    if changed:  # the default run keeps the keys it always had (folders written before resume)
        inputs["options"] = changed
    if spec.timeseries:  # a row written without its series is computed again when it is asked for
        inputs["timeseries"] = True
    points = tuple(Point(i, w, point_key(inputs, w, tuple(axes))) for i, w in enumerate(written))
    columns = {a.column: tuple(a.si(w[j]) for w in written) for j, a in enumerate(axes)}
    return Sweep(spec.name, display, path.read_text(encoding="utf-8"), base, base_kind, layout_path,
                 spec.run, spec.seed, method, tuple(axes), tuple(kpis), tuple(constraints), points, digest,
                 columns, inputs, options, opt, line_of(data, ("name",)), bool(spec.timeseries))


def _options(spec: SweepFile, base_kind: str, kpis: list[str], data: MarkedDict, add) -> dict:
    """``n_minus_1``, ``utilisation`` and ``ambient`` checked (a layout base's steady run)."""
    given = [k for k in ("n_minus_1", "utilisation", "ambient") if k in data]
    if base_kind != "layout":
        for k in given:
            add((k,), k, f"{k!r} sets a layout's steady evaluation; this base is a {base_kind} (its "
                "policies and weather say how it runs): write it in the scenario, or sweep a layout")
        return {"n_minus_1": True, "utilisation": 1.0, "ambient_c": None}
    ambient_c = None
    if spec.ambient is not None:
        try:
            ambient_c = parse(spec.ambient, "temperature")
        except UnitError as exc:
            add(("ambient",), "ambient", str(exc))
    if not spec.n_minus_1:
        for i, name in enumerate(kpis):
            if name in N_MINUS_1_KPIS:
                where = ("kpis", i) if i < len(spec.kpis) else ("n_minus_1",)
                add(where, f"kpis[{i}]" if i < len(spec.kpis) else "n_minus_1",
                    f"{name!r} needs the N-1 analyses and this sweep has 'n_minus_1: false': drop the KPI "
                    "(and its constraint), or set 'n_minus_1: true'")
    util = 1.0 if spec.utilisation is None else float(spec.utilisation)
    return {"n_minus_1": bool(spec.n_minus_1), "utilisation": util, "ambient_c": ambient_c}


def _optimise(spec: SweepFile, base_kind: str, axes: list[Axis], kpis: list[str], reg: dict[str, Kpi],
              data: MarkedDict, add) -> Optimise | None:
    """The ``optimise:`` block checked; its objective and Pareto KPI are added to ``kpis``."""
    if spec.optimise is None:
        return None
    o = spec.optimise
    where = ("optimise",)
    objective = o.objective
    if objective is None:
        if base_kind == "layout":
            add(where, "optimise.objective", "a layout base has no default objective: name the KPI to "
                "search for, e.g. 'objective: pue' with 'direction: minimise'")
            return None
        objective = DEFAULT_SCENARIO_OBJECTIVE
    ok = True
    for key, name in (("objective", objective), ("pareto", o.pareto)):
        if name is None:
            continue
        loc = ("optimise", key) if key in data["optimise"] else where
        if name not in reg:
            add(loc, f"optimise.{key}", f"unknown KPI {name!r}{did_you_mean(name, list(reg))}; KPIs of a "
                f"{base_kind}: {', '.join(reg)}")
            ok = False
        elif reg[name].dtype == "str" or (key == "objective" and reg[name].dtype != "float"):
            add(loc, f"optimise.{key}", f"{name!r} is {'yes/no' if reg[name].dtype == 'bool' else 'a name'}"
                f"; an objective is a number: make it a constraint ('{name}') and optimise a figure")
            ok = False
    if o.sampler == "grid":
        ranges = [a for a in axes if not a.values]
        for a in ranges:
            add(("axes", a.path), f"axes.{a.path}", "'sampler: grid' takes every value of list-valued "
                "axes; this axis is a range {low, high}: list its values, or use 'sampler: tpe'")
            ok = False
    if o.sampler == "nsga2" and o.pareto is None:
        add(("optimise", "sampler"), "optimise.sampler", "'sampler: nsga2' searches two objectives: "
            "name the second KPI with 'pareto: <kpi>'")
        ok = False
    if not ok:
        return None
    if o.direction is not None:
        maximise = o.direction == "maximise"
    else:
        from twin.sweep.pareto import better_high

        try:
            maximise = better_high(objective)
        except ArgumentError:  # a direction the name does not tell
            add(where, "optimise.direction", f"whether {objective!r} is better high or low is not known: "
                "write 'direction: maximise' or 'direction: minimise'")
            return None
    for name in (objective, o.pareto):
        if name is not None and name not in kpis:
            kpis.append(name)
    return Optimise(objective, maximise, o.trials or DEFAULT_TRIALS, o.sampler, o.pareto,
                    line_of(data, where))


def _axis(path_text, raw, loc, fld, method, base_kind, base_data, layout_data, model, data, add):
    """One axis checked against the base file; problems go to ``add``, ``None`` when it has any."""
    try:
        parts = parse_path(path_text)
    except PathError as exc:
        add(loc, fld, str(exc))
        return None
    target, target_data, prefix = "base", base_data, ""
    if base_kind == "scenario" and parts[:1] == ("layout",) and len(parts) > 1:
        target, target_data, prefix, parts = "layout", layout_data, "layout.", parts[1:]
    if parts[0] == "catalog" and (target == "layout" or base_kind == "layout"):
        add(loc, fld, "the catalog folders are not swept (every point uses the base's catalog)")
        return None
    try:
        locs = expand(target_data, parts, prefix)
    except PathError as exc:
        which = ("grid scenario" if base_kind == "grid" else
                 "scenario" if target == "base" and base_kind == "scenario" else "layout")
        add(loc, fld, f"{exc} (in the {which} file)")
        return None
    kind = _quantity_kind(target_data, locs[0], model(target))
    base_value = value_at(target_data, locs[0])
    if isinstance(raw, dict) and set(raw) >= {"low", "high"} or isinstance(raw, dict) and method in ("random",
                                                                                                       "lhs"):
        if method in ("grid", "list"):
            add(loc, fld, f"a range {{low, high}} is drawn from by the random and lhs methods; {method!r} "
                "takes a list of values")
            return None
        extra = sorted(set(raw) - {"low", "high"})
        if extra or not {"low", "high"} <= set(raw):
            add(loc, fld, "a range is {low: ..., high: ...}"
                + (f"; unknown key {extra[0]!r}" if extra else ""))
            return None
        ends = []
        for end in ("low", "high"):
            v = raw[end]
            where = (*loc, end)
            if kind is not None:
                try:
                    ends.append(parse(v, kind))
                except UnitError as exc:
                    add(where, f"{fld}.{end}", str(exc))
            elif isinstance(v, int | float) and not isinstance(v, bool):
                ends.append(float(v))
            else:
                add(where, f"{fld}.{end}", f"expected a number (the field is {base_value!r} in the base), "
                    f"got {v!r}")
        if len(ends) < 2:
            return None
        if not ends[0] < ends[1]:
            add(loc, fld, f"low must be below high (got {raw['low']!r} and {raw['high']!r})")
            return None
        integer = (kind is None and isinstance(base_value, int) and not isinstance(base_value, bool)
                   and all(isinstance(raw[e], int) for e in ("low", "high")))
        return Axis(path_text, target, tuple(locs), kind, line_of(data, loc), low=ends[0], high=ends[1],
                    integer=integer)
    values = list(raw) if isinstance(raw, list) else [raw]
    if not values:
        add(loc, fld, "an axis needs at least one value")
        return None
    ok = True
    for i, v in enumerate(values):
        if kind is not None:
            try:
                parse(v, kind)
            except UnitError as exc:
                where = (*loc, i) if isinstance(raw, MarkedList) else loc
                add(where, f"{fld}[{i}]" if isinstance(raw, list) else fld, str(exc))
                ok = False
    if not ok:
        return None
    return Axis(path_text, target, tuple(locs), kind, line_of(data, loc),
                values=tuple(plain(v) for v in values))


def _quantity_kind(data: Any, loc: tuple, model: Any) -> str | None:
    """The units kind of the field at ``loc``: the one that reads the base's text as the schema's float."""
    raw = value_at(data, loc)
    obj = model
    for part in loc:
        try:
            obj = getattr(obj, part) if isinstance(part, str) and not isinstance(obj, dict) else obj[part]
        except (AttributeError, KeyError, IndexError, TypeError):
            return None
    if not isinstance(raw, str) or not isinstance(obj, float):
        return None
    for kind in KINDS:
        try:
            if math.isclose(parse(raw, kind), obj, rel_tol=1e-9, abs_tol=1e-12):
                return kind
        except UnitError:
            continue
    return None


def _constraint(text: str, reg: dict[str, Kpi], add) -> Constraint | None:
    m = _CONSTRAINT.fullmatch(text)
    if m is None:
        add(f"cannot read constraint {text!r}: write '<kpi> <op> <value>' with op one of <, <=, >, >=, ==, "
            "!= (e.g. 'max_gpu_temp_c < 85'), or a yes/no KPI ('n_minus_1_survives', 'not ...')")
        return None
    neg, name, op, value = m.groups()
    if name not in reg:
        add(f"unknown KPI {name!r}{did_you_mean(name, list(reg))}; KPIs: {', '.join(reg)}")
        return None
    kpi = reg[name]
    if op is None:
        if kpi.dtype != "bool":
            add(f"{name!r} is not a yes/no KPI: compare it, e.g. '{name} < 1'")
            return None
        return Constraint(text, name, "is", neg is None)
    if neg:
        add("'not' goes with a yes/no KPI alone, not with a comparison")
        return None
    v = value.strip()
    if kpi.dtype == "bool" or v.lower() in ("true", "false"):
        if v.lower() not in ("true", "false") or op not in ("==", "!="):
            add(f"{name!r} is yes/no: write '{name} == true' (or just '{name}')")
            return None
        return Constraint(text, name, op, v.lower() == "true")
    if kpi.dtype == "str":
        return Constraint(text, name, op, v.strip("'\""))
    try:
        threshold = float(v)
    except ValueError:
        if kpi.kind is None:
            add(f"expected a number after {op!r}, got {v!r} ({name} is in {kpi.unit})")
            return None
        try:
            threshold = parse(v, kpi.kind)
        except UnitError as exc:
            add(str(exc))
            return None
    return Constraint(text, name, op, threshold)


def _points(axes: list[Axis], method: str, n: int | None, seed: int, data: MarkedDict, display: str) -> list:
    """The values written per axis for every point, in the sweep's order."""
    if method == "grid":
        total = math.prod(len(a.values) for a in axes)
        if total > MAX_POINTS:
            raise InputError([Problem(display, line_of(data, ("axes",)), "axes", f"the grid has {total:,} "
                                      f"points; a sweep may hold at most {MAX_POINTS:,}")])
        return [tuple(p) for p in itertools.product(*(a.values for a in axes))]
    if method == "list":
        lengths = {len(a.values) for a in axes if len(a.values) > 1}
        if len(lengths) > 1:
            longest = max(lengths)
            bad = [a for a in axes if 1 < len(a.values) != longest]
            raise InputError([Problem(display, a.line, f"axes.{a.path}", f"has {len(a.values)} values; the "
                                      f"other axes have {longest} (sample: list zips the axes; a single "
                                      f"value is used for every point)") for a in bad])
        count = lengths.pop() if lengths else 1
        return [tuple(a.values[i] if len(a.values) > 1 else a.values[0] for a in axes) for i in range(count)]
    import numpy as np

    if method == "random":
        rng = np.random.default_rng(seed)
        u = rng.random((n, len(axes)))
    else:
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(axes), rng=np.random.default_rng(seed)).random(n)
    out = []
    for row in u:
        vals = []
        for a, x in zip(axes, row, strict=True):
            if a.values:
                vals.append(a.values[min(int(x * len(a.values)), len(a.values) - 1)])
            elif a.integer:
                span = int(a.high) - int(a.low) + 1
                vals.append(a.written(int(a.low) + min(int(x * span), span - 1)))
            else:
                vals.append(a.written(a.low + float(x) * (a.high - a.low)))
        out.append(tuple(vals))
    return out
