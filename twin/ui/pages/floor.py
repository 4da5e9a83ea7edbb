"""The layout page: pick or upload a layout, see its floor plan coloured by a metric and its capacity.

The figures are pure functions of the engine's results (:func:`floor_plan_figure`,
:func:`capacity_rows`) so they are tested without a browser; the callbacks only read the choice,
evaluate and present.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

#: Metrics the floor plan can be coloured by: column of ``Results.racks()`` -> (label, unit, scale).
METRICS = {
    "rack_input_w": ("Rack input power", "kW", 1e-3),
    "throttle_margin_k": ("GPU temperature margin to throttling", "K", 1.0),
    "gpu_temp_c": ("Hottest GPU", "degC", 1.0),
    "coolant_return_c": ("Coolant return temperature", "degC", 1.0),
    "psu_load_fraction": ("Power-shelf loading", "%", 100.0),
}
#: Largest layout file accepted from an upload. [bytes]
MAX_UPLOAD_BYTES = 1 * 2**20
#: Depth of a rack row and its aisle, for the floor plan's rows (assumption: 1.2 m racks, 1.2 m
#: cold aisle; the plan is to scale along rows, schematic across them). [m]
ROW_PITCH_M = 2.4
#: Width every rack is drawn with along its row (assumption: the catalog's NVL72 width, 600 mm; the
#: catalog's HGX racks are 800 mm wide and are drawn narrower than they are for now). [m]
RACK_WIDTH_M = 0.6
#: Utilisation the pages evaluate a layout at (assumption: the design point a planner looks at
#: first, as the README's examples; `twin evaluate --utilisation` takes any).
UTILISATION = 0.8
#: Largest layout the pages run the power N-1 on; larger ones leave it to `twin evaluate`. [racks]
N_MINUS_1_MAX_RACKS = 1000


def evaluate_layout(factory, *, with_n_minus_1: bool = True, ambient_c: float | None = None):
    """The engine's results of ``factory`` as every page shows them (see :data:`UTILISATION`)."""
    import twin

    return twin.evaluate(factory, utilisation=UTILISATION, ambient_c=ambient_c,
                         with_n_minus_1=with_n_minus_1 and factory.num_racks <= N_MINUS_1_MAX_RACKS)


def layout_picker(dropdown_id: str, layouts_dir: Path) -> list:
    """A "Layout" label and a dropdown of the shipped layouts (the default chosen)."""
    from dash import dcc, html

    from twin.ui import DEFAULT_LAYOUT

    names = sorted(p.name for p in layouts_dir.glob("*.yaml"))
    return [html.Label("Layout "),
            dcc.Dropdown(id=dropdown_id, options=names, value=DEFAULT_LAYOUT, clearable=False,
                         style={"width": "20em", "display": "inline-block"})]


def floor_plan_figure(results, metric: str = "rack_input_w"):
    """Halls side by side, rows top to bottom, racks along each row, coloured by ``metric``."""
    import numpy as np
    import plotly.graph_objects as go

    df = results.racks()
    label, unit, scale = METRICS[metric]
    fig = go.Figure()
    x0 = 0.0
    for hall in dict.fromkeys(df["hall"]):
        h = df[df["hall"] == hall]
        rows = list(dict.fromkeys(h["row"]))
        width = 0.0
        for j, row in enumerate(rows):
            r = h[h["row"] == row]
            n = len(r)
            xs = x0 + (np.arange(n) + 0.5) * RACK_WIDTH_M
            width = max(width, n * RACK_WIDTH_M)
            z = r[metric].to_numpy(dtype=float) * scale
            text = [f"{nm}<br>{label}: {v:.1f} {unit}<br>GPU {t:.1f} degC, input {p / 1e3:.1f} kW"
                    for nm, v, t, p in zip(r["name"], z, r["gpu_temp_c"], r["rack_input_w"], strict=True)]
            fig.add_trace(go.Scatter(
                x=xs, y=np.full(n, -j * ROW_PITCH_M), mode="markers", text=text, hoverinfo="text",
                customdata=list(r["name"]), name=row, showlegend=False,
                marker={"symbol": "square", "size": 9, "color": z, "colorscale": "Turbo",
                        "cmin": float(df[metric].min() * scale),
                        "cmax": float(df[metric].max() * scale) + 1e-9,
                        "colorbar": {"title": f"{label} [{unit}]"} if j == 0 and x0 == 0.0 else None,
                        "showscale": j == 0 and x0 == 0.0}))
        fig.add_annotation(x=x0, y=ROW_PITCH_M, text=str(hall), showarrow=False, xanchor="left")
        x0 += width + 3.0
    fig.update_layout(xaxis_title="along the rows [m]", yaxis_title="rows [m]", height=500,
                      yaxis_scaleanchor="x", margin={"t": 30})
    return fig


