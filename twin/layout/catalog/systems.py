"""Catalog entries for compute systems (NVL72 racks, HGX servers)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin.layout.catalog.base import _Entry
from twin.layout.catalog.cooling import SystemThermal
from twin.layout.fields import Count, Fraction, PositivePower, Power, Sourced, Strict, sourced


class GpuSpec(Strict):
    """One GPU of a system."""

    model: str
    tdp: PositivePower
    idle_power: Power
    min_clock_factor: Fraction
    peak_dense_flops: dict[Literal["fp4", "fp8", "bf16"], sourced("flops", positive=True)]
    hbm_capacity: sourced("data", positive=True)
    hbm_bandwidth: sourced("bandwidth", positive=True)
    nvlink_bandwidth: sourced("bandwidth", positive=True)

    @model_validator(mode="after")
    def _idle_below_tdp(self) -> GpuSpec:
        if self.idle_power.si >= self.tdp.si:
            raise ValueError(f"idle_power ({self.idle_power.value}) must be below tdp ({self.tdp.value})")
        return self


class CpuSpec(Strict):
    """One CPU of a system."""

    model: str
    tdp: PositivePower
    idle_power: Power


class ComponentSpec(Strict):
    """A fixed part (NIC, switch tray, fans, management) whose power varies little with load."""

    name: str
    per: Literal["rack", "node"]
    count: Count
    power: Power
    idle_power: Power | None = None


class PowerSupplySpec(Strict):
    """How a rack (or each node) is fed: shelves of PSUs sharing the load.

    With ``scope: rack`` the shelves feed one busbar (NVL72), all sharing the rack load. With
    ``scope: node`` each node has its own PSUs sharing that node's load (HGX servers).
    """

    psu: str
    scope: Literal["rack", "node"]
    shelves: Count
    psus_per_shelf: Count


class RackPhysical(Strict):
    height_u: Count
    width: sourced("length", positive=True)
    depth: sourced("length", positive=True)
    weight: sourced("mass", positive=True)


class SystemEntry(_Entry):
    """A deployable system: an NVL72 rack, or an HGX server placed ``nodes_per_rack`` to a rack."""

    kind: Literal["system"]
    form_factor: Literal["rack", "server"]
    nodes_per_rack: Count
    gpus_per_node: Count
    cpus_per_node: Count
    nvlink_domain_gpus: Count
    gpu: GpuSpec
    cpu: CpuSpec
    components: list[ComponentSpec] = Field(default_factory=list)
    power_supply: PowerSupplySpec
    liquid_cooled_fraction: Fraction
    thermal: SystemThermal
    rack: RackPhysical

    @field_validator("nodes_per_rack", "gpus_per_node", "nvlink_domain_gpus")
    @classmethod
    def _at_least_one(cls, v: Sourced) -> Sourced:
        if v.si < 1:
            raise ValueError("value: must be at least 1")
        return v
