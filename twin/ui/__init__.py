"""The planner's Dash app: :func:`create_app` builds it; the pages of ``twin.ui.pages`` register themselves.

The app only parses and presents: every figure comes from the engine (``twin.evaluate``). It
listens on localhost unless told otherwise (``app.py --host``), and an uploaded file is read with
the same safe reader as every input (size-limited, in a temporary folder removed after reading,
never executed).
"""

from __future__ import annotations

from pathlib import Path

#: The shipped layouts a planner can pick.
LAYOUTS_DIR = Path(__file__).resolve().parents[2] / "layouts"
#: The layout the app opens on.
DEFAULT_LAYOUT = "pod-8x-nvl72.yaml"


def create_app(layouts_dir: Path | None = None):
    """The Dash app (not running); ``app.run(host=..., port=...)`` serves it."""
    import dash

    from twin.ui import pages

    app = dash.Dash(__name__, use_pages=True, pages_folder="", title="AI Factory Twin",
                    suppress_callback_exceptions=True)
    pages.register_all(app, layouts_dir or LAYOUTS_DIR)
    app.layout = dash.html.Div([
        dash.html.H2("AI Factory Twin"),
        dash.html.Div([dash.dcc.Link(p["name"], href=p["relative_path"], style={"marginRight": "1em"})
                       for p in dash.page_registry.values()]),
        dash.page_container,
    ], style={"fontFamily": "sans-serif", "margin": "1em"})
    return app
