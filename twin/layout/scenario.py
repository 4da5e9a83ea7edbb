"""Read a scenario file and resolve it against its layout into a :class:`~twin.scenario.Scenario`.

Every problem is collected with file:line and field (did-you-mean for names) and raised at once as
:class:`~twin.errors.InputError`, like layouts. Checks here need only the layout: rack selectors
that match nothing, racks claimed twice, components that do not exist, times outside the run,
weather files with gaps or impossible values. Checks that need the serving model (request lengths,
whole replicas, a model that does not fit) are made by :func:`twin.engine.scenario.load_scenario`,
which reports them the same way.
"""

from __future__ import annotations

import fnmatch
import math
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import MAX_SHOWN_PROBLEMS, InputError, Problem
from twin.factory import NODE_KINDS, Factory
from twin.inputs import MAX_CSV_BYTES, read_text
from twin.layout import load_layout_and_catalog
from twin.layout.catalog_io import Catalog
from twin.layout.problems import did_you_mean, validate_marked
from twin.layout.schema_cooling import AMBIENT_DRY_BULB_RANGE_C
from twin.layout.schema_economics import resolve_economics
from twin.layout.schema_scenario import (
    RackSelector,
    ScenarioSpec,
    hour_of_day,
    time_from_start,
)
from twin.layout.yamlio import field_path, line_of, load_mapping, load_yaml
from twin.scenario import (
    COOLING_KINDS,
    DeploymentPlan,
    EconomicsPlan,
    Event,
    Policies,
    PowerCap,
    PrefillPlan,
    RackStorage,
    RunSettings,
    Scenario,
    Smoothing,
    ThrottleCurve,
    Weather,
    Where,
    WorkloadSpec,
)

#: ASHRAE design-day profile: the share of the daily dry-bulb range below the day's maximum at each
#: hour 1..24 (ASHRAE Handbook - Fundamentals 2009, ch. 14, table 6; the same table is EnergyPlus's
#: default ``DefaultTempRangeMultipliers``). T(h) = T_max - f(h) (T_max - T_min).
DESIGN_DAY_RANGE_FRACTION = (
    0.88, 0.92, 0.95, 0.98, 1.00, 0.98, 0.91, 0.74, 0.55, 0.38, 0.23, 0.13,
    0.05, 0.00, 0.00, 0.06, 0.14, 0.24, 0.39, 0.50, 0.59, 0.68, 0.75, 0.82,
)

#: Largest run one scenario simulates (one year plus a day). [s]
MAX_DURATION_S = 366 * 86400.0


class _Ctx:
    def __init__(self, file: str, data: Any) -> None:
        self.file, self.data, self.problems = file, data, []

    def add(self, loc: tuple, message: str) -> None:
        self.problems.append(Problem(self.file, line_of(self.data, loc), field_path(loc), message))

    def where(self, loc: tuple) -> Where:
        return Where(self.file, line_of(self.data, loc), field_path(loc))

    def hint(self, word: str, valid) -> str:
        """A did-you-mean for the problems that will be shown (the rest would cost time, unseen)."""
        return did_you_mean(word, valid) if len(self.problems) < MAX_SHOWN_PROBLEMS else ""


def parse_scenario(path: str | Path) -> tuple[ScenarioSpec, Any]:
    """Read and schema-check a scenario file; returns (ScenarioSpec, raw marked data)."""
    data, display = load_mapping(Path(path), "'name:', 'layout:' and 'run:'")
    if "layout" not in data and "sites" in data and "regions" in data:
        raise InputError([Problem(display, data.line or 1, "", "this is a grid scenario (sites, regions, "
                                  "network): run it with `twin grid`")])
    if "layout" not in data and "halls" in data:
        raise InputError([Problem(display, data.line or 1, "", "this is a layout, not a scenario: a scenario "
                                  "names its layout ('layout: path/to/layout.yaml') and adds 'run:', "
                                  "'deployments:', 'events:' (see scenarios/pod-design-day.yaml)")])
    return validate_marked(ScenarioSpec, data, display), data


def is_scenario_file(path: str | Path) -> bool:
    """True when ``path`` is a YAML mapping with a ``layout:`` key (a scenario rather than a layout)."""
    try:
        data = load_yaml(Path(path))
    except InputError:
        return False
    return isinstance(data, dict) and "layout" in data and "run" in data


