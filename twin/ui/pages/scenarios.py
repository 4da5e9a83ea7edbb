"""The Scenarios page: run a scenario through the coupled twin in the background and see what it did.

A planner picks a scenario of the app's scenarios folder (``create_app(scenarios_dir=...)``, the
shipped ``scenarios/`` by default) and runs it: ``twin.simulate`` runs in a background callback
(another process, on the app's :class:`dash.DiskcacheManager`) that reports its progress to the
page and can be cancelled. The results are the report's (:mod:`twin.report.timeseries`): the time
series with the events marked, the headline figures, an annual run's months; the run's tables are
kept as a zip in a temporary folder, keyed by a run id the page holds, for the download button.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from twin.durations import format_duration_s

#: Place of the page in the app's menu.
ORDER = 4
#: Shortest wall time between two progress reports to the page. [s]
PROGRESS_EVERY_S = 0.25
#: How often the page asks for the progress of a running run. [ms]
POLL_MS = 300
#: Finished runs whose zips are kept for download (older ones are removed).
KEEP_RUNS = 8
#: A run id: what :func:`uuid.uuid4` ``.hex`` gives.
RUN_ID = re.compile(r"[0-9a-f]{32}")


class Progress:
    """The engine's progress hook(s) for a run and its reference run, as one bar on the page.

    ``phases`` is how many runs ``simulate`` makes (2 with the reference run); ``send(percent,
    text)`` is called at most every :data:`PROGRESS_EVERY_S` and at the end of each run.
    """

    def __init__(self, name: str, phases: int, send) -> None:
        self.name, self.phases, self.send = name, phases, send
        self.t0 = time.perf_counter()
        self.last = -1.0

    def hook(self, phase: int):
        """The ``progress(simulated_s, total_s)`` callable of run ``phase`` (0: the run, 1: reference)."""
        def report(done_s: float, total_s: float) -> None:
            now = time.perf_counter()
            if now - self.last < PROGRESS_EVERY_S and done_s < total_s:
                return
            self.last = now
            frac = done_s / total_s if total_s > 0 else 1.0
            overall = (phase + frac) / self.phases
            wall = now - self.t0
            eta = f"{wall * (1.0 - overall) / overall:.0f} s" if overall > 0.02 and wall >= 0.5 else "-"
            what = self.name if phase == 0 else f"{self.name} (reference: no events, no policies)"
            self.send(round(100.0 * overall, 1),
                      f"{what}: {format_duration_s(done_s)} of {format_duration_s(total_s)} simulated "
                      f"({frac:.0%}), {wall:.0f} s elapsed, ETA {eta}")
        return report


def _table(rows: list[dict], table_id: str, key: str | None = None, limit: int = 200):
    """An HTML table of ``rows``; with ``key``, each value cell is ``#<table_id>-<row[key]>``."""
    from dash import html

    if not rows:
        return html.P("(none)", id=table_id)
    cols = [c for c in rows[0] if c != key]
    body = []
    for r in rows[:limit]:
        cells = [html.Td(str(r[c]), **({"id": f"{table_id}-{r[key]}"} if key and c == cols[-1] else {}))
                 for c in cols]
        body.append(html.Tr(cells))
    return html.Table([html.Tr([html.Th(c) for c in cols]), *body], id=table_id,
                      style={"borderSpacing": "1em 0.1em"})


