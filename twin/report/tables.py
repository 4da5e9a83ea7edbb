"""Tables of a layout's engine results, shared by the app and the layout report.

Each is a list of rows (``dict`` label -> formatted value); the app renders them as HTML tables,
the report as HTML and XLSX.
"""

from __future__ import annotations

#: Columns of ``Results.loops()`` the loop table shows: column -> (label, format).
LOOP_COLUMNS = {
    "name": ("hall", "{}"),
    "racks": ("racks", "{:,}"),
    "heat_to_liquid_w": ("heat to liquid [MW]", "{:.3f}"),
    "heat_to_air_w": ("heat to air [MW]", "{:.3f}"),
    "rack_supply_c_max": ("rack supply [degC]", "{:.1f}"),
    "facility_supply_c": ("facility supply [degC]", "{:.1f}"),
    "facility_return_c": ("facility return [degC]", "{:.1f}"),
    "max_gpu_temp_c": ("hottest GPU [degC]", "{:.1f}"),
    "cdu_loading_max": ("most loaded CDU group", "{:.0%}"),
    "dry_cooler_fan_speed": ("dry-cooler fans", "{:.0%}"),
}


def loop_rows(results) -> list[dict]:
    """One row per hall loop, figures formatted (MW for heat)."""
    out = []
    for _, r in results.loops().iterrows():
        row = {}
        for col, (label, fmt) in LOOP_COLUMNS.items():
            v = r[col]
            row[label] = fmt.format(v / 1e6 if col.endswith("_w") else v)
        out.append(row)
    return out


def capacity_rows(results) -> list[dict]:
    """Power and cooling at a glance: what the layout draws, its losses, PUE and the N-1 verdict."""
    rows = [
        {"what": "racks", "value": f"{results.factory.num_racks:,}"},
        {"what": "GPUs", "value": f"{results.factory.num_gpus:,}"},
        {"what": "IT power", "value": f"{results.it_power_w / 1e6:,.3f} MW"},
        {"what": "facility power at the meter", "value": f"{results.facility_power_w / 1e6:,.3f} MW"},
        {"what": "power-chain losses", "value": f"{results.losses_total_w / 1e6:,.3f} MW"},
    ]
    if results.pue is not None:
        rows.append({"what": "PUE", "value": f"{results.pue:.3f}"})
    if results.n_minus_1_survives is not None:
        rows.append({"what": "power N-1", "value": "holds" if results.n_minus_1_survives else "FAILS"})
    return rows


def n_minus_1_rows(results) -> list[dict]:
    """One row per single failure the power N-1 tried: what failed and whether the design survives."""
    return [{"failed": c.failed, "kind": c.kind, "survives": "yes" if c.survives else "NO",
             "racks dropped": c.racks_dropped, "overloaded": ", ".join(c.overloaded)[:200]}
            for c in (results.power_cases or [])]
