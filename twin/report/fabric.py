"""Figures and tables of a layout's fabric, shared by the app's fabric page and the layout report.

Pure functions of a :class:`twin.fabric.Fabric` (``Results.fabric``, or ``build_fabric(factory)``,
the same object): the topology of one plane of one scale-out cluster drawn at rack -> leaf ->
spine (-> super-spine) level, the bandwidth table, the bill of materials and the fabric at a
glance. Numbers are SI inside; tables and figures show them in GB/s, TB/s, kW and MW.

The topology is aggregated so that it stays small at any size: switches of one tier are drawn as
groups (node blocks in a 2-tier fabric, pods in a 3-tier one, at most :data:`MAX_GROUPS` per tier,
neighbouring groups merged beyond that), each labelled with its counts, and every drawn link with
the number of logical links it stands for.
"""

from __future__ import annotations

import numpy as np

#: Most groups of switches drawn on one tier of the topology (more are merged into this many).
MAX_GROUPS = 12
#: Tiers of the topology figure, bottom to top: key -> label.
TIERS = {"racks": "compute racks", "leaf": "leaf switches", "spine": "spine switches",
         "core": "super-spine switches"}
#: Readable names of the BOM's ``item`` keys.
ITEMS = {
    "leaf_switches": "leaf switches",
    "spine_switches": "spine switches",
    "superspine_switches": "super-spine switches",
    "switch_transceivers": "switch-side transceivers",
    "nic_transceivers": "NIC-side transceivers",
    "nic_cables": "NIC-leaf cables",
    "trunk_cables": "switch-switch cables",
    "nic_ports": "compute NIC ports",
    "nic_cards": "front-end NICs (DPUs)",
    "nvlink_switch_trays": "NVLink switch trays",
}


def _cluster_index(fabric, cluster: int | str) -> int:
    """Index of ``cluster`` (its index or its name) in ``fabric.clusters``."""
    if isinstance(cluster, str):
        hit = np.flatnonzero(fabric.clusters["name"] == cluster)
        if not len(hit):
            have = ", ".join(map(str, fabric.clusters["name"]))
            raise KeyError(f"no cluster {cluster!r}; the fabric has {have}")
        return int(hit[0])
    return int(cluster)


def cluster_names(fabric) -> list[str]:
    """Names of the scale-out clusters (``<location>/<system>``), empty without a scale-out fabric."""
    return [str(n) for n in fabric.clusters.get("name", ())]


