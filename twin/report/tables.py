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
    "rejection_fan_speed": ("heat-rejection fans", "{:.0%}"),
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


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value / 1e6:,.2f} MW" if unit == "W" else f"{value:,.0f}"


def capacity_table(cap) -> list[dict]:
    """One row per resource of :func:`twin.engine.capacity.capacity`.

    Maximum, planned, remaining, what N-1 leaves, growth to the limit (x) and what binds.
    """
    rows = []
    for r in cap.resources:
        g1 = r.growth_n_minus_1
        rows.append({"resource": r.name, "maximum": _amount(r.maximum, r.unit),
                     "planned": _amount(r.planned, r.unit), "remaining": _amount(r.remaining, r.unit),
                     "with N-1": _amount(r.n_minus_1, r.unit),
                     "growth": f"{r.growth:.2f}x" if r.planned > 0 else "-",
                     "growth with N-1": f"{g1:.2f}x" if g1 is not None and r.planned > 0 else "-",
                     "limit": r.limit, "limit with N-1": r.limit_n_minus_1 or "-"})
    return rows


def first_limit_text(cap) -> str:
    """The first limit as load grows (keeping N-1) and the capacity it strands, in one sentence."""
    first = cap.first_limit(n_minus_1=True)
    if first is None:
        return "No load is planned: nothing limits it."
    g = first.growth_n_minus_1 if first.growth_n_minus_1 is not None else first.growth
    if first.growth_n_minus_1 is not None and g <= 0:
        plain = cap.first_limit(n_minus_1=False)
        return (f"The design does not hold N-1 today ({first.name}: {first.limit_n_minus_1}). Without "
                f"N-1 the first limit is {plain.name}, at {plain.growth:.2f}x today's load ({plain.limit}).")
    kept = " keeping N-1" if first.growth_n_minus_1 is not None else ""
    why = first.limit_n_minus_1 if first.growth_n_minus_1 is not None else first.limit
    text = f"First limit as load grows{kept}: {first.name}, at {g:.2f}x today's load ({why})."
    stranded = {k: v for k, v in cap.stranded(n_minus_1=True).items() if v > 0}
    if stranded:
        text += " Stranded: " + ", ".join(f"{v / 1e6:,.2f} MW of {k}" for k, v in stranded.items()) + "."
    return text
