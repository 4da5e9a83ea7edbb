"""A grid over time: quasi-steady steps of the regions' hourly rates and of site events.

A grid scenario with a ``timeline`` (``duration``, ``step``, UTC ``start``) is placed and served once per
step, each step a steady state at its middle: region ``r``'s rate is ``rate_r * hourly_r[h]`` with
``h`` the region's local hour there (UTC hour + ``utc_offset``), and the events in force then act on
their sites — ``power_cap`` lowers the site's clock by the cubic DVFS law (the lower of two caps
applies; the power-aware policy tries such sites last), ``down`` takes the site out of service (no
link reaches it; it draws nothing, its GPUs are still paid for). Steady states are right where a step
is long beside a site's queue time constants (seconds to minutes against the default hour); what
happens within a step (the ramp of a demand-response event, a queue draining after an outage) is the
coupled twin's transient, not this.

Over the period, rates are time means, percentiles and deadline misses are over every request of the
period, energy and cost are summed (:meth:`twin.grid.model.Grid.tables`); the ``timeline`` rows give
each step.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np

from twin.grid.model import grid_totals
from twin.layout.grid import event_start_s, start_hour, timeline_steps
from twin.layout.schema_grid import GridSpec


@dataclass(frozen=True)
class Step:
    """One step of a timeline: its span, the regions' rate factors and the events in force."""

    index: int
    start_s: float
    duration_s: float
    #: UTC hour of day at the step's middle
    utc_hour: float
    #: rate factor of each region, in the scenario's order
    scale: tuple[float, ...]
    #: (site index, power cap) of the caps in force (the lowest per site)
    caps: tuple[tuple[int, float], ...]
    #: sites out of service
    down: tuple[int, ...]
    #: what is in force, in words
    events: tuple[str, ...]


def steps(spec: GridSpec, site_index: dict[str, int]) -> list[Step]:
    """The steps of a scenario's timeline; empty without one.

    ``site_index``: the built sites by name (events at other sites are left out).
    """
    tl = spec.timeline
    if tl is None:
        return []
    h0 = start_hour(tl)
    timed = [(e, event_start_s(e.at, tl)) for e in spec.events if e.site in site_index]
    out = []
    for k in range(timeline_steps(tl)):
        t0 = k * tl.step
        mid = t0 + tl.step / 2.0
        utc = (h0 + mid / 3600.0) % 24.0
        scale = tuple(
            1.0 if r.hourly is None else float(r.hourly[int((utc + r.utc_offset / 3600.0) % 24.0)])
            for r in spec.regions
        )
        caps: dict[int, float] = {}
        down: set[int] = set()
        words = []
        for e, start in timed:
            if not start <= mid < start + e.duration:
                continue
            s = site_index[e.site]
            if e.down:
                down.add(s)
                words.append(f"{e.site} down")
            else:
                caps[s] = min(caps.get(s, 1.0), e.power_cap)
                words.append(f"{e.site} capped at {e.power_cap:.0%}")
        out.append(Step(k, t0, tl.step, utc, scale, tuple(sorted(caps.items())), tuple(sorted(down)),
                        tuple(words)))
    return out


def at_step(grid, step: Step):
    """The grid during ``step``: flows at the step's rates, its events on the sites (a shallow copy)."""
    g = copy.copy(grid)
    factor = {r.name: x for r, x in zip(grid.spec.regions, step.scale, strict=True)}
    g.flows = [dataclasses.replace(fl, rate_per_s=fl.rate_per_s * factor[fl.region]) for fl in grid.flows]
    g.sites = list(grid.sites)
    for s, cap in step.caps:
        g.sites[s] = grid.sites[s].during(power_cap=cap)
    g.latency = grid.latency.copy()
    for s in step.down:
        g.sites[s] = grid.sites[s].during(down=True)
        g.latency[:, s] = np.inf
    g._harm = {}
    return g


def step_key(step: Step) -> tuple:
    """What decides a step's placement: equal keys place alike (rates and events)."""
    return (step.scale, step.caps, step.down)


def _hhmm(hour: float) -> str:
    m = int(round(hour * 60.0)) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def step_row(grid, step: Step, served, central) -> dict:
    """One timeline row: the step's totals, each site's load and power, each region's misses."""
    by_region: dict[str, list[int]] = {}
    for f, fl in enumerate(grid.flows):
        by_region.setdefault(fl.region, []).append(f)

    def totals(x) -> dict:
        return grid_totals(x.arrived, x.served, x.rejected, x.missed, x.sites)

    return {
        "step": step.index,
        "start_s": step.start_s,
        "duration_s": step.duration_s,
        "utc": _hhmm(step.utc_hour - step.duration_s / 7200.0),
        "events": list(step.events),
        **totals(served),
        "sites": {
            r["site"]: {k: r[k] for k in ("served_per_s", "utilisation", "site_power_w", "clock_factor")}
            for r in served.sites
        },
        "regions": {
            name: {
                "arrived_per_s": float(served.arrived[fs].sum()),
                "deadline_miss_rate": float(served.missed[fs].sum() / served.arrived[fs].sum())
                if served.arrived[fs].sum() > 0
                else 0.0,
            }
            for name, fs in by_region.items()
        },
        "central": totals(central) if central is not None else None,
    }
