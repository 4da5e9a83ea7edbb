"""The planner's Dash app: :func:`create_app` builds it; the pages of ``twin.ui.pages`` register themselves.

The app only parses and presents: every figure comes from the engine (``twin.evaluate``). It
listens on localhost unless told otherwise (``app.py --host``), and an uploaded file is read with
the same safe reader as every input (size-limited, in a temporary folder removed after reading,
never executed).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

#: The shipped layouts a planner can pick.
LAYOUTS_DIR = Path(__file__).resolve().parents[2] / "layouts"
#: The layout the app opens on.
DEFAULT_LAYOUT = "pod-8x-nvl72.yaml"
#: The shipped scenarios a planner can run (the Scenarios page).
SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"
#: The scenario the Scenarios page opens on.
DEFAULT_SCENARIO = "pod-design-day.yaml"


def create_app(layouts_dir: Path | None = None, scenarios_dir: Path | None = None):
    """The Dash app (not running); ``app.run(host=..., port=...)`` serves it.

    Long callbacks (a scenario run) are background callbacks on a :class:`dash.DiskcacheManager`
    whose cache lies in a fresh temporary folder; ``scenarios_dir`` (default
    :data:`SCENARIOS_DIR`) is where the Scenarios page finds its scenarios
    (``app.server.config["TWIN_SCENARIOS_DIR"]``).
    """
    import dash
    import diskcache

    from twin.ui import pages

    cache_dir = tempfile.mkdtemp(prefix="twin-ui-cache-")
    atexit.register(shutil.rmtree, cache_dir, ignore_errors=True)  # nothing left behind after a run
    manager = dash.DiskcacheManager(diskcache.Cache(cache_dir))
    app = dash.Dash(__name__, use_pages=True, pages_folder="", title="AI Factory Twin",
                    suppress_callback_exceptions=True, background_callback_manager=manager)
    app.server.config["TWIN_SCENARIOS_DIR"] = Path(scenarios_dir or SCENARIOS_DIR)
    pages.register_all(app, layouts_dir or LAYOUTS_DIR)
    app.layout = dash.html.Div([
        dash.html.H2("AI Factory Twin"),
        dash.html.Div([dash.dcc.Link(p["name"], href=p["relative_path"], style={"marginRight": "1em"})
                       for p in sorted(dash.page_registry.values(), key=lambda p: p.get("order") or 99)]),
        dash.page_container,
    ], style={"fontFamily": "sans-serif", "margin": "1em"})
    return app
