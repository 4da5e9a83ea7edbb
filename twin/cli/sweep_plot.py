"""``twin sweep plot``: a sweep's results as one interactive, self-contained HTML page.

The page holds the scatter of ``--y`` against ``--x`` with the Pareto front of the two marked
(:func:`twin.sweep.plots.scatter_figure`) and the parallel coordinates of the sweep's axes and KPIs
(:func:`~twin.sweep.plots.parallel_figure`). The command is :data:`plot_cmd`, added to the
``twin sweep`` group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from twin.cli.common import fail_input
from twin.errors import ArgumentError, InputError


def _check_out(ctx: click.Context, param: click.Parameter, out: Path) -> Path:
    """``-o`` callback: an .html file in a folder that exists (else exit 2 before reading anything)."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise click.BadParameter(f"{str(out)!r}: the plot is written as .html")
    if out.is_dir():
        raise click.BadParameter(f"{str(out)!r} is a directory; expected a file name such as 'sweep.html'")
    if not out.parent.is_dir():
        raise click.BadParameter(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    return out


def _unknown(option: str, name: str, columns: list[str]) -> None:
    from twin.layout.problems import did_you_mean

    click.echo(f"error: {option} {name!r}: the results have no such column{did_you_mean(name, columns)}; "
               f"columns: {', '.join(columns)}", err=True)
    sys.exit(2)


@click.command("plot")
@click.argument("results_dir", metavar="RESULTS_DIR", type=click.Path(path_type=Path))
@click.option("--x", "x", required=True, metavar="COL", help="Column on the x axis (a KPI or an axis).")
@click.option("--y", "y", required=True, metavar="COL", help="Column on the y axis.")
@click.option("--color", "--colour", "color", metavar="COL", help="Column that colours the feasible points.")
@click.option("--maximise-x/--minimise-x", "maximise_x", default=None,
              help="Whether larger x is better for the Pareto front (default: known by the KPI's name).")
@click.option("--maximise-y/--minimise-y", "maximise_y", default=None,
              help="Whether larger y is better for the Pareto front (default: known by the KPI's name).")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), callback=_check_out,
              metavar="OUT.html", help="The page to write (self-contained: opens offline).")
def plot_cmd(results_dir: Path, x: str, y: str, color: str | None, maximise_x: bool | None,
             maximise_y: bool | None, out: Path) -> None:
    """Plot the results of a sweep (RESULTS_DIR: what twin sweep run --out wrote) to OUT.html."""
    from twin.sweep.pareto import better_high, front_rows, read_results
    from twin.sweep.plots import parallel_figure, scatter_figure, write_plot_html

    try:
        df, axes, kpis = read_results(results_dir)
    except InputError as exc:
        fail_input(exc)
    columns = [str(c) for c in df.columns]
    for option, name in (("--x", x), ("--y", y), ("--color", color)):
        if name is not None and name not in columns:
            _unknown(option, name, columns)
    maximise = []
    for option, name, given in (("x", x, maximise_x), ("y", y, maximise_y)):
        if given is None:
            try:
                given = better_high(name)
            except ArgumentError:
                click.echo(f"error: --{option} {name!r}: whether it is better high or low is not known; "
                           f"say --maximise-{option} or --minimise-{option}", err=True)
                sys.exit(2)
        maximise.append(given)
    front = front_rows(df, x, y, maximise)
    figs = [scatter_figure(df, x, y, color, maximise, axes), parallel_figure(df, axes, kpis)]
    try:
        write_plot_html(figs, out, title=f"Sweep {df.attrs.get('name', results_dir.name)}")
    except OSError as exc:
        click.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    failed = int((df["status"] != "ok").sum())
    click.echo(f"wrote {out}: {len(df):,} scenarios ({failed:,} failed), {int(front.sum()):,} on the Pareto "
               f"front of {y} against {x}", err=True)
