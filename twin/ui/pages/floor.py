"""The layout page: pick or upload a layout, see its floor plan coloured by a metric and its capacity.

The figures are pure functions of the engine's results, shared with the layout report
(:func:`twin.report.figures.floor_plan_figure`, :func:`twin.report.tables.capacity_rows`), so they
are tested without a browser; the callbacks only read the choice, evaluate and present.
"""

from __future__ import annotations

from pathlib import Path

#: Place of the page in the app's menu.
ORDER = 1


def rack_details(results, rack: str) -> dict:
    """What a click on a rack shows: its figures, each power path up to the utility, its cooling loop.

    ``paths`` has one list per cord, from the busway to the feed: ``{name, kind, loading}``;
    ``cooling`` the rack's CDU group and hall loop with their loading and temperatures.
    """
    import numpy as np

    fac = results.factory
    racks = results.racks()
    i = int(np.flatnonzero(racks["name"].to_numpy() == rack)[0])
    tree = fac.power
    nodes = results.power_nodes().set_index("name")
    paths = []
    for cord in np.flatnonzero(tree.cord_rack == i):
        n, path = int(tree.cord_node[cord]), []
        while n >= 0:
            name = str(tree.name[n])
            path.append({"name": name, "kind": str(nodes.loc[name, "kind"]),
                         "loading": float(nodes.loc[name, "loading"])})
            n = int(tree.parent[n])
        paths.append(path)
    row = racks.iloc[i]
    out = {"rack": rack, "figures": {k: float(row[k]) for k in ("rack_input_w", "gpu_temp_c",
                                                                 "throttle_margin_k", "coolant_return_c")},
           "paths": paths, "cooling": None}
    cool = fac.cooling
    if cool is not None and int(cool.rack_group[i]) >= 0:
        g = results.cdu_groups().iloc[int(cool.rack_group[i])]
        out["cooling"] = {"cdu_group": str(g["name"]), "loading": float(g["loading"]),
                          "supply_c": float(g["supply_c"]), "return_c": float(g["return_c"]),
                          "loop": str(cool.loops[int(cool.rack_loop[i])].name)}
    return out


def details_text(d: dict) -> str:
    """The click panel's text of :func:`rack_details`."""
    f = d["figures"]
    lines = [f"{d['rack']}: input {f['rack_input_w'] / 1e3:.1f} kW, hottest GPU {f['gpu_temp_c']:.1f} degC "
             f"({f['throttle_margin_k']:.1f} K to throttling), coolant return "
             f"{f['coolant_return_c']:.1f} degC"]
    for k, path in enumerate(d["paths"], 1):
        lines.append(f"power path {k}: " + " <- ".join(f"{p['name']} ({p['loading']:.0%})" for p in path))
    c = d["cooling"]
    if c is not None:
        lines.append(f"cooling: CDU group {c['cdu_group']} ({c['loading']:.0%} loaded, "
                     f"{c['supply_c']:.1f} -> {c['return_c']:.1f} degC) on loop {c['loop']}")
    return "\n".join(lines)


#: Formats the layout page offers its report in (PDF needs headless Chromium on the server).
REPORT_FORMATS = (".html", ".xlsx", ".pdf")


def report_bytes(results, choice: str | None, upload: str | None, upload_name: str | None,
                 layouts_dir: Path, suffix: str) -> tuple[bytes | None, str]:
    """The layout report of the page's results as ``twin report`` writes it.

    Returns (file bytes, file name), or (None, the problem). An uploaded layout is read again from
    a temporary folder for its catalog sources; the report is written in a temporary folder,
    removed afterwards.
    """
    import base64
    import tempfile

    from twin.errors import InputError
    from twin.layout import load_layout_and_catalog, parse_layout
    from twin.report import build_report, write_report
    from twin.report.pdf import PdfError

    if suffix not in REPORT_FORMATS:
        return None, f"no report format {suffix!r}"
    with tempfile.TemporaryDirectory(prefix="twin-report-") as tmp:
        if upload:
            path = Path(tmp) / Path(upload_name or "upload.yaml").name
            path.write_bytes(base64.b64decode(upload.partition(",")[2], validate=False))
        else:
            path = layouts_dir / (choice or "")
        try:
            _, catalog = load_layout_and_catalog(path)
            layout, _ = parse_layout(path)
            out = Path(tmp) / f"{results.factory.name}-report{suffix}"
            write_report(build_report(results, catalog=catalog, layout=layout), out)
        except (InputError, PdfError) as exc:
            return None, str(exc).replace(str(path), path.name)
        return out.read_bytes(), out.name


