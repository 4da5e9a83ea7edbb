"""The power page: where the megawatts go (a Sankey from the meter), component loading and N-1.

Pure functions of the engine's results (:func:`power_sankey`, :func:`loading_figure`,
:func:`n_minus_1_rows`); the callback only loads the layout the floor page chose and presents.
"""

from __future__ import annotations

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


def n_minus_1_rows(results) -> list[dict]:
    """One row per single failure the power N-1 tried: what failed and whether the design survives."""
    return [{"failed": c.failed, "kind": c.kind, "survives": "yes" if c.survives else "NO",
             "racks dropped": c.racks_dropped, "overloaded": ", ".join(c.overloaded)[:200]}
            for c in (results.power_cases or [])]


def register(app, layouts_dir) -> None:
    """Register the page and its callback (it follows the layout chosen on the floor page)."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.ui.pages.floor import N_MINUS_1_MAX_RACKS, evaluate_layout, layout_picker, load_choice

    layout = html.Div([
        *layout_picker("power-layout", layouts_dir),
        html.Pre(id="power-problems", style={"color": "crimson"}),
        dcc.Loading(dcc.Graph(id="power-sankey")),
        dcc.Graph(id="power-loading"),
        html.Div(id="power-n1"),
    ])
    dash.register_page("power", path="/power", name="Power", layout=layout)

    @app.callback(Output("power-sankey", "figure"), Output("power-loading", "figure"),
                  Output("power-n1", "children"), Output("power-problems", "children"),
                  Input("power-layout", "value"))
    def show(choice):
        factory, problems = load_choice(choice, None, None, layouts_dir)
        if factory is None:
            return {}, {}, [], problems
        results = evaluate_layout(factory)
        rows = n_minus_1_rows(results)
        holds = "survives" if results.n_minus_1_survives else "does NOT survive"
        verdict = (f"power N-1: not evaluated (over {N_MINUS_1_MAX_RACKS:,} racks: `twin evaluate` runs it)"
                   if not rows else
                   f"power N-1: the design {holds} every single failure ({len(rows)} cases)")
        table = html.Table([html.Tr([html.Th(k) for k in (rows[0] if rows else {})])]
                           + [html.Tr([html.Td(str(v)) for v in r.values()]) for r in rows[:50]])
        return (power_sankey(results), loading_figure(results),
                [html.P(verdict, id="power-n1-verdict"), table], "")
