"""Quantities with units at the boundary, SI floats inside.

Files and the UI write values with units ("132 kW", "45 degC", "1.5 L/min/kW", "$0.08/kWh").
:func:`parse` turns them into a float in the SI unit of the expected *kind*; everything inside the
twin works on those floats. This is the only module that imports pint.

Conventions: temperatures are returned in °C (project convention, names end in ``_c``);
temperature differences in K; money in US dollars (``USD``, written ``$`` in files).
"""

from __future__ import annotations

import functools
import math
import re

import pint

from twin.errors import UnitError

#: Kind of quantity -> (SI unit the float is returned in, example shown in error messages).
KINDS: dict[str, tuple[str, str]] = {
    "power": ("W", "132 kW"),
    "power_ramp": ("W/s", "500 W/s"),
    "energy": ("J", "1 kWh"),
    "voltage": ("V", "415 V"),
    "current": ("A", "1600 A"),
    "temperature": ("degC", "45 degC"),
    "temperature_difference": ("K", "10 K"),
    "flow": ("m**3/s", "200 L/min"),
    "flow_per_power": ("m**3/s/W", "1.5 L/min/kW"),
    "pressure": ("Pa", "2 bar"),
    "length": ("m", "600 mm"),
    "mass": ("kg", "1360 kg"),
    "time": ("s", "10 min"),
    "data": ("byte", "186 GB"),
    "bandwidth": ("byte/s", "8 TB/s"),
    "flops": ("FLOP/s", "2.5 PFLOP/s"),
    "money": ("USD", "$3.1M"),
    "price_per_energy": ("USD/J", "$0.08/kWh"),
    "price_per_power": ("USD/W", "$10.7M/MW"),
    "price_per_power_time": ("USD/W/s", "$15/kW/month"),  # demand, capacity and staff rates
    "price_per_time": ("USD/s", "$2.21/hour"),
    "price_per_volume": ("USD/m**3", "$1.02/m**3"),
    "fraction": ("dimensionless", "95 %"),
    "volume": ("m**3", "40 L"),
    "thermal_resistance": ("K/W", "0.025 K/W"),
    "heat_capacity": ("J/K", "600 J/K"),
}


