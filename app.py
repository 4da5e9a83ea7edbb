"""Start the planner's app: ``python app.py [--port P] [--host H]`` (localhost by default)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    """Build the app (:func:`twin.ui.create_app`) and serve it, printing its address."""
    parser = argparse.ArgumentParser(description="AI Factory Twin: the planner's web app")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default 8050)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    args = parser.parse_args(argv)
    from twin.ui import create_app

    app = create_app()
    print(f"AI Factory Twin: http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)  # noqa: T201
    app.run(host=args.host, port=args.port, debug=False)


if __name__ == "__main__":
    main()
