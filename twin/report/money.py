"""Tokens and money of a scenario's steady coupled point, shared by the app's tokens page and the report.

:func:`steady_money` computes what ``twin evaluate --scenario S --tornado --cost-curve`` prints:
the steady coupled point (:func:`twin.engine.coupled.steady_point`), priced with the scenario's
price list (:func:`twin.engine.costs.scenario_prices`, :func:`~twin.engine.coupled.with_costs`),
the tornado of $ per million output tokens (:func:`twin.economics.tco.tornado`) and the
throughput-interactivity curve with its cost (:func:`twin.engine.costs.cost_curve`). The other
functions are pure functions of its :class:`SteadyMoney`: tables (lists of rows ``label ->
formatted value``, as :mod:`twin.report.tables`) and Plotly figures. SI inside; shown in ms, $/h,
$/year and $ per million tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SteadyMoney:
    """A scenario's priced steady coupled point with its tornado and cost curve.

    ``prepared`` the loaded scenario (:class:`twin.engine.scenario.Prepared`), ``prices`` its price
    list, ``results`` the priced one-step :class:`~twin.engine.timeseries.SimResults` (``costs``
    set), ``tornado`` and ``curve`` the rows of :func:`~twin.economics.tco.tornado` and
    :func:`~twin.engine.costs.cost_curve`, ``stale`` the warnings of prices older than 18 months,
    ``timings_s`` the wall time of each step. [s]
    """

    prepared: object
    prices: object
    results: object
    tornado: list[dict]
    curve: list[dict]
    stale: list = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


def steady_money(scenario: str | Path, layout: str | Path | None = None) -> SteadyMoney:
    """The steady coupled point of ``scenario`` priced, as ``twin evaluate --scenario`` computes it.

    Raises
    ------
    InputError
        The scenario, its layout or its price list has problems (each with file:line), or the
        price list lacks a price the layout needs.
    """
    from twin.economics.prices import stale_prices
    from twin.economics.tco import tornado
    from twin.engine.costs import cost_curve, cost_inputs, scenario_prices
    from twin.engine.coupled import steady_point, with_costs
    from twin.engine.scenario import load_scenario

    t0 = time.perf_counter()
    prepared = load_scenario(scenario, layout)
    prices = scenario_prices(prepared.scenario)
    t1 = time.perf_counter()
    res = with_costs(steady_point(prepared), prepared, prices)
    t2 = time.perf_counter()
    torn = tornado(cost_inputs(res, prepared.catalog), prices)
    t3 = time.perf_counter()
    curve = cost_curve(prepared, res, prices)
    t4 = time.perf_counter()
    return SteadyMoney(prepared, prices, res, torn, curve, stale_prices(prices),
                       {"load_s": t1 - t0, "steady_point_s": t2 - t1, "tornado_s": t3 - t2,
                        "cost_curve_s": t4 - t3})


def _ms(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x * 1e3:,.{digits}f}"


def _served_by_name(money: SteadyMoney) -> dict:
    return {sd.plan.name: sd for sd in money.prepared.served}


def deployment_output_tokens_per_s(money: SteadyMoney) -> dict[str, float]:
    """Output tokens per second of each deployment at the steady point (its tokens over the hour). [1/s]"""
    res = money.results
    return {name: d["output_tokens"] / res.duration_s for name, d in res.deployments.items()}


def sla_verdict(dep: dict) -> str:
    """The SLA verdict of one deployment (a value of ``results.deployments``).

    ``met`` when the P99 TTFT and P99 TPOT are within the deployment's SLA (each one given),
    ``missed`` otherwise (also when nothing was served), ``no SLA`` without one (MLPerf's P99 rule,
    as ``twin serve --max-rate`` uses it).
    """
    limits = [(dep.get("ttft_s") or {}, dep.get("slo_ttft_s")),
              (dep.get("tpot_s") or {}, dep.get("slo_tpot_s"))]
    limits = [(p.get("p99"), lim) for p, lim in limits if lim is not None]
    if not limits:
        return "no SLA"
    return "met" if all(p99 is not None and p99 <= lim for p99, lim in limits) else "missed"


def deployment_rows(money: SteadyMoney) -> list[dict]:
    """One row per deployment: model, racks, output tokens/s, TTFT and TPOT P50/P90/P99 against the SLA.

    Latencies in ms (TTFT whole, TPOT to 0.1 ms); "within SLA" is the engine's share of requests
    that met it; the verdict is :func:`sla_verdict`'s.
    """
    served = _served_by_name(money)
    tps = deployment_output_tokens_per_s(money)
    rows = []
    for name, d in money.results.deployments.items():
        sd = served.get(name)
        plan = sd.plan if sd is not None else None
        ttft, tpot = d.get("ttft_s") or {}, d.get("tpot_s") or {}
        share = d.get("slo_met_share")
        rows.append({
            "deployment": name,
            "model": f"{plan.model} {plan.precision}" if plan is not None else "-",
            "racks": f"{len(plan.racks):,}" if plan is not None else "-",
            "output tokens/s": f"{tps[name]:,.0f}",
            "TTFT P50 [ms]": _ms(ttft.get("p50")), "TTFT P90 [ms]": _ms(ttft.get("p90")),
            "TTFT P99 [ms]": _ms(ttft.get("p99")), "TTFT SLA [ms]": _ms(d.get("slo_ttft_s")),
            "TPOT P50 [ms]": _ms(tpot.get("p50"), 1), "TPOT P90 [ms]": _ms(tpot.get("p90"), 1),
            "TPOT P99 [ms]": _ms(tpot.get("p99"), 1), "TPOT SLA [ms]": _ms(d.get("slo_tpot_s"), 1),
            "within SLA": "-" if share is None else f"{share:.1%}",
            "verdict": sla_verdict(d),
        })
    return rows


def money_kpi_rows(money: SteadyMoney) -> list[dict]:
    """The steady point at a glance: $ per million tokens, per GPU-hour, per year, capex, tokens/s, PUE.

    Rows ``{what, value}``; the GPU-hour row names the published rental band it falls in.
    """
    res = money.results
    k = res.costs.kpis
    st = res.steps_table().iloc[0]

    def usd(v, fmt):
        return "-" if v is None else fmt.format(v)

    band = "; ".join(f"{s}: published ${b['published_low']:.2f}-{b['published_high']:.2f}, {b['verdict']}"
                     for s, b in res.costs.rental_band.items())
    rows = [
        {"what": "$ per million output tokens", "value": usd(k["usd_per_million_tokens"], "${:,.3f}")},
        {"what": "$ per million tokens (input and output)",
         "value": usd(k["usd_per_million_total_tokens"], "${:,.3f}")},
        {"what": "$ per GPU-hour",
         "value": usd(k["usd_per_gpu_hour"], "${:,.2f}") + (f" ({band})" if band else "")},
        {"what": "cost per hour", "value": f"${k['usd_per_hour']:,.0f}"},
        {"what": "cost per year", "value": f"${k['usd_per_year'] / 1e6:,.2f}M"},
        {"what": "capex", "value": f"${k['capex_usd'] / 1e6:,.1f}M"},
        {"what": "output tokens/s", "value": f"{float(st['tokens_per_s']):,.0f}"},
        {"what": "tokens per $", "value": usd(k["tokens_per_dollar"], "{:,.0f}")},
        {"what": "tokens per kWh", "value": usd(k["tokens_per_kwh"], "{:,.0f}")},
        {"what": "facility power (at meter)", "value": f"{float(st['meter_w']) / 1e6:,.3f} MW"},
        {"what": "PUE", "value": f"{float(st['pue']):.3f}"},
        {"what": "price list", "value": res.costs.prices},
    ]
    if res.costs.unpriced:
        rows.append({"what": "not priced (no price in the list)", "value": ", ".join(res.costs.unpriced)})
    return rows


def cost_rows(money: SteadyMoney) -> list[dict]:
    """One row per cost line (``results.costs.lines``): $/h, $/year, share and $ per million output tokens.

    Capex lines are annualised (the capital recovery of each asset class at the list's WACC and
    lives); a line's $ per million tokens is its share of the run's cost times the run's $/Mtok, so
    the column sums to the headline figure.
    """
    k = money.results.costs.kpis
    total = k["cost_usd"] or 0.0
    per_mtok = k["usd_per_million_tokens"]
    rows = []
    for ln in money.results.costs.lines:
        share = ln["usd"] / total if total else 0.0
        rows.append({"category": ln["category"], "item": ln["item"], "$/h": f"{ln['usd_per_hour']:,.2f}",
                     "$/year": f"{ln['usd_per_year']:,.0f}", "share": f"{share:.1%}",
                     "$ per M output tokens": "-" if per_mtok is None else f"{share * per_mtok:,.3f}"})
    return rows


def cost_breakdown_figure(money: SteadyMoney):
    """Horizontal bars of every cost line in $/year (hover: $/h, share, $ per million tokens), by category."""
    import plotly.graph_objects as go

    k = money.results.costs.kpis
    total = k["cost_usd"] or 0.0
    per_mtok = k["usd_per_million_tokens"]
    fig = go.Figure()
    lines = list(money.results.costs.lines)
    for cat in dict.fromkeys(ln["category"] for ln in lines):
        ls = [ln for ln in lines if ln["category"] == cat]
        hover = []
        for ln in ls:
            share = ln["usd"] / total if total else 0.0
            mtok = "" if per_mtok is None else f", ${share * per_mtok:,.3f} per M output tokens"
            hover.append(f"{ln['item']}: ${ln['usd_per_hour']:,.2f}/h, "
                         f"${ln['usd_per_year'] / 1e6:,.3f}M/year ({share:.1%}{mtok})")
        fig.add_trace(go.Bar(y=[f"{cat}: {ln['item']}" for ln in ls],
                             x=[ln["usd_per_year"] / 1e6 for ln in ls], orientation="h", name=cat,
                             hovertext=hover, hoverinfo="text"))
    head = "" if per_mtok is None else f", ${per_mtok:,.3f} per M output tokens"
    fig.update_layout(title=f"Where the money goes: ${k['usd_per_year'] / 1e6:,.2f}M a year{head} "
                            "(capex annualised)",
                      xaxis_title="$M per year", yaxis_autorange="reversed", height=140 + 26 * len(lines),
                      margin={"l": 220})
    return fig


def tornado_rows(money: SteadyMoney) -> list[dict]:
    """The tornado as a table: each input's range and $ per million output tokens at its low and high end."""
    def usd(v):
        return "-" if v is None else f"{v:,.3f}"

    return [{"input": r["input"], "$/M tokens at low": usd(r["low"]), "$/M tokens at high": usd(r["high"]),
             "swing": usd(r["swing"])} for r in money.tornado]