def load_scenario_records(path: str | Path) -> tuple[Scenario, Catalog]:
    """Resolve a scenario file against its layout (see the module notes); returns it with its catalog.

    Raises
    ------
    InputError
        Every problem of the scenario file (or of its layout, with the layout's file:line).
    """
    scenario, catalog, problems = resolve_scenario(path)
    if problems:
        raise InputError(problems)
    return scenario, catalog


def resolve_scenario(path: str | Path, layout: str | Path | None = None
                     ) -> tuple[Scenario, Catalog, list[Problem]]:
    """Like :func:`load_scenario_records`, but the problems found resolving are returned, not raised.

    The scenario returned with problems leaves out what they concern (a deployment whose selector
    matches no rack, an event naming no component, a weather file that cannot be read); the serving
    checks can still run on the rest, so that every problem is reported at once.

    Raises
    ------
    InputError
        When the file cannot be read, breaks the schema, or its layout is missing or has problems.
    """
    path = Path(path)
    spec, data = parse_scenario(path)
    ctx = _Ctx(str(path), data)
    layout_path = Path(layout) if layout is not None else path.parent / spec.layout
    if not layout_path.exists():
        ctx.add(("layout",), f"layout file not found: {layout_path}")
        raise InputError(ctx.problems)
    factory, catalog = load_layout_and_catalog(layout_path)
    run = _run(spec, ctx)
    claimed = np.full(factory.num_racks, -1, dtype=np.int64)
    deployments = []
    for i, d in enumerate(spec.deployments):
        loc = ("deployments", i)
        racks = select_racks(factory, d.racks, ctx, (*loc, "racks"))
        if len(racks) == 0:
            continue
        again = claimed[racks] >= 0
        if again.any():
            other = spec.deployments[int(claimed[racks][again][0])].name
            ctx.add((*loc, "racks"), f"{int(again.sum())} of its racks "
                    f"(first {factory.racks.name[racks][again][0]}) "
                    f"are already in deployment {other!r}; a rack serves one deployment")
        claimed[racks] = i
        systems = np.unique(factory.racks.system_idx[racks])
        if len(systems) > 1:
            names = ", ".join(factory.system_names[s] for s in systems)
            ctx.add((*loc, "racks"), f"its racks hold different systems ({names}); a deployment runs on one "
                    "system: split it into one deployment per system")
        if d.name in {x.name for x in deployments}:
            ctx.add((*loc, "name"), f"deployment name {d.name!r} is used twice")
        prefill = _prefill(d, factory, ctx, loc, claimed, i, spec) if d.prefill is not None else None
        if prefill is not None and run.serving == "discrete":
            ctx.add((*loc, "prefill"), "disaggregated deployments are served with the fluid model in the "
                    "coupled twin (`run.serving: fluid`); request by request, use `twin serve-sim "
                    "--prefill-gpus`")
        w = d.workload
        deployments.append(DeploymentPlan(
            name=d.name, racks=racks, model=d.model, system=factory.system_names[int(systems[0])],
            precision=d.precision, tp=d.tp, pp=d.pp, ep=d.ep, attention_dp=d.attention_dp,
            max_batch=d.max_batch, max_num_tokens=d.max_num_tokens,
            workload=WorkloadSpec(w.rate or 0.0, str(w.input_tokens), str(w.output_tokens), w.profile,
                                  tuple(w.hourly) if w.hourly else None, ctx.where((*loc, "workload")),
                                  str(path.parent / w.trace) if w.trace else None),
            slo_ttft_s=d.sla.ttft if d.sla else None, slo_tpot_s=d.sla.tpot if d.sla else None,
            where=ctx.where(loc), prefill=prefill, speculative=d.speculative))
    weather = _weather(spec, ctx, path, run)
    policies = _policies(spec, factory, ctx)
    events = _events(spec, factory, ctx, run, [d.name for d in deployments], claimed)
    economics = _economics(spec, ctx, factory)
    scenario = Scenario(spec.name, spec.description, str(path), factory, run, tuple(deployments), weather,
                        policies, tuple(sorted(events, key=lambda e: e.time_s)), economics)
    return scenario, catalog, ctx.problems


