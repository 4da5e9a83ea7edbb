"""Base of catalog entries: the common fields and shared value types.

One YAML file holds one entry (a mapping) or several (a sequence). Each entry has ``kind`` and a
unique ``name``; an entry may ``extends:`` another of the same kind and override some fields.
Every figure is a :class:`~twin.layout.fields.Sourced` value: a value with units plus ``source:``
or ``assumption:``.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from twin.layout.fields import Strict


class EfficiencyCurve(Strict):
    """Measured efficiency at several output-load fractions (of rated output power).

    ``points`` is a list of ``[load_fraction, efficiency]`` pairs, e.g. the 10/20/50/100 % points
    of an 80 PLUS certificate or a UPS datasheet's 25/50/75/100 % table.
    """

    points: list[tuple[float, float]] = Field(min_length=3)
    source: str | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _check(self) -> EfficiencyCurve:
        if bool(self.source) == bool(self.assumption):
            raise ValueError("needs exactly one of 'source:' or 'assumption:'")
        loads = [p[0] for p in self.points]
        if sorted(loads) != loads or len(set(loads)) != len(loads):
            raise ValueError(f"points: load fractions must increase strictly, got {loads}")
        for load, eff in self.points:
            if not 0.0 < load <= 1.5:
                raise ValueError(f"points: load fraction {load} outside (0, 1.5]")
            if not 0.0 < eff < 1.0:
                raise ValueError(f"points: efficiency {eff} outside (0, 1)")
        loss = [x * (1.0 / eta - 1.0) for x, eta in self.points]
        for (x0, _), (x1, _), l0, l1 in zip(self.points, self.points[1:], loss, loss[1:], strict=False):
            if l1 < l0:
                raise ValueError(
                    f"points: the loss x(1/eta - 1) falls from {l0:.4f} at load {x0} to {l1:.4f} at "
                    f"load {x1}; losses cannot fall as load rises, check the efficiency values"
                )
        return self


class _Entry(Strict):
    kind: str
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    extends: str | None = None
