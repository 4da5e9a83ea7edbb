"""Expand a validated layout into a :class:`~twin.factory.Factory` (rules → arrays).

Cross-reference checks (unknown catalog names, unknown line-ups or feeds, duplicate names, racks
without a power path) are collected as problems with file and line; nothing is silently dropped.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import Problem
from twin.factory import (
    NODE_KINDS,
    CoolingLoop,
    CoolingPlant,
    ElectricalRoomPlant,
    Equipment,
    Factory,
    LossModel,
    PowerTree,
    RackArrays,
    Where,
)
from twin.layout.catalog import (
    BuswayEntry,
    GeneratorEntry,
    PsuEntry,
    SwitchgearEntry,
    SystemEntry,
    TransformerEntry,
    UpsEntry,
)
from twin.layout.catalog_io import Catalog
from twin.layout.records import fabric_design, system_spec
from twin.layout.schema import REDUNDANCY, Hall, Layout, RowSpec
from twin.layout.schema_cooling import COOLANT_FREEZE_C
from twin.layout.schema_economics import resolve_economics
from twin.layout.schema_fabric import check_fabric
from twin.layout.yamlio import field_path, line_of

_KIND_CODE = {k: i for i, k in enumerate(NODE_KINDS)}


def busway_rating_w(entry: BuswayEntry) -> float:
    """Real-power rating of a three-phase busway: P = √3 · V_LL · I · PF. [W]"""
    return math.sqrt(3.0) * entry.voltage.si * entry.rated_current.si * entry.power_factor.si


@dataclass
class _Ctx:
    """Collects problems with file:line while expanding."""

    file: str
    data: Any
    problems: list[Problem] = field(default_factory=list)

    def add(self, loc: tuple, message: str) -> None:
        self.problems.append(Problem(self.file, line_of(self.data, loc), field_path(loc), message))


@dataclass
class _Nodes:
    name: list[str] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    loss: list[int] = field(default_factory=list)
    modules: list[int] = field(default_factory=list)
    module_rating: list[float] = field(default_factory=list)
    backup: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    battery: list[float] = field(default_factory=list)
    positions: list[float] = field(default_factory=list)

    def add(self, name, kind, parent, loss, modules, module_rating, backup=0.0, start=0.0,
            battery=0.0, positions=0.0) -> int:
        self.name.append(name)
        self.kind.append(_KIND_CODE[kind])
        self.parent.append(parent)
        self.depth.append(0 if parent < 0 else self.depth[parent] + 1)
        self.loss.append(loss)
        self.modules.append(modules)
        self.module_rating.append(module_rating)
        self.backup.append(backup)
        self.start.append(start)
        self.battery.append(battery)
        self.positions.append(positions)
        return len(self.name) - 1


class _LossModels:
    """Builds the list of LossModel records, one per catalog equipment entry used."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.models: list[LossModel] = []
        self.index: dict[str, int] = {}

    def get(self, name: str, ups_mode: str = "double_conversion") -> int:
        """Index of the loss model of catalog entry ``name`` (a UPS's in ``ups_mode``), added once."""
        key = name if ups_mode == "double_conversion" else f"{name} ({ups_mode})"
        if key in self.index:
            return self.index[key]
        e = self.catalog.entries[name]
        if isinstance(e, PsuEntry | UpsEntry):
            rating = e.rating.si if isinstance(e, PsuEntry) else e.module_rating.si
            curve = e.eco_efficiency if ups_mode == "eco" else e.efficiency
            pts = curve.points
            lm = LossModel(name, e.kind, rating, tuple(p[0] for p in pts), tuple(p[1] for p in pts),
                           mode=ups_mode if isinstance(e, UpsEntry) else "")
        elif isinstance(e, TransformerEntry):
            lm = LossModel(
                name,
                e.kind,
                e.rating.si,
                no_load_loss_w=e.no_load_loss.si,
                load_loss_at_rating_w=e.load_loss.si,
            )
        elif isinstance(e, BuswayEntry):
            lm = LossModel(name, e.kind, busway_rating_w(e), load_loss_at_rating_w=e.loss_at_rating.si)
        elif isinstance(e, SwitchgearEntry):
            lm = LossModel(name, e.kind, e.rating.si, load_loss_at_rating_w=e.loss_at_rating.si)
        else:  # pragma: no cover - guarded by reference checks
            raise TypeError(f"{name} has no loss model")
        self.index[key] = len(self.models)
        self.models.append(lm)
        return self.index[key]


