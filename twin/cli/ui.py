"""``twin serve``: start the planner's web app (the same as ``python app.py``)."""

from __future__ import annotations

import click


@click.command("serve")
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True,
              help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
def serve_cmd(port: int, host: str) -> None:
    """Start the planner's web app and print its address."""
    from twin.ui import create_app

    app = create_app()
    click.echo(f"AI Factory Twin: http://{host}:{port}/ (Ctrl-C stops it)")
    app.run(host=host, port=port, debug=False)
