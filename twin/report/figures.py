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


def floor_metrics(results) -> list[str]:
    """The :data:`METRICS` the results have (the thermal ones need a cooling design)."""
    cols = set(results.racks().columns)
    return [m for m in METRICS if m in cols]


def floor_plan_figure(results, metric: str = "rack_input_w"):
    """Halls side by side, rows top to bottom, racks along each row, coloured by ``metric``.

    ``metric`` is one of :func:`floor_metrics`; a layout without a cooling design has power only.
    """
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    df = results.racks()
    if metric not in floor_metrics(results):
        raise ValueError(f"the floor plan cannot be coloured by {metric!r} here; it has "
                         f"{', '.join(floor_metrics(results))}")
    label, unit, scale = METRICS[metric]
    # racks are laid out in rows at their catalog widths, rows top to bottom in each hall, halls side
    # by side (one trace: one validation and one colour scale for thousands of racks)
    f = results.factory
    width_m = np.array([s.rack_width_m for s in f.systems])[f.racks.system_idx]
    # each rack's left edge along its row: the widths of the racks before it in the row
    start_m = (pd.Series(width_m).groupby(pd.factorize(df["row"])[0]).cumsum() - width_m).to_numpy()
    halls = list(dict.fromkeys(df["hall"]))
    hall_index = {h: k for k, h in enumerate(halls)}
    hall_of = np.array([hall_index[h] for h in df["hall"]], dtype=int)
    row_rank: dict[tuple[str, str], int] = {}
    rows_seen = dict.fromkeys(halls, 0)
    for hall, row in dict.fromkeys(zip(df["hall"], df["row"], strict=True)):
        row_rank[(hall, row)] = rows_seen[hall]
        rows_seen[hall] += 1
    row_in_hall = np.array([row_rank[k] for k in zip(df["hall"], df["row"], strict=True)], dtype=int)
    widths = np.array([(start_m + width_m)[hall_of == k].max() for k in range(len(halls))])
    x0 = np.concatenate([[0.0], np.cumsum(widths + 3.0)[:-1]])
    x = x0[hall_of] + start_m + 0.5 * width_m
    y = -row_in_hall * ROW_PITCH_M
    z = df[metric].to_numpy(dtype=float) * scale
    temps = ([f"GPU {t:.1f} degC, " for t in df["gpu_temp_c"]] if "gpu_temp_c" in df else [""] * len(df))
    text = [f"{nm} ({row})<br>{label}: {v:.1f} {unit}<br>{t}input {p / 1e3:.1f} kW"
            for nm, row, v, t, p in zip(df["name"], df["row"], z, temps, df["rack_input_w"], strict=True)]
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers", text=text, hoverinfo="text", customdata=list(df["name"]),
        showlegend=False, marker={"symbol": "square", "size": 9, "color": z, "colorscale": "Turbo",
                                  "cmin": float(z.min()) if len(z) else 0.0,
                                  "cmax": (float(z.max()) if len(z) else 0.0) + 1e-9,
                                  "colorbar": {"title": f"{label} [{unit}]"}, "showscale": True}))
    for k, hall in enumerate(halls):
        fig.add_annotation(x=x0[k], y=ROW_PITCH_M, text=str(hall), showarrow=False, xanchor="left")
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


#: Marker of each power-node kind on the one-line diagram.
NODE_SYMBOLS = {"feed": "diamond", "switchgear": "square", "transformer": "circle", "ups": "hexagon",
                "busway": "triangle-down"}


