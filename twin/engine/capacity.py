"""Capacity at a glance: for power, cooling, space and network ports, what the design can hold.

For each resource: the **maximum** the design provides, what it **plans** to use at the evaluated
point, what **remains**, the maximum **N-1** leaves (one component out), and the **growth** factor
``g = maximum / planned`` by which the load can grow before that resource binds. The load is the
power drawn and the heat made, growing as today's is spread: every rack's IT load times ``g``.
For the power chain ``g`` is solved on the power flow, losses included; for the utility service
and the CDUs it is taken to first order (load / rating scales with the load). Among the load
resources (power, utility, cooling) the one with the smallest ``g`` — keeping the N-1 margin
where it was analysed — is the **first limit**; every other load resource's capacity beyond
``planned x g_first`` is **stranded**: built, unusable until the first limit is raised. Space
and ports are counted, not loaded: they show what remains for more racks.

- power: IT power the chain delivers to racks and network. The maximum is where the most loaded
  component (busway, UPS, transformer, switchgear, feed, a generator carrying load) reaches its
  rating; the racks' own PSUs are not the chain's capacity and are left out. N-1 is where the most
  loaded component in the worst single failure (``FailureCase.most_loaded``) does; a design that
  drops racks under N-1 has no N-1 headroom;
- utility service: the feeds' ratings against the facility power at the meter (cooling included);
  N-1 without the largest feed;
- cooling: heat the CDU groups take to liquid, against their rated capacity with all CDUs running;
  N-1 with one CDU out of the most constrained group (a group of one CDU has none);
- space: rack positions the power blocks' busways provide (``busways_per_block x racks_per_busway
  / cords``) against the racks placed;
- network ports: NICs the compute fabric's built tiers hold (one leaf: its downlinks; two tiers:
  ``radix`` leaves; three tiers: the fat tree's ``max_leaves``), per cluster, against NICs in use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.factory import NODE_KINDS


@dataclass(frozen=True)
class Resource:
    """One resource's capacity; quantities in ``unit`` (W or a count)."""

    name: str
    unit: str  # "W" or "count"
    maximum: float
    planned: float
    n_minus_1: float | None  # maximum with one component out (None: not analysed / not meaningful)
    limit: str  # what binds at the maximum
    limit_n_minus_1: str = ""  # what binds at the N-1 maximum

    @property
    def remaining(self) -> float:
        """Maximum less planned (negative: over capacity today)."""
        return self.maximum - self.planned

    @property
    def growth(self) -> float:
        """Factor the planned load can grow by before this resource binds (inf: nothing planned)."""
        return self.maximum / self.planned if self.planned > 0 else float("inf")

    @property
    def growth_n_minus_1(self) -> float | None:
        """As :attr:`growth`, keeping the N-1 margin."""
        if self.n_minus_1 is None:
            return None
        return self.n_minus_1 / self.planned if self.planned > 0 else float("inf")


@dataclass(frozen=True)
class Capacity:
    """Every resource of a design, the first limit as load grows, and the capacity it strands."""

    resources: list[Resource]

    def first_limit(self, n_minus_1: bool = True) -> Resource | None:
        """The load resource that binds first as load grows (None when no load is planned).

        With ``n_minus_1``, a resource's growth keeps its N-1 margin where that was analysed.
        """
        loads = [r for r in self.resources if r.unit == "W" and np.isfinite(r.growth)]
        return min(loads, key=lambda r: _growth(r, n_minus_1)) if loads else None

    def stranded(self, n_minus_1: bool = True) -> dict[str, float]:
        """Load resource -> its capacity beyond the load the first limit lets the design reach. [W]

        Measured the way the resource's maximum is: with its N-1 margin kept when ``n_minus_1``.
        """
        first = self.first_limit(n_minus_1)
        if first is None:
            return {}
        g = max(_growth(first, n_minus_1), 0.0)
        out = {}
        for r in self.resources:
            if r.unit == "W" and r is not first:
                cap = r.n_minus_1 if n_minus_1 and r.n_minus_1 is not None else r.maximum
                out[r.name] = max(cap - r.planned * g, 0.0)
        return out


def _growth(r: Resource, n_minus_1: bool) -> float:
    g = r.growth_n_minus_1 if n_minus_1 else None
    return r.growth if g is None else g


def capacity(results) -> Capacity:
    """Maximum, planned, remaining, N-1 and growth of power, utility, cooling, space and ports."""
    return Capacity(_power(results) + _cooling(results) + _space(results) + _ports(results))