# ---------------------------------------------------------------------------------------------- pieces
def _prefill(d, factory: Factory, ctx: _Ctx, loc: tuple, claimed: np.ndarray, i: int,
             spec: ScenarioSpec) -> PrefillPlan | None:
    """The prefill pool of deployment ``d`` (its racks claimed like the deployment's own)."""
    pf = d.prefill
    ploc = (*loc, "prefill")
    racks = select_racks(factory, pf.racks, ctx, (*ploc, "racks"))
    if len(racks) == 0:
        return None
    again = claimed[racks] >= 0
    if again.any():
        j = int(claimed[racks][again][0])
        other = "its own decode pool" if j == i else f"deployment {spec.deployments[j].name!r}"
        first = factory.racks.name[racks][again][0]
        ctx.add((*ploc, "racks"), f"{int(again.sum())} of its racks (first {first}) are already in {other}; "
                "a rack serves one pool")
    claimed[racks] = i
    systems = np.unique(factory.racks.system_idx[racks])
    if len(systems) > 1:
        names = ", ".join(factory.system_names[s] for s in systems)
        ctx.add((*ploc, "racks"), f"its racks hold different systems ({names}); a pool runs on one system")

    def own(name):
        v = getattr(pf, name)
        return getattr(d, name) if v is None else v

    return PrefillPlan(racks, factory.system_names[int(systems[0])], own("tp"), own("pp"), own("ep"),
                       own("attention_dp"), own("max_batch"), own("max_num_tokens"), ctx.where(ploc))


def _economics(spec: ScenarioSpec, ctx: _Ctx, factory: Factory) -> EconomicsPlan | None:
    if spec.economics is None:
        return None
    plan = resolve_economics(spec.economics, factory.system_names, ctx.add, lambda loc: ctx.where(loc),
                             Path(ctx.file).parent, ctx.problems)
    need = math.ceil(spec.run.duration / 3600.0 - 1e-9)
    if plan.hourly_usd_per_j is not None and len(plan.hourly_usd_per_j) < need:
        n = len(plan.hourly_usd_per_j)
        ctx.add(("economics", "energy_prices"), f"{spec.economics.energy_prices} has {n} hourly prices; the "
                f"run needs {need}")
    return plan


#: Most physics steps one transient run holds (its step table stays under ~1 GiB): 46 days at 1 s.
MAX_STEPS = 4_000_000


def _run(spec: ScenarioSpec, ctx: _Ctx) -> RunSettings:
    r = spec.run
    start_hour = hour_of_day(r.start)
    if not 0 < r.duration <= MAX_DURATION_S:
        ctx.add(("run", "duration"), f"must be greater than zero and at most 366 days, got {r.duration:g} s")
    if not 0 < r.physics_step <= r.serving_epoch:
        ctx.add(("run", "physics_step"), f"must be greater than zero and at most the serving epoch "
                f"({r.serving_epoch:g} s), got {r.physics_step:g} s")
    ratio = r.serving_epoch / r.physics_step if r.physics_step > 0 else 0
    if 0 < r.physics_step <= r.serving_epoch and abs(ratio - round(ratio)) > 1e-9:
        ctx.add(("run", "serving_epoch"), f"must be a whole number of physics steps ({r.physics_step:g} s), "
                f"got {r.serving_epoch:g} s")
    steps = r.duration / r.physics_step if r.duration > 0 and r.physics_step > 0 else 0.0
    if r.mode != "annual" and steps > MAX_STEPS:
        ctx.add(("run", "physics_step"), f"{steps:,.0f} steps is more than one run holds ({MAX_STEPS:,.0f}: "
                "each step keeps a row of ~30 figures): lengthen the step, shorten the run, or use "
                "`mode: annual` for a year")
    if r.mode == "annual":
        if r.serving != "fluid":
            ctx.add(("run", "serving"), "annual mode serves with the fluid model (hourly quasi-steady "
                    "points); use `serving: fluid` or `mode: transient`")
        if spec.weather is None:
            ctx.add(("run", "mode"), "annual mode runs over a weather series: add `weather:` (a `tmy:` file, "
                    "`tmy: default` for pvlib's typical year, or an hourly `csv:`)")
        if spec.events:
            ctx.add(("events",), "annual mode takes no events (it solves one steady point per hour); "
                    "simulate faults with `mode: transient`")
        if spec.policies.gpu_power_smoothing is not None:
            ctx.add(("policies", "gpu_power_smoothing"), "power smoothing acts within seconds; annual mode "
                    "solves hourly steady points: drop it or use `mode: transient`")
        if spec.policies.rack_energy_storage is not None:
            ctx.add(("policies", "rack_energy_storage"), "rack energy storage acts within seconds; annual "
                    "mode solves hourly steady points: drop it or use `mode: transient`")
        if r.duration % 3600.0:
            ctx.add(("run", "duration"), f"annual mode runs whole hours; got {r.duration:g} s")
        return RunSettings(r.duration, 3600.0, 3600.0, start_hour, r.serving, r.seed, "annual")
    return RunSettings(r.duration, r.physics_step, r.serving_epoch, start_hour, r.serving, r.seed)