def one_line_figure(results, max_nodes: int = 300):
    """The power chain as a one-line diagram, utility at the top, each component coloured by loading.

    Levels are the tree's depths (feed, switchgear, transformer, UPS, busway); a busway's racks are
    in its hover. Components whose single failure the design does not survive (the power N-1) are
    ringed in red. Above ``max_nodes`` components the deepest levels are folded into their parents
    (their count, racks and highest loading in the parent's hover), so a campus stays readable.
    """
    import numpy as np
    import plotly.graph_objects as go

    tree = results.factory.power
    nodes = results.power_nodes()
    n = len(tree)
    depth = tree.depth
    shown_depth = int(depth.max(initial=0))
    while shown_depth > 0 and int((depth <= shown_depth).sum()) > max_nodes:
        shown_depth -= 1
    shown = depth <= shown_depth
    children: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        if tree.parent[i] >= 0:
            children[int(tree.parent[i])].append(i)
    racks_on = np.bincount(tree.cord_node, minlength=n).astype(int)  # cords = rack feeds per busway
    loading = nodes["loading"].to_numpy(dtype=float)
    # below-the-fold summary of every shown node: folded components, their cords and highest loading
    folded = np.zeros(n, dtype=int)
    folded_cords = racks_on.copy()
    folded_max = np.where(np.isfinite(loading), loading, 0.0)
    for i in np.argsort(-depth, kind="stable"):
        p = int(tree.parent[i])
        if p >= 0:
            folded_cords[p] += folded_cords[i]
            folded_max[p] = max(folded_max[p], folded_max[i])
            if not shown[i]:
                folded[p] += 1 + folded[i]
    x = np.zeros(n)
    nxt = 0.0

    def place(i: int) -> float:
        nonlocal nxt
        kids = [c for c in children[i] if shown[c]]
        if not kids:
            x[i] = nxt
            nxt += 1.0
        else:
            x[i] = float(np.mean([place(c) for c in kids]))
        return x[i]

    for r in np.flatnonzero((tree.parent < 0) & shown):
        place(int(r))
    fails = {c.failed for c in (results.power_cases or []) if not c.survives}
    idx = np.flatnonzero(shown)
    ex, ey = [], []
    for i in idx:
        p = int(tree.parent[i])
        if p >= 0:
            ex += [x[p], x[p], x[i], x[i], None]
            ey += [-depth[p], -(depth[p] + 0.5), -(depth[p] + 0.5), -depth[i], None]
    fig = go.Figure(go.Scatter(x=ex, y=ey, mode="lines", line={"color": "#999", "width": 1},
                               hoverinfo="skip", showlegend=False))
    for kind, symbol in NODE_SYMBOLS.items():
        k = idx[nodes["kind"].to_numpy()[idx] == kind]
        if not len(k):
            continue
        text = []
        for i in k:
            row = nodes.iloc[i]
            verdict = "the design FAILS" if row["name"] in fails else "the design survives"
            t = (f"{row['name']} ({kind})<br>{row['load_w'] / 1e3:,.0f} kW of {row['rating_w'] / 1e3:,.0f} "
                 f"kW ({loading[i]:.0%})<br>N-1: {verdict} its loss")
            if folded[i]:
                t += f"<br>below: {folded[i]:,} components, highest loading {folded_max[i]:.0%}"
            if folded_cords[i]:
                t += f"<br>rack cords fed: {folded_cords[i]:,}"
            text.append(t)
        fig.add_trace(go.Scatter(
            x=x[k], y=-depth[k], mode="markers", name=kind, text=text, hoverinfo="text",
            customdata=list(nodes["name"].to_numpy()[k]),
            marker={"symbol": symbol, "size": 14 if len(idx) < 60 else 8, "color": loading[k] * 100.0,
                    "colorscale": "RdYlGn_r", "cmin": 0.0, "cmax": 100.0,
                    "line": {"color": ["crimson" if nodes["name"].iloc[i] in fails else "#333" for i in k],
                             "width": [3 if nodes["name"].iloc[i] in fails else 1 for i in k]},
                    "colorbar": {"title": "loading [%]", "x": 1.02}}))
    levels = [str(nodes["kind"].iloc[int(np.flatnonzero(depth == d)[0])]) for d in range(shown_depth + 1)]
    fig.update_layout(
        title=f"One-line diagram: {n:,} components" + (f" (levels below {levels[-1]} folded)"
                                                       if shown_depth < int(depth.max(initial=0)) else ""),
        xaxis={"visible": False}, height=160 + 90 * (shown_depth + 1),
        yaxis={"tickvals": [-d for d in range(shown_depth + 1)], "ticktext": levels},
        legend={"orientation": "h", "y": -0.05}, margin={"t": 40})
    return fig


