"""Schema of scenario files (``scenarios/*.yaml``): a layout plus what runs on it, weather, policies, events.

A scenario names its layout (relative to the scenario file) and adds:

- ``run``: duration, physics step, serving epoch, the time of day at t = 0, the serving fidelity;
- ``deployments``: a model on racks chosen by a selector (hall, row, rack-name glob, count), with its
  parallelism, batch limits, workload (mean rate, shape over the day, request lengths) and SLA;
- ``weather``: a design day, an hourly CSV file, or a typical-year file (TMY3/EPW, read with pvlib);
- ``policies``: power caps per rack / hall / site, GPU power smoothing, the thermal-throttle curve;
- ``events``: trips and restores, setpoint changes, load steps, a training job, a demand-response event.

Times are written with units (``14 h``, ``90 s``) from the start of the run, or as a time of day
``"14:00"`` (then measured from the run's ``start``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from twin.layout.fields import Strict, qty
from twin.layout.schema_cooling import Temperature, check_ambient_c
from twin.layout.schema_economics import EconomicsSpec
from twin.units import UnitError, parse


def _fraction(v: float) -> float:
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"must be between 0 and 1 (0 % and 100 %), got {v:g} ({v * 100:g} %)")
    return v


def sexagesimal_hint(value: object) -> str:
    """For an integer that YAML may have read from an unquoted ``HH:MM``: how to write it; else ''."""
    if isinstance(value, int) and not isinstance(value, bool) and 60 <= value < 1440:
        h, m = divmod(value, 60)
        return (f"; YAML reads an unquoted {h}:{m:02d} as the number {value} (minutes): "
                f"write the time of day in quotes, '{h:02d}:{m:02d}'")
    return ""


def hour_of_day(text: str) -> float:
    """The hour of a checked ``HH:MM`` time of day (a :data:`TimeOfDay`)."""
    h, m = (int(x) for x in text.strip().split(":"))
    return h + m / 60.0


def time_from_start(value: str | int | float, start_hour: float, day: str = "a time of day") -> float:
    """Seconds from a run's start of ``value``: a time with units (``14 h``), or a time of day ``HH:MM``.

    A time of day is the first one at or after the start, which is at ``start_hour`` (hour of day);
    ``day`` names it in messages (``"a UTC time of day"``). Raises ``ValueError`` saying what was
    expected; the caller checks the range.
    """
    text = str(value).strip()
    if isinstance(value, str) and ":" in text:
        try:
            h, m = (int(x) for x in text.split(":"))
            if not (0 <= h <= 23 and 0 <= m <= 59):
                raise ValueError
        except ValueError:
            msg = f"expected a time such as '14 h' or {day} such as '14:00', got {value!r}"
            raise ValueError(msg) from None
        return ((h + m / 60.0 - start_hour) % 24.0) * 3600.0
    try:
        return parse(value, "time")
    except UnitError as exc:
        raise ValueError(f"{exc} (or {day} such as '14:00'){sexagesimal_hint(value)}") from None


def _time_of_day(v: object) -> object:
    if not isinstance(v, str) or not re.fullmatch(r"\s*([01]?\d|2[0-3]):[0-5]\d\s*", v):
        raise ValueError(f"expected a time of day from '00:00' to '23:59' such as '14:00', got {v!r}"
                         + sexagesimal_hint(v))
    return v


Fraction = Annotated[qty("fraction", positive=False), AfterValidator(_fraction)]
Seconds = qty("time")
TimeOfDay = Annotated[str, BeforeValidator(_time_of_day)]


class RunSpec(Strict):
    """How long and how finely to simulate."""

    duration: Seconds
    physics_step: Seconds = 1.0
    serving_epoch: Seconds = 10.0
    start: TimeOfDay = "00:00"
    serving: Literal["fluid", "discrete"] = "fluid"
    seed: int = Field(default=0, ge=0)
    #: transient: the time loop at the physics step; annual: hourly quasi-steady points over the weather
    mode: Literal["transient", "annual"] = "transient"


class RackSelector(Strict):
    """Racks chosen by hall, row and rack-name glob, at most ``count``.

    All are optional; all given must match.
    """

    hall: str | None = None
    row: str | None = None
    name: str | None = None
    count: int | None = Field(default=None, ge=1)


class WorkloadSpec(Strict):
    """A deployment's arrivals: mean rate (requests/s), shape over time, request lengths."""

    rate: float | None = Field(default=None, gt=0, description="mean arrival rate of the deployment [req/s]")
    profile: str = "constant"
    hourly: list[Annotated[float, Field(ge=0)]] | None = Field(default=None, min_length=24, max_length=24)
    input_tokens: str | int = 2048
    output_tokens: str | int = 256
    #: a CSV of requests (arrival_s,input_tokens,output_tokens), relative to the scenario, instead of a rate
    trace: str | None = None

    @model_validator(mode="after")
    def _rate_or_trace(self) -> WorkloadSpec:
        if (self.rate is None) == (self.trace is None):
            raise ValueError("give exactly one of 'rate' (requests/s, with 'profile', 'hourly' and lengths) "
                             "or 'trace' (a CSV of requests: arrival_s,input_tokens,output_tokens)")
        if self.trace is not None and (self.hourly is not None or self.profile != "constant"):
            raise ValueError("a trace sets its own arrivals: drop 'profile' and 'hourly'")
        return self


