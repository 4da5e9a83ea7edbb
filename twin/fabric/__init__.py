"""Fabric: NVLink domains, the Spectrum-X rail-optimised leaf/spine, bandwidth, collective costs, BOM.

``build_fabric(factory)`` returns a :class:`Fabric`; see docs/fabric.md for models and sources.
"""

from twin.fabric.bandwidth import bisection_bandwidth_bytes_s, fat_tree_counts, leaf_ports, max_flow_bytes_s
from twin.fabric.collectives import (
    ALGORITHMS,
    LINK_PARAMETERS,
    collective_time_s,
    hierarchical_time_s,
    kv_transfer_time_s,
)
from twin.fabric.topology import Fabric, RackFabric, build_fabric, cluster_graph, nvlink_domain_graph

__all__ = [
    "ALGORITHMS",
    "LINK_PARAMETERS",
    "Fabric",
    "RackFabric",
    "bisection_bandwidth_bytes_s",
    "build_fabric",
    "cluster_graph",
    "collective_time_s",
    "fat_tree_counts",
    "hierarchical_time_s",
    "kv_transfer_time_s",
    "leaf_ports",
    "max_flow_bytes_s",
    "nvlink_domain_graph",
]