def _check_ref(ctx: _Ctx, catalog: Catalog, kind: str, name: str, loc: tuple) -> bool:
    try:
        catalog.lookup(kind, name)
    except KeyError as exc:
        ctx.add(loc, exc.args[0])
        return False
    return True


def _check_unique(ctx: _Ctx, names: list[str], loc: tuple, what: str) -> None:
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            ctx.add(
                (*loc, i, "name"),
                f"duplicate {what} name {n!r} (first used at {field_path((*loc, seen[n]))})",
            )
        else:
            seen[n] = i


def _check_cooling(layout: Layout, catalog: Catalog, ctx: _Ctx) -> None:
    """Cooling references and designs that cannot work (errors, not findings)."""
    for h, hall in enumerate(layout.halls):
        cs = hall.cooling
        if cs is None:
            continue
        cl = ("halls", h, "cooling")
        if layout.ambient is None:
            ctx.add(
                ("name",),
                f"hall {hall.name!r} has a cooling design, so the layout needs a design "
                "'ambient:' (dry_bulb, relative_humidity)",
            )
        _check_ref(ctx, catalog, "cdu", cs.cdu.model, (*cl, "cdu", "model"))
        _check_ref(
            ctx, catalog, "pump", cs.facility_water.pumps.model, (*cl, "facility_water", "pumps", "model")
        )
        if cs.dry_coolers is not None:
            _check_ref(ctx, catalog, "dry_cooler", cs.dry_coolers.model, (*cl, "dry_coolers", "model"))
        else:
            _check_ref(ctx, catalog, "cooling_tower", cs.cooling_towers.model,
                       (*cl, "cooling_towers", "model"))
        if cs.trim_chillers is not None:
            _check_ref(ctx, catalog, "chiller", cs.trim_chillers.model, (*cl, "trim_chillers", "model"))
        _check_ref(ctx, catalog, "crah", cs.air.crahs.model, (*cl, "air", "crahs", "model"))
        _check_ref(ctx, catalog, "chiller", cs.air.chillers.model, (*cl, "air", "chillers", "model"))
        if cs.electrical_room is not None:
            er = (*cl, "electrical_room")
            _check_ref(ctx, catalog, "crah", cs.electrical_room.crahs.model, (*er, "crahs", "model"))
            _check_ref(ctx, catalog, "chiller", cs.electrical_room.chillers.model, (*er, "chillers", "model"))
        if cs.facility_water.supply_temp >= cs.rack_supply_temp:
            ctx.add(
                (*cl, "facility_water", "supply_temp"),
                f"facility water supply {cs.facility_water.supply_temp:g} degC must be below the rack "
                f"supply setpoint {cs.rack_supply_temp:g} degC: a CDU cannot deliver coolant colder "
                "than its primary water",
            )
        for loc, coolant, temp, what in (
            ((*cl, "facility_water", "supply_temp"), cs.facility_water.coolant,
             cs.facility_water.supply_temp, "facility water supply"),
            ((*cl, "rack_supply_temp"), cs.tcs_coolant, cs.rack_supply_temp, "rack supply setpoint"),
        ):
            if temp <= COOLANT_FREEZE_C[coolant]:
                ctx.add(
                    loc,
                    f"{what} {temp:g} degC is at or below the freezing point of its coolant {coolant!r} "
                    f"({COOLANT_FREEZE_C[coolant]:g} degC); use a warmer setpoint or a glycol coolant",
                )
        for row in hall.rows:
            ent = catalog.entries.get(row.system)
            if not isinstance(ent, SystemEntry) or ent.thermal.gpu_cooling != "liquid":
                continue
            limit = ent.thermal.gpu_throttle_temp.si
            if cs.rack_supply_temp >= limit:
                ctx.add(
                    (*cl, "rack_supply_temp"),
                    f"rack supply setpoint {cs.rack_supply_temp:g} degC is at or above the GPU throttle "
                    f"temperature {limit:g} degC of {row.system!r} (row {row.name!r}): no flow can cool it",
                )