def register(app, layouts_dir: Path) -> None:
    """Register the page and its callback."""
    import dash
    from dash import Input, Output, State, dcc, html

    from twin.engine.capacity import capacity
    from twin.report.figures import METRICS, floor_metrics, floor_plan_figure
    from twin.report.tables import capacity_rows, capacity_table, first_limit_text
    from twin.ui.choice import MAX_UPLOAD_BYTES, Identity, Memo, evaluate_layout, layout_picker, load_choice
    from twin.ui.widgets import html_table

    def page(layout: str | None = None, **_query):
        """The page; ``?layout=NAME`` opens it on a shipped layout."""
        return html.Div([
            html.Div([
                *layout_picker("layout-choice", layouts_dir, layout),
                dcc.Upload(id="layout-upload", children=html.Button("or upload a layout (YAML)"),
                           max_size=MAX_UPLOAD_BYTES, style={"display": "inline-block", "marginLeft": "1em"}),
                html.Label(" colour by "),
                dcc.Dropdown(id="metric", options=[{"label": v[0], "value": k} for k, v in METRICS.items()],
                             value="rack_input_w", clearable=False,
                             style={"width": "22em", "display": "inline-block"}),
            ]),
            html.Div([html.Label("Layout report: "),
                      *[html.Button(f.removeprefix(".").upper(), id=f"report-{f.removeprefix('.')}",
                                    style={"marginRight": "0.5em"}) for f in REPORT_FORMATS],
                      html.Span(id="report-status", style={"marginLeft": "1em"}),
                      dcc.Download(id="report-download")], style={"marginTop": "0.5em"}),
            html.Pre(id="problems", style={"color": "crimson"}),
            dcc.Loading(dcc.Graph(id="floor-plan")),
            html.Pre(id="rack-details", children="Click a rack to see its power paths and cooling loop."),
            html.Div([
                html.Div([html.H4("The design"), html.Table(id="capacity")],
                         style={"display": "inline-block", "verticalAlign": "top", "marginRight": "2em"}),
                html.Div([html.H4("Capacity: maximum, planned, remaining"), html.Div(id="capacity-limits"),
                          html.P(id="first-limit", style={"fontWeight": "bold"})],
                         style={"display": "inline-block", "verticalAlign": "top"}),
            ]),
        ])

    dash.register_page("floor", path="/", name="Layout", order=ORDER, layout=page)

    @app.callback(Output("floor-plan", "figure"), Output("capacity", "children"),
                  Output("capacity-limits", "children"), Output("first-limit", "children"),
                  Output("problems", "children"),
                  Input("layout-choice", "value"), Input("layout-upload", "contents"),
                  Input("layout-upload", "filename"), Input("metric", "value"))
    def show(choice, upload, upload_name, metric):
        from dash import ctx

        if ctx.triggered_id == "layout-choice":
            upload = None  # a picked layout replaces an earlier upload
        factory, problems = load_choice(choice, upload, upload_name, layouts_dir)
        if factory is None:
            return {}, [], [], "", problems
        results, cap = _evaluate(factory)
        table = [html.Tr([html.Td(r["what"]), html.Td(r["value"], id=f"cap-{r['what'].replace(' ', '-')}")])
                 for r in capacity_rows(results)]
        if metric not in floor_metrics(results):
            metric = "rack_input_w"  # a layout without a cooling design has no temperatures
        return (floor_plan_figure(results, metric), table, html_table(capacity_table(cap), "limits"),
                first_limit_text(cap), "")

    @app.callback(Output("rack-details", "children"), Input("floor-plan", "clickData"),
                  Input("layout-choice", "value"), Input("layout-upload", "contents"),
                  Input("layout-upload", "filename"), prevent_initial_call=True)
    def details(click, choice, upload, upload_name):
        if not click or not click.get("points"):
            return "Click a rack to see its power paths and cooling loop."
        factory, problems = load_choice(choice, upload, upload_name, layouts_dir)
        if factory is None:
            return ""
        return details_text(rack_details(_evaluate(factory)[0], click["points"][0]["customdata"]))

    @app.callback(Output("report-download", "data"), Output("report-status", "children"),
                  *[Input(f"report-{f.removeprefix('.')}", "n_clicks") for f in REPORT_FORMATS],
                  State("layout-choice", "value"), State("layout-upload", "contents"),
                  State("layout-upload", "filename"), prevent_initial_call=True)
    def download(*args):
        """The report of the layout on the page, in the format of the button pressed."""
        from dash import ctx, dcc

        choice, upload, upload_name = args[len(REPORT_FORMATS):]
        suffix = "." + str(ctx.triggered_id).removeprefix("report-")
        factory, problems = load_choice(choice, upload, upload_name, layouts_dir)
        if factory is None:
            return None, problems
        data, name = report_bytes(_evaluate(factory)[0], choice, upload, upload_name, layouts_dir, suffix)
        if data is None:
            return None, name
        return dcc.send_bytes(data, name), f"{name}: {len(data) / 1e6:,.1f} MB"

    def _evaluate(factory):
        """The layout's results and capacity (both remembered while the planner works on it)."""
        results = evaluate_layout(factory)
        return results, capacities.get(Identity(results), lambda: capacity(results))

    capacities = Memo(8)
