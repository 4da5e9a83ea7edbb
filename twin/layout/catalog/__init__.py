"""Schema of catalog entries (``models/**/*.yaml``).

One YAML file holds one entry (a mapping) or several (a sequence). Each entry has ``kind`` and a
unique ``name``; an entry may ``extends:`` another of the same kind and override some fields.
Every figure is a :class:`~twin.layout.fields.Sourced` value: a value with units plus ``source:``
or ``assumption:``. Each domain defines its entry kinds in its own module and registers them in
:data:`ENTRY_KINDS` below.
"""

from __future__ import annotations

from twin.layout.catalog.base import EfficiencyCurve, _Entry
from twin.layout.catalog.cooling import (
    CduEntry,
    ChillerEntry,
    CoolingTowerEntry,
    CrahEntry,
    DryCoolerEntry,
    PumpEntry,
    SystemThermal,
)
from twin.layout.catalog.fabric import CableEntry, NicEntry, SwitchEntry, TransceiverEntry
from twin.layout.catalog.llms import LlmEntry, MlaSpec, MoeSpec
from twin.layout.catalog.power import (
    BuswayEntry,
    GeneratorEntry,
    PsuEntry,
    SwitchgearEntry,
    TransformerEntry,
    UpsEntry,
)
from twin.layout.catalog.systems import (
    ComponentSpec,
    CpuSpec,
    GpuSpec,
    PowerSupplySpec,
    RackPhysical,
    SystemEntry,
)

#: kind -> schema class. An unknown kind is an error listing these names.
ENTRY_KINDS: dict[str, type[_Entry]] = {
    "system": SystemEntry,
    "psu": PsuEntry,
    "ups": UpsEntry,
    "transformer": TransformerEntry,
    "busway": BuswayEntry,
    "switchgear": SwitchgearEntry,
    "generator": GeneratorEntry,
    "switch": SwitchEntry,
    "nic": NicEntry,
    "transceiver": TransceiverEntry,
    "cable": CableEntry,
    "cdu": CduEntry,
    "dry_cooler": DryCoolerEntry,
    "cooling_tower": CoolingTowerEntry,
    "chiller": ChillerEntry,
    "crah": CrahEntry,
    "pump": PumpEntry,
    "llm": LlmEntry,
}

#: Any catalog entry.
CatalogEntry = _Entry

__all__ = [
    "ENTRY_KINDS",
    "BuswayEntry",
    "CableEntry",
    "CduEntry",
    "ChillerEntry",
    "CrahEntry",
    "DryCoolerEntry",
    "PumpEntry",
    "SystemThermal",
    "CatalogEntry",
    "ComponentSpec",
    "CpuSpec",
    "EfficiencyCurve",
    "GeneratorEntry",
    "GpuSpec",
    "NicEntry",
    "LlmEntry",
    "MlaSpec",
    "MoeSpec",
    "PowerSupplySpec",
    "PsuEntry",
    "RackPhysical",
    "SwitchEntry",
    "SwitchgearEntry",
    "SystemEntry",
    "TransceiverEntry",
    "TransformerEntry",
    "UpsEntry",
]
