"""Field paths of a sweep: ``halls[*].cooling.facility_water.supply_temp`` read, checked and applied.

A path is dotted keys, each optionally followed by ``[i]`` (one list item) or ``[*]`` (every item).
:func:`expand` turns a path into the concrete locations (tuples of keys and indices) it addresses in
a file's parsed YAML; a key that is not there is an error with a did-you-mean over the keys at that
level. :func:`assign` writes a value at one location of a plain copy of the data; :func:`assigned`
returns parsed YAML with values set at several locations, copying only the containers on their
paths (the rest is shared with the original, which is not changed).
"""

from __future__ import annotations

import re
from typing import Any

from twin.layout.problems import did_you_mean
from twin.layout.yamlio import MarkedDict, MarkedList, field_path

#: The ``[*]`` marker in a parsed path.
STAR = "*"

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)((?:\[(?:\d+|\*)\])*)")
_INDEX = re.compile(r"\[(\d+|\*)\]")


class PathError(ValueError):
    """A path that cannot be read or does not exist in the base file (the message says why)."""


def parse_path(text: str) -> tuple:
    """``"halls[*].rows[0].count"`` -> ``("halls", "*", "rows", 0, "count")``.

    Raises
    ------
    PathError
        When the text is not dotted keys with ``[i]`` / ``[*]`` indices.
    """
    if not isinstance(text, str) or not text.strip():
        raise PathError("a field path is dotted keys such as 'halls[0].cooling.rack_supply_temp'")
    parts: list = []
    for seg in text.strip().split("."):
        m = _SEGMENT.fullmatch(seg)
        if m is None:
            raise PathError(f"cannot read {seg!r} in the field path {text!r}: write keys separated by dots, "
                            f"each optionally followed by [index] or [*] (e.g. 'halls[*].rows[0].count')")
        parts.append(m.group(1))
        for idx in _INDEX.findall(m.group(2)):
            parts.append(STAR if idx == STAR else int(idx))
    return tuple(parts)


def _kind(node: Any) -> str:
    return "a mapping" if isinstance(node, dict) else "a list" if isinstance(node, list) else \
        f"the value {node!r}"


def expand(data: Any, parts: tuple, prefix: str = "") -> list[tuple]:
    """Every concrete location ``parts`` addresses in ``data`` (``[*]`` expanded), in file order.

    ``prefix`` is prepended to locations in messages (``layout.`` for a scenario's layout).

    Raises
    ------
    PathError
        The first step that does not exist, with a did-you-mean over the keys at that level.
    """
    current: list[tuple[Any, tuple]] = [(data, ())]
    for part in parts:
        nxt = []
        for node, loc in current:
            where = prefix + (field_path(loc) or "the top level")
            if isinstance(part, str) and part != STAR:
                if not isinstance(node, dict):
                    raise PathError(f"{where} is {_kind(node)}, not a mapping with key {part!r}")
                if part not in node:
                    keys = [str(k) for k in node]
                    raise PathError(f"no key {part!r} at {where}{did_you_mean(part, keys)}; keys there: "
                                    f"{', '.join(keys) or '(none)'}")
                nxt.append((node[part], (*loc, part)))
            else:
                if not isinstance(node, list):
                    raise PathError(f"{where} is {_kind(node)}, not a list to index with [{part}]")
                if part == STAR:
                    if not node:
                        raise PathError(f"{where} is an empty list: [*] addresses nothing")
                    nxt.extend((item, (*loc, i)) for i, item in enumerate(node))
                elif part >= len(node):
                    raise PathError(f"index [{part}] is out of range: {where} has {len(node)} item"
                                    f"{'s' if len(node) != 1 else ''}")
                else:
                    nxt.append((node[part], (*loc, part)))
        current = nxt
    return [loc for _, loc in current]


def value_at(data: Any, loc: tuple) -> Any:
    """The value at the concrete location ``loc``."""
    for part in loc:
        data = data[part]
    return data


def assign(data: Any, loc: tuple, value: Any) -> None:
    """Set the value at ``loc`` (which must exist) inside plain ``data``."""
    value_at(data, loc[:-1])[loc[-1]] = value


def plain(node: Any) -> Any:
    """A deep copy of parsed YAML as plain dicts and lists (what ``yaml.safe_dump`` writes)."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def _shallow(node: Any) -> Any:
    """A shallow copy of a container, keeping a Marked container's lines."""
    if isinstance(node, MarkedDict):
        new = MarkedDict(node)
        new.line, new.key_lines = node.line, node.key_lines
        return new
    if isinstance(node, MarkedList):
        new = MarkedList(node)
        new.line, new.item_lines = node.line, node.item_lines
        return new
    return dict(node) if isinstance(node, dict) else list(node)


def assigned(data: Any, assignments: list[tuple[tuple, Any]]) -> Any:
    """``data`` with each ``(loc, value)`` set; ``data`` itself is left as it is.

    Only the containers on the assigned paths are copied (shallow, Marked lines kept, so problems
    still point at the base file's lines); the values are deep-copied plain data.
    """
    import copy

    root = _shallow(data)
    copied: dict[tuple, Any] = {(): root}
    for loc, value in assignments:
        loc = tuple(loc)
        node = root
        for i, part in enumerate(loc[:-1]):
            prefix = loc[:i + 1]
            if prefix not in copied:
                copied[prefix] = _shallow(node[part])
                node[part] = copied[prefix]
            node = copied[prefix]
        node[loc[-1]] = copy.deepcopy(value)
    return root
