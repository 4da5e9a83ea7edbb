"""The cooling page: each hall's loop (temperatures, heat, fans) and every CDU group's loading.

The table and figure are the report's (:func:`twin.report.tables.loop_rows`,
:func:`twin.report.figures.cdu_loading_figure`); the callback evaluates the chosen layout at the
chosen ambient and presents.
"""

from __future__ import annotations

#: Place of the page in the app's menu.
ORDER = 3


def register(app, layouts_dir) -> None:
    """Register the page and its callback."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.report.figures import cdu_loading_figure
    from twin.report.tables import loop_rows
    from twin.ui.choice import evaluate_layout, layout_picker, load_choice

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