def _check_references(layout: Layout, catalog: Catalog, ctx: _Ctx) -> None:
    feeds = [f.name for f in layout.utility_feeds]
    _check_unique(ctx, feeds, ("utility_feeds",), "utility feed")
    _check_unique(ctx, [h.name for h in layout.halls], ("halls",), "hall")
    for h, hall in enumerate(layout.halls):
        hl = ("halls", h)
        _check_unique(ctx, [r.name for r in hall.rows], (*hl, "rows"), "row")
        _check_unique(ctx, [lu.name for lu in hall.lineups], (*hl, "lineups"), "line-up")
        lineup_names = [lu.name for lu in hall.lineups]
        for r, row in enumerate(hall.rows):
            rl = (*hl, "rows", r)
            if _check_ref(ctx, catalog, "system", row.system, (*rl, "system")):
                sysent: SystemEntry = catalog.entries[row.system]
                if row.nodes_per_rack is not None and sysent.form_factor != "server":
                    ctx.add(
                        (*rl, "nodes_per_rack"),
                        f"nodes_per_rack applies to server systems; {row.system!r} is a whole rack",
                    )
                if row.gpu_power_cap is not None and row.gpu_power_cap < sysent.gpu.idle_power.si:
                    ctx.add(
                        (*rl, "gpu_power_cap"),
                        f"GPU power cap {row.gpu_power_cap:g} W is below the GPU idle power "
                        f"{sysent.gpu.idle_power.si:g} W of {row.system!r}",
                    )
                if row.gpu_power_cap is not None and row.gpu_power_cap > sysent.gpu.tdp.si:
                    ctx.add(
                        (*rl, "gpu_power_cap"),
                        f"GPU power cap {row.gpu_power_cap:g} W is above the TDP {sysent.gpu.tdp.si:g} W of "
                        f"{row.system!r}: it would cap nothing; lower it or remove it",
                    )
            if row.lineup is None:
                if len(hall.lineups) != 1:
                    ctx.add(
                        rl,
                        f"rack with no power path: row {row.name!r} names no 'lineup' and hall "
                        f"{hall.name!r} has {len(hall.lineups)} line-ups "
                        f"({', '.join(lineup_names) or 'none'}); add 'lineup:'",
                    )
            elif row.lineup not in lineup_names:
                from twin.layout.problems import did_you_mean

                ctx.add(
                    (*rl, "lineup"),
                    f"rack with no power path: unknown line-up {row.lineup!r}"
                    f"{did_you_mean(row.lineup, lineup_names)}; line-ups in hall {hall.name!r}: "
                    f"{', '.join(lineup_names) or 'none'}",
                )
        for u, lu in enumerate(hall.lineups):
            ul = (*hl, "lineups", u)
            for i, f in enumerate(lu.feeds):
                if f not in feeds:
                    from twin.layout.problems import did_you_mean

                    ctx.add(
                        (*ul, "feeds", i),
                        f"unknown utility feed {f!r}{did_you_mean(f, feeds)}; feeds: {', '.join(feeds)}",
                    )
            _check_ref(ctx, catalog, "switchgear", lu.switchgear, (*ul, "switchgear"))
            _check_ref(ctx, catalog, "transformer", lu.transformer, (*ul, "transformer"))
            if (_check_ref(ctx, catalog, "ups", lu.ups.model, (*ul, "ups", "model")) and lu.ups.mode == "eco"
                    and catalog.entries[lu.ups.model].eco_efficiency is None):
                ctx.add((*ul, "ups", "mode"), f"UPS {lu.ups.model!r} has no eco mode in the catalog (no "
                        "'eco_efficiency:' curve); use mode: double_conversion, or a UPS with an eco mode: "
                        + ", ".join(n for n in catalog.names("ups") if catalog.entries[n].eco_efficiency))
            _check_ref(ctx, catalog, "busway", lu.busway, (*ul, "busway"))
            if lu.generator is not None:
                _check_ref(ctx, catalog, "generator", lu.generator.model, (*ul, "generator", "model"))
            k, _ = REDUNDANCY[lu.redundancy]
            if lu.blocks is not None and lu.blocks % k:
                ctx.add(
                    (*ul, "blocks"),
                    f"redundancy {lu.redundancy} builds blocks in groups of {k}; "
                    f"blocks must be a multiple of {k}, got {lu.blocks}",
                )


