"""The tokens & money page: a scenario's steady coupled point, its SLA, its cost and what moves it.

Exactly what ``twin evaluate --scenario S --tornado --cost-curve`` computes
(:func:`twin.report.money.steady_money`); the tables and figures are the report's
(:func:`~twin.report.money.deployment_rows`, :func:`~twin.report.money.money_kpi_rows`,
:func:`~twin.report.money.cost_rows`, :func:`~twin.report.money.throughput_interactivity_figure`,
:func:`~twin.report.money.cost_breakdown_figure`, :func:`~twin.report.money.tornado_figure`). A
scenario with problems shows them (file:line, as the CLI prints them) instead of figures.
"""

from __future__ import annotations

from pathlib import Path

#: Place of the page in the app's menu.
ORDER = 6
#: The scenario the page opens on.
DEFAULT_SCENARIO = "pod-design-day.yaml"
#: Scenarios kept evaluated in the page's cache (one result per scenario picked).
MAX_CACHED = 16


def scenarios_dir(app, layouts_dir: Path) -> Path:
    """Where the page finds its scenarios.

    The app's ``TWIN_SCENARIOS_DIR`` (``app.server.config``) where it sets one, else ``scenarios/``
    next to the layouts folder.
    """
    given = app.server.config.get("TWIN_SCENARIOS_DIR") if hasattr(app, "server") else None
    return Path(given) if given else Path(layouts_dir).parent / "scenarios"


def money_of(path: Path, cache: dict):
    """The scenario's :class:`~twin.report.money.SteadyMoney` and ``""``, or ``None`` and its problems.

    ``cache`` keeps one result per scenario file (keyed by path and modification time), so picking
    a scenario again does not recompute it.
    """
    from twin.report.money import steady_money
    from twin.ui.widgets import result_of_file

    return result_of_file(path, cache, steady_money, max_cached=MAX_CACHED)


def register(app, layouts_dir: Path) -> None:
    """Register the page and its callback."""
    import dash
    from dash import Input, Output, dcc, html

    from twin.report.money import (
        cost_breakdown_figure,
        cost_rows,
        deployment_rows,
        money_kpi_rows,
        throughput_interactivity_figure,
        tornado_figure,
        tornado_rows,
    )
    from twin.ui.pages.fabric import rows_table, slug

    folder = scenarios_dir(app, layouts_dir)
    names = sorted(p.name for p in folder.glob("*.yaml"))
    half = {"display": "inline-block", "width": "49%", "verticalAlign": "top"}
    layout = html.Div([
        html.Label("Scenario "),
        dcc.Dropdown(id="tokens-scenario", options=names,
                     value=DEFAULT_SCENARIO if DEFAULT_SCENARIO in names else (names[0] if names else None),
                     clearable=False, style={"width": "24em", "display": "inline-block"}),
        html.Pre(id="tokens-problems", style={"color": "crimson", "whiteSpace": "pre-wrap"}),
        html.P(id="tokens-title"),
        html.H4("At the steady point"),
        html.Table(id="tokens-kpis"),
        html.P(id="tokens-stale", style={"color": "#a60"}),
        html.H4("Deployments against their SLA (P99)"),
        html.Div(id="tokens-deployments"),
        dcc.Loading(dcc.Graph(id="tokens-curve")),
        html.Div([
            html.Div([dcc.Graph(id="tokens-costs"), html.Div(id="tokens-cost-lines")], style=half),
            html.Div([dcc.Graph(id="tokens-tornado"), html.Div(id="tokens-tornado-table")], style=half),
        ]),
    ])
    dash.register_page("tokens", path="/tokens", name="Tokens & money", order=ORDER, layout=layout)

    @app.callback(Output("tokens-title", "children"), Output("tokens-kpis", "children"),
                  Output("tokens-curve", "figure"), Output("tokens-deployments", "children"),
                  Output("tokens-costs", "figure"), Output("tokens-cost-lines", "children"),
                  Output("tokens-tornado", "figure"), Output("tokens-tornado-table", "children"),
                  Output("tokens-stale", "children"), Output("tokens-problems", "children"),
                  Input("tokens-scenario", "value"))
    def show(choice):
        if not choice:
            return "", [], {}, [], {}, [], {}, [], "", f"no scenario in {folder}"
        money, problems = money_of(folder / Path(choice).name, cache)
        if money is None:
            return "", [], {}, [], {}, [], {}, [], "", problems
        sc = money.prepared.scenario
        st = money.results.steps_table().iloc[0]
        title = (f"Steady coupled point of {sc.name!r} on {sc.factory.name!r} at {sc.run.start_hour:g} h, "
                 f"{float(st['dry_bulb_c']):.1f} degC dry bulb (as `twin evaluate --scenario`)")
        kpis = [html.Tr([html.Td(r["what"]), html.Td(r["value"], id=f"tokens-{slug(r['what'])}")])
                for r in money_kpi_rows(money)]
        stale = ""
        if money.stale:
            stale = (f"{len(money.stale)} prices of {money.prices.name!r} are older than 18 months "
                     f"(e.g. {money.stale[0].field}); `twin prices {money.prices.name}` lists them")
        return (title, kpis, throughput_interactivity_figure(money),
                rows_table(deployment_rows(money), "tokens-dep"), cost_breakdown_figure(money),
                rows_table(cost_rows(money), "tokens-cost"), tornado_figure(money),
                rows_table(tornado_rows(money), "tokens-tornado"), stale, "")

    cache: dict = {}
