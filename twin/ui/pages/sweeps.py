"""The Sweeps page: a sweep's results, the Pareto front of two columns, and every scenario's axes and KPIs.

A planner picks a results folder (what ``twin sweep run --out`` wrote) among the subfolders of the
app's sweeps directory that hold a ``results.parquet``, and chooses the x, y and colour columns and
whether each of x and y is better high or low. The figures are the sweep's
(:func:`twin.sweep.plots.scatter_figure`, :func:`~twin.sweep.plots.parallel_figure`), the table
lists the rows on the Pareto front.

The sweeps directory is ``app.server.config["TWIN_SWEEPS_DIR"]``, else the environment's
``TWIN_SWEEPS_DIR``, else ``build/sweeps`` under the repository. Only its direct subfolders are
read: a name with a path separator, or a subfolder that leads outside the directory (a link), is
refused.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Place of the page in the app's menu.
ORDER = 8
#: Where results folders are looked for when neither the config key nor the environment names one.
DEFAULT_SWEEPS_DIR = Path(__file__).resolve().parents[3] / "build" / "sweeps"
#: Loaded results kept between callbacks (by folder and the table's modification time).
KEEP_RESULTS = 4
#: Most Pareto rows listed in the table.
MAX_TABLE_ROWS = 200


def sweeps_dir(app) -> Path:
    """The folder whose subfolders are the results a planner can pick (see the module notes)."""
    given = app.server.config.get("TWIN_SWEEPS_DIR") or os.environ.get("TWIN_SWEEPS_DIR")
    return Path(given) if given else DEFAULT_SWEEPS_DIR


def results_names(folder: Path) -> list[str]:
    """The results folders a planner can pick: subfolders of ``folder`` holding results.parquet, sorted."""
    from twin.sweep.pareto import RESULTS_FILE

    root = Path(folder)
    if not root.is_dir():
        return []
    top = root.resolve()
    out = []
    for p in root.iterdir():
        try:
            inside = p.is_dir() and p.resolve().parent == top and (p / RESULTS_FILE).exists()
        except OSError:
            continue
        if inside:
            out.append(p.name)
    return sorted(out)


def load_results_choice(choice: str | None, folder: Path):
    """The results a planner picked: ``((df, axes, kpis), None)`` or ``(None, problems)``.

    Only a subfolder listed by :func:`results_names` is read (a name with a separator is refused).
    """
    from twin.errors import InputError
    from twin.sweep.pareto import read_results

    if (not choice or os.sep in choice or "/" in choice or Path(choice).name != choice
            or choice not in results_names(folder)):
        return None, f"{choice!r}: not a results folder of {Path(folder).name}/ (pick one of the list)"
    path = Path(folder) / choice
    try:
        return read_results(path), None
    except InputError as exc:
        return None, str(exc).replace(str(path), choice)


def _direction_options():
    return [{"label": "higher is better", "value": "max"}, {"label": "lower is better", "value": "min"}]


def default_direction(column: str | None) -> str:
    """``"max"`` or ``"min"``: the default of a column (known KPIs by name; anything else ``"min"``)."""
    from twin.errors import ArgumentError
    from twin.sweep.pareto import better_high

    if not column:
        return "min"
    try:
        return "max" if better_high(column) else "min"
    except ArgumentError:
        return "min"


def front_table(df, front, axes: list[str], x: str, y: str, color: str | None):
    """The Pareto rows as an HTML table ``#sw-front-table``, in order of x.

    Its scenario cells have the class ``scenario``.
    """
    import numpy as np
    from dash import html

    from twin.sweep.pareto import numeric_values

    sub = df[front]
    sub = sub.iloc[np.argsort(numeric_values(sub[x]), kind="stable")]
    cols = [c for i, c in enumerate(["scenario", x, y, *([color] if color else []), *axes])
            if c in df.columns and c not in ["scenario", x, y, color, *axes][:i]]

    def cell(v):
        return f"{v:.6g}" if isinstance(v, float | np.floating) else str(v)

    rows = [html.Tr([html.Td(cell(r[c]), className="scenario" if c == "scenario" else None) for c in cols])
            for _, r in sub.head(MAX_TABLE_ROWS).iterrows()]
    more = [html.P(f"... and {len(sub) - MAX_TABLE_ROWS:,} more")] if len(sub) > MAX_TABLE_ROWS else []
    count = f"{len(sub):,} scenarios on the Pareto front (feasible rows that ran)"
    return [html.P(count, id="sw-front-count"),
            html.Table([html.Tr([html.Th(c) for c in cols]), *rows], id="sw-front-table",
                       style={"borderSpacing": "1em 0.1em"}), *more]


def register(app, layouts_dir) -> None:
    """Register the page and its callbacks (folder -> columns -> directions -> figures and table)."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.sweep.pareto import front_rows, is_number_column
    from twin.sweep.plots import parallel_figure, scatter_figure

    def picker(label: str, dropdown_id: str, width: str = "22em", **kw):
        return html.Div([html.Label(label), dcc.Dropdown(id=dropdown_id, style={"width": width}, **kw)],
                        style={"display": "inline-block", "marginRight": "1.5em", "verticalAlign": "top"})

    def page(results: str | None = None, **_query):
        """The page; ``?results=NAME`` opens it on a results folder."""
        names = results_names(sweeps_dir(app))
        value = results if results in names else (names[0] if names else None)
        note = ("" if names else f"no results under {sweeps_dir(app)} (twin sweep run SPEC --out "
                                 f"{sweeps_dir(app)}/NAME writes some)")
        return html.Div([
            picker("Results ", "sw-results", options=names, value=value, clearable=False),
            html.Br(),
            picker("x ", "sw-x", clearable=False),
            dcc.RadioItems(id="sw-x-dir", options=_direction_options(), value="min", inline=True,
                           style={"display": "inline-block", "marginRight": "2em"}),
            picker("y ", "sw-y", clearable=False),
            dcc.RadioItems(id="sw-y-dir", options=_direction_options(), value="min", inline=True,
                           style={"display": "inline-block", "marginRight": "2em"}),
            picker("colour ", "sw-color", width="18em"),
            html.Pre(note, id="sw-problems", style={"color": "crimson"}),
            dcc.Loading(dcc.Graph(id="sw-scatter", style={"height": "600px"})),
            html.Div(id="sw-front"),
            dcc.Graph(id="sw-parallel", style={"height": "500px"}),
        ])

    dash.register_page("sweeps", path="/sweeps", name="Sweeps", order=ORDER, layout=page)
    cache: dict = {}

    def loaded(choice):
        folder = sweeps_dir(app)
        try:
            stamp = (Path(folder) / choice / "results.parquet").stat().st_mtime_ns if choice else None
        except OSError:
            stamp = None
        key = (str(folder), choice, stamp)
        if key not in cache:
            got, problems = load_results_choice(choice, folder)
            if got is None:
                return None, problems
            while len(cache) >= KEEP_RESULTS:
                cache.pop(next(iter(cache)))
            cache[key] = got
        return cache[key], None

    @app.callback(Output("sw-x", "options"), Output("sw-x", "value"), Output("sw-y", "options"),
                  Output("sw-y", "value"), Output("sw-color", "options"), Output("sw-color", "value"),
                  Input("sw-results", "value"))
    def columns(choice):
        got, _ = loaded(choice)
        if got is None:
            return [], None, [], None, [], None
        df, axes, kpis = got
        numeric = [c for c in (*kpis, *axes) if c in df and is_number_column(df[c])]
        cols = [str(c) for c in df.columns]
        x = numeric[0] if numeric else None
        y = next((c for c in numeric if c != x), None)
        color = next((a for a in axes if a not in (x, y)), None)
        return cols, x, cols, y, cols, color

    @app.callback(Output("sw-x-dir", "value"), Input("sw-x", "value"))
    def x_direction(x):
        return default_direction(x)

    @app.callback(Output("sw-y-dir", "value"), Input("sw-y", "value"))
    def y_direction(y):
        return default_direction(y)

    @app.callback(Output("sw-scatter", "figure"), Output("sw-parallel", "figure"),
                  Output("sw-front", "children"), Output("sw-problems", "children"),
                  Input("sw-x-dir", "value"), Input("sw-y-dir", "value"),
                  Input("sw-color", "value"), Input("sw-results", "value"), Input("sw-x", "value"),
                  Input("sw-y", "value"))
    def show(x_dir, y_dir, color, choice, x, y):
        got, problems = loaded(choice)
        if got is None:
            return {}, {}, [], problems
        df, axes, kpis = got
        if x not in df or y not in df or (color and color not in df):
            return {}, {}, [], "pick x and y among the results' columns"
        maximise = (x_dir == "max", y_dir == "max")
        front = front_rows(df, x, y, maximise)
        return (scatter_figure(df, x, y, color, maximise, axes), parallel_figure(df, axes, kpis),
                front_table(df, front, axes, x, y, color), "")
