"""The cooling page: each hall's loop (temperatures, heat, fans) and every CDU group's loading.

Pure functions of the engine's results (:func:`loop_rows`, :func:`cdu_loading_figure`); the
callback evaluates the chosen layout at the chosen ambient and presents.
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


def register(app, layouts_dir) -> None:
    """Register the page and its callback."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.ui.pages.floor import evaluate_layout, layout_picker, load_choice

    layout = html.Div([
        *layout_picker("cooling-layout", layouts_dir),
        html.Label(" ambient dry bulb [degC] "),
        dcc.Slider(id="cooling-ambient", min=-10, max=50, step=1, value=35,
                   marks={v: str(v) for v in range(-10, 51, 10)}),
        html.Pre(id="cooling-problems", style={"color": "crimson"}),
        html.Div(id="cooling-loops"),
        dcc.Loading(dcc.Graph(id="cooling-cdus")),
    ])
    dash.register_page("cooling", path="/cooling", name="Cooling", layout=layout)

    @app.callback(Output("cooling-loops", "children"), Output("cooling-cdus", "figure"),
                  Output("cooling-problems", "children"),
                  Input("cooling-layout", "value"), Input("cooling-ambient", "value"))
    def show(choice, ambient):
        factory, problems = load_choice(choice, None, None, layouts_dir)
        if factory is None:
            return [], {}, problems
        if factory.cooling is None:
            return [html.P("this layout has no cooling design")], {}, ""
        results = evaluate_layout(factory, with_n_minus_1=False, ambient_c=float(ambient))
        rows = loop_rows(results)
        table = html.Table([html.Tr([html.Th(k) for k in rows[0]])]
                           + [html.Tr([html.Td(v, id=f"loop-{i}-{j}") for j, v in enumerate(r.values())])
                              for i, r in enumerate(rows)])
        return [table], cdu_loading_figure(results), ""
