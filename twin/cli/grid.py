"""``twin grid``: place a grid scenario's requests on its sites; print per region and site, write tables."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from twin.cli.common import check_json_out, fail_input, write_json
from twin.errors import InputError
from twin.layout.schema_grid import POLICIES


def _ms(x) -> str:
    return "-" if x is None else f"{x * 1e3:,.0f}"


def _table(d: dict) -> str:
    t = d["totals"]
    tpu = "-" if t["tokens_per_usd"] is None else f"{t['tokens_per_usd']:,.0f}"
    lines = [
        f"Grid '{d['name']}', policy {d['policy']}: {len(d['sites'])} sites, {len(d['regions'])} regions",
        f"  requests {t['arrived_per_s']:,.1f}/s arrived, {t['served_per_s']:,.1f}/s served, "
        f"{t['rejected_per_s']:,.1f}/s rejected; deadline missed {t['deadline_miss_rate']:.1%}",
        f"  output tokens/s {t['output_tokens_per_s']:,.0f}; site power {t['site_power_w'] / 1e6:,.3f} MW; "
        f"cost ${t['cost_usd_per_h']:,.0f}/h; {tpu} tokens per $",
        "",
        f"  {'region':<14}{'req/s':>9}{'missed':>8}{'TTFT p50':>10}{'p99':>8}{'jitter':>8}"
        f"{'E2E p99 s':>11}  sites",
    ]
    for r in d["regions"]:
        e2e = "-" if r["e2e_s"]["p99"] is None else f"{r['e2e_s']['p99']:.2f}"
        sites = ", ".join(f"{k} {v:,.1f}" for k, v in r["sites"].items())
        lines.append(
            f"  {r['region']:<14}{r['arrived_per_s']:>9,.1f}{r['deadline_miss_rate']:>8.1%}"
            f"{_ms(r['ttft_s']['p50']):>10}{_ms(r['ttft_s']['p99']):>8}{_ms(r['ttft_jitter_s']):>8}"
            f"{e2e:>11}  {sites}"
        )
    lines += [
        "",
        f"  {'site':<14}{'req/s':>9}{'util':>7}{'tok/s':>10}{'power kW':>10}{'$/h':>9}{'tok/$':>10}",
    ]
    for s in d["sites"]:
        tp = "-" if s["tokens_per_usd"] is None else f"{s['tokens_per_usd']:,.0f}"
        lines.append(
            f"  {s['site']:<14}{s['served_per_s']:>9,.1f}{s['utilisation']:>7.0%}"
            f"{s['output_tokens_per_s']:>10,.0f}{s['site_power_w'] / 1e3:>10,.1f}"
            f"{s['cost_usd_per_h']:>9,.0f}{tp:>10}"
        )
    c = d.get("central")
    if c:
        ct = c["totals"]
        tp = "-" if ct["tokens_per_usd"] is None else f"{ct['tokens_per_usd']:,.0f}"
        lines += [
            "",
            f"  everything at the central site: deadline missed {ct['deadline_miss_rate']:.1%}, "
            f"{ct['rejected_per_s']:,.1f}/s rejected, cost ${ct['cost_usd_per_h']:,.0f}/h, {tp} tokens per $",
        ]
    bad = [k for k, v in d["invariants"].items() if not v]
    if bad:
        lines.append(f"  INVARIANTS BROKEN: {', '.join(bad)}")
    return "\n".join(lines)


def _write_tables(d: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    flat = {
        "regions.csv": [
            {k: (v if not isinstance(v, dict) else None) for k, v in r.items() if k != "sites"}
            | {
                f"{m}_{q}": r[m][q]
                for m in ("ttft_s", "tpot_s", "e2e_s", "network_s")
                for q in ("mean", "p50", "p90", "p99")
            }
            for r in d["regions"]
        ],
        "sites.csv": d["sites"],
        "flows.csv": [
            {k: v for k, v in f.items() if k != "ttft_s"}
            | {f"ttft_s_{q}": f["ttft_s"][q] for q in ("mean", "p50", "p90", "p99")}
            for f in d["flows"]
        ],
    }
    for name, rows in flat.items():
        with (out / name).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["empty"])
            w.writeheader()
            w.writerows(rows)


@click.command("grid")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--policy", type=click.Choice(POLICIES), help="Placement policy (default: the scenario's).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write regions.csv, sites.csv and flows.csv into this folder.",
)
@click.option(
    "--json", "json_out", callback=check_json_out, help="Write the results as JSON to OUT (- for stdout)."
)
def grid_cmd(scenario: str, policy: str | None, out_dir: str | None, json_out: str | None) -> None:
    """Place SCENARIO's regional requests on its sites: latency, misses, power and cost by region and site."""
    from twin.grid import simulate

    click.echo("placing and serving...", err=True)
    try:
        res = simulate(scenario, policy=policy)
    except InputError as exc:
        fail_input(exc)
    d = res.to_dict()
    if json_out != "-":
        click.echo(_table(d))
    if out_dir:
        _write_tables(d, Path(out_dir))
    if json_out:
        write_json(d, json_out)