def _power(results) -> list[Resource]:
    from twin.power.failover import most_loaded

    fac = results.factory
    out = []
    it = float(results.it_power_w)
    worst = most_loaded(fac, results.flow)
    if worst is not None and worst.loading > 0:
        n1, limit_n1 = None, ""
        if results.power_cases is not None:
            cases = results.power_cases
            dropped = [c for c in cases if c.racks_dropped]
            loaded = [c for c in cases if c.most_loaded is not None]
            if dropped:
                n1, limit_n1 = 0.0, f"racks lose power when {dropped[0].failed} fails"
            elif loaded:
                c = max(loaded, key=lambda c: c.most_loaded.loading)
                g, name = _power_growth(results, c)
                n1, limit_n1 = it * g, f"{name} reaches its rating when {c.failed} fails"
        g, name = _power_growth(results)
        out.append(Resource("power (IT)", "W", it * g, it, n1, f"{name} reaches its rating", limit_n1))
    feeds = np.flatnonzero(fac.power.kind == NODE_KINDS.index("feed"))
    if len(feeds):
        rating = fac.power.module_rating_w[feeds] * fac.power.num_modules[feeds]
        total = float(rating.sum())
        out.append(Resource("utility service", "W", total, float(results.facility_power_w),
                            total - float(rating.max()), f"the {len(feeds)} utility feeds' rating",
                            "the feeds' rating without the largest"))
    return out


def _power_growth(results, case=None, tol: float = 1e-4) -> tuple[float, str]:
    """Growth of every rack's IT load at which the power chain's most loaded component binds.

    Solved on the power flow (losses included), with the failure of ``case`` if given; returns the
    factor and that component as ``name (kind)``. Bisection: loading only grows with load.
    """
    from twin.power.failover import most_loaded
    from twin.power.losses import LossCurves
    from twin.power.network import solve_power

    fac, base = results.factory, results.flow
    tree = fac.power
    kwargs = {}
    if case is not None and case.kind == "ups_module":
        kwargs["module_loss"] = (tree.name == case.failed.removesuffix(" (one module)")).astype(float)
    elif case is not None:
        kwargs["failed_nodes"] = tree.name == case.failed
    curves = LossCurves.from_models(fac.loss_models)

    def worst(g: float):
        demand = (base.utilisation, base.clock_factor, base.it_dc_w * g, base.gpu_w)
        return most_loaded(fac, solve_power(fac, base.utilisation, demand=demand, curves=curves, **kwargs))

    w = worst(1.0)
    lo, hi = 0.0, 1.0 / w.loading  # losses grow faster than the load: the first-order factor is high
    while worst(hi).loading < 1.0:
        lo, hi = hi, 2.0 * hi
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if worst(mid).loading < 1.0 else (lo, mid)
    w = worst(hi)
    return hi, f"{w.name} ({w.kind})"


def _cooling(results) -> list[Resource]:
    if results.cooling is None:
        return []
    g = results.cdu_groups()
    if g.empty:
        return []
    heat = g["heat_w"].to_numpy(float)
    cap = g["capacity_w"].to_numpy(float)
    cdus = g["cdus"].to_numpy(float)
    planned = float(heat.sum())
    if planned <= 0:
        return [Resource("cooling (CDUs)", "W", float(cap.sum()), 0.0, None, "CDU capacity")]
    with np.errstate(divide="ignore", invalid="ignore"):
        grow = np.where(heat > 0, cap / heat, np.inf)
        grow_n1 = np.where(heat > 0, cap * (cdus - 1) / np.maximum(cdus, 1) / heat, np.inf)
    i, j = int(np.argmin(grow)), int(np.argmin(grow_n1))
    return [Resource("cooling (CDUs)", "W", planned * float(grow[i]), planned, planned * float(grow_n1[j]),
                     f"CDU group {g['name'].iloc[i]} reaches its capacity",
                     f"CDU group {g['name'].iloc[j]} with one of its {int(cdus[j])} CDUs out")]


def _space(results) -> list[Resource]:
    tree = results.factory.power
    if tree.rack_positions is None or not tree.rack_positions.any():
        return []
    return [Resource("space (rack positions)", "count", float(tree.rack_positions.sum()),
                     float(results.factory.num_racks), None,
                     "the power blocks' busway positions (busways per block x racks per busway)")]


def _ports(results) -> list[Resource]:
    c = results.fabric.clusters
    out = []
    for i, name in enumerate(c.get("name", [])):
        tiers, d, k = int(c["num_tiers"][i]), int(c["downlinks_per_leaf"][i]), int(c["radix"][i])
        held = {1: d, 2: k * d}.get(tiers, int(c["max_leaves"][i]) * d)
        out.append(Resource(f"network ports ({name})", "count", float(held), float(c["num_nics"][i]), None,
                            f"the {tiers}-tier fabric of radix {k} switches ({d} NICs per leaf)"))
    return out
