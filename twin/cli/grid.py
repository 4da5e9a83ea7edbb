"""``twin grid``: place a grid scenario's requests on its sites; print per region and site, write tables."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from twin.cli.common import fail_input, json_option, write_json
from twin.errors import InputError
from twin.layout.schema_grid import POLICIES


def _text(rows: list[dict]) -> list[str]:
    """Report rows (dicts of formatted cells) as aligned text: the first column left, the rest right."""
    if not rows:
        return []
    cols = list(rows[0])
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}

    def line(cells) -> str:
        return "  " + "  ".join(str(v).ljust(width[c]) if k == 0 else str(v).rjust(width[c])
                                for k, (c, v) in enumerate(zip(cols, cells, strict=True)))

    return [line(cols), *(line(r.values()) for r in rows)]


def _table(d: dict) -> str:
    """The app's grid tables (:mod:`twin.report.grid`) as text: totals, regions, sites."""
    from twin.report.grid import link_rows, region_rows, site_rows, summary_rows, timeline_rows

    head = f"Grid '{d['name']}', policy {d['policy']}: {len(d['sites'])} sites, {len(d['regions'])} regions"
    if d.get("timeline"):
        tl = d["timeline"]
        head += (f", {len(tl)} steps of {tl[0]['duration_s'] / 3600:g} h from {tl[0]['utc']} UTC "
                 "(tables: the whole period)")
    lines = [head, *_text(summary_rows(d)), "", *_text(region_rows(d)), "", *_text(site_rows(d))]
    if link_rows(d):
        lines += ["", *_text(link_rows(d))]
    if d.get("timeline"):
        lines += ["", *_text(timeline_rows(d))]
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
        "links.csv": d["links"],
        **({"timeline.csv": [
            {k: v for k, v in r.items() if k not in ("sites", "regions", "central", "events")}
            | {"events": "; ".join(r["events"])}
            | {f"{name}_site_power_w": x["site_power_w"] for name, x in r["sites"].items()}
            | {f"{name}_served_per_s": x["served_per_s"] for name, x in r["sites"].items()}
            | {f"{name}_deadline_miss_rate": x["deadline_miss_rate"] for name, x in r["regions"].items()}
            | ({f"central_{k}": v for k, v in r["central"].items()} if r["central"] else {})
            for r in d["timeline"]
        ]} if d.get("timeline") else {}),
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
    help="Write regions.csv, sites.csv, links.csv and flows.csv (and timeline.csv) into this folder.",
)
@json_option
def grid_cmd(scenario: str, policy: str | None, out_dir: str | None, json_out: str | None) -> None:
    """Place SCENARIO's regional requests on its sites: latency, misses, power and cost by region and site."""
    from twin.grid import simulate

    click.echo("placing and serving...", err=True)
    bar = None

    def progress(done: int, total: int) -> None:  # a timeline: one step at a time
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="steps", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done == total:
            bar.__exit__(None, None, None)

    try:
        res = simulate(scenario, policy=policy, progress=progress)
    except InputError as exc:
        fail_input(exc)
    d = res.to_dict()
    if json_out != "-":
        click.echo(_table(d))
    if out_dir:
        _write_tables(d, Path(out_dir))
    if json_out:
        write_json(d, json_out)
