"""Two designs side by side: their key figures, A, B and B - A, and where their megawatts go.

Pure functions of two :class:`twin.Results` (no Dash), for the app's Compare page and the report:
:func:`compare_rows` (the table) and :func:`compare_figure` (facility power by stage, stacked).
"""

from __future__ import annotations

import math

import numpy as np

#: Colours of the stages (Plotly's default sequence), one per stage in both panels.
COLOURS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")


def _racks_col(results, col: str, how: str) -> float | None:
    df = results.racks()
    if col not in df or not len(df):
        return None
    v = df[col].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return (float(v.max()) if how == "max" else float(v.min())) if v.size else None


def _cdu_max(results) -> float | None:
    g = results.cdu_groups()
    return float(g["loading"].max()) if len(g) else None


def _node_max(results) -> float | None:
    v = results.power_nodes()["loading"].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else None


def _per_rack(results, watts: float) -> float | None:
    n = results.factory.num_racks
    return watts / n if n else None


def _n1_failures(results) -> float | None:
    cases = results.power_cases
    return None if cases is None else float(sum(not c.survives for c in cases))


#: Key figures of a design: key -> (label, unit, scale from SI to the unit, format, figure in SI or None).
FIGURES = {
    "racks": ("racks", "", 1.0, "{:,.0f}", lambda r: float(r.factory.num_racks)),
    "gpus": ("GPUs", "", 1.0, "{:,.0f}", lambda r: float(r.factory.num_gpus)),
    "it_power_w": ("IT power", "MW", 1e-6, "{:,.3f}", lambda r: float(r.it_power_w)),
    "facility_power_w": ("facility power at the meter", "MW", 1e-6, "{:,.3f}",
                         lambda r: float(r.facility_power_w)),
    "cooling_power_w": ("cooling power", "MW", 1e-6, "{:,.3f}", lambda r: float(r.cooling_power_w or 0.0)),
    "losses_w": ("power-chain losses", "MW", 1e-6, "{:,.3f}", lambda r: float(r.losses_total_w)),
    "pue": ("PUE", "", 1.0, "{:.3f}", lambda r: r.pue),
    "it_power_per_rack_w": ("IT power per rack", "kW", 1e-3, "{:,.1f}", lambda r: _per_rack(r, r.it_power_w)),
    "facility_power_per_rack_w": ("facility power per rack", "kW", 1e-3, "{:,.1f}",
                                  lambda r: _per_rack(r, r.facility_power_w)),
    "max_gpu_temp_c": ("hottest GPU", "degC", 1.0, "{:.1f}", lambda r: _racks_col(r, "gpu_temp_c", "max")),
    "min_throttle_margin_k": ("least margin to throttling", "K", 1.0, "{:.1f}",
                              lambda r: _racks_col(r, "throttle_margin_k", "min")),
    "max_cdu_loading": ("most loaded CDU group", "%", 100.0, "{:.1f}", _cdu_max),
    "max_component_loading": ("most loaded power component", "%", 100.0, "{:.1f}", _node_max),
    "n_minus_1_failures": ("power N-1: single failures it does not survive", "", 1.0, "{:,.0f}",
                           _n1_failures),
}


def _verdict(results) -> str:
    s = results.n_minus_1_survives
    return "not evaluated" if s is None else "holds" if s else "FAILS"


def _fmt(value: float | None, scale: float, fmt: str, unit: str, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    f = fmt.replace("{:", "{:+") if signed else fmt
    return f.format(value * scale) + (f" {unit}" if unit else "")


def compare_rows(a, b) -> list[dict]:
    """One row per key figure of :data:`FIGURES` (and the N-1 verdict) for designs ``a`` and ``b``.

    Each row: ``key``, ``what``, the figures in SI ``a``, ``b`` and ``diff`` (``b - a``; None where
    either is missing) and their formatted forms ``A``, ``B``, ``B-A``. The verdict row has text in
    ``a`` and ``b`` and ``diff`` "same" or "differs".
    """
    rows = []
    for key, (label, unit, scale, fmt, fn) in FIGURES.items():
        va, vb = fn(a), fn(b)
        d = vb - va if va is not None and vb is not None else None
        rows.append({"key": key, "what": label, "a": va, "b": vb, "diff": d,
                     "A": _fmt(va, scale, fmt, unit), "B": _fmt(vb, scale, fmt, unit),
                     "B-A": _fmt(d, scale, fmt, unit, signed=True)})
    va, vb = _verdict(a), _verdict(b)
    same = "same" if va == vb else "differs"
    rows.append({"key": "n_minus_1", "what": "power N-1", "a": va, "b": vb, "diff": same,
                 "A": va, "B": vb, "B-A": same})
    return rows


def stage_powers_w(results) -> dict[str, float]:
    """Where the facility power goes: cooling, each loss stage and IT (the meter's flows). [W]"""
    from twin.report.figures import power_flows

    return {to: w for frm, to, w in power_flows(results) if frm == "facility (meter)"}


def compare_figure(a, b, names: tuple[str, str] = ("A", "B")):
    """Facility power of ``a`` and ``b`` by stage (:func:`stage_powers_w`), stacked: in MW and in shares.

    The left panel is in MW; the right one in % of each design's facility power, so a design much
    smaller than the other still shows how its megawatts split.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    sa, sb = stage_powers_w(a), stage_powers_w(b)
    ta, tb = sum(sa.values()), sum(sb.values())
    x = [f"A: {names[0]}", f"B: {names[1]}"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["facility power by stage [MW]",
                                                         "share of the facility power [%]"])
    for i, stage in enumerate(dict.fromkeys([*sa, *sb])):
        ya, yb = sa.get(stage, 0.0) / 1e6, sb.get(stage, 0.0) / 1e6
        colour = COLOURS[i % len(COLOURS)]
        fig.add_trace(go.Bar(x=x, y=[ya, yb], name=stage, legendgroup=stage, marker_color=colour,
                             hovertemplate="%{x}: %{y:,.3f} MW<extra>" + stage + "</extra>"), row=1, col=1)
        share = [100.0 * ya * 1e6 / ta if ta > 0 else 0.0, 100.0 * yb * 1e6 / tb if tb > 0 else 0.0]
        fig.add_trace(go.Bar(x=x, y=share, name=stage, legendgroup=stage, marker_color=colour,
                             showlegend=False, hovertemplate="%{x}: %{y:.2f} %<extra>" + stage + "</extra>"),
                      row=1, col=2)
    fig.update_layout(barmode="stack", height=480, legend_title_text="stage",
                      title=f"Facility power: A {ta / 1e6:,.3f} MW, B {tb / 1e6:,.3f} MW")
    return fig