def _assign_slots(
    num_slots: int, k: int, bpb: int, max_groups: int | None
) -> tuple[list[tuple[int, ...]], int]:
    """Give each busway slot its blocks (one per cord); returns (blocks per slot, groups used).

    Slots without room get ``()``. Pairs of blocks rotate within a group so that load spreads
    evenly; a new group opens when no pair of the current group has two free busway positions.
    """
    pairs = [(0,)] if k == 1 else list(itertools.combinations(range(k), 2))
    out: list[tuple[int, ...]] = []
    group, used, turn = 0, [0] * k, 0
    for _ in range(num_slots):
        chosen = None
        for j in range(len(pairs)):
            pair = pairs[(turn + j) % len(pairs)]
            if all(used[b] < bpb for b in pair):
                chosen = pair
                turn = (turn + j + 1) % len(pairs)
                break
        if chosen is None:
            group, used, turn = group + 1, [0] * k, 1
            chosen = pairs[0]
        if max_groups is not None and group >= max_groups:
            out.append(())
            continue
        for b in chosen:
            used[b] += 1
        out.append(tuple(group * k + b for b in chosen))
    return out, group + 1 if num_slots else 0


@dataclass
class _RackBuild:
    arrays: dict[str, list] = field(default_factory=dict)

    def extend(self, n: int, **cols: Any) -> None:
        for key, val in cols.items():
            self.arrays.setdefault(key, []).extend([val] * n if not isinstance(val, list) else val)


