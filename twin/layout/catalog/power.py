"""Catalog entries for power equipment: PSU, UPS, transformer, busway, switchgear, generator."""

from __future__ import annotations

from typing import Literal

from twin.layout.catalog.base import EfficiencyCurve, _Entry
from twin.layout.fields import Fraction, PositivePower, Power, sourced


class PsuEntry(_Entry):
    """A power-supply unit in a rack power shelf or server."""

    kind: Literal["psu"]
    rating: PositivePower
    efficiency: EfficiencyCurve


class UpsEntry(_Entry):
    """A UPS module; a UPS system in a layout has several modules in parallel."""

    kind: Literal["ups"]
    module_rating: PositivePower
    #: double conversion (VFI): rectifier and inverter both carry the load
    efficiency: EfficiencyCurve
    #: eco mode (eConversion, ESS, ...): the load on the static bypass, the inverter standing by;
    #: absent: the module has no eco mode
    eco_efficiency: EfficiencyCurve | None = None
    #: battery autonomy at the module's rated load (energy = rating x runtime); absent: an ideal UPS
    #: that carries its load through any outage (no ride-through limit)
    battery_runtime: sourced("time", positive=True) | None = None


class TransformerEntry(_Entry):
    """An MV/LV transformer: no-load (core) loss plus load loss growing with load squared."""

    kind: Literal["transformer"]
    rating: PositivePower
    no_load_loss: Power
    load_loss: Power
    primary_voltage: sourced("voltage", positive=True)
    secondary_voltage: sourced("voltage", positive=True)


class BuswayEntry(_Entry):
    """A busway or remote power panel feeding a row section: I²R loss at rated current."""

    kind: Literal["busway"]
    rated_current: sourced("current", positive=True)
    voltage: sourced("voltage", positive=True)
    power_factor: Fraction
    loss_at_rating: Power


class SwitchgearEntry(_Entry):
    """MV or LV switchgear line-up: rating and I²R loss at rating."""

    kind: Literal["switchgear"]
    rating: PositivePower
    loss_at_rating: Power


class GeneratorEntry(_Entry):
    """A standby generator set that carries a switchgear line-up when its utility feed is lost."""

    kind: Literal["generator"]
    rating: PositivePower
    #: time from the loss of the utility to the set carrying the load; absent: at once
    start_time: sourced("time") | None = None
