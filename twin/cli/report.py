"""``twin report``: the layout report as a self-contained HTML page, an XLSX workbook or a PDF."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from twin.cli.common import fail_input, utilisation_option
from twin.errors import InputError


def _check_out(ctx: click.Context, param: click.Parameter, out: Path) -> Path:
    """``-o`` callback: a file ending .html, .xlsx or .pdf in a folder that exists (else exit 2 at once)."""
    from twin.report import FORMATS

    if out.suffix.lower() not in FORMATS:
        raise click.BadParameter(f"{str(out)!r}: the report is written as {', '.join(FORMATS)}, chosen by "
                                 "the file's suffix")
    if out.is_dir():
        raise click.BadParameter(f"{str(out)!r} is a directory; expected a file name such as 'report.html'")
    if not out.parent.is_dir():
        raise click.BadParameter(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
    return out


def _say(text: str) -> None:
    click.echo(text, err=True)


def _annual_run(money, scenario: Path):
    """The scenario's year, hour by hour, with a progress line on stderr (as `twin simulate`)."""
    from twin.engine.coupled import simulate

    total_h = money.prepared.scenario.run.duration_s / 3600.0
    _say(f"running the year of {scenario} ({total_h:,.0f} h) for the annual figures ...")
    shown = [-1]

    def progress(done_s: float, total_s: float) -> None:
        pct = int(100 * done_s / total_s) if total_s > 0 else 100
        if pct // 5 != shown[0] // 5:
            shown[0] = pct
            click.echo(f"\r  {pct:3d} % of {total_h:,.0f} h", err=True, nl=pct >= 100)

    return simulate(money.prepared, progress=progress, with_reference=False, prices=money.prices)


@click.command("report")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--scenario", "scenario", type=click.Path(dir_okay=False, path_type=Path),
              help="Add serving and economics: the steady coupled point of scenario S on FILE (as "
                   "twin evaluate FILE --scenario S).")
@utilisation_option
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), callback=_check_out,
              metavar="OUT", help="The report file: OUT.html (self-contained), OUT.xlsx or OUT.pdf "
                                  "(printed by headless Chromium).")
def report_cmd(file: Path, scenario: Path | None, utilisation: float, out: Path) -> None:
    """Write the layout report of FILE (summary, floor plan, power, cooling, fabric, BOM, N-1, sources)."""
    from twin.engine.steady import evaluate
    from twin.layout import load_layout_and_catalog, parse_layout
    from twin.power.failover import num_cases
    from twin.report import build_report, write_report
    from twin.report.pdf import PdfError, find_chromium

    if out.suffix.lower() == ".pdf" and find_chromium() is None:
        _say(f"error: cannot write {out}: a PDF is printed by headless Chromium and none is installed; "
             f"write {out.with_suffix('.html')} (opens offline, prints from a browser) or .xlsx instead")
        sys.exit(2)
    try:
        factory, catalog = load_layout_and_catalog(file)
        layout, _ = parse_layout(file)
    except InputError as exc:
        fail_input(exc)
    _say(f"evaluating {file}: {factory.num_racks:,} racks, power N-1 over {num_cases(factory):,} single "
         "failures, cooling N-1 ...")
    results = evaluate(factory, utilisation)
    money = annual = None
    if scenario is not None:
        from twin.cli.economics import warn_stale
        from twin.report.money import steady_money

        _say(f"evaluating the steady coupled point of {scenario} (priced, with its tornado and cost "
             "curve) ...")
        try:
            money = steady_money(scenario, file)
        except InputError as exc:
            fail_input(exc)
        warn_stale(money.prices)
        if money.prepared.scenario.run.mode == "annual":
            annual = _annual_run(money, scenario)
    document = build_report(results, scenario_results=money, catalog=catalog, layout=layout, annual=annual)
    printing = " (printing with headless Chromium)" if out.suffix.lower() == ".pdf" else ""
    _say(f"writing {out} ...{printing}")
    try:
        path = write_report(document, out)
    except PdfError as exc:
        _say(f"error: {exc}")
        sys.exit(2)
    except OSError as exc:
        _say(f"error: cannot write {out}: {exc.strerror or exc}")
        sys.exit(2)
    click.echo(str(path))
