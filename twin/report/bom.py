"""Bill of materials of a layout: racks, power chain, cooling plant and fabric, counted from the model.

Pure functions of :class:`twin.Results` (and, for the standby generators, the parsed layout): every
count is read from the expanded factory, never typed in. Power equipment comes from the power tree
(one node per switchgear line-up, transformer, UPS system and busway; a UPS system holds
``num_modules`` modules), cooling equipment from the hall loops of ``factory.cooling`` (CDUs from the
CDU groups), the fabric from ``results.fabric.bom`` (:mod:`twin.fabric.bom`).

Every row is a ``dict``: ``category`` (compute, power, cooling, fabric), ``item``, ``model`` (the
catalog name), ``location`` (hall, or ``site``), ``count``, ``unit_rating_w`` (rated power or heat
capacity of one unit, ``None`` where it has none) and ``note``.
"""

from __future__ import annotations

from collections import Counter

#: BOM item of each power-tree node kind (feeds are the utility's, listed for their rating only).
POWER_ITEMS = {"feed": "utility feeds", "switchgear": "switchgear line-ups", "transformer": "transformers",
               "ups": "UPS systems", "busway": "busways"}
#: Order of the power rows, from the utility down.
POWER_ORDER = ("utility feeds", "switchgear line-ups", "standby generators", "transformers", "UPS systems",
               "UPS modules", "busways")
#: BOM item of a hall's heat-rejection units, by catalog kind.
REJECTION_LABEL = {"dry_cooler": "dry coolers", "cooling_tower": "cooling towers"}
#: BOM item of each fabric BOM part (:mod:`twin.fabric.bom`).
FABRIC_ITEMS = {
    "leaf_switches": "leaf switches", "spine_switches": "spine switches",
    "superspine_switches": "super-spine switches", "nic_ports": "NICs (ports)", "nic_cards": "NICs (cards)",
    "nic_transceivers": "NIC-side optics", "switch_transceivers": "switch-side optics",
    "nic_cables": "NIC cables", "trunk_cables": "trunk cables", "nvlink_switch_trays": "NVLink switch trays",
}


def _row(category: str, item: str, model: str, location: str, count: int, unit_rating_w: float | None = None,
         note: str = "") -> dict:
    return {"category": category, "item": item, "model": model, "location": location, "count": int(count),
            "unit_rating_w": None if unit_rating_w is None else float(unit_rating_w), "note": note}


def _hall_of(node_name: str, halls: tuple[str, ...]) -> str:
    """Hall of a power node named ``<hall>/<line-up>/...`` (``site`` for the utility feeds)."""
    head = node_name.split("/", 1)[0]
    return head if "/" in node_name and head in halls else "site"


def compute_rows(results) -> list[dict]:
    """Racks by system and hall, and the power-shelf PSUs inside them (model from the system entry)."""
    f = results.factory
    r = f.racks
    rows = []
    for hall in f.halls:
        in_hall = r.hall == hall
        for s, system in enumerate(f.system_names):
            m = in_hall & (r.system_idx == s)
            if not m.any():
                continue
            gpus = int(r.num_gpus[m].sum())
            rows.append(_row("compute", "racks", system, hall, int(m.sum()), float(r.nameplate_w[m].max()),
                             f"{gpus:,} GPUs; rating = DC IT power at full load"))
            psus = Counter()
            for i in m.nonzero()[0]:
                psus[int(r.psu_model_idx[i])] += int(r.num_shelves[i] * r.psus_per_shelf[i])
            for idx, n in psus.items():
                lm = f.loss_models[idx]
                rows.append(_row("compute", "power-shelf PSUs", lm.name, hall, n, lm.rating_w,
                                 f"inside the {system} racks"))
    return rows


def power_rows(results, layout=None) -> list[dict]:
    """The power chain from the power tree: feeds, switchgear, transformers, UPS systems and modules, busways.

    Standby generators are counted per switchgear line-up that has backup capacity; their model
    and count per line-up come from ``layout`` (the parsed :class:`twin.layout.Layout`), so they are
    left out when it is not given.
    """
    from twin.factory import NODE_KINDS

    f = results.factory
    tree = f.power
    groups: dict[tuple, int] = {}
    for i in range(len(tree)):
        kind = NODE_KINDS[tree.kind[i]]
        name = str(tree.name[i])
        model = f.loss_models[tree.loss_model_idx[i]].name if tree.loss_model_idx[i] >= 0 else "utility"
        key = (kind, model, _hall_of(name, f.halls), float(tree.module_rating_w[i]), int(tree.num_modules[i]))
        groups[key] = groups.get(key, 0) + 1
    rows = []
    for (kind, model, where, module_w, modules), n in groups.items():
        if kind == "ups":
            rows.append(_row("power", POWER_ITEMS[kind], model, where, n, modules * module_w,
                             f"{modules} module(s) each"))
            rows.append(_row("power", "UPS modules", model, where, n * modules, module_w))
        else:
            rows.append(_row("power", POWER_ITEMS[kind], model, where, n, module_w))
    rows += generator_rows(results, layout)
    rows.sort(key=lambda r: POWER_ORDER.index(r["item"]))
    return rows


