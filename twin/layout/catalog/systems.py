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
    #: scale-out (Ethernet/InfiniBand) NIC bandwidth of one GPU, one direction, e.g. ``400 Gbit/s``
    scale_out_bandwidth: sourced("bandwidth", positive=True)

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
    #: physical cores of one CPU (the host path in front of the GPUs: tokenization, detokenization,
    #: streaming); absent: not known
    cores: Count | None = None


class ComponentSpec(Strict):
    """A fixed part (NIC, switch tray, fans, management) whose power varies little with load.

    ``role`` marks parts the fabric counts (``nvlink-switch-tray``: an NVLink switch tray of the rack).
    """

    name: str
    role: Literal["nvlink-switch-tray"] | None = None
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

    @model_validator(mode="after")
    def _some_supply(self) -> PowerSupplySpec:
        if self.shelves.si < 1 or self.psus_per_shelf.si < 1:
            raise ValueError("a system needs at least one shelf of at least one PSU: with none its racks "
                             "would draw nothing and survive every failure")
        return self


class EnergyStorageSpec(Strict):
    """Energy storage in the rack's power shelves (GB300 NVL72 PSUs), see :mod:`twin.power.storage`."""

    energy: sourced("energy", positive=True)
    power: PositivePower
    round_trip_efficiency: Fraction


class KernelTables(Strict):
    """Which GPU's measured kernel tables (aiconfigurator-core ``systems/data/<device>``) price this system.

    ``device`` is the folder name; exactly one of ``source`` (why this folder is this GPU) or
    ``assumption`` must be given, as for every catalog figure.
    """

    device: str = Field(pattern=r"^[a-z0-9_]+$")
    source: str | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _one_provenance(self) -> KernelTables:
        if bool(self.source and self.source.strip()) == bool(self.assumption and self.assumption.strip()):
            raise ValueError("needs exactly one of 'source:' or 'assumption:'")
        return self


class RackPhysical(Strict):
    """The system's rack: height [U], and sourced width, depth and weight."""

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
    #: measured kernel tables of the serving model; absent: roofline GEMM times only
    kernel_tables: KernelTables | None = None
    #: energy storage in the power shelves, where the system has it
    energy_storage: EnergyStorageSpec | None = None

    @field_validator("nodes_per_rack", "gpus_per_node", "nvlink_domain_gpus")
    @classmethod
    def _at_least_one(cls, v: Sourced) -> Sourced:
        if v.si < 1:
            raise ValueError("value: must be at least 1")
        return v
