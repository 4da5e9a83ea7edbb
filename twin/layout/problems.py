"""Turn pydantic validation errors into :class:`~twin.errors.Problem` lists with file:line."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from twin.errors import Problem
from twin.layout.yamlio import field_path, line_of


def did_you_mean(word: str, valid: Sequence[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest valid word, or ``""``."""
    close = difflib.get_close_matches(str(word), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unwrap(tp: Any) -> list[Any]:
    """Model classes reachable from an annotation (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (list, tuple, set, typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _unwrap(a)]
    if origin is dict:
        return _unwrap(typing.get_args(tp)[1])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names of the model found by following ``loc`` (ints and dict keys skipped)."""
    models = [model]
    for part in loc:
        if not isinstance(part, str):
            continue
        nxt = []
        for m in models:
            f = m.model_fields.get(part)
            if f is not None:
                nxt.extend(_unwrap(f.annotation))
        if nxt:
            models = nxt
    return sorted({name for m in models for name in m.model_fields})


def _node_at(data: Any, loc: Sequence[Any]) -> Any:
    """The raw value at ``loc`` inside ``data``, or ``None`` when the path does not exist."""
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _expected_kind_names(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def problems_from_validation(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    file: str,
    prefix: Sequence[Any] = (),
) -> list[Problem]:
    """Convert a pydantic ``ValidationError`` into problems naming file, line and field."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        full = tuple(prefix) + loc
        line = line_of(data, loc)
        if kind == "extra_forbidden":
            key = loc[-1]
            valid = _fields_at(model, loc[:-1])
            msg = f"unknown key {key!r}{did_you_mean(key, valid)}; valid keys: {', '.join(valid)}"
        elif kind == "missing":
            msg = "required field is missing"
        else:
            msg = _expected_kind_names(err["msg"])
            node = _node_at(data, loc)
            if msg.startswith("value: ") and isinstance(node, dict) and "value" in node:
                # a sourced figure's value is wrong: point at the 'value:' line, not the field's
                loc, full, msg = (*loc, "value"), (*full, "value"), msg.removeprefix("value: ")
                line = line_of(data, loc)
            if "input" in err and kind not in ("value_error", "assertion_error"):
                got = err["input"]
                if not isinstance(got, dict | list):
                    msg += f" (got {got!r})"
        out.append(Problem(file, line, field_path(full), msg))
    return out


def validate_marked(model: type[BaseModel], data: Any, file: str) -> BaseModel:
    """``model.model_validate(data)``; its errors raised as one ``InputError`` with file:line."""
    from twin.errors import InputError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, model, data, file)) from None
