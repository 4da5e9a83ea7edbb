"""Schema of a hall's ``cooling:`` section and the site's design ``ambient:``.

A hall's liquid-cooled racks are grouped ``racks_per_group`` at a time (in row order) onto CDU
groups; the ``cdus_per_group`` CDUs of a group share one secondary header, so losing one CDU leaves
the others carrying the group (N+1 when one is spare). All CDUs of a hall sit on one facility-water
loop, pumped by ``pumps`` and cooled by dry coolers with optional adiabatic pads and trim chillers.
The air-cooled share of every rack goes to CRAHs on chilled water from the air-side chillers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin.layout.fields import Strict, qty

Temperature = qty("temperature", positive=False)


class UnitsRef(Strict):
    """``count`` identical units of a catalog model, in parallel."""

    model: str
    count: int = Field(ge=1)


class CduRule(Strict):
    model: str
    racks_per_group: int = Field(ge=1)
    cdus_per_group: int = Field(default=1, ge=1)


class FacilityWater(Strict):
    coolant: Literal["water", "pg25", "pg30", "eg25"] = "water"
    supply_temp: Temperature
    pumps: UnitsRef
    volume: qty("volume") = Field(default=50.0, description="water in the loop [m3]")


class AirSide(Strict):
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

    dry_bulb: Temperature
    relative_humidity: qty("fraction", positive=False) = 0.4
