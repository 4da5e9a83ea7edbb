"""Figures and tables of a coupled run (:class:`twin.engine.timeseries.SimResults`), for the app and report.

Pure functions of the engine's results (no Dash): the run's time series with its events marked
(:func:`run_figure`), its headline figures (:func:`kpi_rows`), the annual mode's months
(:func:`monthly_table`, :func:`annual_figure`), its events and deployments (:func:`event_rows`,
:func:`deployment_rows`) and the export of its tables (:func:`write_export`).
Plotly and pandas are imported where a figure or table is built.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

#: Series of the run figure: column of ``SimResults.steps_table()`` -> (label, unit, scale to the unit).
SERIES = {
    "meter_w": ("power at the meter", "MW", 1e-6),
    "it_w": ("IT power", "MW", 1e-6),
    "max_gpu_temp_c": ("hottest GPU", "degC", 1.0),
    "tokens_per_s": ("output tokens", "tokens/s", 1.0),
}
#: Largest number of points one series of the run figure draws; a longer run keeps each bucket's
#: smallest and largest value (the envelope: peaks and dips survive, a day at 1 s stays drawable).
MAX_POINTS = 4000
#: Seconds per hour: the run figure's time axis is in hours from the start. [s/h]
S_PER_H = 3600.0
#: Days of each month of the typical meteorological year the annual mode runs over (no leap day).
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Headline figures of :func:`kpi_rows`: key of ``SimResults.kpis()`` -> (label, unit, scale, format).
KPIS = {
    "duration_s": ("simulated", "h", 1.0 / S_PER_H, "{:,.2f}"),
    "energy_j": ("energy at the meter", "MWh", 1.0 / 3.6e9, "{:,.3f}"),
    "it_energy_j": ("IT energy", "MWh", 1.0 / 3.6e9, "{:,.3f}"),
    "cooling_energy_j": ("cooling energy", "MWh", 1.0 / 3.6e9, "{:,.3f}"),
    "pue": ("PUE", "", 1.0, "{:.3f}"),
    "peak_power_w": ("peak power at the meter", "MW", 1e-6, "{:,.3f}"),
    "mean_power_w": ("mean power at the meter", "MW", 1e-6, "{:,.3f}"),
    "max_ramp_w_per_s": ("largest ramp", "MW/s", 1e-6, "{:,.3f}"),
    "output_tokens": ("output tokens", "", 1.0, "{:.4g}"),
    "tokens_lost": ("tokens lost to events and policies", "", 1.0, "{:.4g}"),
    "max_gpu_temp_c": ("hottest GPU", "degC", 1.0, "{:.1f}"),
    "throttled_rack_seconds": ("throttled", "rack-h", 1.0 / S_PER_H, "{:,.1f}"),
    "unpowered_rack_seconds": ("unpowered", "rack-h", 1.0 / S_PER_H, "{:,.1f}"),
    "wue_l_per_kwh": ("WUE", "L/kWh", 1.0, "{:.3f}"),
    "free_cooling_hours": ("free-cooling hours (no trim chiller)", "h", 1.0, "{:,.0f}"),
    "peak_overloaded_components": ("most components overloaded at once", "", 1.0, "{:.0f}"),
    "cost_usd": ("cost of the run", "USD", 1.0, "{:,.0f}"),
    "usd_per_gpu_hour": ("cost per GPU-hour", "USD", 1.0, "{:,.2f}"),
    "usd_per_million_tokens": ("cost per million output tokens", "USD", 1.0, "{:,.3f}"),
    "tokens_per_kwh": ("output tokens per kWh", "", 1.0, "{:,.0f}"),
    "lost_tokens_usd": ("value of the tokens lost", "USD", 1.0, "{:,.0f}"),
}


def is_annual(results) -> bool:
    """Whether ``results`` is an annual-mode run (hourly steady points over a weather year)."""
    return results.scenario.run.mode == "annual"


def envelope_index(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Rows of ``y`` to draw: all of them if at most ``max_points``, else each bucket's min and max.

    Buckets are consecutive runs of rows; the indices come back sorted, so the drawn line follows
    time. NaN rows are drawn only where a bucket has nothing else.
    """
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    per = int(np.ceil(n / (max_points // 2)))
    pad = (-n) % per
    lo = np.where(np.isnan(y), np.inf, y)
    hi = np.where(np.isnan(y), -np.inf, y)
    lo = np.concatenate([lo, np.full(pad, np.inf)]).reshape(-1, per)
    hi = np.concatenate([hi, np.full(pad, -np.inf)]).reshape(-1, per)
    start = np.arange(lo.shape[0]) * per
    idx = np.concatenate([start + lo.argmin(axis=1), start + hi.argmax(axis=1)])
    return np.unique(np.minimum(idx, n - 1))


def event_marks(results) -> list[tuple[float, str]]:
    """(time [s], label) of every moment the run's event log has something; same-time events joined."""
    marks: dict[float, list[str]] = {}
    for _, e in results.events_table().iterrows():
        marks.setdefault(float(e["time_s"]), []).append(str(e["event"]))
    return [(t, "; ".join(labels)) for t, labels in sorted(marks.items())]


def run_figure(results, max_points: int = MAX_POINTS):
    """The run's :data:`SERIES` over time (hours from the start), one panel each, events marked.

    Each event is a dashed vertical line through every panel, labelled above the top one.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    s = results.steps_table()
    t_h = s["time_s"].to_numpy(dtype=float) / S_PER_H
    fig = make_subplots(rows=len(SERIES), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[f"{label} [{unit}]" for label, unit, _ in SERIES.values()])
    for row, (col, (label, unit, scale)) in enumerate(SERIES.items(), start=1):
        y = s[col].to_numpy(dtype=float) * scale
        ix = envelope_index(y, max_points)
        fig.add_trace(go.Scatter(x=t_h[ix], y=y[ix], mode="lines", name=label, showlegend=False,
                                 hovertemplate=f"%{{x:.3f}} h: %{{y:.4g}} {unit}<extra>{label}</extra>"),
                      row=row, col=1)
        fig.update_yaxes(title_text=unit, row=row, col=1)
    for t_s, label in event_marks(results):
        fig.add_vline(x=t_s / S_PER_H, line_dash="dash", line_color="crimson", line_width=1,
                      row="all", col=1)
        fig.add_annotation(x=t_s / S_PER_H, y=1.0, xref="x", yref="paper", yanchor="bottom",
                           text=label if len(label) <= 60 else label[:57] + "...", showarrow=False,
                           textangle=-20, font={"size": 10, "color": "crimson"}, hovertext=label)
    sc = results.scenario
    hh, mm = divmod(round(sc.run.start_hour * 60.0) % 1440, 60)
    fig.update_xaxes(title_text=f"hours from the start ({hh:02d}:{mm:02d})",
                     row=len(SERIES), col=1)
    fig.update_layout(title=f"{sc.name} on {sc.factory.name}", height=220 * len(SERIES) + 80,
                      margin={"t": 110})
    return fig


def kpi_rows(results) -> list[dict]:
    """The run's headline figures (``kpis()``, with ``cost_kpis()`` when priced), formatted.

    Each row: ``key`` (of :data:`KPIS`), ``what`` and ``value`` (with its unit); figures the run
    does not have (no reference run, not priced, no cooling) are left out.
    """
    k = results.kpis()
    rows = []
    for key, (label, unit, scale, fmt) in KPIS.items():
        v = k.get(key)
        if v is None:
            continue
        rows.append({"key": key, "what": label,
                     "value": fmt.format(v * scale) + (f" {unit}" if unit else "")})
    return rows


def event_rows(results) -> list[dict]:
    """The run's event log: time from the start, time of day, what happened."""
    start_s = results.scenario.run.start_hour * S_PER_H
    rows = []
    for _, e in results.events_table().iterrows():
        t = float(e["time_s"])
        day_s = (start_s + t) % 86400.0
        hh, rest = divmod(round(day_s), 3600)
        rows.append({"from the start [h]": f"{t / S_PER_H:,.3f}", "time of day": f"{hh:02d}:{rest // 60:02d}:"
                     f"{rest % 60:02d}", "event": str(e["event"])})
    return rows


def deployment_rows(results) -> list[dict]:
    """One row per deployment: requests served, mean TTFT and TPOT, the SLA met, output tokens."""
    def ms(v):
        return "-" if v is None else f"{v * 1e3:,.1f}"

    rows = []
    for name, d in results.deployments.items():
        met = d.get("slo_met_share")
        rows.append({"deployment": name, "requests served": f"{d['requests_served']:.4g}",
                     "output tokens": f"{d['output_tokens']:.4g}", "mean TTFT [ms]": ms(d.get("ttft_mean_s")),
                     "mean TPOT [ms]": ms(d.get("tpot_mean_s")),
                     "SLA met": "-" if met is None else f"{met:.1%}"})
    return rows


def month_of(time_s: np.ndarray) -> np.ndarray:
    """Month (1..12) of times since 1 January 00:00 of the weather year (:data:`MONTH_DAYS`)."""
    ends_s = np.cumsum(MONTH_DAYS) * 86400.0
    t = np.mod(np.asarray(time_s, dtype=float), ends_s[-1])
    return np.searchsorted(ends_s, t, side="right") + 1


def monthly_table(steps, step_s: float):
    """The steps of an annual run by month: energies, PUE, throttled hours, weather, tokens.

    ``steps`` is ``SimResults.steps_table()`` (time from 1 January 00:00 of the weather year),
    ``step_s`` the step length. Columns: ``month`` (1..12), ``name``, ``hours``,
    ``facility_energy_j``, ``it_energy_j``, ``pue`` (facility over IT energy of the month),
    ``throttled_hours`` (hours with any rack throttled), ``throttled_rack_hours``,
    ``max_gpu_temp_c``, ``mean_dry_bulb_c``, ``output_tokens``. Only months the run covers appear.
    """
    import pandas as pd

    df = pd.DataFrame({
        "month": month_of(steps["time_s"].to_numpy()),
        "facility_energy_j": steps["facility_w"].to_numpy(dtype=float) * step_s,
        "it_energy_j": steps["it_w"].to_numpy(dtype=float) * step_s,
        "throttled_hours": (steps["throttled_racks"].to_numpy() > 0) * step_s / S_PER_H,
        "throttled_rack_hours": steps["throttled_racks"].to_numpy(dtype=float) * step_s / S_PER_H,
        "max_gpu_temp_c": steps["max_gpu_temp_c"].to_numpy(dtype=float),
        "mean_dry_bulb_c": steps["dry_bulb_c"].to_numpy(dtype=float),
        "output_tokens": steps["tokens_per_s"].to_numpy(dtype=float) * step_s,
        "hours": np.full(len(steps), step_s / S_PER_H),
    })
    g = df.groupby("month", sort=True)
    out = g.agg(hours=("hours", "sum"), facility_energy_j=("facility_energy_j", "sum"),
                it_energy_j=("it_energy_j", "sum"), throttled_hours=("throttled_hours", "sum"),
                throttled_rack_hours=("throttled_rack_hours", "sum"),
                max_gpu_temp_c=("max_gpu_temp_c", "max"), mean_dry_bulb_c=("mean_dry_bulb_c", "mean"),
                output_tokens=("output_tokens", "sum")).reset_index()
    out["pue"] = np.where(out["it_energy_j"] > 0,
                          out["facility_energy_j"] / out["it_energy_j"].where(out["it_energy_j"] > 0, 1.0),
                          np.nan)
    out.insert(1, "name", [MONTH_NAMES[m - 1] for m in out["month"]])
    return out


def monthly_rows(results) -> list[dict]:
    """:func:`monthly_table` of an annual run, formatted: one row per month."""
    m = monthly_table(results.steps_table(), results.physics_step_s)
    return [{"month": r["name"], "hours": f"{r['hours']:,.0f}",
             "facility energy [MWh]": f"{r['facility_energy_j'] / 3.6e9:,.1f}",
             "IT energy [MWh]": f"{r['it_energy_j'] / 3.6e9:,.1f}", "PUE": f"{r['pue']:.3f}",
             "throttled [h]": f"{r['throttled_hours']:,.0f}",
             "throttled [rack-h]": f"{r['throttled_rack_hours']:,.0f}",
             "hottest GPU [degC]": f"{r['max_gpu_temp_c']:.1f}",
             "mean dry bulb [degC]": f"{r['mean_dry_bulb_c']:.1f}"}
            for _, r in m.iterrows()]


def annual_figure(results):
    """An annual run's PUE and throttled hours by month (:func:`monthly_table`), one panel each."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    m = monthly_table(results.steps_table(), results.physics_step_s)
    names = list(m["name"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=["PUE by month", "hours with any rack throttled, by month"])
    fig.add_trace(go.Bar(x=names, y=list(m["pue"]), name="PUE", text=[f"{v:.3f}" for v in m["pue"]],
                         showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=list(m["throttled_hours"]), name="throttled hours",
                         text=[f"{v:,.0f}" for v in m["throttled_hours"]], showlegend=False,
                         marker_color="crimson"), row=2, col=1)
    lo = float(np.nanmin(m["pue"])) if len(m) else 1.0
    fig.update_yaxes(title_text="PUE", range=[max(1.0, lo - 0.02), None], row=1, col=1)
    fig.update_yaxes(title_text="h", rangemode="tozero", row=2, col=1)
    fig.update_layout(title=f"{results.scenario.name}: the year by month", height=560)
    return fig


def write_export(results, zip_path: str | Path) -> Path:
    """Write the run's tables (``SimResults.to_parquet``) and its steps as CSV into one zip file.

    The zip holds ``<table>.parquet`` for every table and ``steps.csv``; it is written beside
    ``zip_path`` and renamed into place, so a failed export leaves nothing half-written.
    """
    import tempfile

    out = Path(zip_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out.parent) as tmp:
        tables = Path(tmp) / "tables"
        paths = results.to_parquet(tables)
        csv = Path(tmp) / "steps.csv"
        results.steps_table().to_csv(csv, index=False)
        part = Path(tmp) / out.name
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for p in paths:
                z.write(p, p.name)
            z.write(csv, csv.name)
        part.replace(out)
    return out
