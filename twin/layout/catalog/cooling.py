"""Catalog entries for cooling equipment: CDU, dry cooler, chiller, CRAH, pump."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from twin.layout.catalog.base import _Entry
from twin.layout.fields import Count, Fraction, PositivePower, Power, Strict, sourced

Temperature = sourced("temperature")
Flow = sourced("flow", positive=True)
DeltaT = sourced("temperature_difference", positive=True)


class SystemThermal(Strict):
    """How a system's GPUs are cooled and how hot they may run."""

    gpu_cooling: Literal["liquid", "air"]
    gpu_throttle_temp: sourced("temperature", positive=True)
    gpu_thermal_resistance: sourced("thermal_resistance", positive=True)
    gpu_heat_capacity: sourced("heat_capacity", positive=True)
    coolant_volume: sourced("volume")
    coolant_position: Fraction
    air_delta_t: DeltaT
    #: the liquid-cooling design rating the vendor's reference design sizes coolant flow on (flow =
    #: the hall's flow_per_power x this), per rack for rack-scale systems and per node for servers;
    #: absent: the system's nameplate (DC IT power at full load and TDP)
    design_power: sourced("power", positive=True) | None = None
    #: pressure drop of the rack's liquid path (manifolds, hoses, quick disconnects, cold plates) at
    #: its design flow; absent: the rack is left out of the CDU's hydraulic check
    pressure_drop: sourced("pressure", positive=True) | None = None


class CduEntry(_Entry):
    """A coolant distribution unit: liquid-to-liquid heat exchanger plus secondary (TCS) pumps.

    The rated point (``capacity`` at ``rated_approach`` with the rated flows) fixes the exchanger's
    conductance UA; other operating points follow from ε-NTU.
    """

    kind: Literal["cdu"]
    capacity: PositivePower
    rated_approach: DeltaT
    rated_secondary_flow: Flow
    rated_primary_flow: Flow
    pump_power: Power
    pumps: Count
    redundant_pumps: Count
    secondary_volume: sourced("volume", positive=True)
    #: the secondary pumps' curve: pressure rise of the duty pumps at the rated secondary flow and at
    #: no flow, and the CDU's own drop (exchanger, strainer) at rated flow; all three or none (then
    #: flow is limited by the pumps' rated flow only, without a hydraulic check)
    rated_head: sourced("pressure", positive=True) | None = None
    shutoff_head: sourced("pressure", positive=True) | None = None
    internal_pressure_drop: sourced("pressure", positive=True) | None = None

    @model_validator(mode="after")
    def _pumps(self) -> CduEntry:
        if self.redundant_pumps.si >= self.pumps.si:
            raise ValueError("redundant_pumps must be fewer than pumps")
        curve = (self.rated_head, self.shutoff_head, self.internal_pressure_drop)
        if any(c is not None for c in curve) and any(c is None for c in curve):
            raise ValueError("give all of rated_head, shutoff_head and internal_pressure_drop, or none")
        if self.rated_head is not None:
            if not self.shutoff_head.si > self.rated_head.si:
                raise ValueError("shutoff_head must be above rated_head (a pump's head falls as flow rises)")
            if not self.internal_pressure_drop.si < self.rated_head.si:
                raise ValueError("internal_pressure_drop must be below rated_head (else nothing is left "
                                 "for the racks)")
        return self


class DryCoolerEntry(_Entry):
    """An air-cooled fluid cooler (dry cooler), optionally with adiabatic pre-cooling pads."""

    kind: Literal["dry_cooler"]
    capacity: PositivePower
    rated_itd: DeltaT
    rated_water_flow: Flow
    rated_air_flow: Flow
    fan_power: Power
    min_fan_speed: Fraction
    adiabatic_effectiveness: Fraction
    #: water the pads draw per unit evaporated (once-through pads drain the rest); absent: 1
    pad_water_per_evaporated: sourced("fraction", positive=True) | None = None

    @model_validator(mode="after")
    def _rating_possible(self) -> DryCoolerEntry:
        # effectiveness at the rated point with water (4,180 J/(kg K), 990 kg/m3) and air
        # (1,006 J/(kg K), 1.16 kg/m3): it must stay below 1 or no exchanger can reach the rating
        c_w = self.rated_water_flow.si * 990.0 * 4180.0
        c_a = self.rated_air_flow.si * 1.16 * 1006.0
        eps = self.capacity.si / (min(c_w, c_a) * self.rated_itd.si)
        if eps >= 0.98:
            raise ValueError(
                f"capacity {self.capacity.value} at rated_itd {self.rated_itd.value} needs an exchanger "
                f"effectiveness of {eps:.2f} with the rated flows: impossible; raise the flows or the ITD"
            )
        return self


