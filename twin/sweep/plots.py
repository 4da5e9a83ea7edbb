"""Figures of a sweep's results: a scatter with the Pareto front, parallel coordinates, one HTML page.

Pure functions of a results table (:func:`twin.sweep.pareto.read_results`), no Dash: the CLI
(``twin sweep plot``) writes them into a self-contained HTML page and the app's Sweeps page shows
them. Plotly is imported inside the functions. Values are plotted in the table's SI units; the
axis titles are the column names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from twin.sweep.pareto import better_high, eligible_rows, front_rows, is_number_column, numeric_values

#: Colour of the rows that ran but break a constraint.
INFEASIBLE_GREY = "#b8b8b8"
#: Colour of the Pareto front's marks and line.
FRONT_COLOUR = "#d62728"
#: Colour scale of a numeric colour column.
COLOURSCALE = "Viridis"
#: Most points drawn as SVG; a larger trace is drawn with WebGL.
MAX_SVG_POINTS = 5000
#: Most distinct values of a text colour column drawn as their own traces (the rest are one trace).
MAX_CATEGORIES = 20


def _hover_columns(df, x: str, y: str, color: str | None, axes: Sequence[str] | None) -> list[str]:
    axes = list(df.attrs.get("axes", []) if axes is None else axes)
    cols = ["scenario", *axes, x, y, *([color] if color else [])]
    return [c for i, c in enumerate(cols) if c in df.columns and c not in cols[:i]]


def _hover(df, cols: list[str]):
    """``customdata`` (the hover columns, as text) and a ``hovertemplate`` showing every one of them."""
    data = np.column_stack([df[c].map(_fmt).to_numpy(dtype=object) for c in cols]) if len(df) else \
        np.empty((0, len(cols)), dtype=object)
    template = "<br>".join(f"{c}: %{{customdata[{i}]}}" for i, c in enumerate(cols)) + "<extra></extra>"
    return data, template


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.6g}"
    return str(v)


def scatter_figure(df, x: str, y: str, color: str | None = None, maximise: Sequence[bool] | None = None,
                   axes: Sequence[str] | None = None):
    """A scatter of ``y`` against ``x`` over the scenarios, the Pareto front of (x, y) marked and joined.

    Rows that ran and hold every constraint are coloured by ``color`` (a numeric column on a colour
    scale, a text or boolean column by value); rows that break a constraint are grey; failed rows
    are left out and counted in the title. The front (:func:`~twin.sweep.pareto.front_rows`, among
    the feasible rows, directions ``maximise`` or :func:`~twin.sweep.pareto.better_high`) is the
    trace named "Pareto front", joined in order of x. Hovering shows the scenario, every axis value
    (``axes``, default ``df.attrs["axes"]``), x, y and the colour; the first ``customdata`` column of
    every trace is the scenario.
    """
    import plotly.graph_objects as go

    if maximise is None:
        maximise = (better_high(x), better_high(y))
    ran = df["status"].eq("ok").to_numpy(dtype=bool) if "status" in df else np.ones(len(df), dtype=bool)
    good = eligible_rows(df)
    front = front_rows(df, x, y, maximise)
    cols = _hover_columns(df, x, y, color, axes)
    fig = go.Figure()

    def add(rows, name: str, **marker) -> None:
        sub = df[rows]
        data, template = _hover(sub, cols)
        kind = go.Scattergl if len(sub) > MAX_SVG_POINTS else go.Scatter
        fig.add_trace(kind(x=numeric_values(sub[x]), y=numeric_values(sub[y]), mode="markers", name=name,
                                   customdata=data, hovertemplate=template, marker=marker))

    infeasible = ran & ~good
    if infeasible.any():
        add(infeasible, f"infeasible ({int(infeasible.sum()):,})", color=INFEASIBLE_GREY, size=6)
    if color is None:
        add(good, f"feasible ({int(good.sum()):,})", size=7, color="#1f77b4")
    else:
        c = df[color]
        numeric = is_number_column(c)
        if numeric:
            add(good, f"feasible ({int(good.sum()):,})", size=7, color=numeric_values(c[good]),
                colorscale=COLOURSCALE, showscale=True, colorbar={"title": {"text": color}})
        else:
            values = c[good].astype(str)
            kinds = list(dict.fromkeys(values))
            shown, rest = kinds[:MAX_CATEGORIES], kinds[MAX_CATEGORIES:]
            text = c.astype(str).to_numpy()
            for v in shown:
                add(good & (text == v), f"{color} = {v}", size=7)
            if rest:
                add(good & np.isin(text, rest), f"{color}: {len(rest)} other values", size=7)
    sub = df[front]
    order = np.argsort(numeric_values(sub[x]), kind="stable")
    sub = sub.iloc[order]
    data, template = _hover(sub, cols)
    fig.add_trace(go.Scatter(x=numeric_values(sub[x]), y=numeric_values(sub[y]), mode="lines+markers",
                             name=f"Pareto front ({len(sub):,})", customdata=data, hovertemplate=template,
                             line={"color": FRONT_COLOUR, "width": 1.5},
                             marker={"color": "rgba(0,0,0,0)", "size": 12,
                                     "line": {"color": FRONT_COLOUR, "width": 2}}))
    failed = int((~ran).sum())
    dirs = ", ".join(f"{'max' if m else 'min'} {c}" for c, m in zip((x, y), maximise, strict=True))
    title = f"{df.attrs.get('name', 'sweep')}: {y} against {x} (Pareto front: {dirs})"
    title += f"; {len(df) - failed:,} scenarios ran" + (f", {failed:,} failed (not shown)" if failed else "")
    fig.update_layout(title={"text": title, "font": {"size": 14}}, xaxis_title=x, yaxis_title=y,
                      legend={"itemsizing": "constant", "orientation": "h", "x": 0.0, "y": 1.0,
                              "yanchor": "bottom"}, template="plotly_white", margin={"t": 110})
    return fig


def _dimension(df, col: str) -> dict:
    """A parallel-coordinates dimension of ``col``: numbers as they are, text and booleans as codes."""
    c = df[col]
    if not is_number_column(c):
        labels = sorted(set(c.astype(str)), key=lambda s: (s not in ("False", "True"), s))
        code = {s: i for i, s in enumerate(labels)}
        return {"label": col, "values": c.astype(str).map(code).to_numpy(dtype=float),
                "tickvals": list(range(len(labels))), "ticktext": labels}
    return {"label": col, "values": numeric_values(c)}


def parallel_figure(df, axes: Sequence[str], kpis: Sequence[str], color: str | None = None):
    """Parallel coordinates of the scenarios that ran: one dimension per axis, then one per KPI.

    Text (and boolean) columns are drawn as codes with their values as tick labels. Lines are
    coloured by ``color`` (default the first numeric KPI).
    """
    import plotly.graph_objects as go

    ran = df[df["status"].eq("ok").to_numpy(dtype=bool)] if "status" in df else df
    dims = [_dimension(ran, c) for c in (*axes, *kpis)]
    if color is None:
        color = next((c for c in kpis if c in ran and is_number_column(ran[c])), None)
    line = {}
    if color is not None:
        line = {"color": _dimension(ran, color)["values"], "colorscale": COLOURSCALE, "showscale": True,
                "colorbar": {"title": {"text": color}}}
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line))
    title = f"{df.attrs.get('name', 'sweep')}: {len(ran):,} scenarios, axes then KPIs"
    fig.update_layout(title={"text": title, "font": {"size": 14}}, margin={"l": 80, "r": 80})
    return fig


def write_plot_html(figs, path: str | Path, title: str = "Sweep") -> Path:
    """Write one figure or a list of them to ``path`` as one self-contained HTML page.

    Plotly's JavaScript is embedded once, before the first figure; the page links nothing outside
    itself (no CDN). Returns the path.
    """
    import html

    import plotly.io as pio

    figs = list(figs) if isinstance(figs, list | tuple) else [figs]
    parts = [pio.to_html(f, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
             for i, f in enumerate(figs)]
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head><body style=\"font-family: sans-serif\">\n"
            f"<h1>{html.escape(title)}</h1>\n" + "\n".join(f"<div>{p}</div>" for p in parts)
            + "\n</body></html>\n")
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out