def _prune(runs_dir: Path) -> None:
    zips = sorted(runs_dir.glob("*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in zips[KEEP_RUNS:]:
        old.unlink(missing_ok=True)


def run_scenario(choice: str | None, scenarios_dir: Path, runs_dir: Path, send=None) -> dict:
    """Run a scenario of ``scenarios_dir`` and present it: what the page shows, and its export.

    Returns ``problems`` (a bad file's problems, else "") or the results: ``figure``, ``kpis``,
    ``events``, ``deployments``, ``monthly`` (rows, annual runs), ``annual_figure`` (annual runs),
    ``status`` and ``run`` (``{"id", "name"}``: the zip ``<runs_dir>/<id>.zip`` of the run's tables).
    ``send(percent, text)`` receives the progress.
    """
    import uuid

    import twin
    from twin.engine.scenario import has_extras
    from twin.errors import InputError
    from twin.report.timeseries import (
        annual_figure,
        deployment_rows,
        event_rows,
        is_annual,
        kpi_rows,
        monthly_rows,
        run_figure,
        write_export,
    )
    from twin.ui.choice import load_scenario_choice

    prepared, problems = load_scenario_choice(choice, scenarios_dir)
    if prepared is None:
        return {"problems": problems}
    sc = prepared.scenario
    progress = Progress(sc.name, 2 if has_extras(sc) else 1, send or (lambda *_: None))
    try:
        res = twin.simulate(prepared, progress=progress.hook(0), reference_progress=progress.hook(1))
    except InputError as exc:
        return {"problems": str(exc)}
    run_id = uuid.uuid4().hex
    runs_dir.mkdir(parents=True, exist_ok=True)
    write_export(res, runs_dir / f"{run_id}.zip")
    _prune(runs_dir)
    failed = [n for n, ok in res.invariants.items() if not ok]
    status = (f"{sc.name} on {sc.factory.name}: {format_duration_s(res.duration_s)} simulated in "
              f"{res.wall_s:.1f} s; "
              + ("invariants: all hold" if not failed else "invariants FAILED: " + ", ".join(failed)))
    out = {"problems": "", "figure": run_figure(res), "kpis": kpi_rows(res), "events": event_rows(res),
           "deployments": deployment_rows(res), "status": status,
           "run": {"id": run_id, "name": Path(choice).stem}}
    if is_annual(res):
        out |= {"monthly": monthly_rows(res), "annual_figure": annual_figure(res)}
    return out


def register(app, layouts_dir) -> None:
    """Register the page, its background run (progress, cancel) and the download of a run's tables."""
    import dash
    from dash import Input, Output, State, dcc, html

    from twin.ui import SCENARIOS_DIR
    from twin.ui.choice import scenario_picker

    scenarios_dir = Path(app.server.config.get("TWIN_SCENARIOS_DIR") or SCENARIOS_DIR)
    runs_dir = Path(tempfile.mkdtemp(prefix="twin-ui-runs-"))

    layout = html.Div([
        html.Div([
            *scenario_picker("sc-choice", scenarios_dir),
            html.Button("Run", id="sc-run", n_clicks=0, style={"marginLeft": "1em"}),
            html.Button("Cancel", id="sc-cancel", n_clicks=0, disabled=True, style={"marginLeft": "0.5em"}),
            html.Button("Download results (zip)", id="sc-download-button", n_clicks=0, disabled=True,
                        style={"marginLeft": "2em"}),
            dcc.Download(id="sc-download"),
        ]),
        html.Div([html.Progress(id="sc-progress", value=0, max=100, style={"width": "30em"}),
                  html.Span(id="sc-progress-text", style={"marginLeft": "1em"})],
                 style={"margin": "0.5em 0"}),
        html.P(id="sc-cancelled", style={"color": "darkorange"}),
        html.P(id="sc-status"),
        html.Pre(id="sc-problems", style={"color": "crimson", "whiteSpace": "pre-wrap"}),
        dcc.Store(id="sc-run-id"),
        html.Div(id="sc-results"),
    ])
    dash.register_page("scenarios", path="/scenarios", name="Scenarios", order=ORDER, layout=layout)

    @app.callback(Output("sc-results", "children"), Output("sc-status", "children"),
                  Output("sc-problems", "children"), Output("sc-run-id", "data"),
                  Input("sc-run", "n_clicks"), State("sc-choice", "value"),
                  background=True, prevent_initial_call=True, interval=POLL_MS,
                  progress=[Output("sc-progress", "value"), Output("sc-progress-text", "children")],
                  running=[(Output("sc-run", "disabled"), True, False),
                           (Output("sc-cancel", "disabled"), False, True),
                           (Output("sc-choice", "disabled"), True, False)],
                  cancel=[Input("sc-cancel", "n_clicks")])
    def run(set_progress, n_clicks, choice):
        set_progress((0, f"{choice}: starting"))
        out = run_scenario(choice, scenarios_dir, runs_dir, lambda pct, text: set_progress((pct, text)))
        if out["problems"]:
            return [], "", out["problems"], None
        parts = [dcc.Graph(id="sc-figure", figure=out["figure"]),
                 html.H4("Headline figures"), _table(out["kpis"], "sc-kpi", key="key")]
        if "monthly" in out:
            parts += [html.H4("The year by month"), dcc.Graph(id="sc-annual", figure=out["annual_figure"]),
                      _table(out["monthly"], "sc-monthly")]
        parts += [html.H4("Deployments"), _table(out["deployments"], "sc-deployments"),
                  html.H4("Events"), _table(out["events"], "sc-events")]
        return parts, out["status"], "", out["run"]

    @app.callback(Output("sc-cancelled", "children"), Input("sc-cancel", "n_clicks"),
                  Input("sc-run", "n_clicks"), State("sc-progress-text", "children"),
                  prevent_initial_call=True)
    def cancelled(_cancel, _run, progress_text):
        if dash.ctx.triggered_id != "sc-cancel":
            return ""
        return f"Run cancelled ({progress_text or 'before it started'})."

    @app.callback(Output("sc-download-button", "disabled"), Input("sc-run-id", "data"),
                  prevent_initial_call=True)
    def can_download(run_id):
        return not run_id

    @app.callback(Output("sc-download", "data"), Input("sc-download-button", "n_clicks"),
                  State("sc-run-id", "data"), prevent_initial_call=True)
    def download(_n, run):
        if not run or not RUN_ID.fullmatch(str(run.get("id", ""))):
            raise dash.exceptions.PreventUpdate
        path = runs_dir / f"{run['id']}.zip"
        if not path.is_file():
            raise dash.exceptions.PreventUpdate
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(run.get("name") or "run"))
        return dcc.send_file(str(path), filename=f"{name}-results.zip")