@functools.cache
def _registry() -> pint.UnitRegistry:
    """Build the project's unit registry once (cached, private)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("USD = [currency] = $ = dollar")
    ureg.define("FLOP = [flop] = flop")
    return ureg


#: "35C", "35 F": a temperature written with a bare C or F, which pint reads as coulombs / farads.
_BARE_C_OR_F = re.compile(r"[-+]?[0-9.eE+-]+\s*[CF]")
_MONEY_RE = re.compile(r"\$\s*([0-9.eE+-]+)\s*([kKMB]?)\b")
_MONEY_SUFFIX = {"": "", "k": " * 1e3", "K": " * 1e3", "M": " * 1e6", "B": " * 1e9"}


def _normalise(text: str) -> str:
    """Rewrite the spellings users write into ones pint reads."""
    s = text.strip()
    s = s.replace("°C", " degC").replace("℃", " degC").replace("°F", " degF")
    # "$0.08/kWh" -> "(0.08 USD)/kWh"; "$3.1M" -> "(3.1 * 1e6 USD)"
    s = _MONEY_RE.sub(lambda m: f"({m.group(1)}{_MONEY_SUFFIX[m.group(2)]} USD)", s)
    s = s.replace("%", " percent")
    return s


def _dimension_name(q: pint.Quantity) -> str:
    dims = str(q.dimensionality)
    if q.dimensionless:
        return "dimensionless number"
    for kind, (unit, _) in KINDS.items():
        if q.dimensionality == _registry()(unit).dimensionality:
            return f"{kind} ({dims})" if dims != "dimensionless" else kind
    return dims


def parse(value: str | float | int, kind: str) -> float:
    """Parse a value with units into a float in the SI unit of ``kind``.

    Parameters
    ----------
    value : str or number
        Text such as ``"132 kW"``. A bare number is accepted only for ``fraction``.
    kind : str
        One of :data:`KINDS`.

    Returns
    -------
    float
        The value in the SI unit of ``kind`` (°C for temperatures).

    Raises
    ------
    UnitError
        If the text cannot be read, has no unit where one is needed, or has the wrong dimension.
    """
    if kind not in KINDS:
        raise UnitError(f"unknown quantity kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    unit, example = KINDS[kind]
    if isinstance(value, bool):
        raise UnitError(f"expected a {kind} such as '{example}', got {value!r}")
    if isinstance(value, int | float):
        if kind == "fraction":
            out = float(value)
            if not math.isfinite(out):
                raise UnitError(f"expected a finite {kind}, got {value!r}")
            return out
        raise UnitError(f"expected a {kind} with units such as '{example}', got the bare number {value!r}")
    if not isinstance(value, str):
        raise UnitError(f"expected a {kind} such as '{example}', got {type(value).__name__} "
                        f"{_short(value)}")
    _check_text(value, kind, example)
    ureg = _registry()
    try:
        q = ureg.Quantity(_normalise(value))
    except Exception as exc:  # pint raises several types for unreadable text
        raise UnitError(f"cannot read {value!r} as a {kind} (e.g. '{example}'): {exc}") from None
    if not isinstance(q, pint.Quantity):
        q = ureg.Quantity(q, "dimensionless")
    target = ureg(unit)
    if kind != "fraction" and q.unitless:
        raise UnitError(f"expected a {kind} with units such as '{example}', got {value!r}")
    if q.dimensionality != target.dimensionality:
        hint = ""
        if kind == "temperature" and _BARE_C_OR_F.fullmatch(value.strip()):
            hint = " (a bare C reads as coulombs, F as farads: write degC, °C, degF or K)"
        if kind in ("bandwidth", "data") and re.search(r"[kMGTP]?b(/s|ps)?\b", value.strip()):
            spell = "Gbit/s or Gbps for bits, GB/s" if kind == "bandwidth" else "kbit for bits, kB"
            hint = f" (a lower-case b reads as a barn or gilbert: write {spell} for bytes)"
        raise UnitError(
            f"expected a {kind} such as '{example}', got {value!r} which is a {_dimension_name(q)}{hint}"
        )
    out = float(q.to(unit).magnitude)
    if not math.isfinite(out):
        raise UnitError(f"expected a finite {kind}, got {value!r}")
    return out


#: Longest quantity text read ("2.5 PFLOP/s", "$0.086/kWh" are ~10 characters).
MAX_QUANTITY_CHARS = 80
_NUMBER = re.compile(r"(\d*\.?\d+)(?:[eE]([+-]?\d+))?")
_POWER = re.compile(r"(\*\*|\^)\s*(\(?\s*[-+]?\s*[\w.]+\)?)")


def _short(value: object, limit: int = 60) -> str:
    """``repr`` of a value cut to ``limit`` characters (long values are not echoed whole)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value)):,} characters)"


def _check_text(value: str, kind: str, example: str) -> None:
    """Refuse quantity text that would make pint compute for long (before pint reads it).

    At most :data:`MAX_QUANTITY_CHARS` characters; each number at most 20 digits with an exponent
    within ±300; powers (``**``, ``^``) only of units and only by a whole number up to 9
    (``m**3``), never of numbers (``10**10**10``).
    """
    if len(value) > MAX_QUANTITY_CHARS:
        raise UnitError(f"expected a {kind} such as '{example}', got text of {len(value):,} characters "
                        f"({_short(value)}); a quantity is at most {MAX_QUANTITY_CHARS}")
    for m in _NUMBER.finditer(value):
        digits = len(m.group(1).replace(".", ""))
        if digits > 20 or (m.group(2) is not None and abs(int(m.group(2))) > 300):
            raise UnitError(f"expected a {kind} such as '{example}', got the number {_short(m.group(0))} in "
                            f"{_short(value)}: at most 20 digits and exponents within e-300..e300")
    for m in _POWER.finditer(value):
        before = value[:m.start()].rstrip()
        exp = m.group(2).strip("() ").replace(" ", "")
        of_unit = bool(before) and (before[-1].isalpha() or before[-1] == "_")
        if not of_unit or not re.fullmatch(r"[-+]?[1-9]", exp):
            raise UnitError(f"expected a {kind} such as '{example}', got {_short(value)}: powers are taken "
                            "of units only, by a whole number up to 9 (m**3, s^-1)")


def format_si(value_si: float, unit: str, digits: int = 3) -> str:
    """Format an SI float for people: ``format_si(1.32e5, "W") -> '132 kW'``."""
    if value_si == 0 or not math.isfinite(value_si):
        return f"{value_si:g} {unit}"
    prefixes = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")]
    for scale, p in prefixes:
        if abs(value_si) >= scale:
            return f"{value_si / scale:.{digits}g} {p}{unit}"
    return f"{value_si:.{digits}g} {unit}"
