"""The fabric page: a layout's scale-out topology (rack -> leaf -> spine -> super-spine), bandwidth and BOM.

The figure and tables are the report's (:func:`twin.report.fabric.topology_figure`,
:func:`~twin.report.fabric.fabric_glance_rows`, :func:`~twin.report.fabric.bandwidth_rows`,
:func:`~twin.report.fabric.bom_table_rows`) of the engine's fabric, ``build_fabric(factory)``
(what ``twin.evaluate`` puts in ``Results.fabric`` and ``twin fabric`` prints). The fabric alone
is built, not the whole evaluation, so even the 1 GW campus answers at once.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Place of the page in the app's menu.
ORDER = 5


def slug(text: str) -> str:
    """A stable element id part of a row label ("super-spine switches" -> "super-spine-switches")."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def rows_table(rows: list[dict], id_prefix: str):
    """An HTML table of report rows; cell ``(i, j)`` has the id ``<id_prefix>-<i>-<j>``."""
    from dash import html

    if not rows:
        return html.Table()
    style = {"borderBottom": "1px solid #ddd", "padding": "2px 8px", "textAlign": "right"}
    return html.Table([html.Tr([html.Th(k, style=style) for k in rows[0]])]
                      + [html.Tr([html.Td(v, id=f"{id_prefix}-{i}-{j}", style=style)
                                  for j, v in enumerate(r.values())]) for i, r in enumerate(rows)],
                      style={"borderCollapse": "collapse", "margin": "0.5em 0"})


def register(app, layouts_dir: Path) -> None:
    """Register the page and its callbacks (the cluster picker follows the layout)."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.errors import InputError
    from twin.report.fabric import (
        bandwidth_rows,
        bom_table_rows,
        cluster_names,
        fabric_glance_rows,
        topology_figure,
    )
    from twin.ui.choice import layout_picker, load_choice

    def page(layout: str | None = None, **_query):
        """The page; ``?layout=NAME`` opens it on a shipped layout."""
        return html.Div([
            html.Div([
                *layout_picker("fabric-layout", layouts_dir, layout),
                html.Label(" cluster "),
                dcc.Dropdown(id="fabric-cluster", clearable=False,
                             style={"width": "26em", "display": "inline-block"}),
            ]),
            html.Pre(id="fabric-problems", style={"color": "crimson"}),
            html.Div([
                html.Div([html.H4("At a glance"), html.Table(id="fabric-glance")],
                         style={"display": "inline-block", "verticalAlign": "top", "marginRight": "2em"}),
                html.Div(dcc.Loading(dcc.Graph(id="fabric-topology")),
                         style={"display": "inline-block", "width": "70%", "verticalAlign": "top"}),
            ]),
            html.H4("Bandwidth (per direction, all planes)"),
            html.Div(id="fabric-bandwidth"),
            html.H4("Bill of materials (all locations)"),
            html.Div(id="fabric-bom"),
        ])

    dash.register_page("fabric", path="/fabric", name="Fabric", order=ORDER, layout=page)

    def _fabric(choice):
        """The chosen layout's fabric (cached: one layout at a time), or its problems."""
        from twin.fabric import build_fabric

        factory, problems = load_choice(choice, None, None, layouts_dir)
        if factory is None:
            return None, problems
        key = (factory.source_file, factory.num_racks)
        if key not in cache:
            try:
                fab = build_fabric(factory)
            except InputError as exc:
                return None, str(exc)
            cache.clear()
            cache[key] = fab
        return cache[key], ""

    @app.callback(Output("fabric-cluster", "options"), Output("fabric-cluster", "value"),
                  Input("fabric-layout", "value"))
    def clusters(choice):
        fab, _ = _fabric(choice)
        names = cluster_names(fab) if fab is not None else []
        return names, (names[0] if names else None)

    @app.callback(Output("fabric-glance", "children"), Output("fabric-topology", "figure"),
                  Output("fabric-bandwidth", "children"), Output("fabric-bom", "children"),
                  Output("fabric-problems", "children"),
                  Input("fabric-layout", "value"), Input("fabric-cluster", "value"))
    def show(choice, cluster):
        fab, problems = _fabric(choice)
        if fab is None:
            return [], {}, [], [], problems
        names = cluster_names(fab)
        cluster = cluster if cluster in names else 0  # a cluster of the previous layout: the first one
        glance = [html.Tr([html.Td(r["what"]), html.Td(r["value"], id=f"fabric-{slug(r['what'])}")])
                  for r in fabric_glance_rows(fab)]
        return (glance, topology_figure(fab, cluster), rows_table(bandwidth_rows(fab), "fabric-bw"),
                rows_table(bom_table_rows(fab), "fabric-bom"), "")

    cache: dict = {}
