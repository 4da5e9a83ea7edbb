"""Every catalog figure a layout uses, with the ``source:`` or ``assumption:`` the catalog gives it.

The catalog keeps each figure's provenance on its :class:`twin.layout.fields.Sourced` value (and on
efficiency curves and kernel tables), so the report reads it from the loaded
:class:`twin.layout.Catalog`: the entries the layout names (its systems and their PSUs, the power and
cooling equipment of its line-ups and loops, the fabric's parts) are walked field by field.
"""

from __future__ import annotations

from pathlib import Path


def load_sources(path: str | Path):
    """(parsed layout, catalog) of the layout file ``path``, as ``twin evaluate`` reads them.

    Raises
    ------
    InputError
        The layout or its catalog has problems (each with file:line and field).
    """
    from twin.layout import load_layout_and_catalog, parse_layout

    layout, _ = parse_layout(path)
    return layout, load_layout_and_catalog(path)[1]


def used_entries(results, layout=None) -> list[str]:
    """Catalog names the layout uses, in report order: systems, PSUs, power, generators, cooling, fabric."""
    from twin.fabric.bom import nic_of_optic

    f = results.factory
    names = list(f.system_names)
    names += [lm.name for lm in f.loss_models]
    if layout is not None:
        names += [lu.generator.model for h in layout.halls for lu in h.lineups if lu.generator is not None]
    if f.cooling is not None:
        for lp in f.cooling.loops:
            parts = (lp.cdu, lp.pump, lp.rejection, lp.trim_chiller, lp.crah, lp.air_chiller)
            names += [e.name for e in parts if e is not None]
    for r in results.fabric.bom:
        names += [r["model"], nic_of_optic(r["model"])]
    return list(dict.fromkeys(names))


def _value_text(obj) -> str:
    """The figure of a provenance-carrying value as written in the catalog."""
    if hasattr(obj, "value"):
        return str(obj.value)
    if hasattr(obj, "points"):
        return ", ".join(f"{x:g}: {y:g}" for x, y in obj.points) + " (load: efficiency)"
    fields = {k: v for k, v in obj.__dict__.items() if k not in ("source", "assumption")}
    return ", ".join(f"{k}={v}" for k, v in fields.items())


def _walk(obj, path: str, out: list[tuple[str, object]]) -> None:
    """Collect (field path, value) of every object with ``source``/``assumption`` below ``obj``."""
    from pydantic import BaseModel

    if isinstance(obj, BaseModel):
        if "source" in type(obj).model_fields and "assumption" in type(obj).model_fields:
            out.append((path, obj))
            return
        for name in type(obj).model_fields:
            _walk(getattr(obj, name), f"{path}.{name}" if path else name, out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _walk(v, f"{path}.{k}", out)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            label = getattr(v, "name", None) or i
            _walk(v, f"{path}[{label}]", out)


def _display_file(file: str) -> str:
    """A catalog file relative to the repository when it lies in it, else as given."""
    from twin.layout import BUNDLED_CATALOG

    p = Path(file).resolve()
    root = BUNDLED_CATALOG.parent
    return str(p.relative_to(root)) if p.is_relative_to(root) else file


def assumption_rows(catalog, names: list[str]) -> list[dict]:
    """One row per figure of the entries ``names`` (those not in ``catalog`` are skipped).

    Rows: ``file``, ``entry``, ``field``, ``value``, ``basis`` (``source`` or ``assumption``) and
    ``text``.
    """
    rows = []
    for name in names:
        entry = catalog.entries.get(name)
        if entry is None:
            continue
        found: list[tuple[str, object]] = []
        _walk(entry, "", found)
        file = _display_file(catalog.origin.get(name, ""))
        for path, obj in found:
            basis = "source" if getattr(obj, "source", None) else "assumption"
            rows.append({"file": file, "entry": name, "field": path, "value": _value_text(obj),
                         "basis": basis, "text": str(getattr(obj, basis))})
    return rows