def select_racks(factory: Factory, sel: RackSelector | str, ctx: _Ctx, loc: tuple) -> np.ndarray:
    """Indices of the racks a selector matches (a problem, with did-you-mean, when it matches none)."""
    racks = factory.racks
    if isinstance(sel, str):
        sel = RackSelector(name=sel)
    mask = np.ones(len(racks), dtype=bool)
    for key, values, valid in (("hall", racks.hall, factory.halls), ("row", racks.row, np.unique(racks.row)),
                               ("name", racks.name, racks.name)):
        pattern = getattr(sel, key)
        if pattern is None:
            continue
        hit = np.array([fnmatch.fnmatchcase(str(v), pattern) for v in values], dtype=bool)
        if not hit.any():
            shown = list(valid)[:8]
            more = f" ... ({len(valid)} in all)" if len(valid) > 8 else ""
            ctx.add((*loc, key) if isinstance(ctx.data, dict) else loc,
                    f"no {key} matches {pattern!r}{ctx.hint(pattern, [str(v) for v in valid])}; "
                    f"{key}s: {', '.join(map(str, shown))}{more}")
            return np.array([], dtype=np.int64)
        mask &= hit
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        ctx.add(loc, "the selector's hall, row and name match no rack together")
    if sel.count is not None:
        if sel.count > len(idx):
            ctx.add((*loc, "count"), f"asks for {sel.count} racks; the selector matches {len(idx)}")
        idx = idx[: sel.count]
    return idx


def _weather(spec: ScenarioSpec, ctx: _Ctx, path: Path, run: RunSettings) -> Weather | None:
    w = spec.weather
    if w is None:
        return None
    if w.design_day is not None:
        dd = w.design_day
        frac = np.array(DESIGN_DAY_RANGE_FRACTION)
        # hour h's value is at h:00; series starts at 00:00 with hour 24's value
        db = dd.max_dry_bulb - np.roll(frac, 1) * (dd.max_dry_bulb - dd.min_dry_bulb)
        days = int(math.ceil((run.start_hour * 3600 + run.duration_s) / 86400.0)) + 1
        return Weather(3600.0, np.tile(db, days), np.full(24 * days, dd.relative_humidity),
                       f"design day {dd.min_dry_bulb:g}..{dd.max_dry_bulb:g} degC", run.start_hour * -3600.0)
    if w.csv is not None:
        return _weather_csv(path.parent / w.csv, ctx, run)
    return _weather_tmy(w.tmy, path, ctx, run)


def _check_series(db: np.ndarray, rh: np.ndarray, ctx: _Ctx, file: str, lines: np.ndarray,
                  rh_percent: bool = False) -> bool:
    """Dry bulb and RH (0..1) are possible values; a problem at the first bad row's line if not."""
    lo, hi = AMBIENT_DRY_BULB_RANGE_C
    ok = True
    scale, rh_unit, rh_high = (100.0, "%", 100) if rh_percent else (1.0, "", 1)
    for name, arr, k, low, high, unit in (("dry bulb", db, 1.0, lo, hi, "degC"),
                                          ("relative humidity", rh, scale, 0, rh_high, rh_unit)):
        bad = ~np.isfinite(arr) | (arr < low / k) | (arr > high / k)
        if bad.any():
            i = int(np.argmax(bad))
            u = f" {unit}" if unit else ""
            what = "missing" if np.isnan(arr[i]) else f"{arr[i] * k:g}{u}"
            n = int(bad.sum())
            ctx.problems.append(Problem(file, int(lines[i]), name,
                                        f"{what} is not a possible value (expected {low:g}..{high:g}{u}); "
                                        f"{n} such row{'s' if n != 1 else ''}"))
            ok = False
    return ok


