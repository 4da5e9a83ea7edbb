"""The AI grid's presentation: region and site rows, and the map of sites, regions and flows.

Shared by the app's grid page (:mod:`twin.ui.pages.grid`); the numbers are those of
:func:`twin.grid.simulate` (``GridResults.to_dict()``), only formatted here.
"""

from __future__ import annotations


def _ms(x) -> str:
    return "-" if x is None else f"{x * 1e3:,.0f}"


def region_rows(d: dict) -> list[dict]:
    """One row per region: load, misses, TTFT and end-to-end at the user, jitter, where it was served."""
    return [
        {
            "region": r["region"],
            "req/s": f"{r['arrived_per_s']:,.1f}",
            "missed": f"{r['deadline_miss_rate']:.1%}",
            "TTFT P50 [ms]": _ms(r["ttft_s"]["p50"]),
            "TTFT P99 [ms]": _ms(r["ttft_s"]["p99"]),
            "jitter P99-P50 [ms]": _ms(r["ttft_jitter_s"]),
            "E2E P99 [s]": "-" if r["e2e_s"]["p99"] is None else f"{r['e2e_s']['p99']:.2f}",
            "served at": ", ".join(f"{k} {v:,.0f}" for k, v in r["sites"].items()),
        }
        for r in d["regions"]
    ]


def site_rows(d: dict) -> list[dict]:
    """One row per site: load, utilisation, tokens, power, cost, tokens per dollar."""
    return [
        {
            "site": s["site"],
            "system": s["system"],
            "GPUs": f"{s['gpus']:,}",
            "req/s": f"{s['served_per_s']:,.1f}",
            "utilisation": f"{s['utilisation']:.0%}",
            "tokens/s": f"{s['output_tokens_per_s']:,.0f}",
            "power [kW]": f"{s['site_power_w'] / 1e3:,.1f}",
            "$/h": f"{s['cost_usd_per_h']:,.0f}",
            "tokens/$": "-" if s["tokens_per_usd"] is None else f"{s['tokens_per_usd']:,.0f}",
        }
        for s in d["sites"]
    ]


def summary_rows(d: dict) -> list[dict]:
    """The grid's totals beside everything-at-the-central-site."""

    def row(label, t):
        return {
            "placement": label,
            "req/s": f"{t['arrived_per_s']:,.0f}",
            "missed": f"{t['deadline_miss_rate']:.1%}",
            "rejected/s": f"{t['rejected_per_s']:,.1f}",
            "tokens/s": f"{t['output_tokens_per_s']:,.0f}",
            "power [MW]": f"{t['site_power_w'] / 1e6:,.2f}",
            "$/h": f"{t['cost_usd_per_h']:,.0f}",
            "tokens/$": "-" if t["tokens_per_usd"] is None else f"{t['tokens_per_usd']:,.0f}",
        }

    def period(t):  # over a timeline: what the whole period adds up to
        if "energy_mwh" not in t:
            return {}
        return {
            "peak [MW]": f"{t['site_power_peak_w'] / 1e6:,.2f}",
            "energy [MWh]": f"{t['energy_mwh']:,.1f}",
            "cost [$]": f"{t['cost_usd']:,.0f}",
        }

    out = [row(f"{d['policy']} (this grid)", d["totals"]) | period(d["totals"])]
    if d.get("central"):
        ct = d["central"]["totals"]
        out.append(row("everything at the central site", ct) | period(ct))
    return out


def link_rows(d: dict) -> list[dict]:
    """One row per network link, or none where the network is only a table of round trips.

    The rows are shown where a link has a bandwidth or the network is a graph with routers.
    """
    links = d.get("links") or []
    if not any(x["bandwidth_bit_s"] is not None or x["routed"] for x in links):
        return []

    def gbit(x) -> str:
        return "-" if x is None else f"{x / 1e9:,.3g}"

    return [
        {
            "link": x["link"],
            "RTT [ms]": _ms(x["latency_s"]),
            "bandwidth [Gbit/s]": gbit(x["bandwidth_bit_s"]),
            "to sites [Gbit/s]": gbit(x["forward_bit_s"]),
            "back [Gbit/s]": gbit(x["back_bit_s"]),
            "utilisation": "-" if x["utilisation"] is None else f"{x['utilisation']:.0%}",
            "peak": "-" if x.get("utilisation_peak") is None else f"{x['utilisation_peak']:.0%}",
            "$/h": f"{x['network_cost_usd_per_h']:,.2f}",
        }
        for x in links
    ]


def timeline_rows(d: dict) -> list[dict]:
    """One row per step of a timeline (none without one): load, misses, power, cost, events."""
    rows = []
    for r in d.get("timeline") or []:
        c = r.get("central")
        rows.append(
            {
                "UTC": r["utc"],
                "req/s": f"{r['arrived_per_s']:,.0f}",
                "missed": f"{r['deadline_miss_rate']:.1%}",
                "tokens/s": f"{r['output_tokens_per_s']:,.0f}",
                "power [MW]": f"{r['site_power_w'] / 1e6:,.2f}",
                "$/h": f"{r['cost_usd_per_h']:,.0f}",
                "central: missed": "-" if c is None else f"{c['deadline_miss_rate']:.1%}",
                "events": "; ".join(r["events"]) or "-",
            }
        )
    return rows


