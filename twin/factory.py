"""The in-memory model of a factory: arrays per rack, the power tree as index arrays. No physics.

Built by :mod:`twin.layout` from layout and catalog files; read by the physics packages. A
foundation module: it imports only :mod:`twin.records` (plain records) of the twin. Racks are a
struct of arrays (one element per rack) so physics is vectorised across racks; the power tree is a
table of nodes with ``parent`` index arrays (PyPSA habit: tables first, graphs derived).

Power topology: a forest of nodes (utility feed → switchgear → transformer → UPS → busway). Racks
hang below busways through *cords*: a rack with A/B feeds has two cords, each on its own busway.
Each cord carries the rack's power shelves on that side, so when one side fails the shelves on the
other side carry the whole rack (the transfer rule of 2N and distributed-redundant designs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from twin.records import FabricDesign, SystemSpec

if TYPE_CHECKING:
    import networkx as nx

#: Node kinds of the power tree, ordered from the utility down. Index = kind code in arrays.
NODE_KINDS: tuple[str, ...] = ("feed", "switchgear", "transformer", "ups", "busway")


@dataclass(frozen=True)
class LossModel:
    """Load-dependent loss of one equipment model, as data (fitted by :mod:`twin.power.losses`).

    Either an efficiency curve (``curve_load``/``curve_efficiency``, PSU and UPS) or fixed
    no-load and rated-load losses (transformer, busway, switchgear).
    """

    name: str
    kind: str
    rating_w: float
    curve_load: tuple[float, ...] = ()
    curve_efficiency: tuple[float, ...] = ()
    no_load_loss_w: float = 0.0
    load_loss_at_rating_w: float = 0.0
    mode: str = ""  # a UPS's operating mode ("double_conversion" | "eco"); "" for other equipment


@dataclass(frozen=True)
class RackArrays:
    """Per-rack data, one element per rack (struct of arrays)."""

    name: np.ndarray  # str
    hall: np.ndarray  # str
    row: np.ndarray  # str
    system_idx: np.ndarray  # int, index into Factory.systems
    num_gpus: np.ndarray
    gpu_idle_w: np.ndarray
    gpu_tdp_w: np.ndarray
    gpu_cap_w: np.ndarray  # = tdp when uncapped
    gpu_min_clock: np.ndarray
    num_cpus: np.ndarray
    cpu_idle_w: np.ndarray
    cpu_tdp_w: np.ndarray
    fixed_idle_w: np.ndarray  # NICs, switch trays, fans ... at idle
    fixed_max_w: np.ndarray  # ... at full load
    psu_model_idx: np.ndarray  # index into Factory.loss_models
    num_shelves: np.ndarray  # power shelves (rack scope) or PSU bays (node scope), whole rack
    psus_per_shelf: np.ndarray
    num_sharing_domains: np.ndarray  # 1 for a rack busbar, nodes_per_rack for servers
    liquid_fraction: np.ndarray
    nameplate_w: np.ndarray  # DC IT power at full load and TDP
    cooling_design_w: np.ndarray  # power the coolant flow is sized on (vendor design rating, else nameplate)
    rack_pressure_drop_pa: np.ndarray  # liquid path at the design flow (NaN: not in the catalog)
    gpu_liquid: np.ndarray  # bool: GPUs on cold plates (else air-cooled)
    gpu_throttle_c: np.ndarray
    gpu_r_k_w: np.ndarray  # junction to coolant (liquid) or to inlet air (air) [K/W]
    gpu_c_j_k: np.ndarray  # lumped heat capacity of one GPU and its cold plate/heat sink [J/K]
    coolant_volume_m3: np.ndarray  # rack loop coolant
    coolant_position: np.ndarray  # share of the rack coolant (or air) rise upstream of the GPUs
    air_delta_t_k: np.ndarray  # air temperature rise through the rack at nameplate power
    storage_energy_j: np.ndarray  # energy storage in the power shelves (0: none)
    storage_power_w: np.ndarray  # ... its power rating
    storage_efficiency: np.ndarray  # ... its round-trip efficiency

    def __len__(self) -> int:
        return len(self.name)


@dataclass(frozen=True)
class PowerTree:
    """Power distribution nodes as arrays, plus the rack cords that hang below busways.

    Node ``i`` has ``parent[i]`` (-1 at a root) and ``depth[i]`` (0 at a root). Node arrays are
    sorted so that parents come before children.
    """

    name: np.ndarray  # str
    kind: np.ndarray  # int code into NODE_KINDS
    parent: np.ndarray  # int, -1 for roots
    depth: np.ndarray  # int
    loss_model_idx: np.ndarray  # int into Factory.loss_models, -1 for lossless (feed)
    num_modules: np.ndarray  # parallel modules (UPS); 1 otherwise
    module_rating_w: np.ndarray  # rating of one module; rating = num_modules * module_rating_w
    backup_rating_w: np.ndarray  # standby generator capacity at this node (0 = none)
    cord_rack: np.ndarray  # int, rack index of each cord
    cord_node: np.ndarray  # int, busway node of each cord
    cord_shelves: np.ndarray  # int, power shelves of the rack on this cord
    backup_start_s: np.ndarray | None = None  # standby generator start time at this node (None: at once)
    battery_j: np.ndarray | None = None  # UPS battery energy at this node (inf: ideal UPS, 0: none)
    # racks a UPS block's busways can serve: busways per block x racks per busway / cords per rack
    # (0 at other nodes), the floor positions the power design provides
    rack_positions: np.ndarray | None = None
    hall: np.ndarray | None = None  # str: the hall of each node ("" for site-level utility feeds)

    @property
    def rating_w(self) -> np.ndarray:
        """Rated power of every node. [W]"""
        return self.num_modules * self.module_rating_w

    def __len__(self) -> int:
        return len(self.name)

    @cached_property
    def children(self) -> list[np.ndarray]:
        """Child node indices of every node."""
        order = np.argsort(self.parent, kind="stable")
        bounds = np.searchsorted(self.parent[order], np.arange(len(self) + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(len(self))]

    def descendants_mask(self, node: int) -> np.ndarray:
        """Boolean mask of ``node`` and every node below it (parents precede children)."""
        mask = np.zeros(len(self), dtype=bool)
        mask[node] = True
        for level in self.levels[1:]:
            mask[level] |= mask[self.parent[level]]
        return mask

    @cached_property
    def levels(self) -> list[np.ndarray]:
        """Node indices grouped by depth, roots first."""
        return [np.flatnonzero(self.depth == d) for d in range(int(self.depth.max(initial=-1)) + 1)]

    def graph(self) -> nx.DiGraph:
        """A networkx view (edges parent → child, then busway → rack) for inspection and plots."""
        import networkx as nx

        g = nx.DiGraph()
        for i, n in enumerate(self.name):
            g.add_node(str(n), kind=NODE_KINDS[self.kind[i]], rating_w=float(self.rating_w[i]))
            if self.parent[i] >= 0:
                g.add_edge(str(self.name[self.parent[i]]), str(n))
        return g


@dataclass(frozen=True)
class Equipment:
    """Rated figures of one cooling equipment model, as plain SI floats keyed by field name."""

    name: str
    kind: str
    values: dict[str, float]

    def __getitem__(self, key: str) -> float:
        return self.values[key]


@dataclass(frozen=True)
class CoolingLoop:
    """The cooling of one hall: CDUs on one facility-water loop, heat rejection, air side."""

    name: str
    tcs_coolant: str
    fw_coolant: str
    rack_supply_c: float  # CDU secondary supply setpoint
    flow_per_power_m3_s_w: float
    fw_supply_c: float  # facility water supply setpoint
    fw_volume_m3: float
    cdu: Equipment
    pump: Equipment
    num_pumps: int
    rejection: Equipment  # the heat-rejection units: a dry cooler or a cooling tower (Equipment.kind)
    num_rejection: int
    adiabatic: bool
    trim_chiller: Equipment | None
    num_trim_chillers: int
    air_supply_c: float
    crah: Equipment
    num_crahs: int
    air_chiller: Equipment
    num_air_chillers: int
    room: ElectricalRoomPlant | None = None  # None: the power chain's losses heat the hall's air


@dataclass(frozen=True)
class ElectricalRoomPlant:
    """Air cooling of one hall's electrical rooms (UPS, switchgear; transformers when indoor)."""

    supply_c: float
    crah: Equipment
    num_crahs: int
    chiller: Equipment
    num_chillers: int
    transformers_indoor: bool