def tornado_figure(money: SteadyMoney):
    """Which prices and inputs move $ per million output tokens most: bars from the base to each end.

    Largest swing on top; the low end of each input's range in one colour, the high end in another.
    """
    import plotly.graph_objects as go

    rows = [r for r in money.tornado if r["low"] is not None and r["high"] is not None]
    fig = go.Figure()
    if not rows:
        fig.add_annotation(text="no $ per million tokens to vary (no output tokens)", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper")
        return fig
    base = rows[0]["base"]
    names = [r["input"] for r in rows]
    for end, colour in (("low", "#4c78a8"), ("high", "#e45756")):
        fig.add_trace(go.Bar(y=names, x=[r[end] - base for r in rows], base=base, orientation="h",
                             name=f"{end} end of the range", marker_color=colour,
                             hovertext=[f"{r['input']}: ${r[end]:,.3f} per M tokens at the {end} end"
                                        for r in rows], hoverinfo="text"))
    fig.add_vline(x=base, line_dash="dash", line_color="#333")
    fig.update_layout(title=f"Tornado: $ per million output tokens (base ${base:,.3f})", barmode="overlay",
                      xaxis_title="$ per million output tokens", yaxis_autorange="reversed",
                      height=140 + 34 * len(rows), margin={"l": 300})
    return fig


def operating_points(money: SteadyMoney) -> list[dict]:
    """Where each (aggregated) deployment runs at the steady point, in the curve's coordinates.

    ``tokens_per_s_per_gpu``: its output tokens/s over the GPUs of its replicas;
    ``tokens_per_s_per_user``: ``1 / mean TPOT``. Disaggregated pools are left out (as in the curve).
    """
    served = _served_by_name(money)
    tps = deployment_output_tokens_per_s(money)
    out = []
    for name, d in money.results.deployments.items():
        sd = served.get(name)
        if sd is None or sd.role != "both" or not d.get("tpot_mean_s"):
            continue
        gpus = sd.num_replicas * sd.deployment.num_gpus
        out.append({"deployment": name, "tokens_per_s_per_gpu": tps[name] / gpus,
                    "tokens_per_s_per_user": 1.0 / d["tpot_mean_s"]})
    return out


def throughput_interactivity_figure(money: SteadyMoney):
    """Tokens/s per GPU against tokens/s per user along each deployment's curve, with $ per million tokens.

    Top: the throughput-interactivity curve (``cost_curve``: 5 % of saturation to saturation) and
    the scenario's steady point; bottom, on the same interactivity axis, $ per million output
    tokens along it. Hover shows the load, TTFT, TPOT and $/GPU-hour of each point.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("throughput vs interactivity", "$ per million output tokens"))
    if not money.curve:
        fig.add_annotation(text="no aggregated deployment to draw a curve for", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper")
        return fig
    for name in dict.fromkeys(r["deployment"] for r in money.curve):
        pts = [r for r in money.curve if r["deployment"] == name]
        hover = [f"{name} at {r['share_of_saturation']:.0%} of saturation<br>"
                 f"{r['tokens_per_s_per_gpu']:,.1f} tokens/s/GPU, "
                 f"{r['tokens_per_s_per_user']:,.1f} tokens/s/user<br>TTFT "
                 f"{r['ttft_s'] * 1e3:,.0f} ms, TPOT {r['tpot_s'] * 1e3:,.1f} ms<br>"
                 f"${r['usd_per_gpu_hour']:,.3f}/GPU-h, ${r['usd_per_million_tokens']:,.3f} per M tokens"
                 for r in pts]
        x = [r["tokens_per_s_per_user"] for r in pts]
        fig.add_trace(go.Scatter(x=x, y=[r["tokens_per_s_per_gpu"] for r in pts], mode="lines+markers",
                                 name=name, legendgroup=name, hovertext=hover, hoverinfo="text"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=[r["usd_per_million_tokens"] for r in pts], mode="lines+markers",
                                 name=f"{name}: $/M tokens", legendgroup=name, showlegend=False,
                                 hovertext=hover, hoverinfo="text"), row=2, col=1)
    ops = operating_points(money)
    if ops:
        fig.add_trace(go.Scatter(x=[p["tokens_per_s_per_user"] for p in ops],
                                 y=[p["tokens_per_s_per_gpu"] for p in ops], mode="markers+text",
                                 text=[p["deployment"] for p in ops], textposition="top center",
                                 marker={"symbol": "star", "size": 14, "color": "black"},
                                 name="steady point of the scenario",
                                 hovertext=[f"{p['deployment']} at the scenario's steady point: "
                                            f"{p['tokens_per_s_per_gpu']:,.1f} tokens/s/GPU, "
                                            f"{p['tokens_per_s_per_user']:,.1f} tokens/s/user" for p in ops],
                                 hoverinfo="text"), row=1, col=1)
    fig.update_yaxes(title_text="tokens/s per GPU", row=1, col=1)
    fig.update_yaxes(title_text="$ per M tokens", type="log", row=2, col=1)
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="tokens/s per user (1 / TPOT)", row=2, col=1)
    fig.update_layout(height=640, margin={"t": 40})
    return fig