def _halls_by_name(layout) -> dict[str, object]:
    """Expanded hall name -> the layout's hall spec (copies named ``<name>-1``, ``<name>-2`` ...)."""
    out = {}
    for hall in layout.halls:
        for c in range(hall.copies):
            out[hall.name if hall.copies == 1 else f"{hall.name}-{c + 1}"] = hall
    return out


def generator_rows(results, layout=None) -> list[dict]:
    """Standby generators: ``count`` sets on each switchgear line-up of a line-up with ``generator:``."""
    if layout is None:
        return []
    from twin.factory import NODE_KINDS

    tree = results.factory.power
    halls = _halls_by_name(layout)
    counts: Counter = Counter()
    for i in range(len(tree)):
        if NODE_KINDS[tree.kind[i]] != "switchgear":
            continue
        parts = str(tree.name[i]).split("/")
        hall = halls.get(parts[0])
        if hall is None or len(parts) < 2:
            continue
        lu = next((lu for lu in hall.lineups if lu.name == parts[1]), None)
        if lu is None or lu.generator is None:
            continue
        # the switchgear's backup capacity is its line-up's generators together
        unit_w = float(tree.backup_rating_w[i]) / lu.generator.count
        counts[(lu.generator.model, parts[0], unit_w)] += lu.generator.count
    rows = []
    for (model, where, unit_w), n in counts.items():
        rows.append(_row("power", "standby generators", model, where, n, unit_w,
                         "on the switchgear line-ups of their line-up"))
    return rows


def cooling_rows(results) -> list[dict]:
    """Cooling plant of every hall loop: CDUs, facility pumps, dry coolers, trim and air-side chillers, CRAHs.

    CDUs are counted from the CDU groups; the others are the loop's counts (``factory.cooling``).
    """
    plant = results.factory.cooling
    if plant is None:
        return []
    rows = []
    for li, lp in enumerate(plant.loops):
        cdus = int(plant.group_cdus[plant.group_loop == li].sum())
        groups = int((plant.group_loop == li).sum())
        units = [("CDUs", lp.cdu, cdus, "capacity", f"in {groups} CDU group(s)"),
                 ("facility-water pumps", lp.pump, lp.num_pumps, "rated_power", "rating = shaft power"),
                 (REJECTION_LABEL[lp.rejection.kind], lp.rejection, lp.num_rejection, "capacity",
                  "adiabatic" if lp.adiabatic else ""),
                 ("trim chillers", lp.trim_chiller, lp.num_trim_chillers, "capacity", ""),
                 ("CRAHs", lp.crah, lp.num_crahs, "capacity", ""),
                 ("air-side chillers", lp.air_chiller, lp.num_air_chillers, "capacity", "")]
        if lp.room is not None:
            units += [("electrical-room CRAHs", lp.room.crah, lp.room.num_crahs, "capacity", ""),
                      ("electrical-room chillers", lp.room.chiller, lp.room.num_chillers, "capacity", "")]
        for item, eq, n, rating, note in units:
            if eq is None or n == 0:
                continue
            rows.append(_row("cooling", item, eq.name, lp.name, n, eq.values.get(rating), note))
    return rows


def fabric_rows(results) -> list[dict]:
    """The fabric's BOM (``results.fabric.bom``) as BOM rows, summed over planes, one per part and hall."""
    rows = []
    for r in results.fabric.bom:
        note = f"{r['network']} network"
        if r["in_compute_rack"]:
            note += "; inside compute racks (power in the system entry)"
        rows.append(_row("fabric", FABRIC_ITEMS.get(r["item"], r["item"]), r["model"], r["location"],
                         r["count"], r["unit_power_w"] or None, note))
    return rows


def bill_of_materials(results, layout=None) -> list[dict]:
    """Every BOM row of the layout: compute, power, cooling, then fabric (see the module notes)."""
    return [*compute_rows(results), *power_rows(results, layout), *cooling_rows(results),
            *fabric_rows(results)]


def bom_totals(rows: list[dict]) -> dict[tuple[str, str], int]:
    """Count of every (category, item) over models and locations."""
    out: Counter = Counter()
    for r in rows:
        out[(r["category"], r["item"])] += r["count"]
    return dict(out)
