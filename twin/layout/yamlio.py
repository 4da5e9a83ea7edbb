"""YAML reading that remembers where every value came from.

PyYAML's safe loader is extended so that every mapping remembers the line of each key and every
sequence the line of each item. :func:`line_of` walks a pydantic error location (``('halls', 0,
'rows', 1, 'system')``) back to a line number, so errors read ``layout.yaml:14: halls[0]...``.
Duplicate keys, which plain YAML silently overwrites, are reported as problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from twin.errors import InputError, Problem
from twin.inputs import read_text


class MarkedDict(dict):
    """A dict that knows the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class MarkedList(list):
    """A list that knows the 1-based line of itself and of each item."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """Safe loader building Marked containers and recording duplicate keys."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any, MarkedDict]] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> MarkedDict:
    own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    # merge keys (<<) put their pairs first; the node's own pairs may override them
    merged = len(node.value) - own
    out = MarkedDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    own_keys: set = set()
    for i, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found a key that is a list or mapping; keys must be plain names", key_node.start_mark,
            ) from None
        if i >= merged:
            if key in own_keys:
                loader.duplicates.append((key_node.start_mark.line + 1, key, out))
            own_keys.add(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> MarkedList:
    out = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path, display: str | None = None) -> Any:
    """Read one YAML file into Marked containers.

    Parameters
    ----------
    path : Path
        File to read.
    display : str, optional
        How to name the file in errors (defaults to ``str(path)``).

    Raises
    ------
    InputError
        If the file is missing, is not valid YAML, or repeats a key in one mapping.
    """
    name = display or str(path)
    if Path(path).is_dir():
        raise InputError([Problem(name, None, "", "is a folder; expected a YAML file (all files in it: "
                                  "FOLDER/*.yaml)")])
    text = read_text(path, name)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, name)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        context = exc.context
        if context and exc.context_mark and exc.problem_mark and exc.context_mark.line != mark.line:
            context += f" (opened on line {exc.context_mark.line + 1})"
        what = " ".join(str(x) for x in (context, exc.problem) if x)
        raise InputError([Problem(name, line, "", f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(name, None, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise InputError([Problem(name, None, "", f"nests lists and mappings too deeply to read (at most "
                                  f"{MAX_DEPTH} levels)")]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise InputError(
            [
                Problem(name, line, field_path((*(_path_to(data, mapping) or ()), key)),
                        "duplicate key: this key appears twice in the same mapping")
                for line, key, mapping in loader.duplicates
            ]
        )
    return data


#: Deepest nesting of lists and mappings a file may have (layouts use fewer than 10 levels).
MAX_DEPTH = 64
#: Most values a file may hold once its aliases are expanded ("billion laughs" stops here).
MAX_NODES = 1_000_000


def _check_size(root: yaml.Node, name: str) -> None:
    """Refuse a composed document that nests deeper than MAX_DEPTH or expands beyond MAX_NODES.

    Aliases share nodes, so the expanded count is computed once per node (memoised), not by
    expanding: a few kilobytes of nested aliases that would expand to 10^9 values are refused at once.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size:
            continue
        kids = ([c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode)
                else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if not done:
            if key in depth and depth[key] < 0:  # on the stack: an alias to an enclosing node
                raise InputError([Problem(name, node.start_mark.line + 1, "",
                                          "an alias refers to a list or mapping that contains it")])
            depth[key] = -1
            stack.append((node, True))
            stack.extend((c, False) for c in kids if id(c) not in size)
            continue
        size[key] = 1 + sum(size[id(c)] for c in kids)
        depth[key] = 1 + max((depth[id(c)] for c in kids), default=0)
        if depth[key] > MAX_DEPTH:
            raise InputError([Problem(name, node.start_mark.line + 1, "", f"nests lists and mappings more "
                                      f"than {MAX_DEPTH} levels deep")])
        if size[key] > MAX_NODES:
            raise InputError([Problem(name, node.start_mark.line + 1, "", f"expands to more than "
                                      f"{MAX_NODES:,} values (aliases repeating aliases); write the "
                                      f"values out")])


def _path_to(data: Any, target: Any) -> tuple | None:
    """Location tuple of the container ``target`` (found by identity) inside ``data``."""
    if data is target:
        return ()
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        if isinstance(v, dict | list):
            sub = _path_to(v, target)
            if sub is not None:
                return (k, *sub)
    return None


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """Best-known line of the value at ``loc`` inside Marked containers."""
    line = getattr(data, "line", None) or None
    node = data
    for part in loc:
        if isinstance(node, MarkedDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, MarkedList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def field_path(loc: Sequence[Any]) -> str:
    """Format a location tuple as ``halls[0].rows[1].system``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_mapping(path: Path, expected: str) -> tuple[MarkedDict, str]:
    """A YAML file that must hold a mapping, and the file's name for problems; ``expected`` says what keys.

    Raises
    ------
    InputError
        As :func:`load_yaml`, or when the file holds something else than a mapping.
    """
    display = str(path)
    data = load_yaml(path, display)
    if not isinstance(data, MarkedDict):
        raise InputError([Problem(display, getattr(data, "line", 1), "",
                                  f"expected a mapping with {expected}")])
    return data, display
