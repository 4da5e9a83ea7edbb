"""The power page: where the megawatts go (a Sankey from the meter), component loading and N-1.

The figures and tables are the report's (:func:`twin.report.figures.power_sankey`,
:func:`~twin.report.figures.loading_figure`, :func:`twin.report.tables.n_minus_1_rows`); the
callback only loads the chosen layout and presents.
"""

from __future__ import annotations

#: Place of the page in the app's menu.
ORDER = 2


def register(app, layouts_dir) -> None:
    """Register the page and its callback (it follows the layout chosen on the floor page)."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.report.figures import loading_figure, one_line_figure, power_sankey
    from twin.report.tables import n_minus_1_rows
    from twin.ui.choice import N_MINUS_1_MAX_RACKS, evaluate_layout, layout_picker, load_choice

    def page(layout: str | None = None, **_query):
        """The page; ``?layout=NAME`` opens it on a shipped layout."""
        return html.Div([
            *layout_picker("power-layout", layouts_dir, layout),
            html.Pre(id="power-problems", style={"color": "crimson"}),
            dcc.Loading(dcc.Graph(id="power-one-line")),
            dcc.Graph(id="power-sankey"),
            dcc.Graph(id="power-loading"),
            html.Div(id="power-n1"),
        ])

    dash.register_page("power", path="/power", name="Power", order=ORDER, layout=page)

    @app.callback(Output("power-one-line", "figure"), Output("power-sankey", "figure"),
                  Output("power-loading", "figure"),
                  Output("power-n1", "children"), Output("power-problems", "children"),
                  Input("power-layout", "value"))
    def show(choice):
        factory, problems = load_choice(choice, None, None, layouts_dir)
        if factory is None:
            return {}, {}, {}, [], problems
        results = evaluate_layout(factory)
        rows = n_minus_1_rows(results)
        holds = "survives" if results.n_minus_1_survives else "does NOT survive"
        verdict = (f"power N-1: not evaluated (over {N_MINUS_1_MAX_RACKS:,} racks: `twin evaluate` runs it)"
                   if not rows else
                   f"power N-1: the design {holds} every single failure ({len(rows)} cases)")
        table = html.Table([html.Tr([html.Th(k) for k in (rows[0] if rows else {})])]
                           + [html.Tr([html.Td(str(v)) for v in r.values()]) for r in rows[:50]])
        return (one_line_figure(results), power_sankey(results), loading_figure(results),
                [html.P(verdict, id="power-n1-verdict"), table], "")
