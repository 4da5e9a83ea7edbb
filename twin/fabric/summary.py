"""The fabric summary: plain numbers for ``twin fabric --json`` and, later, the layout report."""

from __future__ import annotations

import numpy as np


def _sum(cols: dict, key: str) -> int:
    return int(np.asarray(cols.get(key, [0])).sum()) if cols else 0


def fabric_summary(fabric) -> dict:
    """Counts, bandwidth and power of a :class:`~twin.fabric.topology.Fabric` as a JSON-ready dict.

    Notes
    -----
    ``bisection_bandwidth_bytes_s`` sums the bisection of every cluster (separate fat trees, per
    direction, all planes). ``oversubscription`` is the largest realised leaf ratio over clusters.
    ``fabric_power_w`` is what the fabric adds to IT power: switches and switch-side optics in
    network racks, plus NIC power only where the system entries do not already carry it.
    """
    r, c, fe = fabric.racks, fabric.clusters, fabric.frontend
    bis = fabric.bisection_bandwidth_bytes_s()
    net_by_loc = fabric.network_power_w()
    in_rack_w = float(sum(row["power_w"] for row in fabric.bom if row["in_compute_rack"]))
    transceivers = sum(_sum(c, k) for k in ("switch_transceivers", "nic_transceivers"))
    transceivers += _sum(fe, "switch_transceivers")
    cables = sum(_sum(x, k) for x in (c, fe) for k in ("nic_cables", "trunk_cables"))
    clusters = []
    for i in range(fabric.num_clusters):
        clusters.append({
            "name": str(c["name"][i]),
            "location": str(c["location"][i]),
            "system": str(c["system"][i]),
            "nic": str(c["nic"][i]),
            "num_racks": int(c["num_racks"][i]),
            "num_gpus": int(c["num_gpus"][i]),
            "num_nics": int(c["num_nics"][i]),
            "num_tiers": int(c["num_tiers"][i]),
            "link_bw_bytes_s": float(c["link_bw_bytes_s"][i]),
            "radix": int(c["radix"][i]),
            "num_leaf_switches": int(c["leaf_switches"][i]),
            "num_spine_switches": int(c["spine_switches"][i]),
            "num_superspine_switches": int(c["superspine_switches"][i]),
            "num_pods": int(c["num_pods"][i]),
            "bisection_bandwidth_bytes_s": float(bis[i]),
            "oversubscription": float(c["oversubscription"][i]),
            "max_switch_hops": int(c["max_switch_hops"][i]),
        })
    has = fabric.num_clusters > 0
    nvl_bw = r.nvlink_bw_bytes_s
    return {
        "layout": fabric.name,
        "scale_out": has,
        "num_planes": fabric.num_planes,
        "num_racks": len(r.num_nodes),
        "num_gpus": int(np.sum(r.num_nvlink_domains * r.nvlink_domain_gpus)),
        "num_nvlink_domains": int(r.num_nvlink_domains.sum()),
        "num_nvlink_switch_trays": int(r.num_nvlink_switch_trays.sum()),
        "nvlink_domain_gpus": sorted({int(x) for x in r.nvlink_domain_gpus}),
        "nvlink_bw_per_gpu_bytes_s": float(nvl_bw.min()) if len(nvl_bw) else 0.0,
        "scale_out_bw_per_gpu_bytes_s": float(r.nic_bw_bytes_s.min()) if len(nvl_bw) else 0.0,
        "num_compute_nics": _sum(c, "nic_ports"),
        "num_leaf_switches": _sum(c, "leaf_switches"),
        "num_spine_switches": _sum(c, "spine_switches"),
        "num_superspine_switches": _sum(c, "superspine_switches"),
        "num_frontend_switches": _sum(fe, "leaf_switches") + _sum(fe, "spine_switches")
        + _sum(fe, "superspine_switches"),
        "num_transceivers": transceivers,
        "num_cables": cables,
        "bisection_bandwidth_bytes_s": float(bis.sum()),
        "oversubscription": float(np.max(c["oversubscription"])) if has else 1.0,
        "max_switch_hops": int(np.max(c["max_switch_hops"])) if has else 0,
        "fabric_power_w": fabric.fabric_power_w(),
        "network_power_by_location_w": net_by_loc,
        "fabric_power_in_compute_racks_w": float(fabric.rack_power_w().sum()),
        "power_already_in_system_entries_w": in_rack_w,
        "clusters": clusters,
        "bom": fabric.bom,
    }