def cluster_schematic(fabric, cluster: int | str = 0, max_groups: int = MAX_GROUPS) -> dict:
    """One plane of one cluster as groups per tier and the logical links between them.

    Groups: node blocks (the nodes sharing one leaf per rail) in a 1- or 2-tier fabric, pods in a
    3-tier one; beyond ``max_groups`` neighbouring groups are merged. A rack is counted (``count``,
    ``racks``) in the group of its first node; ``racks_touched`` also counts the racks that straddle
    into a group from its neighbour (NVL72 racks of 18 trays do not divide blocks of 64). The
    2-tier spines are one group (each reaches every leaf), the 3-tier super-spines one (the core).

    Returns
    -------
    dict
        ``cluster``, ``num_tiers``, ``num_planes``, ``link_bw_bytes_s``, ``group_kind`` (``block``
        or ``pod``), ``nodes``: list of ``{id, tier, x, label, count, racks, nodes, hover}``
        (``count`` switches, or racks on the ``racks`` tier; ``x`` in [0, 1]; racks also have
        ``racks_touched`` and ``span``, the groups they stand for, e.g. ``pods 0-1``) and ``links``: list
        of ``{source, target, links}`` (logical links of the plane at ``link_bw_bytes_s``).
        Summed over a tier's groups: racks equal the cluster's, leaves its ``num_leaves``, spines
        its ``num_spines``, NIC links its ``num_nics`` and leaf uplinks its ``leaf_uplinks``.
    """
    c = fabric.clusters
    i = _cluster_index(fabric, cluster)
    n_nodes, rails = int(c["num_nodes"][i]), int(c["rails"][i])
    d, o = int(c["downlinks_per_leaf"][i]), float(c["oversubscription_design"][i])
    tiers, per_pod = int(c["num_tiers"][i]), int(c["leaves_per_pod"][i])
    blocks = -(-n_nodes // d)
    n_in_block = np.minimum(d, n_nodes - d * np.arange(blocks))
    up_per_leaf = (np.ceil(n_in_block / o - 1e-9).astype(np.int64) if tiers >= 2
                   else np.zeros(blocks, np.int64))
    r = fabric.racks
    on = r.cluster == i
    rack_block = r.first_node[on] // d
    rack_last_block = (r.first_node[on] + r.num_nodes[on] - 1) // d
    rack_domains = r.num_nvlink_domains[on]

    if tiers == 3:
        # leaf l = j*rails + rail belongs to pod l // per_pod (as the engine's graph places it)
        leaf_block = np.arange(blocks * rails) // rails
        leaf_group = np.arange(blocks * rails) // per_pod
        num_groups = int(c["num_pods"][i])
        rack_group = (rack_block * rails) // per_pod
        rack_last_group = (rack_last_block * rails + rails - 1) // per_pod
    else:
        leaf_block = np.arange(blocks * rails) // rails
        leaf_group = leaf_block
        num_groups = blocks
        rack_group = rack_block
        rack_last_group = rack_last_block
    leaves_g = np.bincount(leaf_group, minlength=num_groups)
    nic_links_g = np.bincount(leaf_group, weights=n_in_block[leaf_block], minlength=num_groups)
    up_g = np.bincount(leaf_group, weights=up_per_leaf[leaf_block], minlength=num_groups)
    racks_g = np.bincount(rack_group, minlength=num_groups)
    domains_g = np.bincount(rack_group, weights=rack_domains, minlength=num_groups)
    spines_g = (np.ceil(up_g / per_pod - 1e-9).astype(np.int64) if tiers == 3
                else np.zeros(num_groups, np.int64))

    bins = np.array_split(np.arange(num_groups), min(num_groups, max_groups))
    bin_of_group = np.empty(num_groups, np.int64)
    for b, members in enumerate(bins):
        bin_of_group[members] = b
    first_bin, last_bin = bin_of_group[rack_group], bin_of_group[np.minimum(rack_last_group, num_groups - 1)]
    touched_b = (np.bincount(first_bin, minlength=len(bins))
                 + np.bincount(last_bin[last_bin != first_bin], minlength=len(bins)))
    kind = "pod" if tiers == 3 else "block"
    nodes, links = [], []
    xs = (np.arange(len(bins)) + 0.5) / len(bins)
    for b, (members, x) in enumerate(zip(bins, xs, strict=True)):
        span = f"{kind} {members[0]}" if len(members) == 1 else f"{kind}s {members[0]}-{members[-1]}"
        n_r, n_dom = (int(a[members].sum()) for a in (racks_g, domains_g))
        n_leaf, nic, up = (int(a[members].sum()) for a in (leaves_g, nic_links_g, up_g))
        n_n, touched = round(nic / rails), int(touched_b[b])
        nodes.append({"id": f"racks:{b}", "tier": "racks", "x": float(x),
                      "label": f"{touched:,} racks<br>{n_n:,} nodes", "count": n_r, "racks": n_r,
                      "racks_touched": touched, "nodes": n_n, "span": span,
                      "hover": f"{span}: {n_n:,} nodes on {touched:,} racks (a rack may straddle two "
                               f"groups); {n_r:,} racks and {n_dom:,} NVLink domains start here"})
        nodes.append({"id": f"leaf:{b}", "tier": "leaf", "x": float(x), "label": f"{n_leaf:,} leaves",
                      "count": n_leaf, "racks": n_r, "nodes": n_n,
                      "hover": f"{span}: {n_leaf:,} leaf switches ({rails} rails), {nic:,} NIC links down, "
                               f"{up:,} links up"})
        links.append({"source": f"racks:{b}", "target": f"leaf:{b}", "links": nic})
        if tiers == 3:
            n_sp = int(spines_g[members].sum())
            nodes.append({"id": f"spine:{b}", "tier": "spine", "x": float(x), "label": f"{n_sp:,} spines",
                          "count": n_sp, "racks": n_r, "nodes": n_n,
                          "hover": f"{span}: {n_sp:,} spine switches, {up:,} links from its leaves, "
                                   f"{up:,} up to the core"})
            links.append({"source": f"leaf:{b}", "target": f"spine:{b}", "links": up})
            links.append({"source": f"spine:{b}", "target": "core:0", "links": up})
        elif tiers == 2:
            links.append({"source": f"leaf:{b}", "target": "spine:0", "links": up})
    if tiers == 2:
        n_sp = int(c["num_spines"][i])
        nodes.append({"id": "spine:0", "tier": "spine", "x": 0.5, "label": f"{n_sp:,} spines", "count": n_sp,
                      "racks": int(on.sum()), "nodes": n_nodes,
                      "hover": f"{n_sp:,} spine switches, each linked to every leaf"})
    if tiers == 3:
        n_ss = int(c["num_superspines"][i])
        nodes.append({"id": "core:0", "tier": "core", "x": 0.5, "label": f"{n_ss:,} super-spines",
                      "count": n_ss, "racks": int(on.sum()), "nodes": n_nodes,
                      "hover": f"core: {n_ss:,} super-spine switches over {num_groups} pods"})
    return {"cluster": str(c["name"][i]), "num_tiers": tiers, "num_planes": int(fabric.num_planes),
            "link_bw_bytes_s": float(c["link_bw_bytes_s"][i]), "group_kind": kind,
            "nodes": nodes, "links": links}


def topology_figure(fabric, cluster: int | str = 0, max_groups: int = MAX_GROUPS):
    """The topology of one plane of one cluster: tiers as rows of groups, links labelled with counts.

    Racks at the bottom, then leaves, spines and (3 tiers) super-spines; each drawn node is a group
    of :func:`cluster_schematic` with its counts (hover for details), each line the logical links
    between two groups. Without a scale-out fabric: an empty figure that says so.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    if not fabric.num_clusters:
        fig.add_annotation(text="No scale-out fabric (the layout has no 'fabric:' section): NVLink domains "
                                "only", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(height=300, xaxis_visible=False, yaxis_visible=False)
        return fig
    s = cluster_schematic(fabric, cluster, max_groups)
    tiers = [t for t in TIERS if any(n["tier"] == t for n in s["nodes"])]
    level = {t: k for k, t in enumerate(tiers)}
    pos = {n["id"]: (n["x"], level[n["tier"]]) for n in s["nodes"]}
    ex, ey, mx, my, mt = [], [], [], [], []
    for ln in s["links"]:
        (x0, y0), (x1, y1) = pos[ln["source"]], pos[ln["target"]]
        ex += [x0, x1, None]
        ey += [y0, y1, None]
        mx.append(x0 + 0.5 * (x1 - x0))
        my.append(y0 + 0.5 * (y1 - y0))
        mt.append(f"{ln['links']:,}")
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line={"color": "#9aa", "width": 1.5},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=mx, y=my, mode="text", text=mt, textfont={"size": 10, "color": "#466"},
                             hoverinfo="skip", showlegend=False, name="links"))
    colours = {"racks": "#4c78a8", "leaf": "#f58518", "spine": "#54a24b", "core": "#b279a2"}
    for t in tiers:
        ns = [n for n in s["nodes"] if n["tier"] == t]
        fig.add_trace(go.Scatter(
            x=[n["x"] for n in ns], y=[level[t]] * len(ns), mode="markers+text", name=TIERS[t],
            text=[n["label"] for n in ns], textposition="top center", hovertext=[n["hover"] for n in ns],
            hoverinfo="text", customdata=[n["count"] for n in ns],
            marker={"symbol": "square" if t == "racks" else "diamond", "size": 16, "color": colours[t]}))
    plane = f"one of {s['num_planes']} planes" if s["num_planes"] > 1 else "one plane"
    fig.update_layout(
        title=f"{s['cluster']}: {plane}, {s['num_tiers']} tier(s), links at "
              f"{s['link_bw_bytes_s'] / 1e9:,.0f} GB/s (numbers on lines: logical links)",
        height=140 + 120 * len(tiers), margin={"t": 50, "l": 20, "r": 20},
        xaxis={"range": [-0.02, 1.02], "showgrid": False, "zeroline": False,
               "tickvals": [n["x"] for n in s["nodes"] if n["tier"] == "racks"],
               "ticktext": [n["span"] for n in s["nodes"] if n["tier"] == "racks"]},
        yaxis={"tickvals": list(range(len(tiers))), "ticktext": [TIERS[t] for t in tiers],
               "range": [-0.4, len(tiers) - 0.4]},
        legend={"orientation": "h"})
    return fig


def fabric_glance_rows(fabric) -> list[dict]:
    """The fabric at a glance (``fabric.summary()``): NVLink, planes, switch counts, optics, power.

    Rows ``{what, value}``; bandwidth in GB/s and TB/s (bytes, per direction), power in kW.
    """
    s = fabric.summary()
    rows = [
        {"what": "racks", "value": f"{s['num_racks']:,}"},
        {"what": "GPUs", "value": f"{s['num_gpus']:,}"},
        {"what": "NVLink domains", "value": f"{s['num_nvlink_domains']:,} of "
                                            f"{'/'.join(map(str, s['nvlink_domain_gpus']))} GPUs"},
        {"what": "NVLink per GPU", "value": f"{s['nvlink_bw_per_gpu_bytes_s'] / 1e9:,.0f} GB/s"},
    ]
    if not s["scale_out"]:
        return rows + [{"what": "scale-out fabric", "value": "none (no 'fabric:' section)"}]
    rows += [
        {"what": "planes", "value": f"{s['num_planes']}"},
        {"what": "scale-out per GPU", "value": f"{s['scale_out_bw_per_gpu_bytes_s'] / 1e9:,.0f} GB/s"},
        {"what": "bisection", "value": f"{s['bisection_bandwidth_bytes_s'] / 1e12:,.1f} TB/s"},
        {"what": "oversubscription", "value": f"{s['oversubscription']:.2f}:1"},
        {"what": "max switch hops", "value": f"{s['max_switch_hops']}"},
        {"what": "leaf switches", "value": f"{s['num_leaf_switches']:,}"},
        {"what": "spine switches", "value": f"{s['num_spine_switches']:,}"},
        {"what": "super-spine switches", "value": f"{s['num_superspine_switches']:,}"},
        {"what": "front-end switches", "value": f"{s['num_frontend_switches']:,}"},
        {"what": "compute NICs", "value": f"{s['num_compute_nics']:,}"},
        {"what": "transceivers", "value": f"{s['num_transceivers']:,}"},
        {"what": "cables", "value": f"{s['num_cables']:,}"},
        {"what": "fabric power", "value": f"{s['fabric_power_w'] / 1e3:,.1f} kW"},
        {"what": "already in system entries",
         "value": f"{s['power_already_in_system_entries_w'] / 1e3:,.1f} kW"},
    ]
    return rows


def bandwidth_rows(fabric) -> list[dict]:
    """Bandwidth per cluster and for the whole fabric (per direction, all planes).

    Columns: GPUs, tiers, NVLink per GPU, NIC bandwidth per GPU, per GPU across oversubscribed
    leaves (``Fabric.scale_out_bw_per_gpu_bytes_s``), link speed per plane, bisection, realised
    oversubscription, the most switches on a path. The last row ("whole fabric") is
    ``fabric.summary()``'s: bisection summed over clusters, the largest oversubscription and hop count.
    Empty without a scale-out fabric.
    """
    if not fabric.num_clusters:
        return []
    s = fabric.summary()
    r = fabric.racks
    across = fabric.scale_out_bw_per_gpu_bytes_s()
    rows = []

    def row(name, gpus, tiers, nvl, nic, acr, link, bis, o, hops):
        return {"cluster": name, "GPUs": f"{gpus:,}", "tiers": tiers,
                "NVLink per GPU [GB/s]": f"{nvl / 1e9:,.0f}",
                "scale-out per GPU [GB/s]": f"{nic / 1e9:,.1f}",
                "per GPU across leaves [GB/s]": f"{acr / 1e9:,.1f}",
                "link per plane [GB/s]": link, "bisection [TB/s]": f"{bis / 1e12:,.1f}",
                "oversubscription": f"{o:.2f}:1", "max switch hops": f"{hops}"}

    for c in s["clusters"]:
        on = r.cluster == _cluster_index(fabric, c["name"])
        rows.append(row(c["name"], c["num_gpus"], f"{c['num_tiers']}", float(r.nvlink_bw_bytes_s[on].min()),
                        float(r.nic_bw_bytes_s[on].min()), float(across[on].min()),
                        f"{c['link_bw_bytes_s'] / 1e9:,.0f}", c["bisection_bandwidth_bytes_s"],
                        c["oversubscription"], c["max_switch_hops"]))
    on = r.cluster >= 0
    rows.append(row("whole fabric", s["num_gpus"], "-", s["nvlink_bw_per_gpu_bytes_s"],
                    s["scale_out_bw_per_gpu_bytes_s"], float(across[on].min()), "-",
                    s["bisection_bandwidth_bytes_s"], s["oversubscription"], s["max_switch_hops"]))
    return rows


def bom_table_rows(fabric) -> list[dict]:
    """The bill of materials summed over locations (as ``twin fabric`` prints it), with a total.

    One row per network, item and model: count, unit power [W], total power [kW] and where that
    power is counted (network racks, or already in the compute racks' system entries). The last
    row totals the power of the network racks (``sum(fabric.network_power_w().values())``).
    """
    agg: dict[tuple, list] = {}
    for b in fabric.bom:
        key = (b["network"], b["item"], b["model"], b["in_compute_rack"])
        acc = agg.setdefault(key, [0, 0.0, b["unit_power_w"]])
        acc[0] += b["count"]
        acc[1] += b["power_w"]
    rows = [{"network": net, "item": ITEMS.get(item, item), "model": model, "count": f"{n:,}",
             "unit power [W]": f"{unit:,.0f}", "power [kW]": f"{w / 1e3:,.1f}",
             "power counted in": "system entries (compute racks)" if in_rack else "network racks"}
            for (net, item, model, in_rack), (n, w, unit) in agg.items()]
    total = sum(w for (_, _, _, in_rack), (_, w, _) in agg.items() if not in_rack)
    rows.append({"network": "total", "item": "network racks", "model": "", "count": "",
                 "unit power [W]": "", "power [kW]": f"{total / 1e3:,.1f}",
                 "power counted in": "network racks"})
    return rows
