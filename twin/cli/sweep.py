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


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


@sweep.command("optimise")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder of the study (study.db) and its results table; re-running into it continues "
                   "the search.")
@click.option("--trials", type=click.IntRange(1, 100_000), help="Trials the study should have in all "
              "(default: the sweep file's optimise.trials, else 40).")
@click.option("--scheduler", metavar="ADDR", help="Run on the Dask cluster at ADDR (tcp://host:port; "
              "default DASK_SCHEDULER_ADDRESS, else an embedded LocalCluster).")
@click.option("--workers", type=click.IntRange(1, 1024), help="Workers of the embedded LocalCluster "
              "(default: the machine's cores).")
@click.option("--pareto", "pareto_kpi", metavar="KPI", help="A second KPI: print the Pareto set of the "
              "feasible trials on (objective, KPI).")
def optimise_cmd(spec: str, out_dir: str, trials: int | None, scheduler: str | None, workers: int | None,
                 pareto_kpi: str | None) -> None:
    """Search SPEC's axes for the design with the best objective that holds its constraints (Optuna)."""
    from twin.errors import ArgumentError
    from twin.sweep import SweepDirError, load_sweep, optimise

    try:
        sw = load_sweep(spec)
        res = optimise(sw, out_dir, trials=trials, scheduler=scheduler, workers=workers, progress=True,
                       pareto=pareto_kpi)
    except InputError as exc:
        fail_input(exc)
    except (SweepDirError, ArgumentError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: the trials told are in {out_dir}/study.db and {out_dir}/results.parquet; "
                   "run the same command again to continue", err=True)
        sys.exit(130)
    except OSError as exc:
        click.echo(f"error: cannot run the search ({scheduler or 'local cluster'}): {exc}", err=True)
        sys.exit(2)
    df = res.trials
    ok = int((df["status"] == "ok").sum())
    click.echo(f"{sw.name}: {len(df)} trials, {ok} ok, {len(df) - ok} failed, {int(df['feasible'].sum())} "
               f"feasible; {res.direction} {res.objective}; wrote {out_dir}/results.parquet")
    if res.best is None:
        click.echo("no feasible design among the trials", err=True)
        sys.exit(1)
    b = res.best
    click.echo(f"best feasible design (trial {b['scenario']}): {res.objective} = {_fmt(b[res.objective])}")
    for a in sw.axes:
        click.echo(f"  {a.path} = {_fmt(b[a.column])}")
    if res.binding is not None:
        s = res.slack.get(res.binding)
        click.echo(f"binding constraint: {res.binding}"
                   + (f" (slack {s:.3g} of its threshold)" if s is not None else "")
                   + (f"; it made {res.blocked_by[res.binding]} trials as good or better infeasible"
                      if res.blocked_by.get(res.binding) else ""))
    for path, end in res.at_bounds.items():
        click.echo(f"  at the {end} end of its range: {path} (widen the range to search further)")
    cols = [res.objective] + ([res.pareto_kpi] if res.pareto_kpi else [])
    click.echo(f"Pareto set on ({', '.join(cols)}): {len(res.pareto)} trials")
    for _, r in res.pareto.iterrows():
        click.echo(f"  trial {r['scenario']}: " + ", ".join(f"{c} = {_fmt(r[c])}" for c in cols)
                   + " | " + ", ".join(f"{a.path} = {_fmt(r[a.column])}" for a in sw.axes))


sweep.add_command(plot_cmd)
