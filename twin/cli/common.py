"""Helpers shared by the CLI commands: JSON output, input-error exit, unit options."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from twin.errors import InputError, TwinError
from twin.units import parse


def write_json(data: dict, out: str) -> None:
    text = json.dumps(data, indent=2, allow_nan=False)
    if out == "-":
        click.echo(text)
    else:
        Path(out).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


def fail_input(exc: InputError) -> NoReturn:
    click.echo(str(exc), err=True)
    sys.exit(2)


def parse_power(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse(text, "power")
    except TwinError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_temperature(text: str | None) -> float | None:
    """Parse a temperature option ('35 degC'); a bad value is a usage error (exit 2)."""
    if text is None:
        return None
    try:
        return parse(text, "temperature")
    except TwinError as exc:
        raise click.BadParameter(str(exc)) from None


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
    "--json", "json_out", metavar="OUT", help="Write the figures as JSON to OUT ('-' = stdout)."
)
