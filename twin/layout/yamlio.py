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
    loader.flatten_mapping(node)
    out = MarkedDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found a key that is a list or mapping; keys must be plain names", key_node.start_mark,
            ) from None
        if key in out:
            loader.duplicates.append((key_node.start_mark.line + 1, key, out))
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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except IsADirectoryError:
        raise InputError(
            [Problem(name, None, "", "is a folder; expected a YAML file (all files in it: FOLDER/*.yaml)")]
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(name, None, "", f"not a UTF-8 text file (byte {exc.start}); expected a YAML file")]
        ) from None
    except OSError as exc:
        raise InputError([Problem(name, None, "", f"cannot read file: {exc}")]) from None
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
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
