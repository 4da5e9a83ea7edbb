"""Fat-tree sizing, bisection bandwidth, oversubscription and hop counts (pure, vectorised).

Every function takes scalars or numpy arrays (one element per fabric cluster) and returns arrays.
Links are counted per plane at the plane's link speed; a switch of ``R`` physical ports at speed
``S`` broken out into links of speed ``L`` has the logical radix ``k = R·S/L``.

References
----------
.. [1] C. E. Leiserson, "Fat-trees: universal networks for hardware-efficient supercomputing,"
   IEEE Trans. Computers, vol. C-34, no. 10, pp. 892-901, 1985, doi:10.1109/TC.1985.6312192.
.. [2] M. Al-Fares, A. Loukissas, A. Vahdat, "A scalable, commodity data center network
   architecture," SIGCOMM 2008, doi:10.1145/1402958.1402967 (k-ary fat tree: k³/4 hosts in 3 tiers).
.. [3] NVIDIA, "Enterprise Reference Architecture: NVL72 AI factory, network logical architecture"
   (rail-optimised, full non-blocking fat tree for the compute fabric), docs.nvidia.com, 2025.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

#: Switches a packet crosses between two NICs: same leaf (same rail, same block), same pod or
#: 2-tier fabric (leaf-spine-leaf), 3-tier fabric across pods (leaf-spine-superspine-spine-leaf).
SWITCH_HOPS: dict[str, int] = {"leaf": 1, "pod": 3, "core": 5}


def logical_radix(num_ports, port_speed_bytes_s, link_speed_bytes_s) -> np.ndarray:
    """Logical radix of a switch whose ports break out into links of ``link_speed``.

    Parameters
    ----------
    num_ports : array_like
        Physical ports. [-]
    port_speed_bytes_s : array_like
        Physical port speed, per direction. [bytes/s]
    link_speed_bytes_s : array_like
        Link speed per plane, per direction. [bytes/s]

    Returns
    -------
    numpy.ndarray
        ``k = R · S / L`` rounded to the nearest integer. [-]
    """
    ratio = np.asarray(port_speed_bytes_s, dtype=float) / np.asarray(link_speed_bytes_s, dtype=float)
    return np.rint(np.asarray(num_ports) * ratio).astype(np.int64)


def leaf_ports(radix, oversubscription) -> tuple[np.ndarray, np.ndarray]:
    """Downlinks and uplinks of a leaf with ``radix`` logical ports at a given oversubscription.

    Parameters
    ----------
    radix : array_like
        Logical ports of the leaf switch ``k``. [-]
    oversubscription : array_like
        Downlink:uplink bandwidth ratio ``o >= 1``. [-]

    Returns
    -------
    downlinks, uplinks : numpy.ndarray
        The largest ``d`` with ``d + ceil(d/o) <= k``, and ``u = k - d``. [-]

    Notes
    -----
    ``d = floor(k·o/(1+o))``, decreased by one where the rounded-up uplinks do not fit. At
    ``o = 1``: ``d = u = k/2`` [1]_.
    """
    k = np.asarray(radix, dtype=np.int64)
    o = np.asarray(oversubscription, dtype=float)
    d = np.floor(k * o / (1.0 + o) + 1e-9).astype(np.int64)
    d = d - (d + np.ceil(d / o - 1e-9).astype(np.int64) > k)
    return d, k - d


def fat_tree_counts(num_nodes, rails, radix, oversubscription) -> dict[str, np.ndarray]:
    """Switch and link counts of one plane of a rail-optimised leaf/spine(/super-spine) fabric.

    Parameters
    ----------
    num_nodes : array_like
        Compute trays or servers on the fabric ``N``. [-]
    rails : array_like
        NIC ports per node ``r`` (= GPUs per node × NICs per GPU); rail ``i`` of every node goes to
        the rail-``i`` leaf of its block. [-]
    radix : array_like
        Logical switch radix ``k`` at the link speed. [-]
    oversubscription : array_like
        Leaf downlink:uplink ratio ``o >= 1``; spines are non-blocking. [-]

    Returns
    -------
    dict of numpy.ndarray
        ``num_nics`` (E = N·r), ``downlinks_per_leaf`` (D), ``blocks`` (leaves per rail,
        J = ceil(N/D)), ``num_leaves`` (r·J), ``leaf_uplinks`` (U, total), ``num_tiers``,
        ``num_pods``, ``num_spines``, ``spine_uplinks``, ``num_superspines``, ``max_leaves``.

    Notes
    -----
    Node blocks of ``D`` nodes share one leaf per rail; a leaf with ``x`` used downlinks has
    ``ceil(x/o)`` uplinks. One leaf needs no spine (1 tier). Up to ``k`` leaves: 2 tiers, each
    spine reaches every leaf, ``spines = ceil(U/k)``. More: 3 tiers with pods of ``k/2`` leaves;
    a spine gives ``k/2`` ports to its pod's leaves and ``k/2`` up (non-blocking), so
    ``spines = ceil(U/(k/2))`` (``u`` per full pod, fewer in a partial last pod), spine uplinks
    = U and ``super-spines = ceil(U/k)``. A 3-tier fabric holds at
    most ``k`` pods, ``k²/2`` leaves, ``k³/4`` NICs at ``o = 1`` [2]_.
    """
    n = np.asarray(num_nodes, dtype=np.int64)
    r = np.asarray(rails, dtype=np.int64)
    k = np.asarray(radix, dtype=np.int64)
    o = np.asarray(oversubscription, dtype=float)
    d, u = leaf_ports(k, o)
    blocks = -(-n // d)
    full, rem = n // d, n % d
    up_full = np.ceil(d / o - 1e-9).astype(np.int64)
    up_rem = np.ceil(rem / o - 1e-9).astype(np.int64)
    leaf_up = r * (full * up_full + up_rem)
    leaves = r * blocks
    tiers = np.where(leaves <= 1, 1, np.where(leaves <= k, 2, 3))
    leaf_up = np.where(tiers == 1, 0, leaf_up)
    pod_leaves = k // 2
    pods = np.where(tiers == 3, -(-leaves // pod_leaves), np.where(tiers == 2, 1, 0))
    spines = np.where(tiers == 2, -(-leaf_up // k), np.where(tiers == 3, -(-leaf_up // pod_leaves), 0))
    spine_up = np.where(tiers == 3, leaf_up, 0)
    superspines = np.where(tiers == 3, -(-spine_up // k), 0)
    return {
        "num_nics": n * r,
        "downlinks_per_leaf": d,
        "uplinks_per_leaf": u,
        "blocks": blocks,
        "num_leaves": leaves,
        "leaf_uplinks": leaf_up,
        "num_tiers": tiers,
        "leaves_per_pod": np.where(tiers == 3, pod_leaves, leaves),
        "num_pods": pods,
        "num_spines": spines,
        "spine_uplinks": spine_up,
        "num_superspines": superspines,
        "max_leaves": k * pod_leaves,
    }


def bisection_bandwidth_bytes_s(
    num_nics, leaf_uplinks, spine_uplinks, num_tiers, link_bw_bytes_s
) -> np.ndarray:
    """Bisection bandwidth of one plane of a leaf/spine fabric, per direction.

    Parameters
    ----------
    num_nics : array_like
        NIC links on the plane ``E``. [-]
    leaf_uplinks, spine_uplinks : array_like
        Total leaf→spine links ``U`` and spine→super-spine links (3 tiers only). [-]
    num_tiers : array_like
        1, 2 or 3. [-]
    link_bw_bytes_s : array_like
        Link speed per direction ``L``. [bytes/s]

    Returns
    -------
    numpy.ndarray
        ``B = ½ · L · min(E, U, U_spine)`` over the tiers present. [bytes/s]

    Notes
    -----
    Cut the endpoints into halves whose leaves (and pods) lie wholly on one side; the traffic
    from one half to the other is limited by that half's NIC links, its leaves' uplinks and, in
    three tiers, its pods' uplinks. For a fabric of identical blocks this equals the max-flow
    min-cut across the cut (tested with networkx).
    """
    e = np.asarray(num_nics, dtype=float)
    up = np.where(np.asarray(num_tiers) >= 2, np.asarray(leaf_uplinks, dtype=float), np.inf)
    sup = np.where(np.asarray(num_tiers) >= 3, np.asarray(spine_uplinks, dtype=float), np.inf)
    return 0.5 * np.asarray(link_bw_bytes_s, dtype=float) * np.minimum(e, np.minimum(up, sup))


def oversubscription_ratio(num_nics, leaf_uplinks, num_tiers) -> np.ndarray:
    """Realised leaf oversubscription: downlinks used / uplinks (1 for a single-switch fabric). [-]"""
    up = np.asarray(leaf_uplinks, dtype=float)
    ratio = np.asarray(num_nics, dtype=float) / np.maximum(up, 1.0)
    return np.where((np.asarray(num_tiers) >= 2) & (up > 0), ratio, 1.0)


def max_switch_hops(num_tiers) -> np.ndarray:
    """Switches on the longest NIC-to-NIC path: 1, 3 or 5 for 1, 2 or 3 tiers. [-]"""
    return 2 * np.asarray(num_tiers, dtype=np.int64) - 1


def switch_hops(block_a, block_b, pod_a, pod_b, same_rail=True) -> np.ndarray:
    """Switches crossed between NICs in node blocks ``block_a`` and ``block_b`` (same cluster).

    Same block and rail: 1 (the shared leaf); same pod: 3; different pods: 5. Cross-rail
    traffic is assumed to move to the destination rail over NVLink first (NCCL PXN), so it costs
    the same as same-rail traffic in the scale-out fabric. [-]
    """
    same_block = (np.asarray(block_a) == np.asarray(block_b)) & np.asarray(same_rail)
    same_pod = np.asarray(pod_a) == np.asarray(pod_b)
    pod_or_core = np.where(same_pod, SWITCH_HOPS["pod"], SWITCH_HOPS["core"])
    return np.where(same_block, SWITCH_HOPS["leaf"], pod_or_core)


def max_flow_bytes_s(graph: nx.Graph, sources, sinks) -> float:
    """Max-flow from a set of nodes to another over undirected capacity edges. [bytes/s]

    Adds a super-source and super-sink with unbounded edges and runs networkx's preflow-push.
    """
    import networkx as nx

    g = nx.DiGraph()
    for a, b, data in graph.edges(data=True):
        c = data["capacity"]
        g.add_edge(a, b, capacity=c)
        g.add_edge(b, a, capacity=c)
    for s in sources:
        g.add_edge("_source", s)
    for t in sinks:
        g.add_edge(t, "_sink")
    value, _ = nx.maximum_flow(g, "_source", "_sink")
    return float(value)
