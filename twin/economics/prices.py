"""Price lists (``models/prices/*.yaml``, ``kind: prices``): every price with its source and date.

A price list is read like a catalog file: every problem at once, with file:line, the field and
what was expected (:class:`~twin.errors.InputError`). A figure needs exactly one of ``source:``
(where it comes from) or ``assumption:`` (why it was chosen) and a ``date:`` (``YYYY-MM`` or
``YYYY-MM-DD``, when the price was published or observed); prices older than
:data:`STALE_MONTHS` months are reported by :func:`stale_prices` (a warning, not an error: an old
price is still a price). Values carry units, read with pint (:mod:`twin.units`): ``"$3.1M"``,
``"$0.086/kWh"``, ``"$6.2M/MW"``, ``"$15/kW/month"``, ``"$329.17/MW/day"``, ``"$1.02/m**3"``,
``"8 %"``, ``"5.5 year"`` (a month is 1/12 of a 365.25-day year). Inside, everything is SI: USD,
USD/J, USD/W, USD/(W s), USD/m³, seconds, fractions.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from twin.errors import InputError, Problem, UnitError
from twin.layout.fields import Strict
from twin.layout.problems import did_you_mean, validate_marked
from twin.layout.yamlio import line_of, load_mapping
from twin.units import parse

#: The bundled price lists.
PRICES_DIR = Path(__file__).resolve().parents[2] / "models" / "prices"
#: The price list used when none is named.
DEFAULT_PRICES = "us-2026"
#: A price older than this many months is reported as stale.
STALE_MONTHS = 18
#: Asset classes, each with its own life (finance).
ASSET_CLASSES = ("it", "fabric", "power_cooling", "building")
#: Facility capex components per MW of critical IT load (Cushman & Wakefield's split).
FACILITY_COMPONENTS = ("critical_power_cooling", "shell", "site", "fit_out", "back_of_house", "office")

_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def _date(text: str) -> _dt.date:
    m = _DATE.match(text.strip())
    if not m:
        raise ValueError(f"expected YYYY-MM or YYYY-MM-DD, got {text!r}")
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    try:
        return _dt.date(y, mo, d)
    except ValueError as exc:
        raise ValueError(f"not a calendar date: {text!r} ({exc})") from None


class Dated(Strict):
    """Provenance of a price: exactly one of ``source:`` / ``assumption:``, and a ``date:``."""

    source: str | None = None
    assumption: str | None = None
    date: str

    @model_validator(mode="after")
    def _provenance(self) -> Dated:
        if bool(self.source and self.source.strip()) == bool(self.assumption and self.assumption.strip()):
            raise ValueError("every price needs exactly one of 'source:' (where it comes from) or "
                             "'assumption:' (why it was chosen)")
        _date(self.date)
        return self

    @property
    def when(self) -> _dt.date:
        """The price's date (the first of the month when only a month is given)."""
        return _date(self.date)


class Figure(Dated):
    """A dated, sourced price value (its unit kind set by the field it sits in)."""

    value: str | float | int
    per: str | None = None
    includes: str | None = None
    applies_to: list[Literal["it", "fabric", "power_cooling", "building"]] | None = None
    _si: float = PrivateAttr(default=float("nan"))

    @property
    def si(self) -> float:
        """The value in SI units (USD, USD/J, USD/W, ...)."""
        return self._si


def _kind(kind: str):
    def check(f: Figure) -> Figure:
        try:
            f._si = parse(f.value, kind)
        except UnitError as exc:
            raise ValueError(f"value: {exc}") from None
        if not f._si >= 0:
            raise ValueError(f"value: must not be negative, got {f.value!r}")
        return f

    return check


def fig(kind: str):
    """Annotated type of a price figure of the given unit kind."""
    return Annotated[Figure, AfterValidator(_kind(kind))]


class SystemPrice(Figure):
    """Purchase price of one unit of a catalog system: a rack (NVL72) or a node (HGX server)."""

    per: Literal["rack", "node"]


class TouPeriod(Strict):
    """Hours of the day (0-23, local) at one energy price."""

    hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(min_length=1)
    price: str


