"""The AI grid page: a grid scenario's sites and regions on a map, the flows between them, the tables.

Exactly what ``twin grid FILE [--policy P]`` computes (:func:`twin.grid.simulate`); the figure and
tables are the report's (:func:`twin.report.grid.grid_figure`, :func:`~twin.report.grid.region_rows`,
:func:`~twin.report.grid.site_rows`, :func:`~twin.report.grid.summary_rows`; over a timeline also
:func:`~twin.report.grid.timeline_figure` and :func:`~twin.report.grid.timeline_rows`). A grid file
with problems shows them (file:line, as the CLI prints them) instead of figures.

The grid is computed in a background callback (another process, on the app's
:class:`dash.DiskcacheManager`) that shows its progress, a timeline's steps one by one; results are
kept in a disk cache shared by those processes, one per file (and its modification time) and policy.
"""

from __future__ import annotations

from pathlib import Path

#: Place of the page in the app's menu.
ORDER = 9
#: The grid the page opens on.
DEFAULT_GRID = "voice-chat.yaml"
#: Results kept in the page's cache (one per grid file and policy).
MAX_CACHED = 16
#: How often the page asks for the progress of a grid being computed. [ms]
POLL_MS = 300


def grids_dir(app, layouts_dir: Path) -> Path:
    """Where the page finds grid scenarios: the app's ``TWIN_GRIDS_DIR``, else ``scenarios/grids/``."""
    given = app.server.config.get("TWIN_GRIDS_DIR") if hasattr(app, "server") else None
    return Path(given) if given else Path(layouts_dir).parent / "scenarios" / "grids"


def grid_of(path: Path, policy: str | None, cache, progress=None):
    """``(results, "")`` of a grid file under a policy, or ``(None, problems)``; cached by file and time.

    ``cache``: a dict, or a :class:`diskcache.Cache` shared between processes; ``progress(done, total)``
    receives a timeline's steps.
    """
    from twin.grid import simulate
    from twin.ui.widgets import result_of_file

    return result_of_file(path, cache, lambda p: simulate(p, policy=policy, progress=progress).to_dict(),
                          extra=(policy,), max_cached=MAX_CACHED)


def register(app, layouts_dir: Path) -> None:
    """Register the page and its callback."""
    import atexit
    import shutil
    import tempfile

    import dash
    import diskcache
    from dash import Input, Output, dcc, html

    from twin.layout.schema_grid import POLICIES
    from twin.report.grid import (
        grid_figure,
        link_rows,
        region_rows,
        site_rows,
        summary_rows,
        timeline_figure,
        timeline_rows,
    )
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
        html.Div([html.Progress(id="grid-progress", value=0, max=100, style={"width": "30em"}),
                  html.Span(id="grid-progress-text", style={"marginLeft": "1em"})],
                 style={"margin": "0.5em 0"}),
        html.Pre(id="grid-problems", style={"color": "crimson", "whiteSpace": "pre-wrap"}),
        html.Div(id="grid-summary"),
        dcc.Graph(id="grid-map"),
        html.Div(id="grid-timeline"),
        html.H4("Regions: what users see (network round trip included)"),
        html.Div(id="grid-regions"),
        html.H4("Sites"),
        html.Div(id="grid-sites"),
    ])
    dash.register_page("grid", path="/grid", name="AI grid", order=ORDER, layout=layout)
    cache_dir = tempfile.mkdtemp(prefix="twin-ui-grid-")
    atexit.register(shutil.rmtree, cache_dir, ignore_errors=True)  # nothing left behind after a run
    cache = diskcache.Cache(cache_dir)  # the background processes share it

    @app.callback(Output("grid-summary", "children"), Output("grid-map", "figure"),
                  Output("grid-timeline", "children"),
                  Output("grid-regions", "children"), Output("grid-sites", "children"),
                  Output("grid-problems", "children"),
                  Input("grid-file", "value"), Input("grid-policy", "value"),
                  background=True, interval=POLL_MS,
                  progress=[Output("grid-progress", "value"), Output("grid-progress-text", "children")],
                  running=[(Output("grid-file", "disabled"), True, False),
                           (Output("grid-policy", "disabled"), True, False)])
    def show(set_progress, choice, policy):
        if not choice:
            return [], {}, [], [], [], f"no grid scenario in {folder}"
        set_progress((0, f"{choice}: placing and serving"))

        def progress(done: int, total: int) -> None:
            text = f"{choice}: step {done} of {total} placed and served"
            set_progress((round(100.0 * done / total, 1), text))

        d, problems = grid_of(folder / Path(choice).name, policy or None, cache, progress)
        set_progress((100, f"{choice}: done" if d is not None else f"{choice}: problems"))
        if d is None:
            return [], {}, [], [], [], problems
        over_time = []
        if d.get("timeline"):
            over_time = [html.H4("Over time"),
                         dcc.Graph(id="grid-timeline-figure", figure=timeline_figure(d)),
                         rows_table(timeline_rows(d), "grid-step")]
        return (rows_table(summary_rows(d), "grid-total"), grid_figure(d), over_time,
                rows_table(region_rows(d), "grid-region"), sites_and_links(d), "")

    def sites_and_links(d: dict) -> list:
        out = [rows_table(site_rows(d), "grid-site")]
        if link_rows(d):
            out += [html.H4("Network links"), rows_table(link_rows(d), "grid-link")]
        return out