def timeline_figure(d: dict):
    """Over a timeline: each site's power stacked (MW) and the share of requests missed, events shaded."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    tl = d.get("timeline") or []
    hours = [r["start_s"] / 3600.0 for r in tl]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.65, 0.35])
    for s in d["sites"]:
        name = s["site"]
        fig.add_trace(
            go.Scatter(x=hours, y=[r["sites"][name]["site_power_w"] / 1e6 for r in tl], name=name,
                       stackgroup="power", mode="lines", line={"shape": "hv", "width": 0.5},
                       hovertemplate=f"{name}: %{{y:.2f}} MW<extra></extra>"),
            row=1, col=1,
        )
    fig.add_trace(
        go.Scatter(x=hours, y=[100.0 * r["deadline_miss_rate"] for r in tl], name="missed (this grid)",
                   mode="lines", line={"shape": "hv", "color": "#c0392b"}),
        row=2, col=1,
    )
    if tl and tl[0].get("central") is not None:
        fig.add_trace(
            go.Scatter(x=hours, y=[100.0 * r["central"]["deadline_miss_rate"] for r in tl],
                       name="missed (all central)", mode="lines",
                       line={"shape": "hv", "color": "#7f8c8d", "dash": "dot"}),
            row=2, col=1,
        )
    for r in tl:
        if r["events"]:
            x0 = r["start_s"] / 3600.0
            fig.add_vrect(x0=x0, x1=x0 + r["duration_s"] / 3600.0, fillcolor="orange", opacity=0.15,
                          line_width=0, row="all", col=1)
    fig.update_layout(title=f"{d['name']} over time (shaded: events in force)", height=520,
                      margin={"l": 50, "r": 10, "t": 50, "b": 40}, legend={"orientation": "h"})
    fig.update_yaxes(title="site power [MW]", row=1, col=1)
    fig.update_yaxes(title="missed [%]", rangemode="tozero", row=2, col=1)
    start = tl[0]["utc"] if tl else "00:00"
    fig.update_xaxes(title=f"hours from the start (UTC {start})", row=2, col=1)
    return fig


def grid_figure(d: dict):
    """Sites (size by load) and regions on a map, lines for the region -> site flows (width by rate).

    With a ``location`` for every site and region they are placed by longitude and latitude (axes in
    degrees, one degree the same length both ways: a plate carree map without coastlines, which
    would need map data from the internet); where any is missing, a schematic: regions in a column on
    the left, sites on the right.
    """
    import plotly.graph_objects as go

    sites, regions = d["sites"], d["regions"]
    geo = all(s.get("location") for s in sites) and all(r.get("location") for r in regions)
    if geo:  # (x, y) = (longitude, latitude)
        pos = {("s", s["site"]): (s["location"][1], s["location"][0]) for s in sites}
        pos |= {("r", r["region"]): (r["location"][1], r["location"][0]) for r in regions}
    else:
        pos = {("r", r["region"]): (0.0, float(len(regions) - i)) for i, r in enumerate(regions)}
        pos |= {
            ("s", s["site"]): (1.0, (len(regions) - 1) * (1 - i / max(len(sites) - 1, 1)) + 1)
            for i, s in enumerate(sites)
        }
    top = max((v for r in regions for v in r["sites"].values()), default=1.0) or 1.0
    traces = []
    for r in regions:
        for site, rate in r["sites"].items():
            (x0, y0), (x1, y1) = pos[("r", r["region"])], pos[("s", site)]
            traces.append(
                go.Scatter(
                    x=[x0, x1],
                    y=[y0, y1],
                    mode="lines",
                    line={"width": 1 + 9 * rate / top, "color": "rgba(60,110,180,0.45)"},
                    name=f"{r['region']} -> {site}: {rate:,.0f} req/s",
                    hoverinfo="name",
                    showlegend=False,
                )
            )
    load = max((s["served_per_s"] for s in sites), default=1.0) or 1.0
    s_text = [
        f"{s['site']} ({s['system']}): {s['served_per_s']:,.0f} req/s, {s['utilisation']:.0%} busy, "
        f"{s['site_power_w'] / 1e6:,.2f} MW"
        for s in sites
    ]
    r_text = [
        f"{r['region']}: {r['arrived_per_s']:,.0f} req/s, {r['deadline_miss_rate']:.1%} missed, "
        f"TTFT P99 {_ms(r['ttft_s']['p99'])} ms"
        for r in regions
    ]
    sx, sy = zip(*(pos[("s", s["site"])] for s in sites), strict=True)
    rx, ry = zip(*(pos[("r", r["region"])] for r in regions), strict=True)
    marker_s = {
        "size": [8 + 30 * (s["served_per_s"] / load) ** 0.5 for s in sites],
        "color": ["#c0392b" if s.get("central") else "#2e86c1" for s in sites],
        "line": {"width": 1, "color": "white"},
    }
    traces.append(
        go.Scatter(
            x=sx,
            y=sy,
            mode="markers",
            marker=marker_s,
            hovertext=s_text,
            hoverinfo="text",
            name="sites (size: load; red: central)",
        )
    )
    traces.append(
        go.Scatter(
            x=rx,
            y=ry,
            mode="markers+text",
            marker={"size": 12, "symbol": "diamond", "color": "#27ae60"},
            text=[r["region"] for r in regions],
            textposition="top center",
            hovertext=r_text,
            hoverinfo="text",
            name="regions",
        )
    )
    fig = go.Figure(traces)
    fig.update_layout(
        title=f"{d['name']}: where each region is served ({d['policy']} placement)",
        height=520,
        margin={"l": 40, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h"},
        plot_bgcolor="#f7f9fb",
    )
    if geo:
        fig.update_xaxes(title="longitude [deg]")
        fig.update_yaxes(title="latitude [deg]", scaleanchor="x", scaleratio=1)
    else:
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig
