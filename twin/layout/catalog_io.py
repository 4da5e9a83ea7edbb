"""Loading the catalog: every ``*.yaml`` under the catalog folders, validated, ``extends`` resolved."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from twin.errors import InputError, Problem
from twin.layout.catalog import ENTRY_KINDS, CatalogEntry, SystemEntry
from twin.layout.problems import did_you_mean, problems_from_validation
from twin.layout.yamlio import MarkedDict, MarkedList, field_path, line_of, load_yaml

#: The catalog shipped with the twin (``models/`` at the repository root).
BUNDLED_CATALOG = Path(__file__).resolve().parents[2] / "models"
#: Most YAML files one catalog folder may hold (the bundled catalog has ~40).
MAX_CATALOG_FILES = 2000
#: Subfolder of a catalog folder that holds price lists, read by :mod:`twin.economics`.
PRICES_FOLDER = "prices"

E = TypeVar("E")


@dataclass
class Catalog:
    """All catalog entries by name, with the file each came from."""

    entries: dict[str, CatalogEntry] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def names(self, kind: str) -> list[str]:
        """Names of all entries of one kind, sorted."""
        return sorted(n for n, e in self.entries.items() if e.kind == kind)

    def lookup(self, kind: str, name: str) -> CatalogEntry:
        """Entry of the given kind and name; ``KeyError`` with a did-you-mean message otherwise."""
        entry = self.entries.get(name)
        if entry is None or entry.kind != kind:
            valid = self.names(kind)
            hint = did_you_mean(name, valid)
            raise KeyError(f"unknown {kind} {name!r}{hint}; catalog {kind} entries: {', '.join(valid)}")
        return entry


def _deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` into a copy of ``base``; mappings merge, everything else is replaced.

    A figure's provenance is replaced, not merged: an entry that gives ``assumption:`` for a figure
    whose parent has ``source:`` (or the reverse) drops the parent's.
    """
    if isinstance(base, dict) and isinstance(over, dict):
        base = dict(base)
        for mine, theirs in (("source", "assumption"), ("assumption", "source")):
            if mine in over and theirs in base and theirs not in over:
                base.pop(theirs)
        out = MarkedDict(copy.copy(base))
        out.line = getattr(over, "line", 0)
        out.key_lines = dict(getattr(base, "key_lines", {}))
        for k, v in over.items():
            out[k] = _deep_merge(base[k], v) if k in base else v
            out.key_lines[k] = getattr(over, "key_lines", {}).get(k, out.line)
        return out
    return over


def _raw_entries(paths: list[Path], problems: list[Problem]) -> dict[str, tuple[str, Any]]:
    raw: dict[str, tuple[str, Any]] = {}
    for path in paths:
        display = str(path)
        try:
            data = load_yaml(path, display)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        items = data if isinstance(data, MarkedList) else [data]
        for i, item in enumerate(items):
            line = items.item_lines[i] if isinstance(items, MarkedList) else getattr(item, "line", 1)
            if not isinstance(item, dict):
                problems.append(Problem(display, line, "", "expected a mapping with 'kind:' and 'name:'"))
                continue
            name = item.get("name")
            if not isinstance(name, str):
                problems.append(Problem(display, line, "name", "every entry needs a 'name:' (text)"))
                continue
            if name in raw:
                line = getattr(item, "key_lines", {}).get("name", line)
                problems.append(
                    Problem(display, line, "name", f"duplicate catalog name {name!r}, also in {raw[name][0]}")
                )
                continue
            raw[name] = (display, item)
    return raw


#: Longest chain of catalog entries extending one another.
MAX_EXTENDS = 16


def _resolve_extends(raw: dict[str, tuple[str, Any]], problems: list[Problem]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}

    def resolve(name: str, chain: list[str]) -> Any:
        if name in resolved:
            return resolved[name]
        file, item = raw[name]
        parent = item.get("extends")
        if parent is None:
            resolved[name] = item
            return item
        line = item.key_lines.get("extends") if isinstance(item, MarkedDict) else None
        if not isinstance(parent, str):
            problems.append(Problem(file, line, "extends", f"expected the name of another catalog entry, "
                                    f"got {parent!r}"))
            resolved[name] = None
            return None
        path = [*chain, name]
        if len(path) > MAX_EXTENDS:
            problems.append(Problem(file, line, "extends", f"extends chain longer than {MAX_EXTENDS} entries "
                                    f"({' -> '.join(path[:3])} -> ...)"))
            resolved[name] = None
            return None
        if parent in path:
            cycle = " -> ".join([*path[path.index(parent):], parent])
            problems.append(Problem(file, line, "extends", f"reference cycle: {cycle}"))
            resolved[name] = None
            return None
        if parent not in raw:
            hint = did_you_mean(parent, list(raw))
            problems.append(Problem(file, line, "extends", f"unknown catalog entry {parent!r}{hint}"))
            resolved[name] = None
            return None
        base = resolve(parent, [*chain, name])
        if base is None:
            resolved[name] = None
            return None
        if base.get("kind") != item.get("kind", base.get("kind")):
            problems.append(
                Problem(file, line, "extends", f"{name!r} (kind {item.get('kind')!r}) cannot extend "
                        f"{parent!r} (kind {base.get('kind')!r})")
            )
            resolved[name] = None
            return None
        merged = _deep_merge({k: v for k, v in base.items() if k not in ("name", "description")}, item)
        merged.pop("extends", None)
        resolved[name] = merged
        return merged

    for name in raw:
        resolve(name, [])
    return resolved


def load_catalog(folders: list[Path] | None = None) -> Catalog:
    """Load and validate every catalog entry under ``folders`` (default: the bundled ``models/``).

    Raises
    ------
    InputError
        With every problem found in every file (syntax, schema, units, sources, names, cycles).
    """
    folders = [BUNDLED_CATALOG] if folders is None else folders
    problems: list[Problem] = []
    paths: list[Path] = []
    for folder in folders:
        if folder.is_file():
            paths.append(folder)
        elif folder.is_dir():
            # price lists (``prices/``) are the economics' own catalog (twin.economics), not equipment
            found = []
            for p in folder.rglob("*.yaml"):
                if PRICES_FOLDER not in p.relative_to(folder).parts[:-1]:
                    found.append(p)
                if len(found) > MAX_CATALOG_FILES:
                    break
            if len(found) > MAX_CATALOG_FILES:
                problems.append(Problem(str(folder), None, "catalog", f"holds more than "
                                        f"{MAX_CATALOG_FILES:,} YAML files; a catalog folder holds entries"))
                continue
            paths.extend(sorted(found))
        else:
            problems.append(Problem(str(folder), None, "catalog", "catalog folder or file not found"))
    raw = _raw_entries(paths, problems)
    resolved = _resolve_extends(raw, problems)
    catalog = Catalog()
    for name, item in resolved.items():
        if item is None:
            continue
        file = raw[name][0]
        kind = item.get("kind")
        cls = ENTRY_KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            line = line_of(item, ("kind",))
            what = ("required field is missing" if kind is None
                    else f"unknown kind {kind!r}{did_you_mean(str(kind), list(ENTRY_KINDS))}")
            problems.append(Problem(file, line, "kind", f"{what}; valid kinds: {', '.join(ENTRY_KINDS)}"))
            continue
        try:
            entry = cls.model_validate(item)
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, cls, item, file))
            continue
        catalog.entries[name] = entry
        catalog.origin[name] = file
    for name, entry in catalog.entries.items():
        if isinstance(entry, SystemEntry):
            try:
                catalog.lookup("psu", entry.power_supply.psu)
            except KeyError as exc:
                loc = ("power_supply", "psu")
                problems.append(Problem(catalog.origin[name], line_of(resolved[name], loc), field_path(loc),
                                        exc.args[0]))
    if problems:
        raise InputError(problems)
    return catalog
