"""Pages of the app, found here and registered in menu order.

Each module has ``ORDER`` (its place in the menu) and ``register(app, layouts_dir)``, which calls
:func:`dash.register_page` (with ``order=ORDER``) and adds the page's callbacks; a new page is a new module.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def register_all(app, layouts_dir: Path) -> None:
    """Register every page of this package, in menu order."""
    modules = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    for module in sorted(modules, key=lambda m: m.ORDER):
        module.register(app, layouts_dir)
