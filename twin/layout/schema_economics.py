"""Schema of the ``economics:`` section of a layout or a scenario: the price list and its overrides."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from twin.errors import InputError, Problem
from twin.factory import EconomicsPlan, Where
from twin.inputs import MAX_CSV_BYTES, read_text
from twin.layout.fields import Strict, qty
from twin.layout.problems import did_you_mean
from twin.units import parse


class EconomicsSpec(Strict):
    """The price list a scenario uses (``prices:``, a bundled name or a file) and prices it overrides."""

    prices: str | None = None
    #: "$0.05/kWh" (a flat price), or "time_of_use" (the list's tariff, with demand and capacity charges)
    energy: str | None = None
    demand_charge: qty("price_per_power_time", positive=False) | None = None
    capacity_charge: qty("price_per_power_time", positive=False) | None = None
    water: qty("price_per_volume", positive=False) | None = None
    wacc: qty("fraction", positive=False) | None = None
    staff: qty("price_per_power_time", positive=False) | None = None
    #: facility capex per MW of critical load in all ("$11.7M/MW"): the list's split is kept
    facility: qty("price_per_power") | None = None
    life: dict[Literal["it", "fabric", "power_cooling", "building"], qty("time")] = Field(
        default_factory=dict)
    systems: dict[str, qty("money")] = Field(default_factory=dict)
    #: an hourly price series: a CSV ``hour,usd_per_mwh`` from the run's start (hour 0), e.g. an
    #: ISO's locational marginal prices; replaces the flat price and the tariff
    energy_prices: str | None = None
    #: paid per MWh a demand-response event takes off the meter (against the run without events)
    demand_response_payment: qty("price_per_energy", positive=False) | None = None
    maintenance: qty("fraction", positive=False) | None = None  # of power/cooling and building capex a year
    it_maintenance: qty("fraction", positive=False) | None = None  # of IT and fabric capex a year
    insurance: qty("fraction", positive=False) | None = None  # of all capex a year
    property_tax: qty("fraction", positive=False) | None = None
    residual_value: dict[Literal["it", "fabric", "power_cooling", "building"],
                         qty("fraction", positive=False)] = Field(default_factory=dict)
    equipment: dict[str, qty("money")] = Field(default_factory=dict)  # unit prices by catalog name
    #: share of the time the factory serves (planned and unplanned downtime); scales the tokens
    uptime: qty("fraction", positive=False) | None = None

    @field_validator("energy")
    @classmethod
    def _energy(cls, v: str | None) -> str | None:
        if v is None or v.strip() in ("flat", "time_of_use"):
            return v
        from twin.units import parse

        try:
            parse(v, "price_per_energy")
        except Exception as exc:  # UnitError
            raise ValueError(f"expected a price such as '$0.05/kWh', or 'flat' / 'time_of_use': {exc}"
                             ) from None
        return v

    @field_validator("wacc", "maintenance", "it_maintenance", "insurance", "property_tax", "uptime")
    @classmethod
    def _share(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 <= v <= 1.0:
            raise ValueError(f"must be between 0 and 1 (0 % and 100 %), got {v:g} ({v:.0%})")
        return v


def resolve_economics(e: EconomicsSpec, system_names: Sequence[str], add: Callable[[tuple, str], None],
                      where: Callable[[tuple], Where], base: Path | None = None,
                      problems: list | None = None) -> EconomicsPlan:
    """The record of an ``economics:`` section; ``add(loc, message)`` reports what the layout contradicts.

    ``base`` is the folder of the file (for ``energy_prices``); problems inside that CSV are appended
    to ``problems`` with its own file:line.
    """
    for name in e.systems:
        if name not in system_names:
            add(("economics", "systems", name), f"no system {name!r} in the layout"
                f"{did_you_mean(name, list(system_names))}; its systems: {', '.join(system_names)}")
    tariff, energy = None, None
    if e.energy is not None:
        if e.energy.strip() in ("flat", "time_of_use"):
            tariff = e.energy.strip()
        else:
            tariff, energy = "flat", parse(e.energy, "price_per_energy")
    hourly = None
    if e.energy_prices is not None:
        file = Path(e.energy_prices) if base is None else base / e.energy_prices
        hourly = read_price_series(file, add, problems if problems is not None else [])
    return EconomicsPlan(prices=e.prices, tariff=tariff, energy_usd_per_j=energy, hourly_usd_per_j=hourly,
                         dr_payment_usd_per_j=e.demand_response_payment,
                         demand_usd_per_w_s=e.demand_charge, capacity_usd_per_w_s=e.capacity_charge,
                         water_usd_per_m3=e.water, wacc=e.wacc, staff_usd_per_w_s=e.staff,
                         facility_usd_per_w=e.facility, life_s=dict(e.life), system_usd=dict(e.systems),
                         maintenance_share=e.maintenance, it_maintenance_share=e.it_maintenance,
                         insurance_share=e.insurance, property_tax_share=e.property_tax,
                         residual_share=dict(e.residual_value), equipment_usd=dict(e.equipment),
                         uptime=e.uptime,
                         where=where(("economics",)))


def read_price_series(file: Path, add: Callable[[tuple, str], None], problems: list) -> tuple | None:
    """Hourly energy prices from a CSV ``hour,usd_per_mwh`` (hours 0, 1, 2, ... one by one). [USD/J]

    Negative prices are allowed (markets have them). Problems: a missing file (at the section's
    ``energy_prices``), a bad header, a row that is not two numbers, a gap (with the CSV's line).
    """
    if not file.exists():
        add(("economics", "energy_prices"), f"price series not found: {file}")
        return None
    try:
        lines = read_text(file, max_bytes=MAX_CSV_BYTES, what="an hourly price CSV").splitlines()
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    name = str(file)
    header = [h.strip() for h in lines[0].split(",")] if lines else []
    if header[:2] != ["hour", "usd_per_mwh"]:
        got = ",".join(header) or "an empty file"
        problems.append(Problem(name, 1, "header", f"expected columns hour,usd_per_mwh; got {got}"))
        return None
    hours, prices = [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = [x.strip() for x in line.split(",")]
        try:
            h, p = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            problems.append(Problem(name, n, "", f"expected an hour and a price in $/MWh; got {line!r}"))
            return None
        if not (np.isfinite(h) and np.isfinite(p)) or h != len(hours):
            what = (f"hour {len(hours)} expected (hours from 0, one by one), got {h:g}" if np.isfinite(h)
                    else "not a finite number")
            problems.append(Problem(name, n, "hour" if np.isfinite(p) else "usd_per_mwh", what))
            return None
        hours.append(h)
        prices.append(p / 3.6e9)
    if not prices:
        problems.append(Problem(name, 2, "", "no rows: give one price per hour of the run"))
        return None
    return tuple(prices)
