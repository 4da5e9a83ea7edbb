"""Catalog entries for the network fabric: Ethernet switches, NICs, transceivers and cables.

Bandwidths are written per direction with bit units (``"800 Gbit/s"``; pint reads ``Gb`` as the
gilbert, so ``Gb/s`` is rejected with a unit error rather than misread) and stored in bytes/s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from twin.layout.catalog.base import _Entry
from twin.layout.fields import Count, PositivePower, Power, sourced

Bandwidth = sourced("bandwidth", positive=True)


class SwitchEntry(_Entry):
    """A fixed-port Ethernet (or InfiniBand) switch used as leaf, spine or super-spine.

    ``power`` is the switch's own draw with all ports linked, *without* pluggable optics: optics
    are counted separately from ``transceiver`` entries so that copper and fibre designs differ.
    """

    kind: Literal["switch"]
    asic: str
    ports: Count
    port_speed: Bandwidth
    switching_capacity: Bandwidth
    power: PositivePower
    height_u: Count

    @model_validator(mode="after")
    def _capacity(self) -> SwitchEntry:
        if self.ports.si < 1:
            raise ValueError("ports: value: must be at least 1")
        if self.ports.si * self.port_speed.si > self.switching_capacity.si * (1 + 1e-9):
            raise ValueError(
                f"ports x port_speed ({int(self.ports.si)} x {self.port_speed.value}) exceeds "
                f"switching_capacity ({self.switching_capacity.value})"
            )
        return self


class NicEntry(_Entry):
    """A network adapter (SuperNIC or DPU); ``port_speed`` is per port and per direction."""

    kind: Literal["nic"]
    ports: Count
    port_speed: Bandwidth
    power: PositivePower

    @model_validator(mode="after")
    def _ports(self) -> NicEntry:
        if self.ports.si < 1:
            raise ValueError("ports: value: must be at least 1")
        return self


class TransceiverEntry(_Entry):
    """A pluggable optical module (one switch cage or NIC cage)."""

    kind: Literal["transceiver"]
    speed: Bandwidth
    power: PositivePower


class CableEntry(_Entry):
    """A cable for one link: passive copper (DAC), active copper/optical (ACC/AOC) or fibre."""

    kind: Literal["cable"]
    medium: Literal["passive-copper", "active-copper", "active-optical", "fiber"]
    speed: Bandwidth
    max_length: sourced("length", positive=True)
    power: Power
