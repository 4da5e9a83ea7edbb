"""Invariants every steady evaluation must keep: conservation of power and energy, finite figures.

:func:`check` runs on every :func:`twin.engine.steady.evaluate`; each invariant is a pure function of
the results returning ``None`` when it holds or a message naming what broke. The results carry
``invariants: {name: passed}`` (and the messages), the JSON reports them, and the tests fail on any
violation. Tolerances are rounding only: ``RTOL`` relative, plus ``ATOL_W`` for sums that cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.engine.results import Results

#: Relative tolerance of every balance (floating-point rounding of sums over ~10^4 terms).
RTOL = 1e-9
#: Absolute floor of a balance [W] (sums that cancel to ~0).
ATOL_W = 1e-6


def _close(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) <= ATOL_W + RTOL * np.maximum(np.abs(a), np.abs(b))


def power_conserved_at_every_node(res: Results) -> str | None:
    """At every energised node: input = output + loss, and output = cords below + children fed from it."""
    tree, flow = res.factory.power, res.flow
    alive = flow.node_alive
    fed = alive & (tree.parent >= 0) & ~flow.node_on_backup
    out = np.bincount(tree.cord_node, weights=flow.cord_w, minlength=len(tree))
    out += np.bincount(tree.parent[fed], weights=flow.node_input_w[fed], minlength=len(tree))
    bad_out = alive & ~_close(flow.node_load_w, out)
    bad_in = alive & ~_close(flow.node_input_w, flow.node_load_w + flow.node_loss_w)
    bad = np.flatnonzero(bad_out | bad_in)
    if bad.size:
        i = int(bad[0])
        return (f"{bad.size} node(s) do not balance, first {tree.name[i]}: input "
                f"{flow.node_input_w[i]:.6g} W, output {flow.node_load_w[i]:.6g} W (children + cords "
                f"{out[i]:.6g} W), "
                f"loss {flow.node_loss_w[i]:.6g} W")
    return None


def rack_power_balances(res: Results) -> str | None:
    """At every rack: input = IT load + shelf loss, and the cords carry the input."""
    flow, tree = res.flow, res.factory.power
    racks = len(res.factory.racks)
    cords = np.bincount(tree.cord_rack, weights=flow.cord_w, minlength=racks)
    bad = ~_close(flow.rack_input_w, flow.it_dc_w + flow.shelf_loss_w) | ~_close(cords, flow.rack_input_w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return (f"rack {res.factory.racks.name[i]}: input {flow.rack_input_w[i]:.6g} W, IT "
                f"{flow.it_dc_w[i]:.6g} W + shelf loss {flow.shelf_loss_w[i]:.6g} W, cords {cords[i]:.6g} W")
    return None


def chain_input_is_racks_plus_losses(res: Results) -> str | None:
    """What the sources deliver = rack inputs + every energised node's loss."""
    flow = res.flow
    delivered = flow.chain_input_w
    used = float(flow.rack_input_w.sum()) + float(flow.node_loss_w[flow.node_alive].sum())
    if not _close(delivered, used):
        return f"sources deliver {delivered:.9g} W, racks and losses take {used:.9g} W"
    return None


def facility_is_it_plus_losses_plus_cooling(res: Results) -> str | None:
    """Facility power = IT power + electrical losses outside IT (every stage but the shelves) + cooling."""
    losses = sum(w for stage, w in res.losses_w.items() if stage != "power_shelf")
    total = res.it_power_w + losses + res.cooling_power_w
    if not _close(res.facility_power_w, total):
        return (f"facility {res.facility_power_w:.9g} W, IT + losses + cooling {total:.9g} W "
                f"(off by {res.facility_power_w - total:.6g} W)")
    return None


def it_power_becomes_heat(res: Results) -> str | None:
    """Every watt of IT power (compute and network racks) becomes heat to the liquid or to the air."""
    c = res.cooling
    if c is None:
        return None
    heat = c.heat_to_liquid_w + c.heat_to_air_w
    if not _close(res.it_power_w, heat):
        return (f"IT power {res.it_power_w:.9g} W, heat to liquid + air {heat:.9g} W "
                f"(off by {res.it_power_w - heat:.6g} W)")
    return None


def facility_power_becomes_heat(res: Results) -> str | None:
    """Everything the site draws leaves as heat (energy in = heat out).

    Plant rejection + outdoor transformers + heat no modelled plant removes + unmet air heat =
    facility power.
    """
    c = res.cooling
    if c is None:
        return None
    out = c.heat_to_ambient_w + c.unmet_heat_w
    if not np.isfinite(out) or not _close(res.facility_power_w, out):
        return (f"facility {res.facility_power_w:.9g} W, heat to ambient {out:.9g} W "
                f"(off by {res.facility_power_w - out:.6g} W)")
    return None


def figures_finite(res: Results) -> str | None:
    """Headline figures and per-rack power are finite numbers (no NaN, no inf)."""
    flow = res.flow
    names = {"it_power_w": res.it_power_w, "power_chain_w": res.power_chain_w,
             "facility_power_w": res.facility_power_w, "cooling_power_w": res.cooling_power_w,
             **{f"losses_w.{k}": v for k, v in res.losses_w.items()}}
    bad = [k for k, v in names.items() if not np.isfinite(v)]
    for key in ("rack_input_w", "it_dc_w", "gpu_w", "cord_w", "node_load_w", "node_loss_w", "node_input_w"):
        if not np.isfinite(getattr(flow, key)).all():
            bad.append(f"flow.{key}")
    return f"not finite: {', '.join(bad)}" if bad else None


def loadings_finite(res: Results) -> str | None:
    """Every component in service and every powered rack's PSUs have a finite loading."""
    flow = res.flow
    rated = flow.node_alive & (flow.node_rating_w > 0)
    node = np.divide(flow.node_load_w, flow.node_rating_w, out=np.zeros_like(flow.node_load_w), where=rated)
    psu = flow.psu_load_fraction[flow.rack_powered]
    bad = int((~np.isfinite(node[rated])).sum()) + int((~np.isfinite(psu)).sum())
    return f"{bad} loading(s) not finite" if bad else None


#: name -> invariant (reported in this order)
INVARIANTS: dict[str, Callable[[Results], str | None]] = {
    "power_conserved_at_every_node": power_conserved_at_every_node,
    "rack_power_balances": rack_power_balances,
    "chain_input_is_racks_plus_losses": chain_input_is_racks_plus_losses,
    "facility_is_it_plus_losses_plus_cooling": facility_is_it_plus_losses_plus_cooling,
    "it_power_becomes_heat": it_power_becomes_heat,
    "facility_power_becomes_heat": facility_power_becomes_heat,
    "figures_finite": figures_finite,
    "loadings_finite": loadings_finite,
}


def check(res: Results) -> dict[str, str | None]:
    """Run every invariant: name -> None (holds) or the message of what broke."""
    return {name: fn(res) for name, fn in INVARIANTS.items()}