def expand(layout: Layout, catalog: Catalog, file: str, data: Any) -> tuple[Factory | None, list[Problem]]:
    """Build the Factory from a validated layout; returns (factory or None, problems)."""
    ctx = _Ctx(file, data)
    _check_references(layout, catalog, ctx)
    _check_cooling(layout, catalog, ctx)
    check_fabric(layout, catalog, ctx.add)
    seen: dict[str, int] = {}
    for h, hall in enumerate(layout.halls):
        for c in range(hall.copies):
            hname = hall.name if hall.copies == 1 else f"{hall.name}-{c + 1}"
            if hname in seen:
                other = layout.halls[seen[hname]].name
                ctx.add(("halls", h, "name"), f"hall name {hname!r} is used twice"
                        + (f" (a copy of hall {other!r} is named so)" if other != hname or hall.copies > 1
                           else "") + ": rename one")
                break
            seen[hname] = h
    if ctx.problems:
        return None, ctx.problems

    losses = _LossModels(catalog)
    nodes = _Nodes()
    feed_idx = {}
    for f in layout.utility_feeds:
        feed_idx[f.name] = nodes.add(f.name, "feed", -1, -1, 1, f.rating)

    racks = _RackBuild()
    systems: list[str] = []
    cord_rack: list[int] = []
    cord_node: list[int] = []
    cord_psus: list[int] = []
    hall_names: list[str] = []
    hall_ranges: list[tuple] = []

    for h, hall in enumerate(layout.halls):
        for c in range(hall.copies):
            hname = hall.name if hall.copies == 1 else f"{hall.name}-{c + 1}"
            hall_names.append(hname)
            first = len(racks.arrays.get("name", []))
            _expand_hall(
                ctx,
                hall,
                h,
                hname,
                layout,
                catalog,
                losses,
                nodes,
                feed_idx,
                racks,
                systems,
                cord_rack,
                cord_node,
                cord_psus,
            )
            hall_ranges.append((hall, hname, first, len(racks.arrays.get("name", []))))
    if ctx.problems:
        return None, ctx.problems

    # Sort nodes so that parents precede children (stable by depth), remapping indices.
    depth = np.asarray(nodes.depth)
    order = np.argsort(depth, kind="stable")
    new_of_old = np.empty_like(order)
    new_of_old[order] = np.arange(len(order))
    parent_old = np.asarray(nodes.parent)
    parent = np.where(parent_old[order] >= 0, new_of_old[np.maximum(parent_old[order], 0)], -1)

    tree = PowerTree(
        name=np.asarray(nodes.name, dtype=object)[order],
        kind=np.asarray(nodes.kind)[order],
        parent=parent,
        depth=depth[order],
        loss_model_idx=np.asarray(nodes.loss)[order],
        num_modules=np.asarray(nodes.modules, dtype=float)[order],
        module_rating_w=np.asarray(nodes.module_rating, dtype=float)[order],
        backup_rating_w=np.asarray(nodes.backup, dtype=float)[order],
        cord_rack=np.asarray(cord_rack, dtype=np.int64),
        cord_node=new_of_old[np.asarray(cord_node, dtype=np.int64)] if cord_node else np.zeros(0, np.int64),
        cord_shelves=np.asarray(cord_psus, dtype=np.int64),
        backup_start_s=np.asarray(nodes.start, dtype=float)[order],
        battery_j=np.asarray(nodes.battery, dtype=float)[order],
        rack_positions=np.asarray(nodes.positions, dtype=float)[order],
        hall=np.array([n.split("/", 1)[0] if k != _KIND_CODE["feed"] else ""
                       for n, k in zip(nodes.name, nodes.kind, strict=True)], dtype=object)[order],
    )
    a = racks.arrays
    arr = {k: np.asarray(v, dtype=object if k in ("name", "hall", "row") else float) for k, v in a.items()}
    for k in ("system_idx", "psu_model_idx"):
        arr[k] = arr[k].astype(np.int64)
    arr["gpu_liquid"] = arr["gpu_liquid"].astype(bool)
    rack_arrays = RackArrays(**arr)
    cooling = _build_cooling(layout, catalog, hall_ranges, rack_arrays)
    economics = None
    if layout.economics is not None:
        # the layout's systems, by catalog name, in the order of Factory.systems
        economics = resolve_economics(layout.economics, list(systems), ctx.add,
                                      lambda loc: Where(file, line_of(data, loc), field_path(loc)),
                                      Path(file).parent, ctx.problems)
        if ctx.problems:
            return None, ctx.problems
    factory = Factory(
        name=layout.name,
        source_file=file,
        racks=rack_arrays,
        power=tree,
        systems=tuple(system_spec(catalog.entries[s]) for s in systems),
        loss_models=tuple(losses.models),
        halls=tuple(hall_names),
        cooling=cooling,
        fabric=fabric_design(layout.fabric, catalog, systems),
        economics=economics,
    )
    return factory, []


