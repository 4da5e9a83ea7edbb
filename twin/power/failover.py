"""N-1 analysis of the power chain: fail each component once, transfer load, find overloads.

Transfer rules follow the topology the layout built (see :mod:`twin.factory`):

- a failed node de-energises everything below it, except nodes with a standby generator, which
  pick up their load (and are then checked against the generator rating);
- a rack that loses a cord keeps running on the PSUs of its other cord(s), which share the whole
  load; a rack that loses every cord is *dropped*, a failure of the design;
- a UPS module failure leaves the remaining modules of that UPS sharing its load;
- a power-shelf failure leaves the other PSUs of the rack (or of the node, for servers) sharing it.
  Racks of one system are alike, so shelf failures are analysed once per system with its most
  loaded rack.

A case *survives* when no rack is dropped and no component in service exceeds its rating.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from twin.factory import NODE_KINDS, Factory
from twin.power.losses import LossCurves
from twin.power.network import PowerFlow, psu_rating_w, rack_demand, solve_power

#: Relative tolerance when comparing a load with a rating (rounding only).
OVERLOAD_RTOL = 1e-9


@dataclass(frozen=True)
class Overload:
    """A component loaded beyond its rating."""

    name: str
    kind: str
    load_w: float
    rating_w: float

    @property
    def loading(self) -> float:
        """Load as a fraction of rating. [-]"""
        return self.load_w / self.rating_w if self.rating_w > 0 else float("inf")


@dataclass(frozen=True)
class FailureCase:
    """The outcome of one single failure."""

    failed: str
    kind: str
    survives: bool
    overloaded: list[Overload] = field(default_factory=list)
    racks_dropped: int = 0
    power_dropped_w: float = 0.0
    #: the power-chain component loaded closest to (or furthest past) its rating in this case
    #: (:func:`most_loaded`; None for a power-shelf case, which loads only the rack's own PSUs)
    most_loaded: Overload | None = None


def most_loaded(factory: Factory, flow: PowerFlow) -> Overload | None:
    """The power-chain component with the highest load / rating, over or not (None: none loaded).

    Live nodes against their in-service rating and nodes on standby generators against the
    generator, as :func:`overloads` checks them; the racks' own PSUs are left out (they come with
    each rack, they are not the chain's capacity).
    """
    found = [o for o in loadings(factory, flow, threshold=None) if o.kind != "psu"]
    return max(found, key=lambda o: o.loading) if found else None


def overloads(factory: Factory, flow: PowerFlow) -> list[Overload]:
    """Components in service loaded above their rating, most loaded first.

    Checks every live node against its in-service rating, nodes on standby generators against the
    generator rating, and the PSUs of every powered rack against the PSU rating.
    """
    return sorted(loadings(factory, flow, threshold=1.0 + OVERLOAD_RTOL), key=lambda o: -o.loading)


def loadings(factory: Factory, flow: PowerFlow, threshold: float | None) -> list[Overload]:
    """Components in service loaded above ``threshold`` x their rating.

    With ``threshold=None``: the most loaded live node, node on a generator and powered rack's PSU
    (each where there is one).
    """
    tree = factory.power
    out: list[Overload] = []
    grid = flow.node_alive & ~flow.node_on_backup
    with np.errstate(divide="ignore", invalid="ignore"):
        node_frac = np.where(grid & (flow.node_rating_w > 0), flow.node_load_w / flow.node_rating_w, -np.inf)
        gen_frac = np.where(flow.node_on_backup & (tree.backup_rating_w > 0),
                            flow.node_input_w / tree.backup_rating_w, -np.inf)
    psu_frac = np.where(flow.rack_powered, flow.psu_load_fraction, -np.inf)

    def above(frac: np.ndarray) -> np.ndarray:
        if threshold is not None:
            return np.flatnonzero(frac > threshold)
        top = np.flatnonzero(np.isfinite(frac) & (frac == frac.max(initial=-np.inf)))
        return top[:1]

    over, gen, psu = above(node_frac), above(gen_frac), above(psu_frac)
    for i in over:
        out.append(
            Overload(
                str(tree.name[i]),
                NODE_KINDS[tree.kind[i]],
                float(flow.node_load_w[i]),
                float(flow.node_rating_w[i]),
            )
        )
    for i in gen:
        out.append(
            Overload(
                f"{tree.name[i]}/generator",
                "generator",
                float(flow.node_input_w[i]),
                float(tree.backup_rating_w[i]),
            )
        )
    rating = psu_rating_w(factory)
    for i in psu:
        out.append(
            Overload(
                f"{factory.racks.name[i]}/psu",
                "psu",
                float(flow.psu_load_fraction[i] * rating[i]),
                float(rating[i]),
            )
        )
    return out


def _case(factory: Factory, base: PowerFlow, flow: PowerFlow, failed: str, kind: str) -> FailureCase:
    dropped = base.rack_powered & ~flow.rack_powered
    ov = overloads(factory, flow)
    return FailureCase(
        failed=failed,
        kind=kind,
        survives=not ov and not dropped.any(),
        overloaded=ov,
        racks_dropped=int(dropped.sum()),
        power_dropped_w=float(base.rack_input_w[dropped].sum()),
        most_loaded=most_loaded(factory, flow),
    )


def shelf_failure_cases(factory: Factory, base: PowerFlow) -> list[FailureCase]:
    """One power shelf lost in a rack (or server), analysed per system at its most loaded rack.

    With ``N`` PSUs in the sharing domain (the rack busbar, or one server) and ``m`` PSUs per shelf,
    the remaining PSUs carry ``x = P_domain / ((N - m) · P_rated)`` each.
    """
    racks = factory.racks
    rating = psu_rating_w(factory)
    cases = []
    for s, system in enumerate(factory.system_names):
        idx = np.flatnonzero((racks.system_idx == s) & base.rack_powered)
        if idx.size == 0:
            continue
        domains = racks.num_sharing_domains[idx]
        psus_domain = racks.num_shelves[idx] * racks.psus_per_shelf[idx] / domains
        left = psus_domain - racks.psus_per_shelf[idx]
        load_domain = base.it_dc_w[idx] / domains
        with np.errstate(divide="ignore"):
            frac = np.where(left > 0, load_domain / (np.maximum(left, 1) * rating[idx]), np.inf)
        worst = int(np.argmax(frac))
        name = f"one power shelf in any {system} rack ({idx.size} racks)"
        if not np.isfinite(frac[worst]):
            unit = "rack" if domains[worst] == 1 else "server"
            cases.append(
                FailureCase(
                    name, "power_shelf", False, [], racks_dropped=0, power_dropped_w=float(load_domain[worst])
                )
            )
            cases[-1].overloaded.append(
                Overload(
                    f"{racks.name[idx[worst]]} ({unit} loses all PSUs)", "psu", float(load_domain[worst]), 0.0
                )
            )
            continue
        ov = []
        if frac[worst] > 1 + OVERLOAD_RTOL:
            r = rating[idx[worst]]
            ov = [Overload(f"{racks.name[idx[worst]]}/psu", "psu", float(frac[worst] * r), float(r))]
        cases.append(FailureCase(name, "power_shelf", not ov, ov))
    return cases


def num_cases(factory: Factory) -> int:
    """Number of single failures :func:`n_minus_1` analyses.

    Every node, one module of each multi-module UPS, and one power shelf per system.
    """
    tree = factory.power
    ups = int(((tree.kind == NODE_KINDS.index("ups")) & (tree.num_modules > 1)).sum())
    return len(tree) + ups + len(factory.systems)


def n_minus_1(
    factory: Factory,
    utilisation: float | np.ndarray = 1.0,
    gpu_cap_w: float | np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[PowerFlow, list[FailureCase]]:
    """Fail every power component once and report what is overloaded or dropped.

    Returns
    -------
    (base, cases)
        The normal-operation flow and one :class:`FailureCase` per failed component: every node of
        the tree (feed, switchgear, transformer, UPS, busway), one module of every multi-module UPS,
        and one power shelf per system.
    """
    tree = factory.power
    curves = LossCurves.from_models(factory.loss_models)
    demand = rack_demand(factory, utilisation, gpu_cap_w)
    base = solve_power(factory, utilisation, gpu_cap_w=gpu_cap_w, curves=curves, demand=demand)
    cases: list[FailureCase] = []
    failed = np.zeros(len(tree), dtype=bool)
    for i in range(len(tree)):
        failed[i] = True
        flow = solve_power(factory, utilisation, gpu_cap_w=gpu_cap_w, failed_nodes=failed, curves=curves,
                           demand=demand)
        failed[i] = False
        cases.append(_case(factory, base, flow, str(tree.name[i]), NODE_KINDS[tree.kind[i]]))
        if progress is not None:
            progress(i + 1, len(tree))
    ups_code = NODE_KINDS.index("ups")
    lost = np.zeros(len(tree))
    for i in np.flatnonzero((tree.kind == ups_code) & (tree.num_modules > 1)):
        lost[i] = 1
        flow = solve_power(factory, utilisation, gpu_cap_w=gpu_cap_w, module_loss=lost, curves=curves,
                           demand=demand)
        lost[i] = 0
        cases.append(_case(factory, base, flow, f"{tree.name[i]} (one module)", "ups_module"))
    cases.extend(shelf_failure_cases(factory, base))
    return base, cases