@dataclass(frozen=True)
class CoolingPlant:
    """Cooling topology: racks → CDU groups → hall loops, as index arrays."""

    loops: tuple[CoolingLoop, ...]
    rack_group: np.ndarray  # per rack: CDU group index (-1 = rack has no liquid loop)
    rack_loop: np.ndarray  # per rack: loop index (-1 = hall without a cooling design)
    group_loop: np.ndarray  # per CDU group: loop index
    group_cdus: np.ndarray  # per CDU group: CDUs sharing its header
    group_name: np.ndarray  # str
    ambient_dry_bulb_c: float
    ambient_relative_humidity: float

    @property
    def num_groups(self) -> int:
        """CDU groups in the plant."""
        return len(self.group_loop)


@dataclass(frozen=True)
class Where:
    """Where a record came from in its file, for problems found after loading (serving checks)."""

    file: str
    line: int | None
    field: str


@dataclass(frozen=True)
class EconomicsPlan:
    """A layout's or scenario's ``economics:``: its price list and the prices it overrides (SI units)."""

    prices: str | None = None  # a bundled price list's name, or a file (relative to its file)
    tariff: str | None = None  # "flat" | "time_of_use"
    energy_usd_per_j: float | None = None
    demand_usd_per_w_s: float | None = None
    capacity_usd_per_w_s: float | None = None
    water_usd_per_m3: float | None = None
    wacc: float | None = None
    staff_usd_per_w_s: float | None = None
    facility_usd_per_w: float | None = None  # the total per W of critical load; the list's split is kept
    life_s: dict = field(default_factory=dict)  # asset class -> life
    system_usd: dict = field(default_factory=dict)  # system -> price per rack or node (as the list's)
    hourly_usd_per_j: tuple | None = None  # energy price at each hour from the run's start
    dr_payment_usd_per_j: float | None = None  # paid per J a demand-response event takes off the meter
    maintenance_share: float | None = None
    it_maintenance_share: float | None = None
    insurance_share: float | None = None
    property_tax_share: float | None = None
    residual_share: dict = field(default_factory=dict)  # asset class -> share left at the end of its life
    equipment_usd: dict = field(default_factory=dict)  # catalog equipment name -> unit price
    uptime: float | None = None  # share of the time the factory serves
    where: Where | None = None


@dataclass(frozen=True)
class Factory:
    """A whole site as SI records: racks, power tree, cooling plant, fabric design and systems.

    Holds no schema objects: :mod:`twin.layout` resolves every catalog reference into the records
    below, and the physics reads only them.
    """

    name: str
    source_file: str
    racks: RackArrays
    power: PowerTree
    systems: tuple[SystemSpec, ...]  # indexed by racks.system_idx
    loss_models: tuple[LossModel, ...]
    halls: tuple[str, ...]
    cooling: CoolingPlant | None = None
    fabric: FabricDesign | None = None  # the layout's scale-out fabric; None: NVLink domains only
    economics: EconomicsPlan | None = None  # the layout's price list and overrides

    @property
    def num_racks(self) -> int:
        """Racks in the factory."""
        return len(self.racks)

    @property
    def system_names(self) -> tuple[str, ...]:
        """Catalog names of the systems, indexed by ``racks.system_idx``."""
        return tuple(s.name for s in self.systems)

    @property
    def num_gpus(self) -> int:
        """GPUs in the factory."""
        return int(self.racks.num_gpus.sum())
