"""What every page shares: the layout a planner picked or uploaded, and its evaluation.

An uploaded file is read with the same safe reader as every input (size-limited, in a temporary
folder removed after reading, parsed with the safe YAML loader, never executed).
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections import OrderedDict
from pathlib import Path

#: Largest layout file accepted from an upload. [bytes]
MAX_UPLOAD_BYTES = 1 * 2**20
#: Utilisation the pages evaluate a layout at (assumption: the design point a planner looks at
#: first, as the README's examples; `twin evaluate --utilisation` takes any).
UTILISATION = 0.8
#: Largest layout the pages run the power N-1 on; larger ones leave it to `twin evaluate`. [racks]
N_MINUS_1_MAX_RACKS = 1000


class Memo:
    """The last ``size`` values of a pure function of its key, shared by the server's threads.

    The pages answer a recolour or a click without loading or solving the layout again. Keys hold
    what they stand for (a layout file's content hash, the factory object itself), so an entry is
    never served for something else; a layout's catalog files are read once per app process.
    """

    def __init__(self, size: int) -> None:
        import threading

        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, make):
        """The value for ``key``, made with ``make()`` the first time."""
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


#: loaded layouts by file content, and evaluations by (factory, options): the app's memory
FACTORIES, EVALUATIONS = Memo(8), Memo(16)


def evaluate_layout(factory, *, with_n_minus_1: bool = True, ambient_c: float | None = None):
    """The engine's results of ``factory`` as every page shows them (see :data:`UTILISATION`).

    Remembered per factory and options (:data:`EVALUATIONS`): every page and callback on one
    layout shares one evaluation.
    """
    import twin

    n1 = with_n_minus_1 and factory.num_racks <= N_MINUS_1_MAX_RACKS
    key = (Identity(factory), n1, ambient_c)
    return EVALUATIONS.get(key, lambda: twin.evaluate(factory, utilisation=UTILISATION, ambient_c=ambient_c,
                                                      with_n_minus_1=n1))


class Identity:
    """A key that is one object itself (a Factory holds arrays and cannot be hashed by value)."""

    def __init__(self, obj) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other) -> bool:
        return isinstance(other, Identity) and other.obj is self.obj


def layout_names(layouts_dir: Path) -> list[str]:
    """The shipped layout files a planner can pick (file names, sorted)."""
    return sorted(p.name for p in Path(layouts_dir).glob("*.yaml"))


def layout_picker(dropdown_id: str, layouts_dir: Path, value: str | None = None) -> list:
    """A "Layout" label and a dropdown of the shipped layouts.

    ``value`` (a page's ``?layout=`` query) is chosen when it is one of them, else the default.
    """
    from dash import dcc, html

    from twin.ui import DEFAULT_LAYOUT

    names = layout_names(layouts_dir)
    return [html.Label("Layout "),
            dcc.Dropdown(id=dropdown_id, options=names, value=value if value in names else DEFAULT_LAYOUT,
                         clearable=False, style={"width": "20em", "display": "inline-block"})]


def load_choice(choice: str | None, upload: str | None, upload_name: str | None, layouts_dir: Path):
    """The factory a planner chose, or the problems of the file they uploaded (as `twin validate` prints)."""
    from twin.errors import InputError
    from twin.layout import load_layout

    if upload:
        _, _, data = upload.partition(",")
        raw = base64.b64decode(data, validate=False)
        if len(raw) > MAX_UPLOAD_BYTES:
            return None, (f"{upload_name}: {len(raw):,} bytes; an uploaded layout may be at most "
                          f"{MAX_UPLOAD_BYTES:,}")
        name = Path(upload_name or "upload.yaml").name

        def load_upload():
            with tempfile.TemporaryDirectory(prefix="twin-upload-") as tmp:
                path = Path(tmp) / name
                path.write_bytes(raw)
                try:
                    return load_layout(path), None
                except InputError as exc:
                    return None, str(exc).replace(str(path), name)

        return FACTORIES.get(("upload", name, hashlib.sha256(raw).hexdigest()), load_upload)
    from twin.ui import DEFAULT_LAYOUT

    if choice is not None and choice not in layout_names(layouts_dir):  # only a shipped file is read
        return None, f"{choice!r}: not a layout of {Path(layouts_dir).name}/ (pick one of the list)"
    path = layouts_dir / (choice or DEFAULT_LAYOUT)

    def load_shipped():
        try:
            return load_layout(path), None
        except InputError as exc:
            return None, str(exc)

    return FACTORIES.get(("file", str(path), hashlib.sha256(path.read_bytes()).hexdigest()), load_shipped)


def scenario_names(scenarios_dir: Path) -> list[str]:
    """The scenario files a planner can pick in ``scenarios_dir`` (file names, sorted)."""
    return sorted(p.name for p in Path(scenarios_dir).glob("*.yaml"))


def scenario_picker(dropdown_id: str, scenarios_dir: Path) -> list:
    """A "Scenario" label and a dropdown of the scenarios in ``scenarios_dir``.

    The default is :data:`twin.ui.DEFAULT_SCENARIO` where the folder has it, else its first file.
    """
    from dash import dcc, html

    from twin.ui import DEFAULT_SCENARIO

    names = scenario_names(scenarios_dir)
    value = DEFAULT_SCENARIO if DEFAULT_SCENARIO in names else (names[0] if names else None)
    return [html.Label("Scenario "),
            dcc.Dropdown(id=dropdown_id, options=names, value=value, clearable=False,
                         style={"width": "24em", "display": "inline-block"})]


def load_scenario_choice(choice: str | None, scenarios_dir: Path):
    """The prepared scenario a planner picked, or its problems (as `twin simulate` prints them).

    Returns ``(prepared, None)`` or ``(None, problems)``; only a file of ``scenarios_dir`` is read
    (a name with a folder in it is refused). Its price list is checked too, as `twin simulate` does
    before a run.
    """
    from twin.engine.costs import scenario_prices
    from twin.engine.scenario import load_scenario
    from twin.errors import InputError

    if not choice or Path(choice).name != choice or choice not in scenario_names(scenarios_dir):
        return None, f"{choice!r}: not a scenario of {Path(scenarios_dir).name}/ (pick one of the list)"
    path = Path(scenarios_dir) / choice
    try:
        prepared = load_scenario(path)
        scenario_prices(prepared.scenario)
    except InputError as exc:
        return None, str(exc).replace(str(path), choice)
    return prepared, None
