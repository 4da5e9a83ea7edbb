"""Figures of a layout's engine results, shared by the app and the layout report.

Pure functions of :class:`twin.Results` (no Dash): the floor plan coloured by a metric, the power
Sankey and component loading, the CDU groups' loading. Plotly is imported where a figure is built.
"""

from __future__ import annotations

#: Metrics the floor plan can be coloured by: column of ``Results.racks()`` -> (label, unit, scale).
METRICS = {
    "rack_input_w": ("Rack input power", "kW", 1e-3),
    "throttle_margin_k": ("GPU temperature margin to throttling", "K", 1.0),
    "gpu_temp_c": ("Hottest GPU", "degC", 1.0),
    "coolant_return_c": ("Coolant return temperature", "degC", 1.0),
    "psu_load_fraction": ("Power-shelf loading", "%", 100.0),
}
#: Depth of a rack row and its aisle, for the floor plan's rows (assumption: 1.2 m racks, 1.2 m
#: cold aisle; the plan is to scale along rows, schematic across them). [m]
ROW_PITCH_M = 2.4
#: Width every rack is drawn with along its row (assumption: the catalog's NVL72 width, 600 mm; the
#: catalog's HGX racks are 800 mm wide and are drawn narrower than they are for now). [m]
RACK_WIDTH_M = 0.6


def floor_plan_figure(results, metric: str = "rack_input_w"):
    """Halls side by side, rows top to bottom, racks along each row, coloured by ``metric``."""
    import numpy as np
    import plotly.graph_objects as go

    df = results.racks()
    label, unit, scale = METRICS[metric]
    fig = go.Figure()
    x0 = 0.0
    for hall in dict.fromkeys(df["hall"]):
        h = df[df["hall"] == hall]
        rows = list(dict.fromkeys(h["row"]))
        width = 0.0
        for j, row in enumerate(rows):
            r = h[h["row"] == row]
            n = len(r)
            xs = x0 + (np.arange(n) + 0.5) * RACK_WIDTH_M
            width = max(width, n * RACK_WIDTH_M)
            z = r[metric].to_numpy(dtype=float) * scale
            text = [f"{nm}<br>{label}: {v:.1f} {unit}<br>GPU {t:.1f} degC, input {p / 1e3:.1f} kW"
                    for nm, v, t, p in zip(r["name"], z, r["gpu_temp_c"], r["rack_input_w"], strict=True)]
            fig.add_trace(go.Scatter(
                x=xs, y=np.full(n, -j * ROW_PITCH_M), mode="markers", text=text, hoverinfo="text",
                customdata=list(r["name"]), name=row, showlegend=False,
                marker={"symbol": "square", "size": 9, "color": z, "colorscale": "Turbo",
                        "cmin": float(df[metric].min() * scale),
                        "cmax": float(df[metric].max() * scale) + 1e-9,
                        "colorbar": {"title": f"{label} [{unit}]"} if j == 0 and x0 == 0.0 else None,
                        "showscale": j == 0 and x0 == 0.0}))
        fig.add_annotation(x=x0, y=ROW_PITCH_M, text=str(hall), showarrow=False, xanchor="left")
        x0 += width + 3.0
    fig.update_layout(xaxis_title="along the rows [m]", yaxis_title="rows [m]", height=500,
                      yaxis_scaleanchor="x", margin={"t": 30})
    return fig


#: Stage names of ``Results.losses_w`` as the Sankey labels them.
STAGES = {"switchgear": "switchgear losses", "transformer": "transformer losses", "ups": "UPS losses",
          "busway": "busway losses", "network_share": "network's share of losses"}


def power_flows(results) -> list[tuple[str, str, float]]:
    """(from, to, W) of every flow: the meter to cooling, each loss stage and IT; IT to its parts.

    Conserved by construction of the engine's figures: the meter's outflows sum to the facility
    power, IT's to the IT power (tested).
    """
    flows = [("facility (meter)", "cooling", float(results.cooling_power_w or 0.0))]
    for stage, label in STAGES.items():
        flows.append(("facility (meter)", label, float(results.losses_w.get(stage, 0.0))))
    flows.append(("facility (meter)", "IT power", float(results.it_power_w)))
    shelf = float(results.losses_w.get("power_shelf", 0.0))
    flows += [("IT power", "racks' DC load", float(results.it_power_racks_w) - shelf),
              ("IT power", "power-shelf losses", shelf),
              ("IT power", "network", float(results.network_power_w))]
    return flows


def power_sankey(results):
    """The flows of :func:`power_flows` as a Plotly Sankey (values in MW)."""
    import plotly.graph_objects as go

    flows = [f for f in power_flows(results) if f[2] > 0]
    labels = list(dict.fromkeys([a for a, _, _ in flows] + [b for _, b, _ in flows]))
    ix = {n: i for i, n in enumerate(labels)}
    fig = go.Figure(go.Sankey(node={"label": labels, "pad": 12},
                              link={"source": [ix[a] for a, _, _ in flows],
                                    "target": [ix[b] for _, b, _ in flows],
                                    "value": [w / 1e6 for _, _, w in flows]},
                              valueformat=".3f", valuesuffix=" MW"))
    fig.update_layout(title=f"Where {results.facility_power_w / 1e6:,.2f} MW go", height=420)
    return fig


def loading_figure(results, top: int = 20):
    """The most loaded power components (load / rating), with 100 % marked."""
    import plotly.graph_objects as go

    nodes = results.power_nodes().sort_values("loading", ascending=False).head(top)
    fig = go.Figure(go.Bar(x=list(nodes["loading"] * 100.0), y=list(nodes["name"]), orientation="h",
                           text=[f"{v:.0%}" for v in nodes["loading"]], customdata=list(nodes["kind"])))
    fig.add_vline(x=100.0, line_dash="dash", line_color="crimson")
    fig.update_layout(title=f"Most loaded components (top {len(nodes)})", xaxis_title="loading [%]",
                      yaxis_autorange="reversed", height=120 + 22 * len(nodes))
    return fig


def cdu_loading_figure(results):
    """Heat of every CDU group against its capacity (with its CDUs running)."""
    import plotly.graph_objects as go

    g = results.cdu_groups()
    fig = go.Figure(go.Bar(x=list(g["name"]), y=list(g["loading"] * 100.0),
                           text=[f"{v:.0%}" for v in g["loading"]],
                           hovertext=[f"{h / 1e3:,.0f} kW of {c / 1e3:,.0f} kW, {s:.1f} -> {t:.1f} degC"
                                      for h, c, s, t in zip(g["heat_w"], g["capacity_w"], g["supply_c"],
                                                            g["return_c"], strict=True)]))
    fig.add_hline(y=100.0, line_dash="dash", line_color="crimson")
    fig.update_layout(title="CDU groups: heat / capacity", yaxis_title="loading [%]", height=360)
    return fig