def loop_schematic_figure(results, loop: int = 0):
    """One hall's liquid loop as a schematic: racks, CDUs, facility water and heat rejection.

    Each leg carries the engine's temperatures (and the racks' coolant flow); each box its heat,
    loading or fan speed; the ambient the plant rejects to is on the right.
    """
    import numpy as np
    import plotly.graph_objects as go

    lp = results.loops().iloc[loop]
    plant = results.factory.cooling
    spec = plant.loops[loop]
    racks = results.racks()
    mine = plant.rack_loop == loop
    liquid = mine & (plant.rack_group >= 0)
    flow_l_s = float(racks["coolant_flow_m3_s"].to_numpy()[liquid].sum()) * 1e3
    ret_c = float(np.average(racks["coolant_return_c"].to_numpy()[liquid],
                             weights=np.maximum(racks["coolant_flow_m3_s"].to_numpy()[liquid], 1e-12))) \
        if liquid.any() else float("nan")
    ambient_c = results.cooling.ambient.dry_bulb_c
    trim = f", {spec.num_trim_chillers} trim chillers" if spec.trim_chiller is not None else ""
    boxes = [
        f"{int(lp['racks']):,} racks<br>{lp['heat_to_liquid_w'] / 1e6:,.2f} MW to liquid<br>"
        f"hottest GPU {lp['max_gpu_temp_c']:.1f} degC",
        f"{int(lp['cdu_groups']):,} CDU group(s), {spec.cdu.name}<br>most loaded {lp['cdu_loading_max']:.0%}",
        f"facility water ({spec.fw_coolant})<br>{spec.num_pumps} pumps",
        f"{spec.num_rejection} {spec.rejection.kind.replace('_', ' ')}s ({spec.rejection.name})<br>fans "
        f"{lp['rejection_fan_speed']:.0%}{trim}<br>{lp['heat_rejected_w'] / 1e6:,.2f} MW rejected",
    ]
    fig = go.Figure()
    xs = [0.0, 3.0, 6.0, 9.0]
    for label, x in zip(boxes, xs, strict=True):
        fig.add_shape(type="rect", x0=x - 1.0, x1=x + 1.0, y0=-1.0, y1=1.0, line={"color": "#345"},
                      fillcolor="#e8f0fa")
        fig.add_annotation(x=x, y=0.0, text=label, showarrow=False, font={"size": 11})
    legs = [
        (xs[1] - 1.0, xs[0] + 1.0, 0.6, f"supply {lp['rack_supply_c_max']:.1f} degC<br>{flow_l_s:,.1f} L/s"),
        (xs[0] + 1.0, xs[1] - 1.0, -0.6, f"return {ret_c:.1f} degC"),
        (xs[2] - 1.0, xs[1] + 1.0, 0.6, f"supply {lp['facility_supply_c']:.1f} degC"),
        (xs[1] + 1.0, xs[2] - 1.0, -0.6, f"return {lp['facility_return_c']:.1f} degC"),
        (xs[3] - 1.0, xs[2] + 1.0, 0.6, "cooled water"),
        (xs[2] + 1.0, xs[3] - 1.0, -0.6, "warm water"),
    ]
    for x_from, x_to, y, text in legs:
        colour = "#1f77b4" if y > 0 else "#d62728"
        fig.add_annotation(x=x_to, y=y, ax=x_from, ay=y, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowwidth=2, arrowcolor=colour, text="")
        fig.add_annotation(x=0.5 * (x_from + x_to), y=y + (0.25 if y > 0 else -0.25), text=text,
                           showarrow=False, font={"size": 10, "color": colour})
    fig.add_annotation(x=xs[3] + 1.6, y=0.0, text=f"ambient<br>{ambient_c:.1f} degC", showarrow=False)
    fig.update_layout(title=f"Liquid loop of {lp['name']}", height=300, margin={"t": 40, "l": 10, "r": 10},
                      xaxis={"visible": False, "range": [-1.3, 11.2]},
                      yaxis={"visible": False, "range": [-1.4, 1.4]}, plot_bgcolor="white")
    return fig