class SlaSpec(Strict):
    """Latency limits a deployment is judged against (P99)."""

    ttft: Seconds | None = None
    tpot: Seconds | None = None


class PrefillSpec(Strict):
    """The prefill pool of a disaggregated deployment: its racks and, where it differs, its replica shape.

    The deployment's own racks and shape are then its decode pool.
    """

    racks: RackSelector | str
    tp: int | None = Field(default=None, ge=1)
    pp: int | None = Field(default=None, ge=1)
    ep: int | None = Field(default=None, ge=1)
    attention_dp: bool | None = None
    max_batch: int | None = Field(default=None, ge=1)
    max_num_tokens: int | None = Field(default=None, ge=1)


class ReplicaShape(Strict):
    """A model's replica: precision, parallelism, batch limits, speculative decoding.

    Shared by a scenario's deployments and a grid scenario's sites (:mod:`twin.layout.schema_grid`);
    ``max_batch`` and ``max_num_tokens`` per attention-DP rank with ``attention_dp``, as TensorRT-LLM's.
    """

    model: str
    precision: str = "fp8"
    tp: int = Field(default=1, ge=1)
    pp: int = Field(default=1, ge=1)
    ep: int = Field(default=1, ge=1)
    attention_dp: bool = False
    max_batch: int = Field(default=256, ge=1)
    max_num_tokens: int = Field(default=8192, ge=1)
    #: speculative decoding, as ``twin serve-sim --speculative``: ``mtp:3,0.7``, ``eagle:3,tau=2.6``,
    #: ``draft:MODEL:4,0.6`` (checked by the engine against the catalog)
    speculative: str | None = Field(default=None, min_length=1)


class DeploymentSpec(ReplicaShape):
    """A model served on a set of racks of one system (with ``prefill:``, disaggregated)."""

    name: str = Field(min_length=1)
    racks: RackSelector | str
    workload: WorkloadSpec
    sla: SlaSpec | None = None
    prefill: PrefillSpec | None = None


AmbientC = Annotated[qty("temperature", positive=False), AfterValidator(check_ambient_c)]


class DesignDay(Strict):
    """A design day: dry bulb between its minimum (before dawn) and maximum (afternoon), constant RH."""

    min_dry_bulb: AmbientC
    max_dry_bulb: AmbientC
    relative_humidity: Fraction = 0.4

    @model_validator(mode="after")
    def _ordered(self) -> DesignDay:
        if self.min_dry_bulb > self.max_dry_bulb:
            raise ValueError(f"min_dry_bulb {self.min_dry_bulb:g} degC is above max_dry_bulb "
                             f"{self.max_dry_bulb:g} degC")
        return self


