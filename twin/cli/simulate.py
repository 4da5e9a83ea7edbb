"""``twin simulate``: run a scenario through the coupled twin; print the headline figures, write tables."""

from __future__ import annotations

import sys
import time

import click

from twin.cli.common import check_json_out, fail_input, write_json
from twin.cli.economics import print_costs, warn_stale
from twin.durations import format_duration_s
from twin.errors import InputError


class _Progress:
    """Simulated time and ETA on one terminal line (stderr), redrawn at most ten times a second."""

    def __init__(self, label: str) -> None:
        self.label, self.t0, self.last = label, None, 0.0  # the clock starts at the first report
        self.tty = sys.stderr.isatty()

    def __call__(self, done_s: float, total_s: float) -> None:
        now = time.perf_counter()
        if self.t0 is None:
            self.t0 = now
        if now - self.last < 0.1 and done_s < total_s:
            return
        self.last = now
        wall = now - self.t0
        frac = done_s / total_s if total_s > 0 else 1.0
        eta = wall * (1 - frac) / frac if frac > 0 else float("nan")
        line = (f"{self.label}: {format_duration_s(done_s)} of {format_duration_s(total_s)} simulated "
                f"({frac:.0%}), {wall:.0f} s elapsed, ETA {eta:.0f} s")
        if self.tty:
            click.echo("\r" + line.ljust(100), err=True, nl=done_s >= total_s)
        elif done_s >= total_s or int(frac * 10) != int((frac - 1e-9) * 10):
            click.echo(line, err=True)


@click.command("simulate")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write the step, rack, component "
              "and event tables as Parquet into this folder (all or nothing).")
@click.option("--json", "json_out", callback=check_json_out,
              help="Write the results as JSON to OUT (- for stdout).")
@click.option("--no-reference", is_flag=True, help="Skip the run without events and policies that "
              "tokens_lost is measured against (halves the time of a scenario with events).")
def simulate_cmd(scenario: str, out_dir: str | None, json_out: str | None, no_reference: bool) -> None:
    """Run SCENARIO through the coupled twin: serving, power, cooling and throttling in time."""
    from twin.engine.costs import scenario_prices
    from twin.engine.coupled import simulate
    from twin.engine.scenario import load_scenario

    try:
        prepared = load_scenario(scenario)
        prices = scenario_prices(prepared.scenario)  # a bad price list is reported before the run
    except InputError as exc:
        fail_input(exc)
    warn_stale(prices)
    name = prepared.scenario.name
    res = simulate(prepared, progress=_Progress(name), with_reference=not no_reference, prices=prices,
                   reference_progress=_Progress(f"{name} (reference: no events, no policies)"))
    k = res.kpis()
    pq = res.power_quality()
    click.echo(f"{prepared.scenario.name} on {prepared.scenario.factory.name}: "
               f"{format_duration_s(k['duration_s'])} simulated in {res.wall_s:.1f} s")
    click.echo(f"  energy at the meter   {k['energy_j'] / 3.6e9:12.3f} MWh   "
               f"(IT {k['it_energy_j'] / 3.6e9:.3f} MWh, PUE {k['pue']:.3f})" if k["pue"]
               else f"  energy at the meter   {k['energy_j'] / 3.6e9:12.3f} MWh")
    click.echo(f"  peak power            {k['peak_power_w'] / 1e6:12.3f} MW    largest ramp "
               f"{pq['max_ramp_w_per_s'] / 1e6:.3f} MW/s, swing {pq['peak_to_peak_w'] / 1e6:.3f} MW")
    click.echo(f"  output tokens         {k['output_tokens']:12.4g}"
               + (f"      lost to events and policies: {k['tokens_lost']:.4g}" if k["tokens_lost"] else ""))
    if k["max_gpu_temp_c"] is not None:
        click.echo(f"  hottest GPU           {k['max_gpu_temp_c']:12.1f} degC  throttled rack-seconds "
                   f"{k['throttled_rack_seconds']:.0f}")
    for name, d in res.deployments.items():
        met = d["slo_met_share"]
        click.echo(f"  {name}: {d['requests_served']:.4g} requests served, mean TTFT "
                   f"{(d['ttft_mean_s'] or 0) * 1e3:.0f} ms, mean TPOT {(d['tpot_mean_s'] or 0) * 1e3:.1f} ms"
                   + (f", SLA met for {met:.1%}" if met is not None else ""))
    print_costs(res.costs)
    for e in res.events:
        click.echo(f"  at {format_duration_s(e['time_s']):>7}: {e['event']}")
    failed = [n for n, ok in res.invariants.items() if not ok]
    click.echo("  invariants: " + ("all hold" if not failed else "FAILED " + ", ".join(failed)))
    if out_dir:
        try:
            paths = res.to_parquet(out_dir)
        except OSError as exc:
            click.echo(f"error: cannot write --out {out_dir}: {exc.strerror or exc}", err=True)
            sys.exit(2)
        click.echo(f"wrote {len(paths)} tables to {out_dir}", err=True)
    if json_out:
        write_json(res.to_dict(), json_out)
    if failed:
        sys.exit(1)
