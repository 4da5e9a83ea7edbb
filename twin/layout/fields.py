"""Field types shared by catalog and layout schemas.

``Sourced`` values (catalog) carry a figure plus where it comes from; ``Qty`` values (layouts) are
design choices with units. Both are parsed with :func:`twin.units.parse` into SI floats.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twin.errors import UnitError
from twin.units import parse

#: The largest whole number any input field takes (a campus holds ~10^6 GPUs).
MAX_WHOLE_NUMBER = 10**9


def _big(v: int) -> str:
    """A huge integer written briefly (its digits are not echoed)."""
    digits = len(str(abs(v)))
    return f"{v:,}" if digits <= 15 else f"a {digits}-digit number"


def bounded(hi: int, what: str, lo: int = 1):
    """Annotated whole number from ``lo`` to ``hi``; the message names ``what`` the limit is."""

    def check(v: int) -> int:
        if v > hi:
            limit = "" if f"{hi:,}" in what else f" ({hi:,})"
            raise ValueError(f"{_big(v)} is more than {what}{limit}")
        return v

    return Annotated[int, Field(ge=lo), AfterValidator(check)]


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, v: Any, info: ValidationInfo) -> Any:
        """``true``/``false`` where a number is expected is an error (pydantic would read 1/0).

        Numbers are also held to what a factory can hold: a whole number beyond
        :data:`MAX_WHOLE_NUMBER` or a number that is not finite is refused wherever it appears.
        """
        if isinstance(v, bool) and info.field_name in cls.model_fields:
            ann = cls.model_fields[info.field_name].annotation
            kinds = set(get_args(ann)) | {ann}
            if bool not in kinds and kinds & {int, float}:
                raise ValueError("expected a number, got a true/false value")
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_WHOLE_NUMBER:
            raise ValueError(f"{_big(v)} is too large: no count in a factory exceeds {MAX_WHOLE_NUMBER:,}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v


class Sourced(Strict):
    """A catalog figure with its provenance.

    Exactly one of ``source`` (datasheet, paper, standard, with enough detail to find it) or
    ``assumption`` (why this value was chosen in the absence of a source) must be given.
    """

    value: Any
    source: str | None = None
    assumption: str | None = None
    _si: float = PrivateAttr(default=float("nan"))

    @model_validator(mode="after")
    def _one_provenance(self) -> Sourced:
        has_src = bool(self.source and self.source.strip())
        has_asm = bool(self.assumption and self.assumption.strip())
        if has_src == has_asm:
            raise ValueError(
                "every catalog figure needs exactly one of 'source:' (where it comes from) "
                "or 'assumption:' (why it was chosen)"
            )
        return self

    @property
    def si(self) -> float:
        """The value as a float in SI units (set by the field's kind)."""
        return self._si


def _parse_kind(kind: str):
    def check(s: Sourced) -> Sourced:
        v = s.value
        if kind == "count":
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"value: expected a whole number >= 0, got {v!r}")
            s._si = float(v)
            return s
        try:
            s._si = parse(v, kind)
        except UnitError as exc:
            raise ValueError(f"value: {exc}") from None
        return s

    return check


def _positive(s: Sourced) -> Sourced:
    if not s.si > 0:
        raise ValueError(f"value: must be greater than zero, got {s.value!r}")
    return s


def _nonneg(s: Sourced) -> Sourced:
    if s.si < 0:
        raise ValueError(f"value: must not be negative, got {s.value!r}")
    return s


def _unit_interval(s: Sourced) -> Sourced:
    if not 0.0 <= s.si <= 1.0:
        raise ValueError(f"value: must be between 0 and 1 (or 0 % and 100 %), got {s.value!r}")
    return s


def sourced(kind: str, *, positive: bool = False, unit_interval: bool = False):
    """Annotated type of a sourced figure of the given kind (see :data:`twin.units.KINDS`)."""
    checks = [AfterValidator(_parse_kind(kind))]
    checks.append(AfterValidator(_positive if positive else _nonneg))
    if unit_interval:
        checks.append(AfterValidator(_unit_interval))
    return Annotated[Sourced, *checks]


def _qty_parser(kind: str, positive: bool):
    def check(v: Any) -> float:
        try:
            out = parse(v, kind)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        if positive and not out > 0:
            raise ValueError(f"must be greater than zero, got {v!r}")
        return out

    return check


def qty(kind: str, *, positive: bool = True):
    """Annotated type of a design quantity with units, parsed to an SI float."""
    return Annotated[float, BeforeValidator(_qty_parser(kind, positive))]


Power = sourced("power")
PositivePower = sourced("power", positive=True)
Count = sourced("count")
Fraction = sourced("fraction", unit_interval=True)
