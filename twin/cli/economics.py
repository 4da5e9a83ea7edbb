"""``twin prices``: show and check a price list; the cost lines other commands print."""

from __future__ import annotations

import click

from twin.cli.common import fail_input
from twin.errors import InputError


def warn_stale(prices) -> None:
    """One warning line on stderr when prices of the list are older than 18 months."""
    from twin.economics.prices import STALE_MONTHS, stale_prices

    old = stale_prices(prices)
    if old:
        oldest = min(old, key=lambda p: p.message)
        click.echo(f"warning: {len(old)} prices of {prices.name!r} are older than {STALE_MONTHS} months "
                   f"(e.g. {oldest.field}); `twin prices {prices.name}` lists them", err=True)


def print_costs(report) -> None:
    """The cost summary of a run (nothing when it was not priced)."""
    if report is None:
        return
    k = report.kpis
    click.echo(f"  cost ({report.prices})       ${k['cost_usd']:12,.0f}      ${k['usd_per_hour']:,.0f}/h, "
               f"${k['usd_per_year'] / 1e6:,.1f}M/year; capex ${k['capex_usd'] / 1e6:,.0f}M")
    if k["usd_per_gpu_hour"] is not None:
        band = "; ".join(f"{s} ${b['usd_per_gpu_hour']:.2f}, published ${b['published_low']:.2f}-"
                         f"{b['published_high']:.2f}: {b['verdict']}" for s, b in report.rental_band.items())
        click.echo(f"  per GPU-hour          ${k['usd_per_gpu_hour']:12.2f}"
                   + (f"      ({band})" if band else ""))
    if k["usd_per_million_tokens"] is not None:
        click.echo(f"  per million tokens    ${k['usd_per_million_tokens']:12.3f}      output "
                   f"(${k['usd_per_million_total_tokens']:.3f} input and output); "
                   f"{k['tokens_per_dollar']:,.0f} tokens/$, {k['tokens_per_kwh']:,.0f} tokens/kWh")
    if k.get("lost_tokens_usd"):
        click.echo(f"  lost tokens' value    ${k['lost_tokens_usd']:12,.0f}"
                   + (f"      energy saved ${k['energy_saved_usd']:,.0f}" if "energy_saved_usd" in k else ""))
    if report.unpriced:
        click.echo(f"  not priced (no price in the list): {', '.join(report.unpriced)}")


@click.command("prices")
@click.argument("price_list", required=False)
def prices_cmd(price_list: str | None) -> None:
    """Show PRICE_LIST (a bundled name or a file; default us-2026) with each price's date; flag old ones."""
    from twin.economics.prices import STALE_MONTHS, bundled_names, load_prices, stale_prices

    try:
        p = load_prices(price_list)
    except InputError as exc:
        fail_input(exc)
    click.echo(f"{p.name} ({p.file}); bundled price lists: {', '.join(bundled_names())}")
    for system, (usd, per) in sorted(p.system_usd.items()):
        click.echo(f"  {system:<22} ${usd:>14,.0f} per {per}")
    for name, usd in sorted(p.equipment_usd.items()):
        click.echo(f"  {name:<22} ${usd:>14,.0f} each")
    total = sum(p.facility_usd_per_w.values())
    click.echo(f"  facility               ${total * 1e6:>14,.0f} per MW of critical IT load")
    click.echo(f"  energy                 ${p.energy_usd_per_j * 3.6e6:>14.4f} per kWh (flat)"
               + ("; time-of-use tariff given" if p.tou_usd_per_j else ""))
    lives = ", ".join(f"{c} {s / 3.15576e7:g} y" for c, s in p.life_s.items())
    click.echo(f"  WACC {p.wacc:.1%}; lives {lives}")
    old = stale_prices(p)
    for w in old:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"{len(p.dated)} dated figures, {len(old)} older than {STALE_MONTHS} months")
