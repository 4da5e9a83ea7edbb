"""Pages of the app; each module registers itself with :func:`dash.register_page` in ``register``."""

from __future__ import annotations

from pathlib import Path


def register_all(app, layouts_dir: Path) -> None:
    """Register every page of the app."""
    from twin.ui.pages import cooling, floor, power

    floor.register(app, layouts_dir)
    power.register(app, layouts_dir)
    cooling.register(app, layouts_dir)
