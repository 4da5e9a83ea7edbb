"""The cooling page: each hall's loop (temperatures, heat, fans) and every CDU group's loading.

The table and figure are the report's (:func:`twin.report.tables.loop_rows`,
:func:`twin.report.figures.cdu_loading_figure`); the callback evaluates the chosen layout at the
chosen ambient and presents.
"""

from __future__ import annotations

#: Place of the page in the app's menu.
ORDER = 3


def register(app, layouts_dir) -> None:
    """Register the page and its callbacks."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.engine.whatif import RACK_SUPPLY_RANGE_C, with_rack_supply
    from twin.report.figures import cdu_loading_figure, loop_schematic_figure
    from twin.report.tables import loop_rows
    from twin.ui.choice import evaluate_layout, layout_picker, load_choice
    from twin.ui.widgets import html_table

    lo, hi = (int(v) for v in RACK_SUPPLY_RANGE_C)
    def page(layout: str | None = None, **_query):
        """The page; ``?layout=NAME`` opens it on a shipped layout."""
        return html.Div([
            *layout_picker("cooling-layout", layouts_dir, layout),
            html.Div([html.Label("ambient dry bulb [degC]"),
                      dcc.Slider(id="cooling-ambient", min=-10, max=50, step=1, value=35,
                                 marks={v: str(v) for v in range(-10, 51, 10)}, updatemode="mouseup")],
                     style={"width": "45%", "display": "inline-block"}),
            html.Div([html.Label("rack coolant supply [degC] (facility water moves with it)"),
                      dcc.Slider(id="cooling-supply", min=lo, max=hi, step=1, value=None,
                                 marks={v: str(v) for v in range(lo, hi + 1, 10)}, updatemode="mouseup")],
                     style={"width": "45%", "display": "inline-block", "marginLeft": "5%"}),
            html.Pre(id="cooling-problems", style={"color": "crimson"}),
            html.P(id="cooling-limit", style={"fontWeight": "bold"}),
            html.Div(id="cooling-loops"),
            dcc.Loading(dcc.Graph(id="cooling-schematic")),
            dcc.Graph(id="cooling-cdus"),
        ])

    dash.register_page("cooling", path="/cooling", name="Cooling", order=ORDER, layout=page)

    @app.callback(Output("cooling-supply", "value"), Input("cooling-layout", "value"))
    def design_supply(choice):
        """A newly picked layout starts at its own rack supply setpoint."""
        factory, _ = load_choice(choice, None, None, layouts_dir)
        if factory is None or factory.cooling is None:
            return None
        return max(lp.rack_supply_c for lp in factory.cooling.loops)

    @app.callback(Output("cooling-loops", "children"), Output("cooling-schematic", "figure"),
                  Output("cooling-cdus", "figure"), Output("cooling-limit", "children"),
                  Output("cooling-problems", "children"),
                  Input("cooling-layout", "value"), Input("cooling-ambient", "value"),
                  Input("cooling-supply", "value"))
    def show(choice, ambient, supply):
        factory, problems = load_choice(choice, None, None, layouts_dir)
        if factory is None:
            return [], {}, {}, "", problems
        if factory.cooling is None:
            return [html.P("this layout has no cooling design")], {}, {}, "", ""
        if supply is not None:
            factory = with_rack_supply(factory, float(supply))
        results = evaluate_layout(factory, with_n_minus_1=False, ambient_c=float(ambient))
        return ([html_table(loop_rows(results), "loop")], loop_schematic_figure(results),
                cdu_loading_figure(results), limit_text(results), "")


def limit_text(results) -> str:
    """The highest ambient at which no GPU throttles, and today's margin, as one sentence."""
    c = results.cooling
    limit = c.max_ambient_c
    margin = f"; least margin to throttling now {c.min_throttle_margin_k:.1f} K" \
        if c.min_throttle_margin_k is not None else ""
    if limit is None:
        return f"GPUs throttle even at the coldest ambient searched{margin}."
    from twin.thermal.failover import MAX_AMBIENT_SEARCH_C

    at_top = " (the top of the search)" if limit >= MAX_AMBIENT_SEARCH_C[1] else ""
    return (f"The design holds (no GPU throttles) up to {limit:.1f} degC ambient{at_top}; "
            f"{c.racks_throttled} racks throttle at {c.ambient.dry_bulb_c:.1f} degC{margin}.")