class WeatherSpec(Strict):
    """Exactly one of a design day, an hourly CSV file, or a typical-year file."""

    design_day: DesignDay | None = None
    csv: str | None = None
    tmy: str | None = Field(default=None, description="TMY3/EPW file, or 'default' for pvlib's own TMY3")

    @model_validator(mode="after")
    def _one(self) -> WeatherSpec:
        given = [k for k in ("design_day", "csv", "tmy") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'design_day', 'csv' or 'tmy'"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class CapSpec(Strict):
    """A power cap on a ``rack``, a ``hall`` or the ``site``.

    ``rack`` (rack-name glob, each rack's input), ``hall`` (its IT input), or ``site`` (the meter).
    """

    scope: Literal["rack", "hall", "site"]
    name: str | None = None
    cap: qty("power")

    @model_validator(mode="after")
    def _named(self) -> CapSpec:
        if self.scope != "site" and not self.name:
            raise ValueError(f"a {self.scope} cap needs 'name:' (the {self.scope} it limits)")
        if self.scope == "site" and self.name:
            raise ValueError("a site cap takes no 'name:'")
        return self


class SmoothingSpec(Strict):
    """GPU power smoothing with NVIDIA's parameters (NVML power-smoothing profile)."""

    floor: Fraction
    ramp_up: qty("power_ramp")
    ramp_down: qty("power_ramp")
    ramp_down_hysteresis: qty("time", positive=False) = 0.0
    racks: RackSelector | str | None = None


class StorageSpec(Strict):
    """Rack energy storage where the system has it: the ramp limits of each rack's grid draw."""

    ramp_up: qty("power_ramp")
    ramp_down: qty("power_ramp")
    #: the grid draw follows the load's moving average over this time (and the charge drifts back to half)
    time_constant: qty("time") = 10.0
    racks: RackSelector | str | None = None


class ThrottleSpec(Strict):
    """The thermal-throttle curve: clock factor at temperatures above the GPU's throttle temperature."""

    excess: list[qty("temperature_difference", positive=False)] = Field(min_length=2)
    clock: list[Annotated[float, Field(gt=0, le=1)]] = Field(min_length=2)

    @model_validator(mode="after")
    def _curve(self) -> ThrottleSpec:
        if len(self.excess) != len(self.clock):
            raise ValueError(f"'excess' has {len(self.excess)} points and 'clock' {len(self.clock)}; "
                             "give one clock factor per temperature")
        if any(b <= a for a, b in zip(self.excess, self.excess[1:], strict=False)):
            raise ValueError("'excess' temperatures must rise point by point")
        if any(b > a for a, b in zip(self.clock, self.clock[1:], strict=False)):
            raise ValueError("'clock' must not rise as the temperature rises")
        return self


class PoliciesSpec(Strict):
    """Power caps, GPU power smoothing, the thermal-throttle curve."""

    caps: list[CapSpec] = Field(default_factory=list, max_length=1000)
    gpu_power_smoothing: SmoothingSpec | None = None
    rack_energy_storage: StorageSpec | None = None
    thermal_throttle: ThrottleSpec | None = None


class SetpointSpec(Strict):
    """New supply temperatures of one hall's loop."""

    loop: str
    facility_supply: Temperature | None = None
    rack_supply: Temperature | None = None


class LoadStepSpec(Strict):
    """From the event on, a deployment's arrival rate is ``factor`` times its profile."""

    deployment: str
    factor: float = Field(ge=0)


class TrainingSpec(Strict):
    """A synchronous training job: compute at ``high`` and communicate at ``low`` GPU power in turn."""

    racks: RackSelector | str
    duration: Seconds
    period: Seconds
    duty: Annotated[float, Field(gt=0, lt=1)]
    high: Fraction = 1.0
    low: Fraction = 0.3


class DemandResponseSpec(Strict):
    """A grid request: hold the site at ``target`` of its power at the event's start, for ``duration``."""

    target: Fraction
    duration: Seconds
    ramp: qty("time", positive=False) = 0.0


class EventSpec(Strict):
    """One event at ``at``; exactly one of the action keys."""

    at: str | int | float
    trip: str | None = None
    restore: str | None = None
    count: int = Field(default=1, ge=1)
    setpoint: SetpointSpec | None = None
    load_step: LoadStepSpec | None = None
    training: TrainingSpec | None = None
    demand_response: DemandResponseSpec | None = None

    @model_validator(mode="after")
    def _one_action(self) -> EventSpec:
        acts = [k for k in ("trip", "restore", "setpoint", "load_step", "training", "demand_response")
                if getattr(self, k) is not None]
        if len(acts) != 1:
            raise ValueError("an event needs exactly one of 'trip', 'restore', 'setpoint', 'load_step', "
                             "'training', 'demand_response'" + (f" (got {', '.join(acts)})" if acts else ""))
        return self


class ScenarioSpec(Strict):
    """A whole scenario."""

    name: str = Field(min_length=1)
    description: str = ""
    layout: str
    run: RunSpec
    deployments: list[DeploymentSpec] = Field(default_factory=list, max_length=1000)
    weather: WeatherSpec | None = None
    policies: PoliciesSpec = Field(default_factory=PoliciesSpec)
    events: list[EventSpec] = Field(default_factory=list, max_length=10_000)
    economics: EconomicsSpec | None = None
