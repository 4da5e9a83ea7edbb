"""The ``twin`` command: thin wrappers that parse arguments, call the API and print.

Every command that prints results also writes them as JSON with ``--json OUT`` (``-`` for
stdout). Input problems print as ``file:line: field: message`` and exit with status 2.
Each command lives in the module of its domain and is registered here.
"""

from __future__ import annotations

import click

from twin.cli.fabric import fabric_cmd
from twin.cli.power import evaluate_cmd, validate
from twin.cli.serving import serve_sim_cmd
from twin.cli.thermal import thermal


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ai-factory-twin")
def main() -> None:
    """AI Factory Twin: power, cooling, fabric and token throughput of AI factories."""


main.add_command(validate)
main.add_command(evaluate_cmd)
main.add_command(thermal)
main.add_command(fabric_cmd)
main.add_command(serve_sim_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