class CoolingTowerEntry(_Entry):
    """A wet cooling tower (open or closed-circuit) rated at a wet bulb, approach and range.

    Open: the facility water itself is sprayed; closed-circuit: the loop's fluid in a coil, a
    spray-water circuit outside it.

    The rated point fixes the tower's enthalpy-based conductance UA (:mod:`twin.thermal.tower`);
    the water flow follows from capacity and range, the air flow from ``air_to_water_ratio``.
    """

    kind: Literal["cooling_tower"]
    circuit: Literal["open", "closed"]
    capacity: PositivePower
    rated_wet_bulb: Temperature
    rated_approach: DeltaT  # leaving water minus entering wet bulb at rated duty
    rated_range: DeltaT  # entering minus leaving water at rated duty
    air_to_water_ratio: sourced("fraction", positive=True)  # dry-air mass flow / water mass flow, rated
    fan_power: Power
    min_fan_speed: Fraction
    drift: Fraction  # share of the circulated water carried off as droplets
    cycles_of_concentration: sourced("fraction", positive=True)

    @model_validator(mode="after")
    def _rating_possible(self) -> CoolingTowerEntry:
        if not self.cycles_of_concentration.si > 1.0:
            raise ValueError("cycles_of_concentration must be above 1 "
                             "(blowdown = evaporation / (cycles - 1))")
        if not self.rated_range.si > 0 or not self.rated_approach.si > 0:
            raise ValueError("rated_approach and rated_range must be above 0 K")
        return self


class PartLoadCurve(Strict):
    """Electric input ratio at part load: EIR(PLR) = a + b PLR + c PLR², 1 at full load.

    The DOE-2 / EnergyPlus ``EIRFPLR`` form: power at part-load ratio PLR = full-load power at the
    same temperatures x EIR(PLR), so COP(PLR) = COP_full x PLR / EIR(PLR).
    """

    coefficients: tuple[float, float, float]
    source: str | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _check(self) -> PartLoadCurve:
        if bool(self.source) == bool(self.assumption):
            raise ValueError("needs exactly one of 'source:' or 'assumption:'")
        a, b, c = self.coefficients
        if abs(a + b + c - 1.0) > 0.01:
            raise ValueError(f"coefficients: EIR(1) = a + b + c must be 1 (full load), got {a + b + c:.4f}")
        if any(a + b * x + c * x * x <= 0 for x in (0.0, 0.1, 0.25, 0.5)):
            raise ValueError("coefficients: EIR(PLR) must stay positive from 0 to full load")
        return self


class ChillerEntry(_Entry):
    """A chiller (trim chiller, or the chilled-water plant of an air side or electrical room).

    ``condenser: air`` rejects to the outdoor air (``rated_ambient_temp`` is the entering air);
    ``water`` to condenser water from the loop's heat rejection (``rated_ambient_temp`` is the
    entering condenser water, AHRI 550/590: 29.4 degC). ``part_load`` is its EIR(PLR) curve
    (absent: the full-load COP at every load).
    """

    kind: Literal["chiller"]
    capacity: PositivePower
    rated_cop: sourced("fraction", positive=True)
    rated_chilled_water_temp: Temperature
    rated_ambient_temp: Temperature
    condenser_approach: DeltaT
    condenser: Literal["air", "water"] = "air"
    part_load: PartLoadCurve | None = None


class CrahEntry(_Entry):
    """A computer-room air handler / fan wall on chilled water."""

    kind: Literal["crah"]
    capacity: PositivePower
    fan_power: Power


class PumpEntry(_Entry):
    """A facility-water pump; power scales with flow cubed (affinity laws) below its rated flow."""

    kind: Literal["pump"]
    rated_flow: Flow
    rated_power: PositivePower
