"""Read a grid scenario file: schema, then the cross references, every problem with file:line.

The schema (:mod:`twin.layout.schema_grid`) checks each field; here: unique names, a region's mix
naming known classes and summing to 1, network links naming known regions and sites, every region
reaching at least one site, at most one central site, systems and models of the catalog. What needs
the serving model (a deployment that does not fit its GPUs) is checked by :mod:`twin.grid`, which
reports it the same way.
"""

from __future__ import annotations

from pathlib import Path

from twin.errors import InputError, Problem
from twin.layout.catalog_io import Catalog, load_catalog
from twin.layout.problems import did_you_mean, validate_marked
from twin.layout.schema_grid import GridSpec, Timeline
from twin.layout.schema_scenario import hour_of_day, time_from_start
from twin.layout.yamlio import field_path, line_of, load_mapping

#: most steps a timeline may have (a year of hours)
MAX_STEPS = 8760


def timeline_steps(tl: Timeline) -> int:
    """Steps of a timeline (its duration is a whole number of them)."""
    return int(round(tl.duration / tl.step))


def start_hour(tl: Timeline) -> float:
    """The UTC hour of day the timeline starts."""
    return hour_of_day(tl.start)


def event_start_s(at: str | int | float, tl: Timeline) -> float:
    """Seconds from the timeline's start of an event's ``at``: a time with units, or a UTC ``HH:MM``.

    Raises ``ValueError`` with what was expected.
    """
    return time_from_start(at, start_hour(tl), day="a UTC time of day")


class GridProblems:
    """Problems of one grid file, located by field path."""

    def __init__(self, file: str, data) -> None:
        self.file, self.data, self.problems = file, data, []

    def add(self, loc: tuple, message: str) -> None:
        """A problem at the field ``loc`` (a path of keys and indices)."""
        self.problems.append(Problem(self.file, line_of(self.data, loc), field_path(loc), message))

    def raise_any(self) -> None:
        """Raise :class:`InputError` with every problem found, if any."""
        if self.problems:
            raise InputError(self.problems)


