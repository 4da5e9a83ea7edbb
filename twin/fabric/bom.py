"""Bill of materials of the fabric: switch, NIC, transceiver and cable counts, and their power.

Pure functions over per-cluster arrays (counts per plane) plus the catalog figures of the parts.
Power is placed where it lives: switches and switch-side optics in network racks of the cluster's
location (its hall, or ``site``), NICs and NIC-side optics inside compute racks. The system
entries' components already carry the NICs (and, per their assumptions, the NIC-side optic), so
by default the NIC rows are listed with ``in_compute_rack = True`` and are **not** added again.
"""

from __future__ import annotations

import numpy as np

#: Parts that sit inside compute racks (their power is in the system entries).
IN_RACK_PARTS: frozenset[str] = frozenset(
    {"nic_ports", "nic_transceivers", "nic_cards", "nvlink_switch_trays"}
)

def nic_optic_model(nic: str) -> str:
    """BOM ``model`` of the NIC-side transceivers of NIC ``nic`` (their power is in the NIC's)."""
    return f"optic in {nic} (power in NIC)"


def nic_of_optic(model: str) -> str:
    """The NIC whose cage holds the transceivers of BOM ``model`` (inverse of :func:`nic_optic_model`)."""
    return model.removeprefix("optic in ").removesuffix(" (power in NIC)")


def switch_side_transceivers(num_links, breakout) -> np.ndarray:
    """Switch cages (one transceiver each) that carry ``num_links`` logical links.

    Parameters
    ----------
    num_links : array_like
        Logical links at the plane's link speed ending on switches of this tier. [-]
    breakout : array_like
        Logical links per physical switch port ``m = S/L``. [-]

    Returns
    -------
    numpy.ndarray
        ``ceil(num_links / m)``. [-]
    """
    n = np.asarray(num_links, dtype=np.int64)
    m = np.asarray(breakout, dtype=np.int64)
    return -(-n // m)


def cluster_parts(counts: dict[str, np.ndarray], breakout, num_planes: int, nic_link_copper: bool,
                  trunk_copper: bool) -> dict[str, np.ndarray]:
    """Counts of every fabric part per cluster, all planes together.

    Parameters
    ----------
    counts : dict of numpy.ndarray
        Output of :func:`twin.fabric.bandwidth.fat_tree_counts` (one plane).
    breakout : array_like
        Logical links per physical switch port. [-]
    num_planes : int
        Independent planes ``P``. [-]
    nic_link_copper, trunk_copper : bool
        Whether NIC-leaf links, and switch-switch links, are copper (no transceivers).

    Returns
    -------
    dict of numpy.ndarray
        ``leaf_switches``, ``spine_switches``, ``superspine_switches``, ``nic_ports``,
        ``nic_transceivers`` (NIC side, physical ports), ``switch_transceivers``,
        ``nic_cables``, ``trunk_cables``.

    Notes
    -----
    Cables: one per logical link, ``P·(E + U + U_spine)``. Switch-side transceivers per plane:
    ``ceil(E/m)`` at leaf downlinks, ``2·ceil(U/m)`` leaf-spine (both ends) and
    ``2·ceil(U_spine/m)`` spine-super-spine. NIC-side: one per physical NIC port (a multiplane
    NIC splits one port, and one optic, over the planes).
    """
    p = int(num_planes)
    e, up, sup = counts["num_nics"], counts["leaf_uplinks"], counts["spine_uplinks"]
    down_x = switch_side_transceivers(e, breakout)
    trunk_x = 2 * switch_side_transceivers(up, breakout) + 2 * switch_side_transceivers(sup, breakout)
    return {
        "leaf_switches": p * counts["num_leaves"],
        "spine_switches": p * counts["num_spines"],
        "superspine_switches": p * counts["num_superspines"],
        "nic_ports": e,
        "nic_transceivers": np.zeros_like(e) if nic_link_copper else e,
        "switch_transceivers": p * ((0 if nic_link_copper else down_x) + (0 if trunk_copper else trunk_x)),
        "nic_cables": p * e,
        "trunk_cables": p * (up + sup),
    }


def bom_rows(location, parts: dict[str, np.ndarray], models: dict[str, tuple[str, float]],
             network: str) -> list[dict]:
    """Bill-of-materials rows (one per part and location) with unit and total power.

    Parameters
    ----------
    location : array_like of str
        Location of each cluster (hall name or ``site``).
    parts : dict of numpy.ndarray
        Part counts per cluster, from :func:`cluster_parts` (or the front-end equivalent).
    models : dict of (str, float)
        Part key -> (catalog model, unit power [W]); parts missing here are skipped.
    network : str
        ``compute``, ``frontend`` or ``nvlink``.

    Returns
    -------
    list of dict
        ``network, item, model, location, count, unit_power_w, power_w, in_compute_rack``;
        ``power_w = count · unit_power_w``. Rows with ``in_compute_rack`` are already inside the
        system entries' power.
    """
    loc = np.asarray(location, dtype=object)
    rows = []
    for key, cnt in parts.items():
        if key not in models:
            continue
        model, unit_w = models[key]
        in_rack = key in IN_RACK_PARTS
        for where in sorted(set(loc.tolist())):
            n = int(np.asarray(cnt)[loc == where].sum())
            if n == 0:
                continue
            rows.append({
                "network": network,
                "item": key,
                "model": model,
                "location": str(where),
                "count": n,
                "unit_power_w": float(unit_w),
                "power_w": float(n * unit_w),
                "in_compute_rack": in_rack,
            })
    return rows


def power_by_location_w(rows: list[dict], include_in_rack: bool = False) -> dict[str, float]:
    """Fabric power per location from BOM rows, network racks only unless ``include_in_rack``. [W]"""
    out: dict[str, float] = {}
    for r in rows:
        if r["in_compute_rack"] and not include_in_rack:
            continue
        out[r["location"]] = out.get(r["location"], 0.0) + r["power_w"]
    return dict(sorted(out.items()))