def _system_columns(entry: SystemEntry, row: RowSpec, losses: _LossModels) -> dict[str, Any]:
    nodes = row.nodes_per_rack or int(entry.nodes_per_rack.si)
    per = {"rack": 1, "node": nodes}
    fixed_max = sum(per[c.per] * c.count.si * c.power.si for c in entry.components)
    fixed_idle = sum(
        per[c.per] * c.count.si * (c.idle_power.si if c.idle_power is not None else c.power.si)
        for c in entry.components
    )
    ps = entry.power_supply
    scope_mult = per[ps.scope]
    tdp = entry.gpu.tdp.si
    # DC IT power at full load and TDP
    nameplate = nodes * (entry.gpus_per_node.si * tdp + entry.cpus_per_node.si * entry.cpu.tdp.si) + fixed_max
    es = entry.energy_storage
    return {
        "num_gpus": nodes * entry.gpus_per_node.si,
        "gpu_idle_w": entry.gpu.idle_power.si,
        "gpu_tdp_w": tdp,
        "gpu_cap_w": min(row.gpu_power_cap, tdp) if row.gpu_power_cap is not None else tdp,
        "gpu_min_clock": entry.gpu.min_clock_factor.si,
        "num_cpus": nodes * entry.cpus_per_node.si,
        "cpu_idle_w": entry.cpu.idle_power.si,
        "cpu_tdp_w": entry.cpu.tdp.si,
        "fixed_idle_w": fixed_idle,
        "fixed_max_w": fixed_max,
        "psu_model_idx": losses.get(ps.psu),
        "num_shelves": scope_mult * ps.shelves.si,
        "psus_per_shelf": ps.psus_per_shelf.si,
        "num_sharing_domains": scope_mult,
        "liquid_fraction": entry.liquid_cooled_fraction.si,
        "nameplate_w": nameplate,
        "cooling_design_w": _cooling_design_w(entry, nodes, nameplate),
        "rack_pressure_drop_pa": (entry.thermal.pressure_drop.si if entry.thermal.pressure_drop is not None
                                  else float("nan")),
        "gpu_liquid": entry.thermal.gpu_cooling == "liquid",
        "gpu_throttle_c": entry.thermal.gpu_throttle_temp.si,
        "gpu_r_k_w": entry.thermal.gpu_thermal_resistance.si,
        "gpu_c_j_k": entry.thermal.gpu_heat_capacity.si,
        "coolant_volume_m3": entry.thermal.coolant_volume.si,
        "coolant_position": entry.thermal.coolant_position.si,
        "air_delta_t_k": entry.thermal.air_delta_t.si,
        "storage_energy_j": es.energy.si if es is not None else 0.0,
        "storage_power_w": es.power.si if es is not None else 0.0,
        "storage_efficiency": es.round_trip_efficiency.si if es is not None else 1.0,
    }


def _cooling_design_w(entry: SystemEntry, nodes: int, nameplate_w: float) -> float:
    """Power one rack's coolant flow is sized on: the catalog's design rating, else the nameplate. [W]"""
    d = entry.thermal.design_power
    if d is None:
        return nameplate_w
    return d.si * (1 if entry.form_factor == "rack" else nodes)


