"""NVLink domains and the Spectrum-X rail-optimised leaf/spine fabric, built from a Factory.

Tables first, graphs derived (PyPSA habit). :func:`build_fabric` reads the systems and the
layout's fabric design (:class:`~twin.records.FabricDesign`) carried by the
:class:`~twin.factory.Factory` and returns a
:class:`Fabric`: per-rack arrays (NVLink domains, NIC bandwidth, cluster and node offset) and
per-cluster arrays (one scale-out fat tree per location and system, counts per plane). The
networkx graph of a cluster is derived on demand with one node per *node block* (the nodes that
share a leaf on every rail), leaf, spine (2 tiers) or pod spine group and core (3 tiers), never
one node per GPU, so the ~1 GW campus (~440 k GPUs) stays small.

Without ``fabric:`` the factory has NVLink domains only: no scale-out switches, optics or cables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

from twin.errors import InputError, Problem
from twin.fabric.bandwidth import (
    bisection_bandwidth_bytes_s,
    fat_tree_counts,
    logical_radix,
    max_switch_hops,
    oversubscription_ratio,
    switch_hops,
)
from twin.fabric.bom import bom_rows, cluster_parts, nic_optic_model, power_by_location_w
from twin.factory import Factory
from twin.records import FabricDesign, FrontendDesign

#: NVLink switch chips per NVLink switch tray (GB200/GB300 NVL72: 9 trays x 2 NVLink-5 ASICs),
#: NVIDIA DGX GB200 User Guide, hardware overview. Servers without trays (HGX) use
#: ``NVLINK_CHIPS_PER_BASEBOARD``: 2 NVLink-5 switch chips on the HGX B200 board (DGX B200 User Guide).
NVLINK_CHIPS_PER_TRAY = 2
NVLINK_CHIPS_PER_BASEBOARD = 2


@dataclass(frozen=True)
class RackFabric:
    """Per-rack fabric data, one element per rack (aligned with ``Factory.racks``)."""

    num_nodes: np.ndarray  # compute trays or servers
    num_nvlink_domains: np.ndarray
    nvlink_domain_gpus: np.ndarray
    nvlink_bw_bytes_s: np.ndarray  # per GPU, per direction
    num_nvlink_switch_trays: np.ndarray
    nic_bw_bytes_s: np.ndarray  # scale-out NIC bandwidth per GPU, per direction (0 = no fabric)
    cluster: np.ndarray  # index into Fabric.clusters, -1 without a fabric
    first_node: np.ndarray  # offset of the rack's first node inside its cluster
    extra_power_w: np.ndarray  # fabric power inside the rack not already in the system entry


@dataclass(frozen=True)
class Fabric:
    """The fabric of a factory: rack arrays, cluster arrays (per plane) and bill of materials."""

    name: str
    racks: RackFabric
    clusters: dict[str, np.ndarray]  # columns, one element per scale-out cluster
    num_planes: int
    frontend: dict[str, np.ndarray] = field(default_factory=dict)  # columns per location
    bom: list[dict] = field(default_factory=list)
    design: FabricDesign | None = None

    @property
    def num_clusters(self) -> int:
        """Scale-out clusters in the fabric."""
        return len(self.clusters.get("name", ()))

    def network_power_w(self) -> dict[str, float]:
        """Power of switches and switch-side optics in network racks, by location. [W]"""
        return power_by_location_w(self.bom)

    def rack_power_w(self) -> np.ndarray:
        """Fabric power inside each compute rack not already in its system entry. [W]

        Zero by default: NICs and their optics are components of the system entries. Non-zero only
        with ``fabric.nic_power_in_system: false`` (NIC count × NIC power).
        """
        return self.racks.extra_power_w

    def fabric_power_w(self) -> float:
        """Power the fabric adds to IT power: network racks plus :meth:`rack_power_w`. [W]"""
        return float(sum(self.network_power_w().values()) + self.racks.extra_power_w.sum())

    def bisection_bandwidth_bytes_s(self) -> np.ndarray:
        """Bisection bandwidth of every cluster, all planes, per direction. [bytes/s]"""
        c = self.clusters
        if not self.num_clusters:
            return np.zeros(0)
        return self.num_planes * bisection_bandwidth_bytes_s(
            c["num_nics"], c["leaf_uplinks"], c["spine_uplinks"], c["num_tiers"], c["link_bw_bytes_s"]
        )

    def scale_out_bw_per_gpu_bytes_s(self) -> np.ndarray:
        """Per-GPU scale-out bandwidth per rack, per direction, across oversubscribed leaves. [bytes/s]

        ``nics_per_gpu × NIC speed / o``, ``o`` the cluster's realised leaf oversubscription; 0 for
        racks without a scale-out fabric. Use it as ``net_bw_bytes_s`` of
        :func:`~twin.fabric.collectives.hierarchical_time_s` for groups that span leaves.
        """
        r = self.racks
        if not self.num_clusters:
            return np.zeros(len(r.cluster))
        return r.nic_bw_bytes_s / self.clusters["oversubscription"][r.cluster]

    def switch_hops(self, rack_a, rack_b) -> np.ndarray:
        """Switches crossed between the first nodes of racks ``rack_a`` and ``rack_b`` (same rail). [-]

        1 in the same node block (shared leaf), 3 in the same pod or a 2-tier fabric, 5 across
        pods; -1 where the racks are on different clusters (no scale-out path) or there is no fabric.
        """
        a, b = np.asarray(rack_a), np.asarray(rack_b)
        r = self.racks
        if not self.num_clusters:
            return np.full(np.broadcast(a, b).shape, -1)
        ca, cb = r.cluster[a], r.cluster[b]
        d = self.clusters["downlinks_per_leaf"][ca]
        rails = self.clusters["rails"][ca]
        per_pod = self.clusters["leaves_per_pod"][ca]
        ja, jb = r.first_node[a] // d, r.first_node[b] // d
        hops = switch_hops(ja, jb, ja * rails // per_pod, jb * rails // per_pod)
        return np.where(ca == cb, hops, -1)

    def summary(self) -> dict:
        """Counts, bandwidth and power as plain numbers (the ``twin fabric --json`` document)."""
        from twin.fabric.summary import fabric_summary

        return fabric_summary(self)

    def graph(self, cluster: int | str = 0) -> nx.Graph:
        """The networkx graph of one plane of one cluster, edge ``capacity`` per direction [bytes/s].

        Nodes: ``<cluster>/block<j>`` (the nodes sharing leaf ``j`` on every rail, reaching all
        rails through NVLink/PXN), ``<cluster>/leaf<j>.<r>``, and ``<cluster>/spine<s>`` (2 tiers)
        or ``<cluster>/pod<p>`` (the pod's spines merged) and ``<cluster>/core`` (the super-spines
        merged) for 3 tiers. Merged groups are symmetric, so max-flow is unchanged.
        """
        c = self.clusters
        i = int(np.flatnonzero(c["name"] == cluster)[0]) if isinstance(cluster, str) else int(cluster)
        return cluster_graph(
            str(c["name"][i]),
            int(c["num_nodes"][i]),
            int(c["rails"][i]),
            int(c["downlinks_per_leaf"][i]),
            float(c["oversubscription_design"][i]),
            int(c["num_tiers"][i]),
            int(c["num_spines"][i]),
            int(c["leaves_per_pod"][i]),
            float(c["link_bw_bytes_s"][i]),
        )


def cluster_graph(name: str, num_nodes: int, rails: int, downlinks_per_leaf: int, oversubscription: float,
                  num_tiers: int, num_spines: int, leaves_per_pod: int, link_bw_bytes_s: float) -> nx.Graph:
    """Graph of one plane of a rail-optimised fat tree (see :meth:`Fabric.graph`)."""
    import networkx as nx

    g = nx.Graph()
    d, o, bw = downlinks_per_leaf, oversubscription, link_bw_bytes_s
    blocks = -(-num_nodes // d)
    n_in_block = np.minimum(d, num_nodes - d * np.arange(blocks))
    up_per_leaf = np.ceil(n_in_block / o - 1e-9).astype(np.int64)
    for j in range(blocks):
        g.add_node(f"{name}/block{j}", kind="block", num_nodes=int(n_in_block[j]))
        for r in range(rails):
            leaf = f"{name}/leaf{j}.{r}"
            g.add_node(leaf, kind="leaf")
            g.add_edge(f"{name}/block{j}", leaf, capacity=float(n_in_block[j] * bw))
            if num_tiers == 2:
                for s in range(num_spines):
                    g.add_edge(leaf, f"{name}/spine{s}", capacity=float(up_per_leaf[j] * bw / num_spines))
            elif num_tiers == 3:
                pod = (j * rails + r) // leaves_per_pod
                g.add_edge(leaf, f"{name}/pod{pod}", capacity=float(up_per_leaf[j] * bw))
                cap = g.edges[f"{name}/pod{pod}", f"{name}/core"]["capacity"] if g.has_edge(
                    f"{name}/pod{pod}", f"{name}/core") else 0.0
                g.add_edge(f"{name}/pod{pod}", f"{name}/core", capacity=cap + float(up_per_leaf[j] * bw))
    return g


def nvlink_domain_graph(num_gpus: int, num_switch_chips: int, gpu_bw_bytes_s: float) -> nx.Graph:
    """All-to-all NVLink domain: every GPU linked to every NVLink switch chip.

    Parameters
    ----------
    num_gpus : int
        GPUs in the domain (72 for NVL72, 8 for HGX). [-]
    num_switch_chips : int
        NVLink switch chips (18 in NVL72, 2 on an HGX B200 baseboard). [-]
    gpu_bw_bytes_s : float
        NVLink bandwidth of one GPU, per direction (half the marketed bidirectional figure). [bytes/s]

    Returns
    -------
    networkx.Graph
        Edges GPU-switch with ``capacity = gpu_bw / num_switch_chips`` [bytes/s]; any GPU reaches any
        other at its full bandwidth through the non-blocking switches.
    """
    import networkx as nx

    g = nx.Graph()
    cap = gpu_bw_bytes_s / num_switch_chips
    for s in range(num_switch_chips):
        for gpu in range(num_gpus):
            g.add_edge(f"gpu{gpu}", f"nvswitch{s}", capacity=cap)
    return g


def _system_arrays(factory: Factory) -> dict[str, np.ndarray]:
    """Per-system NVLink figures from the system records, indexed like ``factory.systems``."""
    sys_ = factory.systems
    return {
        "gpus_per_node": np.asarray([s.gpus_per_node for s in sys_]),
        "domain_gpus": np.asarray([s.nvlink_domain_gpus for s in sys_]),
        # catalog NVLink figures are bidirectional (e.g. 1.8 TB/s = 900 GB/s each way)
        "nvlink_bw": np.asarray([s.nvlink_bw_per_direction_bytes_s for s in sys_]),
        "trays": np.asarray([s.nvlink_switch_trays for s in sys_]),
    }


def build_fabric(factory: Factory) -> Fabric:
    """Build the fabric of a factory: NVLink domains always, Spectrum-X where the layout asks.

    Parameters
    ----------
    factory : twin.factory.Factory
        A loaded factory; its ``systems`` and ``fabric`` records carry the systems and fabric design.

    Returns
    -------
    Fabric

    Raises
    ------
    InputError
        When a cluster needs more than three tiers at the chosen switch and plane count.
    """
    racks = factory.racks
    n = len(racks)
    sysa = _system_arrays(factory)
    si = racks.system_idx
    gpus = racks.num_gpus.astype(np.int64)
    nodes = gpus // sysa["gpus_per_node"][si]
    domain_gpus = sysa["domain_gpus"][si]
    trays = sysa["trays"][si]
    spec = factory.fabric
    extra = np.zeros(n)
    if spec is None or n == 0:
        rf = RackFabric(nodes, gpus // domain_gpus, domain_gpus, sysa["nvlink_bw"][si], trays,
                        np.zeros(n), np.full(n, -1), np.zeros(n, np.int64), extra)
        return Fabric(factory.name, rf, {}, 1, bom=_nvlink_rows(racks, trays), design=None)

    planes = spec.planes
    switch = spec.switch
    systems = factory.system_names
    nic_parts = [spec.nic[s] for s in systems]
    nic_speed_sys = np.asarray([p.port_speed_bytes_s for p in nic_parts])
    nic_power_sys = np.asarray([p.power_w for p in nic_parts])
    rails_sys = sysa["gpus_per_node"] * spec.nics_per_gpu

    location = racks.hall if spec.scope == "hall" else np.full(n, "site", dtype=object)
    loc_names, loc_code = np.unique(np.asarray(location, dtype=object), return_inverse=True)
    num_sys = len(systems)
    codes, first, cl = np.unique(loc_code * num_sys + si, return_index=True, return_inverse=True)
    names = np.asarray([f"{loc_names[c // num_sys]}/{systems[c % num_sys]}" for c in codes], dtype=object)
    # node offset of each rack inside its cluster: racks in file order, clusters contiguous after sorting
    order = np.argsort(cl, kind="stable")
    cum = np.cumsum(nodes[order]) - nodes[order]
    totals = np.bincount(cl, weights=nodes, minlength=len(names)).astype(np.int64)
    cl_start = np.concatenate([[0], np.cumsum(totals)[:-1]])
    first_node = np.empty(n, np.int64)
    first_node[order] = cum - cl_start[cl[order]]

    csys = si[first]
    num_nodes = totals
    link_bw = nic_speed_sys[csys] / planes
    breakout = np.rint(switch.port_speed_bytes_s / link_bw).astype(np.int64)
    radix = logical_radix(switch.ports, switch.port_speed_bytes_s, link_bw)
    o = np.full(len(names), float(spec.oversubscription))
    counts = fat_tree_counts(num_nodes, rails_sys[csys], radix, o)
    too_big = counts["num_leaves"] > counts["max_leaves"]
    if too_big.any():
        i = int(np.flatnonzero(too_big)[0])
        raise InputError([Problem(
            factory.source_file, None, "fabric",
            f"cluster {names[i]!r} needs {int(counts['num_leaves'][i])} leaves per plane, more than the "
            f"{int(counts['max_leaves'][i])} a 3-tier fabric of {switch.name!r} (radix {int(radix[i])}) "
            f"holds; use more planes, more oversubscription or scope: hall")])
    clusters = {
        "name": names,
        "location": loc_names[codes // num_sys],
        "system": np.asarray([systems[s] for s in csys], dtype=object),
        "nic": np.asarray([nic_parts[s].name for s in csys], dtype=object),
        "num_racks": np.bincount(cl, minlength=len(names)),
        "num_gpus": np.bincount(cl, weights=gpus, minlength=len(names)).astype(np.int64),
        "num_nodes": num_nodes,
        "rails": rails_sys[csys],
        "nic_bw_bytes_s": nic_speed_sys[csys],
        "link_bw_bytes_s": link_bw,
        "breakout": breakout,
        "radix": radix,
        "oversubscription_design": o,
        **counts,
    }
    clusters["oversubscription"] = oversubscription_ratio(counts["num_nics"], counts["leaf_uplinks"],
                                                          counts["num_tiers"])
    clusters["max_switch_hops"] = max_switch_hops(counts["num_tiers"])

    nic_cable, trunk_cable, xcvr = spec.cable, spec.trunk_cable, spec.transceiver
    parts = cluster_parts(counts, breakout, planes, nic_cable.copper, trunk_cable.copper)
    nic_models = sorted(set(clusters["nic"]))
    nic_power = {p.name: p.power_w for p in nic_parts}
    models = {
        "leaf_switches": (switch.name, switch.power_w),
        "spine_switches": (switch.name, switch.power_w),
        "superspine_switches": (switch.name, switch.power_w),
        "switch_transceivers": (xcvr.name, xcvr.power_w),
        "nic_cables": (nic_cable.name, nic_cable.power_w),
        "trunk_cables": (trunk_cable.name, trunk_cable.power_w),
    }
    rows = []
    for nm in nic_models:  # NIC rows per model (power already in the system entries by default)
        sel = clusters["nic"] == nm
        unit = nic_power[nm]
        rows += bom_rows(clusters["location"][sel], {"nic_ports": parts["nic_ports"][sel]},
                         {"nic_ports": (nm, unit)}, "compute")
        rows += bom_rows(clusters["location"][sel], {"nic_transceivers": parts["nic_transceivers"][sel]},
                         {"nic_transceivers": (nic_optic_model(nm), 0.0)}, "compute")
    rows = bom_rows(clusters["location"], parts, models, "compute") + rows
    for k, v in parts.items():
        clusters[k] = v
    frontend = {}
    if spec.frontend is not None:
        frontend, fe_rows = _frontend(spec.frontend, location, nodes)
        rows += fe_rows
    rows += _nvlink_rows(racks, trays)

    nic_bw_gpu = nic_speed_sys[si] * spec.nics_per_gpu
    if not spec.nic_power_in_system:
        extra = gpus * spec.nics_per_gpu * nic_power_sys[si]
    rf = RackFabric(nodes, gpus // domain_gpus, domain_gpus, sysa["nvlink_bw"][si], trays, nic_bw_gpu,
                    cl.astype(np.int64), first_node, extra.astype(float))
    return Fabric(factory.name, rf, clusters, planes, frontend, rows, spec)


def _frontend(fe: FrontendDesign, location, nodes) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Front-end network per location at lower fidelity: leaf/spine counts, optics, cables, power."""
    sw, nic, xc, cab = fe.switch, fe.nic, fe.transceiver, fe.cable
    locs, inv = np.unique(np.asarray(location, dtype=object), return_inverse=True)
    ports = np.bincount(inv, weights=nodes * fe.nics_per_node * nic.ports,
                        minlength=len(locs)).astype(np.int64)
    breakout = int(round(sw.port_speed_bytes_s / nic.port_speed_bytes_s))
    radix = logical_radix(sw.ports, sw.port_speed_bytes_s, nic.port_speed_bytes_s)
    counts = fat_tree_counts(ports, 1, np.full(len(locs), radix), np.full(len(locs), fe.oversubscription))
    parts = cluster_parts(counts, breakout, 1, cab.copper, cab.copper)
    parts["nic_cards"] = ports // nic.ports
    del parts["nic_ports"], parts["nic_transceivers"]
    models = {
        "leaf_switches": (sw.name, sw.power_w),
        "spine_switches": (sw.name, sw.power_w),
        "superspine_switches": (sw.name, sw.power_w),
        "switch_transceivers": (xc.name, xc.power_w),
        "nic_cables": (cab.name, cab.power_w),
        "trunk_cables": (cab.name, cab.power_w),
        "nic_cards": (nic.name, nic.power_w),
    }
    rows = bom_rows(locs, parts, models, "frontend")
    return {"location": locs, "num_ports": ports, **counts, **parts}, rows


def _nvlink_rows(racks, trays) -> list[dict]:
    """BOM rows of NVLink switch trays (inside compute racks; power in the system entries)."""
    models = {"nvlink_switch_trays": ("NVLink switch tray (power in system entry)", 0.0)}
    return bom_rows(racks.hall, {"nvlink_switch_trays": trays}, models, "nvlink")
