"""Error types of the twin.

Every error a user can cause by writing a file carries where it happened (file, line, field path),
what was expected and what was found, so that the CLI can print it without a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: A run of 241 or more characters without a space (a hostile value, not a path a user wrote) is
#: cut in messages to its first 60 and last 60 characters: the end of a path names the file.
_LONG_RUN = re.compile(r"\S{241,}")


def _cut(m: re.Match) -> str:
    text = m.group()
    return f"{text[:60]}...[{len(text):,} characters]...{text[-60:]}"


class TwinError(Exception):
    """Base class of every error the twin raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    file : str
        Path of the file, as given by the user.
    line : int or None
        1-based line of the offending value, when known.
    field : str
        Dotted path of the field, e.g. ``halls[0].rows[1].system``.
    message : str
        What was expected and what was found.
    """

    file: str
    line: int | None
    field: str
    message: str

    def __post_init__(self) -> None:
        # a message quotes at most a short excerpt of whatever it found (never 100 kB of a value)
        object.__setattr__(self, "message", _LONG_RUN.sub(_cut, str(self.message)))
        if len(self.field) > 200:
            object.__setattr__(self, "field", self.field[:200] + "...")

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        fld = f" {self.field}:" if self.field else ""
        return f"{where}:{fld} {self.message}"


#: Problems printed for one input (the rest are counted).
MAX_SHOWN_PROBLEMS = 100


@dataclass
class InputError(TwinError):
    """One or more problems in input files; raised after collecting all of them."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n:,} problem{'s' if n != 1 else ''} found:"
        shown = [f"  {p}" for p in self.problems[:MAX_SHOWN_PROBLEMS]]
        if n > MAX_SHOWN_PROBLEMS:
            shown.append(f"  ... and {n - MAX_SHOWN_PROBLEMS:,} more (mend these first)")
        return "\n".join([head, *shown])


class UnitError(TwinError):
    """A quantity could not be parsed or has the wrong dimension (no file context yet)."""


class ConsistencyError(TwinError):
    """A model is internally inconsistent (raised in strict mode or by invariant checks)."""


class ArgumentError(TwinError, ValueError):
    """A Python API argument outside what the model takes; ``field`` names it as the API spells it.

    Interfaces map ``field`` to their own names (the CLI to its flags).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ServingInputError(ArgumentError):
    """A deployment or workload that cannot work as asked (does not fit, bad parallelism, bad rate).

    ``field`` names the offending input as the Python API spells it (``deployment.pp``,
    ``workload.num_requests``) when one is to blame.
    """