def load_grid(path: str | Path, catalog: Catalog | None = None) -> tuple[GridSpec, GridProblems]:
    """The checked :class:`GridSpec` of a file and its problem collector (for the engine's own checks).

    Raises
    ------
    InputError
        Every problem of the file at once (file:line, field, what was expected).
    """
    data, display = load_mapping(Path(path), "'name:', 'classes:', 'sites:', 'regions:' and 'network:'")
    if "layout" in data and "sites" not in data:
        raise InputError(
            [
                Problem(
                    display,
                    data.line or 1,
                    "",
                    "this is a scenario of the coupled twin (a "
                    "layout and what runs on it): run it with `twin simulate`; a grid scenario "
                    "lists sites, regions and the network (scenarios/grids/voice-chat.yaml)",
                )
            ]
        )
    spec: GridSpec = validate_marked(GridSpec, data, display)
    ctx = GridProblems(display, data)
    cat = catalog or load_catalog()
    for key, items in (("classes", spec.classes), ("sites", spec.sites), ("regions", spec.regions)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                ctx.add((key, i, "name"), f"name {item.name!r} is used twice")
            seen.add(item.name)
    classes = {c.name for c in spec.classes}
    if not any(s.enabled for s in spec.sites):
        ctx.add(("sites",), "every site has `enabled: false`: the grid needs at least one site")
    sites = {s.name for s in spec.sites}
    built = {s.name for s in spec.sites if s.enabled}
    regions = {r.name for r in spec.regions}
    systems, models = set(cat.names("system")), set(cat.names("llm"))
    for i, s in enumerate(spec.sites):
        if s.system not in systems:
            ctx.add(("sites", i, "system"), f"unknown system {s.system!r}{did_you_mean(s.system, systems)}")
        if s.model not in models:
            ctx.add(("sites", i, "model"), f"unknown model {s.model!r}{did_you_mean(s.model, models)}")
    for i, c in enumerate(spec.classes):
        if c.model is not None and c.model not in {s.model for s in spec.sites}:
            ctx.add(
                ("classes", i, "model"),
                f"no site serves {c.model!r} (sites serve: "
                f"{', '.join(sorted({s.model for s in spec.sites}))})",
            )
    central = [i for i, s in enumerate(spec.sites) if s.central]
    for i in central[1:]:
        ctx.add(
            ("sites", i, "central"),
            f"only one site can be the central factory; {spec.sites[central[0]].name!r} already is",
        )
    for i, r in enumerate(spec.regions):
        for name in r.mix:
            if name not in classes:
                ctx.add(
                    ("regions", i, "mix", name),
                    f"unknown request class {name!r}{did_you_mean(name, classes)}",
                )
        total = sum(r.mix.values())
        if abs(total - 1.0) > 1e-6:
            ctx.add(
                ("regions", i, "mix"), f"the shares of the mix must sum to 100 %, they sum to {total:.1%}"
            )
    _check_network(spec, ctx, regions, sites, built)
    _check_time(spec, ctx, sites)
    ctx.raise_any()
    return spec, ctx


def _check_network(spec: GridSpec, ctx: GridProblems, regions: set, sites: set, built: set) -> None:
    """The network: its links and routers, and every region reaching a built site.

    Links name known ends (a region and a site, or two of regions, sites and routers), once each;
    routers are declared once and used; routes pass through routers only.
    """
    routers: set[str] = set()
    for i, name in enumerate(spec.routers):
        if name in routers or name in regions or name in sites:
            ctx.add(("routers", i), f"router {name!r} is also "
                    f"{'a region' if name in regions else 'a site' if name in sites else 'listed before'}: "
                    "every node of the network needs its own name")
        routers.add(name)
    nodes = regions | sites | routers
    seen: dict[frozenset, int] = {}
    graph: dict[str, set[str]] = {}  # arcs a request may take: out of regions and routers, into sites
    used: set[str] = set()
    for i, link in enumerate(spec.network):
        if link.between is None:
            if link.region not in regions:
                ctx.add(("network", i, "region"),
                        f"unknown region {link.region!r}{did_you_mean(link.region, regions)}")
            if link.site not in sites:
                ctx.add(("network", i, "site"), f"unknown site {link.site!r}{did_you_mean(link.site, sites)}")
        else:
            for k, name in enumerate(link.between):
                if name not in nodes:
                    hint = did_you_mean(name, nodes) or " (a router must be listed in `routers:`)"
                    ctx.add(("network", i, "between", k), f"unknown region, site or router {name!r}{hint}")
            a, b = link.between
            kinds = {("region" if x in regions else "site" if x in sites else "router") for x in (a, b)}
            if a == b:
                ctx.add(("network", i, "between"), f"a link from {a!r} to itself")
            elif len(kinds) == 1 and kinds != {"router"} and a in nodes and b in nodes:
                ctx.add(("network", i, "between"), f"a link between two {kinds.pop()}s carries no request: "
                        "requests go from regions through routers to sites")
        a, b = link.ends
        key = frozenset((a, b))
        if key in seen:
            ctx.add(("network", i), f"the link {a} - {b} is given twice (first at network[{seen[key]}])")
        seen.setdefault(key, i)
        used.update((a, b))
        for x, y in ((a, b), (b, a)):
            if x not in sites and y not in regions:
                graph.setdefault(x, set()).add(y)
    for i, name in enumerate(spec.routers):
        if name not in used:
            ctx.add(("routers", i), f"router {name!r} has no link in `network:`")
    for i, r in enumerate(spec.regions):
        todo, reach = [r.name], {r.name}
        while todo:
            for y in graph.get(todo.pop(), ()):
                if y not in reach and (y in routers or y in built):
                    reach.add(y)
                    if y in routers:
                        todo.append(y)
        if not reach & built:
            ctx.add(
                ("regions", i, "name"),
                f"region {r.name!r} reaches no built site: add a `network:` link from it (or enable a site)",
            )


def _check_time(spec: GridSpec, ctx: GridProblems, sites: set[str]) -> None:
    """The timeline, the regions' hourly rates and the events.

    An event at a site that is not built (``enabled: false``) has nothing to act on and is left out (a
    sweep may turn the site off).
    """
    tl = spec.timeline
    if tl is None:
        for i, r in enumerate(spec.regions):
            if r.hourly is not None:
                ctx.add(("regions", i, "hourly"), "hourly rates need a `timeline:` (e.g. `timeline: "
                        "{duration: 24 h, step: 1 h}`); without one the grid is one steady state at `rate`")
        if spec.events:
            ctx.add(("events",), "events need a `timeline:` (e.g. `timeline: {duration: 24 h, step: 1 h}`)")
        return
    n = tl.duration / tl.step
    if abs(n - round(n)) > 1e-6 * max(n, 1.0) or round(n) < 1:
        ctx.add(("timeline", "duration"), f"the duration ({tl.duration:g} s) must be a whole number of "
                f"steps ({tl.step:g} s); it is {n:.3g} steps")
    elif round(n) > MAX_STEPS:
        ctx.add(("timeline", "step"), f"{round(n):,} steps; at most {MAX_STEPS:,} (a year of hours): "
                "lengthen the step or shorten the duration")
    for i, e in enumerate(spec.events):
        if e.site not in sites:
            ctx.add(("events", i, "site"), f"unknown site {e.site!r}{did_you_mean(e.site, sites)}")
        try:
            t0 = event_start_s(e.at, tl)
        except ValueError as exc:
            ctx.add(("events", i, "at"), str(exc))
            continue
        if not 0.0 <= t0 < tl.duration:
            ctx.add(("events", i, "at"), f"{e.at!r} is at {t0:g} s, outside the timeline (0 to "
                    f"{tl.duration:g} s)")
        if e.duration < tl.step:
            ctx.add(("events", i, "duration"), f"{e.duration:g} s is shorter than the timeline's step "
                    f"({tl.step:g} s): a step is judged at its middle, so the event could fall between two; "
                    "shorten the step")