def _expand_hall(
    ctx,
    hall: Hall,
    h: int,
    hname: str,
    layout: Layout,
    catalog: Catalog,
    losses: _LossModels,
    nodes: _Nodes,
    feed_idx: dict[str, int],
    racks: _RackBuild,
    systems: list[str],
    cord_rack,
    cord_node,
    cord_psus,
) -> None:
    default_lineup = hall.lineups[0].name if len(hall.lineups) == 1 else None
    # Racks of this hall, and busway slots (lists of rack indices) per line-up.
    slots: dict[str, list[tuple[list[int], tuple]]] = {lu.name: [] for lu in hall.lineups}
    for r, row in enumerate(hall.rows):
        entry: SystemEntry = catalog.entries[row.system]
        if row.system not in systems:
            systems.append(row.system)
        lineup = next(lu for lu in hall.lineups if lu.name == (row.lineup or default_lineup))
        cols = _system_columns(entry, row, losses)
        ps = entry.power_supply
        _, cords = REDUNDANCY[lineup.redundancy]
        psus_per_unit = int(ps.shelves.si * ps.psus_per_shelf.si)
        if psus_per_unit % cords:
            ctx.add(
                ("halls", h, "rows", r, "system"),
                f"{row.system!r} has {psus_per_unit} PSUs per {ps.scope}, which cannot be split "
                f"evenly over the {cords} cords of redundancy {lineup.redundancy}",
            )
            continue
        for i in range(row.count):
            rname = row.name if row.count == 1 else f"{row.name}{i + 1:02d}"
            first = len(racks.arrays.get("name", []))
            names = [f"{hname}/{rname}/r{j + 1:02d}" for j in range(row.racks_per_row)]
            racks.extend(
                row.racks_per_row,
                name=names,
                hall=hname,
                row=f"{hname}/{rname}",
                system_idx=systems.index(row.system),
                **cols,
            )
            for s in range(0, row.racks_per_row, lineup.racks_per_busway):
                members = list(range(first + s, first + min(s + lineup.racks_per_busway, row.racks_per_row)))
                slots[lineup.name].append((members, (r, int(cols["num_shelves"] * cols["psus_per_shelf"]))))

    for u, lu in enumerate(hall.lineups):
        k, cords = REDUNDANCY[lu.redundancy]
        lineup_slots = slots[lu.name]
        max_groups = lu.blocks // k if lu.blocks is not None else None
        assigned, groups = _assign_slots(len(lineup_slots), k, lu.busways_per_block, max_groups)
        dropped = [m for (m, _), a in zip(lineup_slots, assigned, strict=True) if not a]
        if dropped:
            n = sum(len(m) for m in dropped)
            cap = (lu.blocks or 0) * lu.busways_per_block * lu.racks_per_busway // cords
            ctx.add(
                ("halls", h, "lineups", u, "blocks"),
                f"rack with no power path: {n} racks of hall {hname!r} have no busway; line-up "
                f"{lu.name!r} has {lu.blocks} blocks x {lu.busways_per_block} busways x "
                f"{lu.racks_per_busway} racks / {cords} cords = {cap} racks, rows need "
                f"{cap + n}; raise 'blocks' or 'busways_per_block'",
            )
            continue
        num_blocks = lu.blocks if lu.blocks is not None else groups * k
        prefix = f"{hname}/{lu.name}"
        gen: GeneratorEntry | None = catalog.entries[lu.generator.model] if lu.generator else None
        backup = gen.rating.si * lu.generator.count if gen is not None else 0.0
        start = gen.start_time.si if gen is not None and gen.start_time is not None else 0.0
        swgr_loss = losses.get(lu.switchgear)
        swgr_rating = catalog.entries[lu.switchgear].rating.si
        swgr: dict[str, int] = {}
        for f in dict.fromkeys(lu.feeds):
            swgr[f] = nodes.add(
                f"{prefix}/swgr-{f}", "switchgear", feed_idx[f], swgr_loss, 1, swgr_rating, backup, start
            )
        xf: TransformerEntry = catalog.entries[lu.transformer]
        ups: UpsEntry = catalog.entries[lu.ups.model]
        battery = (lu.ups.modules * ups.module_rating.si * ups.battery_runtime.si
                   if ups.battery_runtime is not None else float("inf"))
        bw: BuswayEntry = catalog.entries[lu.busway]
        ups_node = []
        letters = "ABCDEFGH"
        for b in range(num_blocks):
            g, j = divmod(b, k)
            bname = f"{prefix}/blk{g + 1:02d}{letters[j] if k > 1 else ''}"
            feed = lu.feeds[b % len(lu.feeds)]
            t = nodes.add(
                f"{bname}/xfmr", "transformer", swgr[feed], losses.get(lu.transformer), 1, xf.rating.si
            )
            ups_node.append(
                nodes.add(
                    f"{bname}/ups", "ups", t, losses.get(lu.ups.model, lu.ups.mode), lu.ups.modules,
                    ups.module_rating.si,
                    battery=battery, positions=lu.busways_per_block * lu.racks_per_busway / cords,
                )
            )
        bw_count = [0] * num_blocks
        bw_loss, bw_rating = losses.get(lu.busway), busway_rating_w(bw)
        for (members, (_, psus)), blocks in zip(lineup_slots, assigned, strict=True):
            for b in blocks:
                bw_count[b] += 1
                name = nodes.name[ups_node[b]].removesuffix("/ups") + f"/bw{bw_count[b]:02d}"
                node = nodes.add(name, "busway", ups_node[b], bw_loss, 1, bw_rating)
                for rk in members:
                    cord_rack.append(rk)
                    cord_node.append(node)
                    cord_psus.append(psus // cords)


def _equipment(catalog: Catalog, name: str) -> Equipment:
    """Rated figures of a cooling catalog entry as SI floats."""
    e = catalog.entries[name]
    values = {k: getattr(e, k).si for k in type(e).model_fields if hasattr(getattr(e, k), "si")}
    if e.kind == "chiller":
        values["condenser_water"] = 1.0 if e.condenser == "water" else 0.0
        if e.part_load is not None:
            keys = ("part_load_a", "part_load_b", "part_load_c")
            values |= dict(zip(keys, e.part_load.coefficients, strict=True))
    if e.kind == "cooling_tower":
        values["closed_circuit"] = 1.0 if e.circuit == "closed" else 0.0
    return Equipment(name, e.kind, values)


def _electrical_room(catalog: Catalog, room) -> ElectricalRoomPlant | None:
    if room is None:
        return None
    return ElectricalRoomPlant(
        supply_c=room.supply_temp,
        crah=_equipment(catalog, room.crahs.model),
        num_crahs=room.crahs.count,
        chiller=_equipment(catalog, room.chillers.model),
        num_chillers=room.chillers.count,
        transformers_indoor=room.transformers == "indoor",
    )


def _build_cooling(
    layout: Layout, catalog: Catalog, hall_ranges: list, racks: RackArrays
) -> CoolingPlant | None:
    """CDU groups and hall loops from the halls' ``cooling:`` rules (None when no hall has one)."""
    if not any(h.cooling is not None for h, *_ in hall_ranges):
        return None
    n = len(racks)
    rack_group = np.full(n, -1, dtype=np.int64)
    rack_loop = np.full(n, -1, dtype=np.int64)
    group_loop, group_cdus, group_name, loops = [], [], [], []
    for hall, hname, first, last in hall_ranges:
        cs = hall.cooling
        if cs is None:
            continue
        li = len(loops)
        rack_loop[first:last] = li
        liquid = first + np.flatnonzero(racks.liquid_fraction[first:last] > 0)
        for g, start in enumerate(range(0, len(liquid), cs.cdu.racks_per_group)):
            rack_group[liquid[start : start + cs.cdu.racks_per_group]] = len(group_loop)
            group_loop.append(li)
            group_cdus.append(cs.cdu.cdus_per_group)
            group_name.append(f"{hname}/cdu-group-{g + 1:02d}")
        fw = cs.facility_water
        loops.append(
            CoolingLoop(
                name=hname,
                tcs_coolant=cs.tcs_coolant,
                fw_coolant=fw.coolant,
                rack_supply_c=cs.rack_supply_temp,
                flow_per_power_m3_s_w=cs.flow_per_power,
                fw_supply_c=fw.supply_temp,
                fw_volume_m3=fw.volume,
                cdu=_equipment(catalog, cs.cdu.model),
                pump=_equipment(catalog, fw.pumps.model),
                num_pumps=fw.pumps.count,
                rejection=_equipment(catalog, (cs.dry_coolers or cs.cooling_towers).model),
                num_rejection=(cs.dry_coolers or cs.cooling_towers).count,
                adiabatic=cs.adiabatic,
                trim_chiller=_equipment(catalog, cs.trim_chillers.model) if cs.trim_chillers else None,
                num_trim_chillers=cs.trim_chillers.count if cs.trim_chillers else 0,
                air_supply_c=cs.air.supply_temp,
                crah=_equipment(catalog, cs.air.crahs.model),
                num_crahs=cs.air.crahs.count,
                air_chiller=_equipment(catalog, cs.air.chillers.model),
                num_air_chillers=cs.air.chillers.count,
                room=_electrical_room(catalog, cs.electrical_room),
            )
        )
    amb = layout.ambient
    return CoolingPlant(
        loops=tuple(loops),
        rack_group=rack_group,
        rack_loop=rack_loop,
        group_loop=np.asarray(group_loop, dtype=np.int64),
        group_cdus=np.asarray(group_cdus, dtype=np.int64),
        group_name=np.asarray(group_name, dtype=object),
        ambient_dry_bulb_c=amb.dry_bulb if amb else float("nan"),
        ambient_relative_humidity=amb.relative_humidity if amb else float("nan"),
    )