def capacity_rows(results) -> list[dict]:
    """Power and cooling at a glance: what the layout draws, its losses, PUE and the N-1 verdict."""
    rows = [
        {"what": "racks", "value": f"{results.factory.num_racks:,}"},
        {"what": "GPUs", "value": f"{results.factory.num_gpus:,}"},
        {"what": "IT power", "value": f"{results.it_power_w / 1e6:,.3f} MW"},
        {"what": "facility power at the meter", "value": f"{results.facility_power_w / 1e6:,.3f} MW"},
        {"what": "power-chain losses", "value": f"{results.losses_total_w / 1e6:,.3f} MW"},
    ]
    if results.pue is not None:
        rows.append({"what": "PUE", "value": f"{results.pue:.3f}"})
    if results.n_minus_1_survives is not None:
        rows.append({"what": "power N-1", "value": "holds" if results.n_minus_1_survives else "FAILS"})
    return rows


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


def load_choice(choice: str | None, upload: str | None, upload_name: str | None, layouts_dir: Path):
    """The factory a planner chose, or the problems of the file they uploaded (as `twin validate` prints)."""
    from twin.errors import InputError
    from twin.layout import load_layout

    if upload:
        _, _, data = upload.partition(",")
        raw = base64.b64decode(data, validate=False)
        if len(raw) > MAX_UPLOAD_BYTES:
            return None, (f"{upload_name}: {len(raw):,} bytes; an uploaded layout may be at most "
                          f"{MAX_UPLOAD_BYTES:,}")
        name = Path(upload_name or "upload.yaml").name
        with tempfile.TemporaryDirectory(prefix="twin-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(raw)
            try:
                return load_layout(path), None
            except InputError as exc:
                return None, str(exc).replace(str(path), name)
    path = layouts_dir / (choice or "pod-8x-nvl72.yaml")
    try:
        return load_layout(path), None
    except InputError as exc:
        return None, str(exc)


def register(app, layouts_dir: Path) -> None:
    """Register the page and its callback."""
    import dash
    from dash import Input, Output, dcc, html

    layout = html.Div([
        html.Div([
            *layout_picker("layout-choice", layouts_dir),
            dcc.Upload(id="layout-upload", children=html.Button("or upload a layout (YAML)"),
                       max_size=MAX_UPLOAD_BYTES, style={"display": "inline-block", "marginLeft": "1em"}),
            html.Label(" colour by "),
            dcc.Dropdown(id="metric", options=[{"label": v[0], "value": k} for k, v in METRICS.items()],
                         value="rack_input_w", clearable=False,
                         style={"width": "22em", "display": "inline-block"}),
        ]),
        html.Pre(id="problems", style={"color": "crimson"}),
        dcc.Loading(dcc.Graph(id="floor-plan")),
        html.Pre(id="rack-details", children="Click a rack to see its power paths and cooling loop."),
        html.Table(id="capacity"),
    ])
    dash.register_page("floor", path="/", name="Layout", layout=layout)

    @app.callback(Output("floor-plan", "figure"), Output("capacity", "children"),
                  Output("problems", "children"),
                  Input("layout-choice", "value"), Input("layout-upload", "contents"),
                  Input("layout-upload", "filename"), Input("metric", "value"))
    def show(choice, upload, upload_name, metric):
        from dash import ctx

        if ctx.triggered_id == "layout-choice":
            upload = None  # a picked layout replaces an earlier upload
        factory, problems = load_choice(choice, upload, upload_name, layouts_dir)
        if factory is None:
            return {}, [], problems
        results = _evaluate(factory)
        table = [html.Tr([html.Td(r["what"]), html.Td(r["value"], id=f"cap-{r['what'].replace(' ', '-')}")])
                 for r in capacity_rows(results)]
        return floor_plan_figure(results, metric), table, ""

    @app.callback(Output("rack-details", "children"), Input("floor-plan", "clickData"),
                  Input("layout-choice", "value"), Input("layout-upload", "contents"),
                  Input("layout-upload", "filename"), prevent_initial_call=True)
    def details(click, choice, upload, upload_name):
        if not click or not click.get("points"):
            return "Click a rack to see its power paths and cooling loop."
        factory, problems = load_choice(choice, upload, upload_name, layouts_dir)
        if factory is None:
            return ""
        return details_text(rack_details(_evaluate(factory), click["points"][0]["customdata"]))

    def _evaluate(factory):
        key = (factory.source_file, factory.num_racks)
        if key not in cache:
            cache.clear()  # one layout at a time
            cache[key] = evaluate_layout(factory)
        return cache[key]

    cache: dict = {}
