"""Helpers shared by the CLI commands: JSON output, input-error exit, unit options."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import NoReturn

import click

from twin.errors import InputError, TwinError
from twin.layout.schema_cooling import check_ambient_c
from twin.units import parse


def check_json_out(ctx: click.Context, param: click.Parameter, out: str | None) -> str | None:
    """``--json`` callback: refuse an OUT that cannot be written before any work is done (exit 2)."""
    if out is None or out == "-":
        return out
    path = Path(out)
    if path.is_dir():
        raise click.BadParameter(f"{out!r} is a directory; expected a file name such as 'out.json'")
    if not path.parent.is_dir():
        raise click.BadParameter(f"cannot write {out!r}: folder {str(path.parent)!r} does not exist")
    return out


def positive_number(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Option callback: a finite number greater than zero (or not given); else a usage error (exit 2)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"expected a number greater than zero, got {value}")
    return value


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Option callback: a finite number (nan passes click's ranges, since every comparison fails)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"expected a finite number, got {value}")
    return value


def write_json(data: dict, out: str) -> None:
    """Write ``data`` as indented JSON to stdout (``out`` = ``-``) or to the file ``out``; exit 2 if not."""
    text = json.dumps(data, indent=2, allow_nan=False)
    if out == "-":
        click.echo(text)
    else:
        try:
            Path(out).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            click.echo(f"error: cannot write --json {out}: {exc.strerror or exc}", err=True)
            sys.exit(2)
        click.echo(f"wrote {out}", err=True)


def fail_input(exc: InputError) -> NoReturn:
    """Print the input error ``exc`` to stderr and exit with status 2."""
    click.echo(str(exc), err=True)
    sys.exit(2)


def _parse_option(text: str | None, kind: str, option: str) -> float | None:
    """Parse an option value with units of ``kind``; a bad value is a usage error naming ``option``."""
    if text is None:
        return None
    try:
        return parse(text, kind)
    except TwinError as exc:
        raise click.BadParameter(str(exc), param_hint=f"'{option}'") from None


def parse_power(text: str | None, option: str = "--gpu-power-cap") -> float | None:
    """Parse a power option ('1000 W'); a bad value is a usage error (exit 2) naming ``option``."""
    return _parse_option(text, "power", option)


def parse_temperature(text: str | None, option: str = "--ambient") -> float | None:
    """Parse a temperature option ('35 degC'); a bad value is a usage error (exit 2) naming ``option``."""
    return _parse_option(text, "temperature", option)


def parse_ambient(text: str | None) -> float | None:
    """Parse ``--ambient`` ('35 degC') and check it is a plausible dry bulb; else a usage error (exit 2)."""
    value = parse_temperature(text)
    if value is None:
        return None
    try:
        return check_ambient_c(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--ambient'") from None


#: ``--utilisation`` (alias ``--utilization``): GPU/CPU utilisation of every rack, 0..1.
utilisation_option = click.option(
    "--utilisation",
    "--utilization",
    type=click.FloatRange(0.0, 1.0),
    default=1.0,
    show_default=True,
    help="GPU/CPU utilisation of every rack (1 = design peak).",
)

#: ``--ambient TEMP``: ambient dry bulb for the cooling plant.
ambient_option = click.option(
    "--ambient",
    metavar="TEMP",
    help="Ambient dry bulb, e.g. '35 degC' (default: the layout's design ambient).",
)

#: ``--json OUT``: every command that prints results also writes them as JSON.
json_option = click.option(
    "--json",
    "json_out",
    metavar="OUT",
    callback=check_json_out,
    help="Write the results as JSON to OUT ('-' = stdout).",
)
