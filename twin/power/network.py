"""Steady-state power flow through the distribution tree, vectorised over racks and nodes.

From the racks up: rack IT power → power shelves (losses, split over the live cords) → busways →
UPS → transformers → switchgear → utility feeds. At every node

.. math:: P_{in} = \\sum_{children} P_{in,child} + \\sum_{cords} P_{cord} + P_{loss}(P_{out})

which :func:`solve_power` enforces exactly (tested to 1e-9 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from twin.factory import NODE_KINDS, Factory
from twin.power.capping import clock_factor_for_cap
from twin.power.losses import LossCurves
from twin.power.rack import rack_it_power_w, shelf_input_w


@dataclass(frozen=True)
class PowerFlow:
    """Result of one steady power solve. Rack arrays have one entry per rack, node arrays per node."""

    utilisation: np.ndarray  # per rack [-]
    clock_factor: np.ndarray  # per rack [-]
    gpu_w: np.ndarray  # power of one GPU [W]
    it_dc_w: np.ndarray  # rack IT load behind the shelves [W]
    rack_input_w: np.ndarray  # rack input power (at the rack's cords) [W]
    shelf_loss_w: np.ndarray  # [W]
    psu_load_fraction: np.ndarray  # load of each active PSU / its rating [-]
    rack_powered: np.ndarray  # bool
    cord_w: np.ndarray  # per cord [W]
    node_alive: np.ndarray  # bool
    node_on_backup: np.ndarray  # bool: energised from its standby generator
    node_rating_w: np.ndarray  # rating in service (0 when dead) [W]
    node_load_w: np.ndarray  # output power delivered [W]
    node_loss_w: np.ndarray  # [W]
    node_input_w: np.ndarray  # [W]
    node_is_source: np.ndarray  # bool: live root, or node on backup (draws from outside the tree)

    @property
    def it_power_w(self) -> float:
        """IT power at the rack inputs (The Green Grid's PUE boundary). [W]"""
        return float(self.rack_input_w.sum())

    @property
    def chain_input_w(self) -> float:
        """Power the distribution tree draws from utility feeds and standby generators for its racks. [W]

        Not the facility power: that adds the network racks' share and the cooling plant
        (:attr:`twin.engine.results.Results.facility_power_w`).
        """
        return float(self.node_input_w[self.node_is_source].sum())


def psu_rating_w(factory: Factory) -> np.ndarray:
    """Rating of one PSU of each rack. [W]"""
    ratings = np.array([m.rating_w for m in factory.loss_models])
    return ratings[factory.racks.psu_model_idx]


def rack_demand(
    factory: Factory, utilisation: ArrayLike = 1.0, gpu_cap_w: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Utilisation, clock factor, IT power and GPU power of every rack; failures do not change them.

    Returns
    -------
    (utilisation, clock_factor, it_w, gpu_w) : arrays over racks
        ``it_w`` is the rack's DC IT load behind its shelves and ``gpu_w`` one GPU's power. [-], [-], [W], [W]
    """
    racks = factory.racks
    n_racks = len(racks)
    u = np.broadcast_to(np.asarray(utilisation, dtype=float), (n_racks,)).copy()
    cap = racks.gpu_cap_w if gpu_cap_w is None else np.broadcast_to(gpu_cap_w, (n_racks,))
    clock = clock_factor_for_cap(u, cap, racks.gpu_idle_w, racks.gpu_tdp_w, racks.gpu_min_clock)
    it, gpu_w = rack_it_power_w(
        u,
        clock,
        racks.num_gpus,
        racks.gpu_idle_w,
        racks.gpu_tdp_w,
        racks.num_cpus,
        racks.cpu_idle_w,
        racks.cpu_tdp_w,
        racks.fixed_idle_w,
        racks.fixed_max_w,
    )
    return u, clock, it, gpu_w


def energised(factory: Factory, failed: np.ndarray, backup_ok: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Which nodes are energised when the ``failed`` nodes are out of service.

    A node is alive when it has not failed and its parent is alive, or when it has a standby
    generator (``backup_rating_w > 0``) that picks it up after its upstream is lost. ``backup_ok``
    (bool over nodes) overrides which nodes can carry themselves at this instant: a generator still
    starting cannot, a UPS on its battery can (the coupled engine's ride-through).

    Returns
    -------
    (alive, on_backup) : boolean arrays over nodes
    """
    tree = factory.power
    alive = ~failed
    on_backup = np.zeros(len(tree), dtype=bool)
    can = tree.backup_rating_w > 0 if backup_ok is None else np.asarray(backup_ok, dtype=bool)
    for level in tree.levels[1:]:
        parent_ok = alive[tree.parent[level]]
        backup = (~parent_ok) & can[level] & alive[level]
        on_backup[level] = backup
        alive[level] &= parent_ok | backup
    return alive, on_backup


def solve_power(
    factory: Factory,
    utilisation: ArrayLike = 1.0,
    *,
    gpu_cap_w: ArrayLike | None = None,
    failed_nodes: ArrayLike | None = None,
    module_loss: ArrayLike | None = None,
    curves: LossCurves | None = None,
    demand: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    backup_ok: np.ndarray | None = None,
) -> PowerFlow:
    """Steady power at every rack and node for a utilisation and failure state.

    Parameters
    ----------
    factory : Factory
        The site.
    utilisation : float or array over racks
        GPU/CPU utilisation, see :mod:`twin.power.gpu`. [-]
    gpu_cap_w : float or array over racks, optional
        GPU power cap; defaults to each rack's configured cap (TDP when uncapped). [W]
    failed_nodes : bool array over nodes, optional
        Nodes out of service; everything below them loses supply unless on backup.
    module_loss : array over nodes, optional
        Number of failed parallel modules per node (UPS module failures).
    curves : LossCurves, optional
        Precomputed ``LossCurves.from_models(factory.loss_models)`` (saves time in N-1 loops).
    demand : tuple, optional
        Precomputed :func:`rack_demand` for the same utilisation and caps (saves time in N-1 loops).
    backup_ok : bool array over nodes, optional
        Which nodes can carry themselves when their upstream is lost (default: those with standby
        generators), see :func:`energised`.
    """
    racks, tree = factory.racks, factory.power
    n_racks = len(racks)
    u, clock, it, gpu_w = rack_demand(factory, utilisation, gpu_cap_w) if demand is None else demand

    failed = np.zeros(len(tree), dtype=bool) if failed_nodes is None else np.asarray(failed_nodes, bool)
    alive, on_backup = energised(factory, failed, backup_ok)
    modules = tree.num_modules - (0 if module_loss is None else np.asarray(module_loss, dtype=float))
    rating = np.where(alive, np.maximum(modules, 0) * tree.module_rating_w, 0.0)

    cord_live = alive[tree.cord_node]
    cord_psus = np.where(cord_live, tree.cord_shelves, 0)
    active = np.bincount(tree.cord_rack, weights=cord_psus, minlength=n_racks)
    curves = LossCurves.from_models(factory.loss_models) if curves is None else curves
    rack_in, frac = shelf_input_w(it, active, psu_rating_w(factory), racks.psu_model_idx, curves)
    powered = active > 0
    it = np.where(powered, it, 0.0)
    share = np.divide(
        cord_psus, active[tree.cord_rack], out=np.zeros(len(cord_psus)), where=active[tree.cord_rack] > 0
    )
    cord_w = rack_in[tree.cord_rack] * share

    load = np.bincount(tree.cord_node, weights=cord_w, minlength=len(tree)).astype(float)
    loss = np.zeros(len(tree))
    node_in = np.zeros(len(tree))
    for level in reversed(tree.levels):
        loss[level] = curves.loss_w(load[level], rating[level], tree.loss_model_idx[level])
        node_in[level] = np.where(alive[level], load[level] + loss[level], 0.0)
        has_parent = tree.parent[level] >= 0
        feeds_parent = level[has_parent & ~on_backup[level]]
        np.add.at(load, tree.parent[feeds_parent], node_in[feeds_parent])

    flow = PowerFlow(
        utilisation=u,
        clock_factor=clock,
        gpu_w=gpu_w,
        it_dc_w=it,
        rack_input_w=rack_in,
        shelf_loss_w=rack_in - it,
        psu_load_fraction=np.where(powered, frac, 0.0),
        rack_powered=powered,
        cord_w=cord_w,
        node_alive=alive,
        node_on_backup=on_backup,
        node_rating_w=rating,
        node_load_w=load,
        node_loss_w=loss,
        node_input_w=node_in,
        node_is_source=alive & ((tree.parent < 0) | on_backup),
    )
    return flow


def losses_by_stage(factory: Factory, flow: PowerFlow) -> dict[str, float]:
    """Losses summed per stage: power shelves, then each node kind. [W]"""
    out = {"power_shelf": float(flow.shelf_loss_w.sum())}
    for code, kind in enumerate(NODE_KINDS):
        if kind == "feed":
            continue
        out[kind] = float(flow.node_loss_w[factory.power.kind == code].sum())
    return out