class TimeOfUse(Dated):
    """A time-of-use energy tariff: every hour of the day in exactly one period."""

    periods: list[TouPeriod] = Field(min_length=1)
    _si: tuple[float, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _every_hour_once(self) -> TimeOfUse:
        seen: dict[int, int] = {}
        for i, p in enumerate(self.periods):
            for h in p.hours:
                if h in seen:
                    raise ValueError(f"hour {h} is in periods {seen[h]} and {i}; each hour belongs to one "
                                     "period")
                seen[h] = i
        missing = sorted(set(range(24)) - set(seen))
        if missing:
            raise ValueError(f"hours {missing} are in no period; give a price for every hour 0-23")
        by_hour = [0.0] * 24
        for p in self.periods:
            try:
                v = parse(p.price, "price_per_energy")
            except UnitError as exc:
                raise ValueError(f"price: {exc}") from None
            for h in p.hours:
                by_hour[h] = v
        self._si = tuple(by_hour)
        return self

    @property
    def hourly_usd_per_j(self) -> tuple[float, ...]:
        """Energy price at each hour of the day 0-23. [USD/J]"""
        return self._si


class EnergyPrices(Strict):
    """Energy: a flat price and, optionally, a time-of-use tariff."""

    flat: fig("price_per_energy")
    time_of_use: TimeOfUse | None = None


class Operations(Strict):
    """Yearly operating costs: shares of capex per year, and staff per MW."""

    maintenance: fig("fraction")
    it_maintenance: fig("fraction")
    staff: fig("price_per_power_time")
    insurance: fig("fraction")
    property_tax: fig("fraction")


class Finance(Strict):
    """Cost of capital, life of each asset class, residual value where given."""

    wacc: fig("fraction")
    life: dict[Literal["it", "fabric", "power_cooling", "building"], fig("time")]
    residual_value: dict[Literal["it", "fabric", "power_cooling", "building"], fig("fraction")] = Field(
        default_factory=dict)

    @model_validator(mode="after")
    def _every_class(self) -> Finance:
        missing = [c for c in ASSET_CLASSES if c not in self.life]
        if missing:
            raise ValueError(f"life: give the life of every asset class; missing {', '.join(missing)}")
        if any(not f.si > 0 for f in self.life.values()):
            raise ValueError("life: every life must be greater than zero")
        return self


class Rental(Dated):
    """Published rental (or TCO) prices per GPU-hour of a system's GPU: a band for a sanity check."""

    low: str
    high: str
    per: Literal["gpu"] = "gpu"


class TokenPrice(Dated):
    """A published API price per million input and output tokens."""

    input: str
    output: str
    per: Literal["million_tokens"] = "million_tokens"
    provider: str | None = None


class PriceListSpec(Strict):
    """A price list file."""

    kind: Literal["prices"]
    name: str = Field(min_length=1)
    description: str = ""
    currency: Literal["USD"] = "USD"
    systems: dict[str, Annotated[SystemPrice, AfterValidator(_kind("money"))]]
    equipment: dict[str, fig("money")] = Field(default_factory=dict)
    facility: dict[Literal["critical_power_cooling", "shell", "site", "fit_out", "back_of_house", "office"],
                   fig("price_per_power")]
    energy: EnergyPrices
    demand_charge: fig("price_per_power_time")
    capacity_charge: fig("price_per_power_time")
    water: fig("price_per_volume")
    operations: Operations
    finance: Finance
    rental_reference: dict[str, Rental] = Field(default_factory=dict)
    token_prices: dict[str, TokenPrice] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_component(self) -> PriceListSpec:
        missing = [c for c in FACILITY_COMPONENTS if c not in self.facility]
        if missing:
            raise ValueError(f"facility: give every component per MW; missing {', '.join(missing)}")
        return self


@dataclass(frozen=True)
class Prices:
    """A price list in SI units (see the module notes); ``dated`` holds each figure's date and place."""

    name: str
    file: str
    system_usd: dict[str, tuple[float, str]]  # system -> (price, "rack" | "node")
    equipment_usd: dict[str, float]  # catalog equipment file name (e.g. switch-sn5600) -> unit price
    facility_usd_per_w: dict[str, float]  # component -> USD per W of critical IT load
    energy_usd_per_j: float  # flat
    tou_usd_per_j: tuple[float, ...] | None  # price at each hour of the day, if a tariff is given
    demand_usd_per_w_s: float  # demand charge per W of the month's peak, per second of the month
    capacity_usd_per_w_s: float  # capacity charge per W of peak, per second
    water_usd_per_m3: float
    maintenance_share: float  # of power/cooling and building capex, per year
    it_maintenance_share: float  # of IT and fabric capex, per year
    staff_usd_per_w_s: float  # per W of critical IT load, per second
    insurance_share: float  # of all capex, per year
    property_tax_share: float
    wacc: float
    life_s: dict[str, float]  # asset class -> life
    residual_share: dict[str, float]  # asset class -> share of its price left at the end of its life
    rental_usd_per_gpu_s: dict[str, tuple[float, float]]  # system -> (low, high)
    token_usd: dict[str, tuple[float, float]]  # model -> (per input token, per output token)
    dated: tuple[tuple[str, _dt.date, int | None], ...] = field(default=())  # (field, date, line)
    #: "flat": energy at the flat price only (it already holds demand and capacity charges);
    #: "time_of_use": the tariff plus demand and capacity charges
    tariff: str = "flat"
    #: bill the demand and capacity charges with a flat price too (a scenario that gives them)
    charges_demand: bool = False
    #: energy price at each hour from the run's start (a scenario's series; replaces flat and tariff)
    hourly_usd_per_j: tuple[float, ...] | None = None
    #: paid per J that demand response (the run's events and policies) takes off the meter
    dr_payment_usd_per_j: float | None = None
    #: share of the time the factory serves: the tokens of a run are taken at this share
    uptime: float = 1.0


def resolve_prices_path(name_or_path: str | Path | None, base: Path | None = None) -> Path:
    """The file of a price list: a bundled name (``us-2026``), or a path (relative to ``base``)."""
    if name_or_path is None:
        return PRICES_DIR / f"{DEFAULT_PRICES}.yaml"
    text = str(name_or_path)
    if "/" not in text and not text.endswith((".yaml", ".yml")):
        return PRICES_DIR / f"{text}.yaml"
    p = Path(text)
    return p if p.is_absolute() or base is None else base / p


def bundled_names() -> list[str]:
    """Names of the bundled price lists."""
    return sorted(p.stem for p in PRICES_DIR.glob("*.yaml"))


def load_prices(name_or_path: str | Path | None = None, base: Path | None = None) -> Prices:
    """Read and check a price list (see the module notes).

    Raises
    ------
    InputError
        Every problem of the file, with file:line; or the name of a price list that does not exist.
    """
    path = resolve_prices_path(name_or_path, base)
    if not path.exists():
        names = bundled_names()
        hint = did_you_mean(str(name_or_path), names) if name_or_path is not None else ""
        raise InputError([Problem(str(path), None, "prices", f"price list not found{hint}; bundled price "
                                  f"lists: {', '.join(names)} (or give a file path)")])
    data, display = load_mapping(path, "'kind: prices' and the price sections")
    spec = validate_marked(PriceListSpec, data, display)
    return _records(spec, data, display)


def _parse_field(text: str, kind: str, where: str) -> float:
    try:
        return parse(text, kind)
    except UnitError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _records(spec: PriceListSpec, data: Any, file: str) -> Prices:
    dated: list[tuple[str, _dt.date, int | None]] = []
    problems: list[Problem] = []

    def note(path: tuple, item: Dated) -> None:
        dated.append((".".join(str(p) for p in path), item.when, line_of(data, path)))

    for k, v in spec.systems.items():
        note(("systems", k), v)
    for k, v in spec.equipment.items():
        note(("equipment", k), v)
    for k, v in spec.facility.items():
        note(("facility", k), v)
    note(("energy", "flat"), spec.energy.flat)
    if spec.energy.time_of_use is not None:
        note(("energy", "time_of_use"), spec.energy.time_of_use)
    for k in ("demand_charge", "capacity_charge", "water"):
        note((k,), getattr(spec, k))
    for k in ("maintenance", "it_maintenance", "staff", "insurance", "property_tax"):
        note(("operations", k), getattr(spec.operations, k))
    note(("finance", "wacc"), spec.finance.wacc)
    for k, v in spec.finance.life.items():
        note(("finance", "life", k), v)
    rentals: dict[str, tuple[float, float]] = {}
    for k, v in spec.rental_reference.items():
        note(("rental_reference", k), v)
        try:
            rentals[k] = (_parse_field(v.low, "price_per_time", "low"),
                          _parse_field(v.high, "price_per_time", "high"))
        except ValueError as exc:
            problems.append(Problem(file, line_of(data, ("rental_reference", k)), f"rental_reference.{k}",
                                    str(exc)))
    tokens: dict[str, tuple[float, float]] = {}
    for k, v in spec.token_prices.items():
        note(("token_prices", k), v)
        try:
            tokens[k] = (_parse_field(v.input, "money", "input") / 1e6,
                         _parse_field(v.output, "money", "output") / 1e6)
        except ValueError as exc:
            problems.append(Problem(file, line_of(data, ("token_prices", k)), f"token_prices.{k}", str(exc)))
    if problems:
        raise InputError(problems)
    fin = spec.finance
    ops = spec.operations
    return Prices(
        name=spec.name, file=file,
        system_usd={k: (v.si, v.per) for k, v in spec.systems.items()},
        equipment_usd={k: v.si for k, v in spec.equipment.items()},
        facility_usd_per_w={k: v.si for k, v in spec.facility.items()},
        energy_usd_per_j=spec.energy.flat.si,
        tou_usd_per_j=(spec.energy.time_of_use.hourly_usd_per_j if spec.energy.time_of_use is not None
                       else None),
        demand_usd_per_w_s=spec.demand_charge.si, capacity_usd_per_w_s=spec.capacity_charge.si,
        water_usd_per_m3=spec.water.si,
        maintenance_share=ops.maintenance.si, it_maintenance_share=ops.it_maintenance.si,
        staff_usd_per_w_s=ops.staff.si, insurance_share=ops.insurance.si,
        property_tax_share=ops.property_tax.si, wacc=fin.wacc.si,
        life_s={k: v.si for k, v in fin.life.items()},
        residual_share={c: (fin.residual_value[c].si if c in fin.residual_value else 0.0)
                        for c in ASSET_CLASSES},
        rental_usd_per_gpu_s=rentals, token_usd=tokens, dated=tuple(dated))


def stale_prices(prices: Prices, today: _dt.date | None = None, months: int = STALE_MONTHS) -> list[Problem]:
    """Warnings for the prices dated more than ``months`` months before ``today`` (default: today)."""
    today = today or _dt.date.today()
    out = []
    for path, when, line in prices.dated:
        age = (today.year - when.year) * 12 + (today.month - when.month)
        if age > months:
            out.append(Problem(prices.file, line, path, f"price dated {when:%Y-%m} is {age} months old (more "
                               f"than {months}): check it against a newer source"))
    return out


def apply_overrides(prices: Prices, plan) -> Prices:
    """``prices`` with a scenario's ``economics:`` overrides (:class:`twin.scenario.EconomicsPlan`).

    A flat ``energy`` price replaces the list's; ``energy: time_of_use`` bills by the list's tariff
    and adds its demand and capacity charges; a ``demand_charge`` or ``capacity_charge`` given here
    is billed with any tariff. ``facility`` scales the list's per-MW split to the given total.

    Raises
    ------
    InputError
        ``time_of_use`` with a list that has no tariff; a system price for a system the list does
        not price per rack or node.
    """
    import dataclasses

    if plan is None:
        return prices
    where = plan.where
    file, line = (where.file, where.line) if where is not None else (prices.file, None)
    ch: dict[str, Any] = {}
    if plan.tariff == "time_of_use" and prices.tou_usd_per_j is None:
        raise InputError([Problem(file, line, "economics.energy", f"price list {prices.name!r} has no "
                                  "time-of-use tariff (energy: time_of_use:); give a flat price instead")])
    if plan.tariff is not None:
        ch["tariff"] = plan.tariff
    if plan.energy_usd_per_j is not None:
        ch["energy_usd_per_j"] = plan.energy_usd_per_j
    for key in ("demand_usd_per_w_s", "capacity_usd_per_w_s"):
        v = getattr(plan, key)
        if v is not None:
            ch[key] = v
            ch["charges_demand"] = True
    for key in ("water_usd_per_m3", "wacc", "staff_usd_per_w_s", "hourly_usd_per_j", "dr_payment_usd_per_j",
                "maintenance_share", "it_maintenance_share", "insurance_share", "property_tax_share",
                "uptime"):
        v = getattr(plan, key)
        if v is not None:
            ch[key] = v
    if plan.facility_usd_per_w is not None:
        total = sum(prices.facility_usd_per_w.values())
        scale = plan.facility_usd_per_w / total
        ch["facility_usd_per_w"] = {k: v * scale for k, v in prices.facility_usd_per_w.items()}
    if plan.life_s:
        ch["life_s"] = {**prices.life_s, **plan.life_s}
    if plan.residual_share:
        ch["residual_share"] = {**prices.residual_share, **plan.residual_share}
    if plan.equipment_usd:
        ch["equipment_usd"] = {**prices.equipment_usd, **plan.equipment_usd}
    if plan.system_usd:
        systems = dict(prices.system_usd)
        for name, usd in plan.system_usd.items():
            per = systems.get(name, (0.0, "rack" if name.endswith("nvl72") else "node"))[1]
            systems[name] = (usd, per)
        ch["system_usd"] = systems
    return dataclasses.replace(prices, **ch)
