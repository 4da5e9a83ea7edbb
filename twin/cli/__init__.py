"""The ``twin`` command: thin wrappers that parse arguments, call the API and print.

Every command that prints results also writes them as JSON with ``--json OUT`` (``-`` for
stdout). Input problems print as ``file:line: field: message`` and exit with status 2.
Each command lives in the module of its domain and is registered here by name; a command's module
(and the physics it needs) is imported only when that command runs, so ``twin --help`` and
``twin serve-sim`` never pay for CoolProp, scipy or the cooling model.
"""

from __future__ import annotations

import importlib

import click

#: command name -> (module, attribute, one-line help shown by ``twin --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("twin.cli.power", "validate", "Check layout or catalog FILES; print every problem with "
                 "file:line and field."),
    "evaluate": ("twin.cli.power", "evaluate_cmd", "Power, fabric and cooling of FILE (default: the bundled "
                 "8-rack GB200 pod), with N-1 analyses."),
    "thermal": ("twin.cli.thermal", "thermal", "Cooling of FILE: GPU temperatures, CDUs, facility water, "
                "heat rejection, PUE, cooling N-1."),
    "fabric": ("twin.cli.fabric", "fabric_cmd", "Print the fabric's bill of materials and bandwidth table "
               "for a layout FILE."),
    "serve-sim": ("twin.cli.serving", "serve_sim_cmd", "Simulate LLM serving: throughput, TTFT, TPOT and "
                  "end-to-end latency."),
    "simulate": ("twin.cli.simulate", "simulate_cmd", "Run a SCENARIO through the coupled twin: tokens, "
                 "power, heat and throttling in time, with faults and policies."),
    "report": ("twin.cli.report", "report_cmd", "Write the layout report of FILE as self-contained HTML, "
               "XLSX or PDF: summary, plans, power, cooling, fabric, BOM, N-1, sources."),
    "serve": ("twin.cli.ui", "serve_cmd", "Start the planner's web app (localhost:8050 by default)."),
    "sweep": ("twin.cli.sweep", "sweep", "Sweep a layout or scenario over its fields on Dask "
              "(run SPEC --out DIR)."),
    "grid": ("twin.cli.grid", "grid_cmd", "Place a grid SCENARIO's regional requests on a central factory "
             "and edge sites: latency, jitter, misses, power and cost."),
    "prices": ("twin.cli.economics", "prices_cmd", "Show a price list (default us-2026) with each price's "
               "source date; flag prices older than 18 months."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use (see :data:`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Names of the commands, in the order of :data:`COMMANDS` (nothing is imported)."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module now; ``None`` for an unknown name."""
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the "Commands" help section from the help texts in :data:`COMMANDS`, importing nothing."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ai-factory-twin")
@click.option("--allow-catalog", "allow_catalog", multiple=True, metavar="DIR",
              help="Also read layout catalog: folders inside DIR (by default only those inside the "
                   "layout's project are read). Repeatable; the same as TWIN_ALLOW_CATALOG.")
def main(allow_catalog: tuple[str, ...]) -> None:
    """AI Factory Twin: power, cooling, fabric and token throughput of AI factories."""
    if allow_catalog:
        import os

        given = [p for p in os.environ.get("TWIN_ALLOW_CATALOG", "").split(os.pathsep) if p]
        os.environ["TWIN_ALLOW_CATALOG"] = os.pathsep.join([*given, *allow_catalog])


if __name__ == "__main__":  # pragma: no cover
    main()
