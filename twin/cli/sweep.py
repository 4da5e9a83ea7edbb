"""``twin sweep``: scenario sweeps on dask.distributed (``twin sweep run SPEC --out DIR``)."""

from __future__ import annotations

import sys

import click

from twin.cli.common import fail_input
from twin.cli.sweep_plot import plot_cmd
from twin.errors import InputError


@click.group("sweep")
def sweep() -> None:
    """Scenario sweeps: a base layout or scenario over axes of its fields, on a Dask cluster."""


@sweep.command("run")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder of the results (results.parquet, parts/); re-running into it computes only "
                   "what is missing.")
@click.option("--scheduler", metavar="ADDR", help="Run on the Dask cluster at ADDR (tcp://host:port; "
              "default DASK_SCHEDULER_ADDRESS, else an embedded LocalCluster).")
@click.option("--workers", type=click.IntRange(1, 1024), help="Workers of the embedded LocalCluster "
              "(default: the machine's cores).")
def run_cmd(spec: str, out_dir: str, scheduler: str | None, workers: int | None) -> None:
    """Run the sweep SPEC into DIR: one row per scenario with its inputs, KPIs, constraints and status."""
    from twin.sweep import SweepDirError, load_sweep, run

    try:
        sw = load_sweep(spec)
    except InputError as exc:
        fail_input(exc)
    try:
        df = run(sw, out_dir, scheduler=scheduler, workers=workers, progress=True)
    except SweepDirError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: the finished scenarios are in {out_dir}/results.parquet; run the same "
                   "command again to compute the rest", err=True)
        sys.exit(130)
    except OSError as exc:
        click.echo(f"error: cannot run the sweep ({scheduler or 'local cluster'}): {exc}", err=True)
        sys.exit(2)
    ok = int((df["status"] == "ok").sum())
    failed = len(df) - ok
    click.echo(f"{sw.name}: {len(df)} of {len(sw.points)} scenarios, {ok} ok, {failed} failed, "
               f"{int(df['feasible'].sum())} feasible; wrote {out_dir}/results.parquet")
    if failed:
        errors = df.loc[df["status"] != "ok", "error"]
        first = errors.iloc[0].splitlines()[0] if len(errors) else ""
        if failed == len(sw.points) and errors.nunique() == 1:
            click.echo(f"error: every scenario failed the same way: {errors.iloc[0]}", err=True)
            sys.exit(1)
        where = int(df.loc[errors.index[0], "scenario"])
        click.echo(f"  first failure (scenario {where}): {first}", err=True)


sweep.add_command(plot_cmd)
