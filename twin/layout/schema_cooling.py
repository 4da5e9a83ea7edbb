"""Schema of a hall's ``cooling:`` section and the site's design ``ambient:``.

A hall's liquid-cooled racks are grouped ``racks_per_group`` at a time (in row order) onto CDU
groups; the ``cdus_per_group`` CDUs of a group share one secondary header, so losing one CDU leaves
the others carrying the group (N+1 when one is spare). All CDUs of a hall sit on one facility-water
loop, pumped by ``pumps`` and cooled by dry coolers with optional adiabatic pads and trim chillers.
The air-cooled share of every rack goes to CRAHs on chilled water from the air-side chillers; the
losses of the power chain go to the electrical rooms' own CRAHs and chillers (``electrical_room:``)
or, without one, to the hall's air side; busway losses are always in the hall.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

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


#: A facility-water loop's volume: from a lab loop to a campus plant. [m3]
MIN_LOOP_VOLUME_M3, MAX_LOOP_VOLUME_M3 = 0.01, 100_000.0


class FacilityWater(Strict):
    """Facility water loop of one hall: coolant, supply temperature, pumps and loop volume."""

    coolant: Literal["water", "pg25", "pg30", "eg25"] = "water"
    supply_temp: Temperature
    pumps: UnitsRef
    volume: qty("volume") = Field(default=50.0, description="water in the loop [m3]")

    @field_validator("volume")
    @classmethod
    def _real_loop(cls, v: float) -> float:
        if not MIN_LOOP_VOLUME_M3 <= v <= MAX_LOOP_VOLUME_M3:
            raise ValueError(f"a facility-water loop holds {MIN_LOOP_VOLUME_M3 * 1e3:g} L to "
                             f"{MAX_LOOP_VOLUME_M3:,.0f} m**3, got {v:g} m**3 (its heat capacity sets the "
                             "transient's time step)")
        return v


class AirSide(Strict):
    """Air side of one hall: supply air temperature, CRAHs, and the chillers of their chilled water."""

    supply_temp: Temperature
    crahs: UnitsRef
    chillers: UnitsRef


class ElectricalRoom(Strict):
    """Air cooling of a hall's electrical rooms: the heat of its UPS and switchgear line-ups.

    ``transformers: indoor`` puts the transformers' losses in the room too; ``outdoor`` (default)
    has them in a yard, where liquid-immersed units shed their heat to the ambient air by natural
    convection (ONAN) with no cooling power.
    """

    supply_temp: Temperature
    crahs: UnitsRef
    chillers: UnitsRef
    transformers: Literal["outdoor", "indoor"] = "outdoor"


class CoolingSpec(Strict):
    """Direct liquid cooling and air side of one hall."""

    tcs_coolant: Literal["water", "pg25", "pg30", "eg25"] = "pg25"
    rack_supply_temp: Temperature
    flow_per_power: qty("flow_per_power")
    cdu: CduRule

    @field_validator("flow_per_power")
    @classmethod
    def _real_flow(cls, v: float) -> float:
        lpm_kw = v * 60e3 * 1e3  # m3/s/W -> L/min/kW
        if not 0.1 <= lpm_kw <= 20.0:
            raise ValueError(f"coolant flow of {lpm_kw:.3g} L/min/kW is outside 0.1-20 L/min/kW "
                             "(liquid-cooled racks are designed at ~1-2 L/min/kW)")
        return v
    facility_water: FacilityWater
    #: the heat rejection of the facility water: dry coolers (``adiabatic: true`` for their pads) or
    #: wet cooling towers, one of the two
    dry_coolers: UnitsRef | None = None
    cooling_towers: UnitsRef | None = None
    adiabatic: bool = False
    trim_chillers: UnitsRef | None = None
    air: AirSide
    #: absent: the electrical rooms' heat (UPS, switchgear) goes to the hall's air side
    electrical_room: ElectricalRoom | None = None

    @model_validator(mode="after")
    def _one_rejection(self) -> CoolingSpec:
        if (self.dry_coolers is None) == (self.cooling_towers is None):
            raise ValueError("give the facility water's heat rejection: either 'dry_coolers:' or "
                             "'cooling_towers:' (one of the two)")
        if self.adiabatic and self.cooling_towers is not None:
            raise ValueError("'adiabatic: true' is for dry coolers' pads; cooling towers are evaporative "
                             "already (remove 'adiabatic')")
        return self


class Ambient(Strict):
    """Design weather at the site."""

    dry_bulb: Annotated[qty("temperature", positive=False), AfterValidator(check_ambient_c)]
    relative_humidity: Annotated[qty("fraction", positive=False), AfterValidator(_humidity)] = 0.4
