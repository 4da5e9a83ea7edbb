"""The AI grid page: a grid scenario's sites and regions on a map, the flows between them, the tables.

Exactly what ``twin grid FILE [--policy P]`` computes (:func:`twin.grid.simulate`); the figure and
tables are the report's (:func:`twin.report.grid.grid_figure`, :func:`~twin.report.grid.region_rows`,
:func:`~twin.report.grid.site_rows`, :func:`~twin.report.grid.summary_rows`). A grid file with
problems shows them (file:line, as the CLI prints them) instead of figures.
"""

from __future__ import annotations

from pathlib import Path

#: Place of the page in the app's menu.
ORDER = 9
#: The grid the page opens on.
DEFAULT_GRID = "voice-chat.yaml"
#: Results kept in the page's cache (one per grid file and policy).
MAX_CACHED = 16


def grids_dir(app, layouts_dir: Path) -> Path:
    """Where the page finds grid scenarios: the app's ``TWIN_GRIDS_DIR``, else ``scenarios/grids/``."""
    given = app.server.config.get("TWIN_GRIDS_DIR") if hasattr(app, "server") else None
    return Path(given) if given else Path(layouts_dir).parent / "scenarios" / "grids"


def grid_of(path: Path, policy: str | None, cache: dict):
    """``(results, "")`` of a grid file under a policy, or ``(None, problems)``; cached by file and time."""
    from twin.grid import simulate
    from twin.ui.widgets import result_of_file

    return result_of_file(path, cache, lambda p: simulate(p, policy=policy).to_dict(), extra=(policy,),
                          max_cached=MAX_CACHED)


def register(app, layouts_dir: Path) -> None:
    """Register the page and its callback."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.layout.schema_grid import POLICIES
    from twin.report.grid import grid_figure, region_rows, site_rows, summary_rows
    from twin.ui.pages.fabric import rows_table

    folder = grids_dir(app, layouts_dir)
    names = sorted(p.name for p in folder.glob("*.yaml"))
    layout = html.Div([
        html.Label("Grid scenario "),
        dcc.Dropdown(id="grid-file", options=names,
                     value=DEFAULT_GRID if DEFAULT_GRID in names else (names[0] if names else None),
                     clearable=False, style={"width": "20em", "display": "inline-block"}),
        html.Label(" placement "),
        dcc.Dropdown(id="grid-policy", options=[{"label": "the file's", "value": ""}]
                     + [{"label": p, "value": p} for p in POLICIES], value="", clearable=False,
                     style={"width": "12em", "display": "inline-block"}),
        html.Pre(id="grid-problems", style={"color": "crimson", "whiteSpace": "pre-wrap"}),
        dcc.Loading([html.Div(id="grid-summary"), dcc.Graph(id="grid-map")]),
        html.H4("Regions: what users see (network round trip included)"),
        html.Div(id="grid-regions"),
        html.H4("Sites"),
        html.Div(id="grid-sites"),
    ])
    dash.register_page("grid", path="/grid", name="AI grid", order=ORDER, layout=layout)
    cache: dict = {}

    @app.callback(Output("grid-summary", "children"), Output("grid-map", "figure"),
                  Output("grid-regions", "children"), Output("grid-sites", "children"),
                  Output("grid-problems", "children"),
                  Input("grid-file", "value"), Input("grid-policy", "value"))
    def show(choice, policy):
        if not choice:
            return [], {}, [], [], f"no grid scenario in {folder}"
        d, problems = grid_of(folder / Path(choice).name, policy or None, cache)
        if d is None:
            return [], {}, [], [], problems
        return (rows_table(summary_rows(d), "grid-total"), grid_figure(d),
                rows_table(region_rows(d), "grid-region"), rows_table(site_rows(d), "grid-site"), "")
