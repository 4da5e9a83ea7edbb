"""The Compare page: two designs side by side, their key figures for A, B and B - A, and their power.

Both layouts are evaluated as every page evaluates one (:func:`twin.ui.choice.evaluate_layout`);
the table and the figure are the report's (:func:`twin.report.compare.compare_rows`,
:func:`~twin.report.compare.compare_figure`).
"""

from __future__ import annotations

#: Place of the page in the app's menu.
ORDER = 7
#: The layout the B side opens on.
DEFAULT_B = "rack-nvl72.yaml"
#: Evaluations kept between callbacks (by layout file), so changing one side does not redo the other.
KEEP_EVALUATIONS = 4


def compare_table(rows: list[dict]):
    """The rows of :func:`~twin.report.compare.compare_rows` as an HTML table.

    Each value cell is ``#cmp-<key>-a``, ``#cmp-<key>-b`` or ``#cmp-<key>-diff``.
    """
    from dash import html

    head = html.Tr([html.Th(c) for c in ("", "A", "B", "B - A")])
    body = [html.Tr([html.Td(r["what"]), html.Td(r["A"], id=f"cmp-{r['key']}-a"),
                     html.Td(r["B"], id=f"cmp-{r['key']}-b"), html.Td(r["B-A"], id=f"cmp-{r['key']}-diff")])
            for r in rows]
    return html.Table([head, *body], id="cmp-table", style={"borderSpacing": "1.5em 0.15em"})


def register(app, layouts_dir) -> None:
    """Register the page and its callback (either layout changed: both evaluated, compared)."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.report.compare import compare_figure, compare_rows
    from twin.ui.choice import evaluate_layout, layout_picker, load_choice

    side_a = layout_picker("cmp-a", layouts_dir)
    side_b = layout_picker("cmp-b", layouts_dir)
    side_a[0].children, side_b[0].children = "Design A ", "Design B "
    if (layouts_dir / DEFAULT_B).is_file():
        side_b[1].value = DEFAULT_B
    layout = html.Div([
        html.Div(side_a, style={"display": "inline-block", "marginRight": "3em"}),
        html.Div(side_b, style={"display": "inline-block"}),
        html.Pre(id="cmp-problems", style={"color": "crimson"}),
        dcc.Loading(html.Div(id="cmp-result")),
        dcc.Graph(id="cmp-figure"),
    ])
    dash.register_page("compare", path="/compare", name="Compare", order=ORDER, layout=layout)
    cache: dict = {}

    def evaluated(choice):
        if choice not in cache:
            factory, problems = load_choice(choice, None, None, layouts_dir)
            if factory is None:
                return None, problems
            while len(cache) >= KEEP_EVALUATIONS:
                cache.pop(next(iter(cache)))
            cache[choice] = evaluate_layout(factory)
        return cache[choice], None

    @app.callback(Output("cmp-result", "children"), Output("cmp-figure", "figure"),
                  Output("cmp-problems", "children"), Input("cmp-a", "value"), Input("cmp-b", "value"))
    def show(a_choice, b_choice):
        a, pa = evaluated(a_choice)
        b, pb = evaluated(b_choice)
        if a is None or b is None:
            return [], {}, "\n".join(f"{side}: {p}" for side, p in (("A", pa), ("B", pb)) if p)
        names = (a.factory.name, b.factory.name)
        return ([html.P(f"A: {a_choice} ({names[0]}), B: {b_choice} ({names[1]})", id="cmp-names"),
                 compare_table(compare_rows(a, b))], compare_figure(a, b, names), "")
