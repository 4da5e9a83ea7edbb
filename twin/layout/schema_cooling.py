"""Schema of a hall's ``cooling:`` section and the site's design ``ambient:``.

A hall's liquid-cooled racks are grouped ``racks_per_group`` at a time (in row order) onto CDU
groups; the ``cdus_per_group`` CDUs of a group share one secondary header, so losing one CDU leaves
the others carrying the group (N+1 when one is spare). All CDUs of a hall sit on one facility-water
loop, pumped by ``pumps`` and cooled by dry coolers with optional adiabatic pads and trim chillers.
The air-cooled share of every rack goes to CRAHs on chilled water from the air-side chillers.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from twin.layout.fields import Strict, bounded, qty

#: Design ambient dry bulb accepted by layouts and ``--ambient`` [degC]: wider than any air
#: temperature recorded on Earth (-89.2 / +56.7 degC), inside the psychrometric model's range.
AMBIENT_DRY_BULB_RANGE_C = (-90.0, 80.0)


#: Lowest temperature at which each coolant is liquid [degC] (freezing point; the limit of
#: CoolProp's property model at 2 bar, which the thermal model uses: IAPWS-95 water, and the
#: incompressible MPG/MEG mass-fraction mixtures).
COOLANT_FREEZE_C: dict[str, float] = {"water": 0.0, "pg25": -9.7, "pg30": -12.7, "eg25": -10.9}


def _above_absolute_zero(v: float) -> float:
    if not v > -273.15:
        raise ValueError(f"{v:g} degC is at or below absolute zero (-273.15 degC)")
    return v


def check_ambient_c(v: float) -> float:
    """``v`` if it is a plausible ambient dry bulb, else ValueError saying the accepted range."""
    lo, hi = AMBIENT_DRY_BULB_RANGE_C
    if not lo <= v <= hi:
        raise ValueError(f"ambient dry bulb must be between {lo:g} degC and {hi:g} degC, got {v:g} degC")
    return v


def _humidity(v: float) -> float:
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"relative humidity must be between 0 % and 100 %, got {v * 100:g} %")
    return v


Temperature = Annotated[qty("temperature", positive=False), AfterValidator(_above_absolute_zero)]


class UnitsRef(Strict):
    """``count`` identical units of a catalog model, in parallel."""

    model: str
    count: bounded(1000, "the units of one kind a hall's plant may have")


class CduRule(Strict):
    """CDU model and the grouping of the hall's liquid-cooled racks: racks per group, CDUs per group."""

    model: str
    racks_per_group: bounded(10_000, "the racks one CDU group may cool")
    cdus_per_group: bounded(64, "the CDUs one group may have") = 1


class FacilityWater(Strict):
    """Facility water loop of one hall: coolant, supply temperature, pumps and loop volume."""

    coolant: Literal["water", "pg25", "pg30", "eg25"] = "water"
    supply_temp: Temperature
    pumps: UnitsRef
    volume: qty("volume") = Field(default=50.0, description="water in the loop [m3]")


class AirSide(Strict):
    """Air side of one hall: supply air temperature, CRAHs, and the chillers of their chilled water."""

    supply_temp: Temperature
    crahs: UnitsRef
    chillers: UnitsRef


class CoolingSpec(Strict):
    """Direct liquid cooling and air side of one hall."""

    tcs_coolant: Literal["water", "pg25", "pg30", "eg25"] = "pg25"
    rack_supply_temp: Temperature
    flow_per_power: qty("flow_per_power")
    cdu: CduRule
    facility_water: FacilityWater
    dry_coolers: UnitsRef
    adiabatic: bool = False
    trim_chillers: UnitsRef | None = None
    air: AirSide


class Ambient(Strict):
    """Design weather at the site."""

    dry_bulb: Annotated[qty("temperature", positive=False), AfterValidator(check_ambient_c)]
    relative_humidity: Annotated[qty("fraction", positive=False), AfterValidator(_humidity)] = 0.4