def _weather_csv(file: Path, ctx: _Ctx, run: RunSettings) -> Weather | None:
    """An hourly CSV: header ``hour,dry_bulb_c,relative_humidity``, one row per hour.

    RH in 0..1 or percent.
    """
    name = str(file)
    if not file.exists():
        ctx.add(("weather", "csv"), f"weather file not found: {file}")
        return None
    try:
        lines = read_text(file, max_bytes=MAX_CSV_BYTES, what="an hourly weather CSV").splitlines()
    except InputError as exc:
        ctx.problems.extend(exc.problems)
        return None
    header = [h.strip() for h in (lines[0].split(",") if lines else [])]
    need = ("hour", "dry_bulb_c", "relative_humidity")
    if any(h not in header for h in need):
        ctx.problems.append(Problem(name, 1, "header", f"expected columns {', '.join(need)}; got "
                                    f"{', '.join(header) or 'an empty file'}"))
        return None
    cols = [header.index(h) for h in need]
    rows, at = [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            rows.append([float(parts[c]) if c < len(parts) and parts[c].strip() else math.nan for c in cols])
        except ValueError:
            ctx.problems.append(Problem(name, n, "", f"expected numbers in {', '.join(need)}; got {line!r}"))
            return None
        at.append(n)
    if len(rows) < 2:
        ctx.problems.append(Problem(name, 2, "", "needs at least two hourly rows"))
        return None
    a, at = np.array(rows), np.array(at)
    hours = a[:, 0]
    if not np.isfinite(hours).all():
        i = int(np.argmax(~np.isfinite(hours)))
        ctx.problems.append(Problem(name, int(at[i]), "hour", "expected the hour of the row, a number; got "
                                    + ("nothing" if np.isnan(hours[i]) else f"{hours[i]:g}")))
        return None
    gaps = np.flatnonzero(np.abs(np.diff(hours) - 1.0) > 1e-9)
    if len(gaps):
        i = int(gaps[0])
        ctx.problems.append(Problem(name, int(at[i + 1]), "hour", "hours must follow one another one by "
                                    f"one: hour {hours[i]:g} is followed by {hours[i + 1]:g} "
                                    f"({len(gaps)} gap{'s' if len(gaps) != 1 else ''} in all)"))
        return None
    percent = bool(np.nanmax(a[:, 2]) > 1.0)
    rh = a[:, 2] / 100.0 if percent else a[:, 2]
    if not _check_series(a[:, 1], rh, ctx, name, at, rh_percent=percent):
        return None
    start = (hours[0] - run.start_hour) * 3600.0
    if start > 0 or (hours[-1] - run.start_hour) * 3600.0 < run.duration_s:
        ctx.add(("weather", "csv"), f"{file.name} covers hours {hours[0]:g}..{hours[-1]:g}; the run needs "
                f"{run.start_hour:g}..{run.start_hour + run.duration_s / 3600:g}")
        return None
    return Weather(3600.0, a[:, 1].copy(), rh, f"hourly CSV {file.name}", start)


def _weather_tmy(tmy: str, path: Path, ctx: _Ctx, run: RunSettings) -> Weather | None:
    """A typical-year file read with pvlib (TMY3 ``.csv`` or EnergyPlus ``.epw``).

    ``default``: pvlib's own.
    """
    try:
        import pvlib
    except ImportError:
        ctx.add(("weather", "tmy"), "reading typical-year files needs pvlib: pip install pvlib")
        return None
    if tmy == "default":
        file = Path(pvlib.__file__).parent / "data" / DEFAULT_TMY3
    else:
        file = path.parent / tmy
    if not file.exists():
        ctx.add(("weather", "tmy"), f"typical-year file not found: {file}")
        return None
    try:  # the twin's own checks first (a regular UTF-8 text file of a sane size), then pvlib's
        read_text(file, max_bytes=MAX_CSV_BYTES, what="a TMY3 or EPW file")
    except InputError as exc:
        ctx.problems.extend(exc.problems)
        return None
    try:
        if file.suffix.lower() == ".epw":
            df, meta = pvlib.iotools.read_epw(str(file))
        else:
            df, meta = pvlib.iotools.read_tmy3(str(file), map_variables=True)
    except Exception as exc:  # pvlib raises many kinds for a malformed file
        ctx.add(("weather", "tmy"), f"cannot read {file.name} as a TMY3/EPW file: {exc}")
        return None
    db = df["temp_air"].to_numpy(dtype=float)
    rh = df["relative_humidity"].to_numpy(dtype=float) / 100.0
    if len(db) < 8760:
        ctx.add(("weather", "tmy"), f"{file.name} has {len(db)} hours; a typical year has 8760")
        return None
    if not _check_series(db, rh, ctx, str(file), np.arange(len(db)) + 3, rh_percent=True):
        return None
    if run.start_hour * 3600 + run.duration_s > len(db) * 3600.0:
        ctx.add(("run", "duration"), f"the run is longer than the typical year of {file.name}")
        return None
    place = meta.get("Name") or meta.get("city") or file.stem
    # TMY hour-ending values: the value of hour h (1..8760) is for the hour ending at h:00
    return Weather(3600.0, db, rh, f"typical year {file.name} ({place})", -run.start_hour * 3600.0 + 3600.0)


#: The typical-meteorological-year file pvlib ships (Greensboro, NC; NREL TMY3 station 723170).
DEFAULT_TMY3 = "723170TYA.CSV"


def _policies(spec: ScenarioSpec, factory: Factory, ctx: _Ctx) -> Policies:
    p = spec.policies
    caps = []
    for i, c in enumerate(p.caps):
        loc = ("policies", "caps", i)
        if c.scope == "rack":
            racks = select_racks(factory, c.name, ctx, (*loc, "name"))
        elif c.scope == "hall":
            if c.name not in factory.halls:
                ctx.add((*loc, "name"), f"no hall {c.name!r}{did_you_mean(c.name, factory.halls)}; halls: "
                        f"{', '.join(factory.halls[:8])}")
                continue
            racks = np.flatnonzero(factory.racks.hall == c.name)
        else:
            racks = np.arange(factory.num_racks)
        caps.append(PowerCap(c.scope, c.name or "", c.cap, racks))
    smoothing = None
    if p.gpu_power_smoothing is not None:
        s = p.gpu_power_smoothing
        racks = (np.arange(factory.num_racks) if s.racks is None
                 else select_racks(factory, s.racks, ctx, ("policies", "gpu_power_smoothing", "racks")))
        smoothing = Smoothing(s.floor, s.ramp_up, s.ramp_down, s.ramp_down_hysteresis, racks)
    storage = None
    if p.rack_energy_storage is not None:
        s = p.rack_energy_storage
        loc = ("policies", "rack_energy_storage")
        racks = (np.arange(factory.num_racks) if s.racks is None
                 else select_racks(factory, s.racks, ctx, (*loc, "racks")))
        without = racks[factory.racks.storage_energy_j[racks] <= 0]
        if len(without):
            names = sorted({factory.systems[i].name for i in factory.racks.system_idx[without]})
            having = sorted({sy.name for sy, e in zip(factory.systems, _storage_of(factory), strict=True)
                             if e})
            ctx.add(loc if s.racks is None else (*loc, "racks"),
                    f"{len(without)} of the {len(racks)} racks it selects have no energy storage in their "
                    f"power shelves (system {', '.join(names)}; catalog `energy_storage:`)"
                    + (f"; systems with storage here: {', '.join(having)}" if having else
                       "; no system of this layout has it (GB300 NVL72 does)")
                    + ": select the racks that have it")
        else:
            storage = RackStorage(s.ramp_up, s.ramp_down, s.time_constant, racks)
    throttle = ThrottleCurve((0.0, 2.0), (1.0, 0.5))
    if p.thermal_throttle is not None:
        throttle = ThrottleCurve(tuple(p.thermal_throttle.excess), tuple(p.thermal_throttle.clock))
    return Policies(tuple(caps), smoothing, storage, throttle)


def _storage_of(factory: Factory) -> list[bool]:
    """Whether each of the layout's systems has energy storage in its power shelves."""
    out = [False] * len(factory.systems)
    for i, e in zip(factory.racks.system_idx, factory.racks.storage_energy_j, strict=True):
        out[int(i)] = out[int(i)] or e > 0
    return out


def component_names(factory: Factory) -> dict[str, tuple[str, int]]:
    """Every component an event can trip or restore: name -> (kind, index).

    Power nodes go by their names (``utility-a``, ``hall/pod/blk01A/ups``), a UPS's modules by
    ``<ups>/module``; cooling units by their CDU group or hall loop: ``<group>/cdu``,
    ``<group>/cdu-pump``, ``<hall>/facility-pump``, ``<hall>/dry-cooler`` (or ``<hall>/cooling-tower``),
    ``<hall>/trim-chiller``, ``<hall>/room-crah``, ``<hall>/room-chiller`` (its electrical room),
    ``<hall>/crah``, ``<hall>/air-chiller``. Kinds are those of :data:`twin.scenario.POWER_KINDS` and
    :data:`twin.scenario.COOLING_KINDS`; the index is the power node, CDU group or loop.
    """
    out: dict[str, tuple[str, int]] = {}
    tree = factory.power
    for i, n in enumerate(tree.name):
        kind = NODE_KINDS[tree.kind[i]]
        out[str(n)] = (kind, i)
        if kind == "ups" and tree.num_modules[i] > 1:
            out[f"{n}/module"] = ("ups_module", i)
    plant = factory.cooling
    if plant is not None:
        for g, name in enumerate(plant.group_name):
            out[f"{name}/cdu"] = ("cdu", g)
            out[f"{name}/cdu-pump"] = ("cdu_pump", g)
        for li, lp in enumerate(plant.loops):
            for suffix, kind, count in (("facility-pump", "facility_pump", lp.num_pumps),
                                        (lp.rejection.kind.replace("_", "-"), lp.rejection.kind,
                                         lp.num_rejection),
                                        ("trim-chiller", "trim_chiller", lp.num_trim_chillers),
                                        ("crah", "crah", lp.num_crahs),
                                        ("air-chiller", "air_chiller", lp.num_air_chillers)):
                if count:
                    out[f"{lp.name}/{suffix}"] = (kind, li)
            if lp.room is not None:
                out[f"{lp.name}/room-crah"] = ("room_crah", li)
                out[f"{lp.name}/room-chiller"] = ("room_chiller", li)
    return out


def _units(factory: Factory, kind: str, idx: int) -> int:
    """How many units a trip or restore of component (``kind``, ``idx``) can take out or bring back."""
    if kind == "ups_module":
        return int(factory.power.num_modules[idx])
    if kind not in COOLING_KINDS:
        return 1
    plant = factory.cooling
    if kind == "cdu":
        return int(plant.group_cdus[idx])
    if kind == "cdu_pump":  # the pumps of one CDU of the group (its catalog entry)
        return int(plant.loops[int(plant.group_loop[idx])].cdu["pumps"])
    lp = plant.loops[idx]
    return int({"facility_pump": lp.num_pumps, "dry_cooler": lp.num_rejection,
                "cooling_tower": lp.num_rejection,
                "room_crah": lp.room.num_crahs if lp.room else 0,
                "room_chiller": lp.room.num_chillers if lp.room else 0,
                "trim_chiller": lp.num_trim_chillers, "crah": lp.num_crahs,
                "air_chiller": lp.num_air_chillers}[kind])


def _time(value: str | int | float, ctx: _Ctx, loc: tuple, run: RunSettings) -> float | None:
    """Seconds from the start of the run: a time with units, or a time of day ``HH:MM``."""
    try:
        t = time_from_start(value, run.start_hour)
    except ValueError as exc:
        ctx.add(loc, str(exc))
        return None
    if not 0.0 <= t <= run.duration_s:
        ctx.add(loc, f"{value!r} is at {t:g} s, outside the run (0 to {run.duration_s:g} s)")
        return None
    return t


def _events(spec: ScenarioSpec, factory: Factory, ctx: _Ctx, run: RunSettings, deployments: list[str],
            claimed: np.ndarray) -> list[Event]:
    names = None
    out: list[Event] = []
    for i, e in enumerate(spec.events):
        loc = ("events", i)
        t = _time(e.at, ctx, (*loc, "at"), run)
        if e.count != 1 and e.trip is None and e.restore is None:
            ctx.add((*loc, "count"), "'count' is for 'trip' and 'restore' (how many units); this event has "
                    "neither")
        if t is None:
            t = math.nan  # reported; the action is still checked, the event left out
        where = ctx.where(loc)
        if e.trip is not None or e.restore is not None:
            names = names if names is not None else component_names(factory)
            key = "trip" if e.trip is not None else "restore"
            comp = e.trip if e.trip is not None else e.restore
            if comp not in names:
                ctx.add((*loc, key), f"no component {comp!r}{ctx.hint(comp, list(names))}; "
                        "components are power nodes by name (with '/module' for one UPS module) and "
                        "cooling units as '<cdu group>/cdu', '<cdu group>/cdu-pump', '<hall>/facility-pump', "
                        "'<hall>/dry-cooler' (or '<hall>/cooling-tower'), '<hall>/trim-chiller', "
                        "'<hall>/crah', '<hall>/air-chiller', '<hall>/room-crah', '<hall>/room-chiller'")
                continue
            kind, idx = names[comp]
            units = _units(factory, kind, idx)
            if e.count > units:
                whole = ("" if kind in COOLING_KINDS or kind == "ups_module"
                         else " (a power node trips whole; '<ups>/module' trips UPS modules)")
                ctx.add((*loc, "count"), f"{comp} has {units} unit{'s' if units != 1 else ''}; cannot "
                        f"{key} {e.count}{whole}")
                continue
            out.append(Event(t, key, f"{key} {comp}" + (f" x{e.count}" if e.count > 1 else ""),
                             component_kind=kind, index=idx, count=e.count, where=where))
        elif e.setpoint is not None:
            loops = [lp.name for lp in factory.cooling.loops] if factory.cooling else []
            if e.setpoint.loop not in loops:
                ctx.add((*loc, "setpoint", "loop"), f"no cooling loop {e.setpoint.loop!r}"
                        f"{did_you_mean(e.setpoint.loop, loops)}; loops (halls with cooling): "
                        f"{', '.join(loops) or 'none'}")
                continue
            vals = {k: v for k, v in (("fw_supply_c", e.setpoint.facility_supply),
                                      ("rack_supply_c", e.setpoint.rack_supply)) if v is not None}
            if not vals:
                ctx.add((*loc, "setpoint"), "give 'facility_supply' and/or 'rack_supply'")
                continue
            out.append(Event(t, "setpoint", f"setpoint {e.setpoint.loop}", loop=loops.index(e.setpoint.loop),
                             values=vals, where=where))
        elif e.load_step is not None:
            if e.load_step.deployment not in deployments:
                ctx.add((*loc, "load_step", "deployment"), f"no deployment {e.load_step.deployment!r}"
                        f"{did_you_mean(e.load_step.deployment, deployments)}; deployments: "
                        f"{', '.join(deployments) or 'none'}")
                continue
            out.append(Event(t, "load_step", f"load x{e.load_step.factor:g} on {e.load_step.deployment}",
                             deployment=deployments.index(e.load_step.deployment), factor=e.load_step.factor,
                             where=where))
        elif e.training is not None:
            tr = e.training
            racks = select_racks(factory, tr.racks, ctx, (*loc, "training", "racks"))
            if len(racks) == 0:
                continue
            busy = claimed[racks] >= 0
            if busy.any():
                ctx.add((*loc, "training", "racks"), f"{int(busy.sum())} of its racks also serve a "
                        f"deployment (first {factory.racks.name[racks][busy][0]}); a rack trains or serves")
            if t + tr.duration > run.duration_s + 1e-9:
                ctx.add((*loc, "training", "duration"), f"the job ends at {t + tr.duration:g} s, after the "
                        f"run ({run.duration_s:g} s)")
            if tr.low > tr.high:
                ctx.add((*loc, "training", "low"), f"low {tr.low:g} is above high {tr.high:g}")
            out.append(Event(t, "training", f"training job on {len(racks)} racks", racks=racks,
                             end_s=t + tr.duration, period_s=tr.period, duty=tr.duty, high=tr.high,
                             low=tr.low, where=where))
        else:
            dr = e.demand_response
            if t + dr.duration > run.duration_s + 1e-9:
                ctx.add((*loc, "demand_response", "duration"),
                        f"the event ends at {t + dr.duration:g} s, after the run ({run.duration_s:g} s)")
            if dr.ramp > dr.duration:
                ctx.add((*loc, "demand_response", "ramp"), "the ramp is longer than the event")
            out.append(Event(t, "demand_response", f"demand response to {dr.target:.0%}",
                             end_s=t + dr.duration, fraction=dr.target, ramp_s=dr.ramp, where=where))
    return [ev for ev in out if not math.isnan(ev.time_s)]
