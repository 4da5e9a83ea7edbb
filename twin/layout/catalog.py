"""Schema of catalog entries (``models/**/*.yaml``).

One YAML file holds one entry (a mapping) or several (a sequence). Each entry has ``kind`` and a
unique ``name``; an entry may ``extends:`` another of the same kind and override some fields.
Every figure is a :class:`~twin.layout.fields.Sourced` value: a value with units plus ``source:``
or ``assumption:``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin.layout.fields import Count, Fraction, PositivePower, Power, Sourced, Strict, sourced


class EfficiencyCurve(Strict):
    """Measured efficiency at several output-load fractions (of rated output power).

    ``points`` is a list of ``[load_fraction, efficiency]`` pairs, e.g. the 10/20/50/100 % points
    of an 80 PLUS certificate or a UPS datasheet's 25/50/75/100 % table.
    """

    points: list[tuple[float, float]] = Field(min_length=3)
    source: str | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _check(self) -> EfficiencyCurve:
        if bool(self.source) == bool(self.assumption):
            raise ValueError("needs exactly one of 'source:' or 'assumption:'")
        loads = [p[0] for p in self.points]
        if sorted(loads) != loads or len(set(loads)) != len(loads):
            raise ValueError(f"points: load fractions must increase strictly, got {loads}")
        for load, eff in self.points:
            if not 0.0 < load <= 1.5:
                raise ValueError(f"points: load fraction {load} outside (0, 1.5]")
            if not 0.0 < eff < 1.0:
                raise ValueError(f"points: efficiency {eff} outside (0, 1)")
        loss = [x * (1.0 / eta - 1.0) for x, eta in self.points]
        for (x0, _), (x1, _), l0, l1 in zip(self.points, self.points[1:], loss, loss[1:], strict=False):
            if l1 < l0:
                raise ValueError(
                    f"points: the loss x(1/eta - 1) falls from {l0:.4f} at load {x0} to {l1:.4f} at "
                    f"load {x1}; losses cannot fall as load rises, check the efficiency values"
                )
        return self


class _Entry(Strict):
    kind: str
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    extends: str | None = None


# ---------------------------------------------------------------- systems


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
            raise ValueError(
                f"idle_power ({self.idle_power.value}) must be below tdp ({self.tdp.value})"
            )
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
    rack: RackPhysical

    @field_validator("nodes_per_rack", "gpus_per_node", "nvlink_domain_gpus")
    @classmethod
    def _at_least_one(cls, v: Sourced) -> Sourced:
        if v.si < 1:
            raise ValueError("value: must be at least 1")
        return v


# ---------------------------------------------------------------- equipment


class PsuEntry(_Entry):
    """A power-supply unit in a rack power shelf or server."""

    kind: Literal["psu"]
    rating: PositivePower
    efficiency: EfficiencyCurve


class UpsEntry(_Entry):
    """A UPS module; a UPS system in a layout has several modules in parallel."""

    kind: Literal["ups"]
    module_rating: PositivePower
    efficiency: EfficiencyCurve


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


#: kind -> schema class. An unknown kind is an error listing these names.
ENTRY_KINDS: dict[str, type[_Entry]] = {
    "system": SystemEntry,
    "psu": PsuEntry,
    "ups": UpsEntry,
    "transformer": TransformerEntry,
    "busway": BuswayEntry,
    "switchgear": SwitchgearEntry,
    "generator": GeneratorEntry,
}

CatalogEntry = (
    SystemEntry | PsuEntry | UpsEntry | TransformerEntry | BuswayEntry | SwitchgearEntry | GeneratorEntry
)
