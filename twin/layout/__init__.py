"""Reading layout and catalog files into a :class:`~twin.factory.Factory`.

This is the only package that reads YAML. Every problem in the input is collected and raised at
once as :class:`~twin.errors.InputError`, each with file, line, field path and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from twin.errors import InputError, Problem
from twin.factory import Factory
from twin.inputs import allowed_roots
from twin.layout.catalog_io import BUNDLED_CATALOG, Catalog, load_catalog
from twin.layout.expand import expand
from twin.layout.problems import validate_marked
from twin.layout.schema import Layout
from twin.layout.yamlio import line_of, load_mapping, load_yaml

__all__ = [
    "BUNDLED_CATALOG", "Catalog", "Layout", "check_file", "load_catalog", "load_layout",
    "load_layout_and_catalog", "parse_layout",
]


def parse_layout(path: str | Path) -> tuple[Layout, object]:
    """Read and schema-check a layout file; returns (Layout, raw marked data)."""
    data, display = load_mapping(Path(path), "'name:', 'utility_feeds:' and 'halls:'")
    return validate_marked(Layout, data, display), data


def load_layout(path: str | Path, catalog: Catalog | None = None) -> Factory:
    """Load a layout file and the catalog it uses, and expand it into a Factory.

    Parameters
    ----------
    path : str or Path
        The layout YAML file.
    catalog : Catalog, optional
        A catalog already loaded; by default the bundled ``models/`` plus the folders the layout
        names under ``catalog:`` (relative to the layout file).

    Raises
    ------
    InputError
        Listing every problem found, each with file:line and field.
    """
    return load_layout_and_catalog(path, catalog)[0]


def load_layout_and_catalog(path: str | Path, catalog: Catalog | None = None,
                            allow_catalog: Sequence[str | Path] = ()) -> tuple[Factory, Catalog]:
    """:func:`load_layout`, also returning the catalog it was expanded with.

    Scenarios look models up in it. ``catalog:`` folders must lie inside the layout's project
    (:func:`twin.inputs.project_root`) or inside a folder of ``allow_catalog`` or of the
    ``TWIN_ALLOW_CATALOG`` environment variable (``twin --allow-catalog DIR``): a layout from
    elsewhere (an upload) cannot make the twin read ``/etc`` or ``../../..``.
    """
    path = Path(path)
    layout, data = parse_layout(path)
    if catalog is None:
        extra = [(path.parent / p) for p in layout.catalog]
        roots = allowed_roots(path, tuple(allow_catalog))
        problems = []
        for i, p in enumerate(extra):
            where = (str(path), line_of(data, ("catalog", i)), f"catalog[{i}]")
            real = p.resolve()
            if not any(real == r or real.is_relative_to(r) for r in roots):
                problems.append(Problem(*where, f"catalog folder {layout.catalog[i]!r} is outside the "
                                        f"layout's project ({roots[0]}); move it inside, or allow it "
                                        f"with --allow-catalog {real}"))
            elif not p.exists():
                problems.append(Problem(*where, f"catalog folder or file not found: {p}"))
        if problems:
            raise InputError(problems)
        catalog = load_catalog([BUNDLED_CATALOG, *extra])
    factory, problems = expand(layout, catalog, str(path), data)
    if problems:
        raise InputError(problems)
    assert factory is not None
    return factory, catalog


def check_file(path: str | Path) -> dict:
    """Check one layout or catalog file; returns what it holds, raises :class:`InputError` listing problems.

    A catalog file (a sequence of entries, or a mapping with ``kind:``) is checked together with the
    bundled catalog; a layout file is loaded and expanded with its catalog. The result has ``type``
    (``"catalog"`` or ``"layout"``) and counts: ``num_entries``, or ``name``, ``num_racks``,
    ``num_gpus``, ``num_power_nodes``.
    """
    from twin.layout.yamlio import MarkedList

    path = Path(path)
    data = load_yaml(path)
    if isinstance(data, MarkedList) or (isinstance(data, dict) and "kind" in data):
        inside = path.resolve().is_relative_to(BUNDLED_CATALOG)
        cat = load_catalog([BUNDLED_CATALOG] if inside else [BUNDLED_CATALOG, path])
        return {"type": "catalog", "num_entries": len(cat.entries)}
    fac = load_layout(path)
    return {"type": "layout", "name": fac.name, "num_racks": fac.num_racks, "num_gpus": fac.num_gpus,
            "num_power_nodes": len(fac.power)}
