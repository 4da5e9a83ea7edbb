"""What a run costs: the inputs of :mod:`twin.economics` gathered from its layout and its results.

The economics prices counts and energies; this module counts: each system's racks and nodes, the
fabric's bill of materials (switches, transceivers and cables outside the compute racks, plus the
NIC-side optics, which the system prices leave out), the design critical IT load (racks'
nameplate and the network), the run's energy at the meter by hour of day, its peak, water and
tokens. Parts with no price in the list are named in the report (``unpriced``), never priced at zero
silently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.economics.prices import Prices, apply_overrides, load_prices
from twin.economics.tco import CostInputs, CostReport, costs
from twin.errors import InputError, Problem


def cost_inputs(res, catalog=None) -> CostInputs:
    """:class:`~twin.economics.tco.CostInputs` of a coupled run (:class:`SimResults`)."""
    from twin.fabric import build_fabric

    sc = res.scenario
    fac = sc.factory
    racks = fac.racks
    units: dict[str, dict[str, float]] = {}
    gpus_by: dict[str, float] = {}
    nameplate: dict[str, float] = {}
    for i, spec in enumerate(fac.systems):
        on = racks.system_idx == i
        gpus = float(racks.num_gpus[on].sum())
        units[spec.name] = {"rack": float(on.sum()), "node": gpus / spec.gpus_per_node}
        gpus_by[spec.name] = gpus
        nameplate[spec.name] = float(racks.nameplate_w[on].sum())
    fabric = build_fabric(fac)
    counts: dict[str, float] = {}
    unpriced: list[str] = []
    for row in fabric.bom:
        item, model, n = row["item"], row["model"], float(row["count"])
        if item == "nic_transceivers":
            model = _nic_optic(row, catalog) or model
        elif row["in_compute_rack"]:
            continue  # NICs, DPUs and NVLink trays are in the system's price
        counts[model] = counts.get(model, 0.0) + n
    critical = float(racks.nameplate_w.sum()) + float(fabric.fabric_power_w())
    s = res.steps
    dt = res.physics_step_s
    t = np.asarray(s["time_s"], dtype=float)
    h = np.minimum(dt, res.duration_s - t)
    meter = np.asarray(s["meter_w"], dtype=float)
    hour = (((sc.run.start_hour * 3600.0 + t) // 3600.0) % 24).astype(int)
    by_hour = np.bincount(hour, weights=meter * h, minlength=24)
    inputs_t = sum(d.get("input_tokens", 0.0) for d in res.deployments.values())
    lost = max((res.reference_output_tokens or res.output_tokens) - res.output_tokens, 0.0)
    return CostInputs(
        system_units=units, fabric_counts=counts, critical_w=critical, num_gpus=float(racks.num_gpus.sum()),
        duration_s=res.duration_s, energy_j=float(res.energy_j), energy_by_hour_j=by_hour,
        peak_w=float(meter.max()) if len(meter) else 0.0, water_m3=float(res.water_kg) / 1000.0,
        output_tokens=float(res.output_tokens), input_tokens=float(inputs_t), gpus_by_system=gpus_by,
        nameplate_by_system_w=nameplate,
        unpriced=tuple(unpriced), lost_output_tokens=lost,
        reference_energy_j=getattr(res, "reference_energy_j", None))


def _nic_optic(row: dict, catalog) -> str | None:
    """The catalog transceiver that fits a NIC's cage: same speed as its port (None without a catalog)."""
    if catalog is None:
        return None
    nic_name = row["model"].removeprefix("optic in ").split(" (")[0]
    nic = catalog.entries.get(nic_name)
    if nic is None or getattr(nic, "port_speed", None) is None:
        return None
    speed = nic.port_speed.si
    fits = sorted(n for n in catalog.names("transceiver")
                  if abs(catalog.entries[n].speed.si - speed) < 1e-6 * speed)
    return fits[0] if fits else None


def run_costs(res, prices: Prices | None = None, catalog=None) -> CostReport:
    """Costs of a coupled run with a price list (default: the scenario's, else the bundled one).

    Raises
    ------
    InputError
        The price list has no price for a system of the layout.
    """
    prices = prices if prices is not None else scenario_prices(res.scenario)
    inputs = cost_inputs(res, catalog)
    missing = [k for k in inputs.fabric_counts if k not in prices.equipment_usd]
    inputs = _with_token_value(inputs, res, prices)
    if missing:
        import dataclasses

        inputs = dataclasses.replace(inputs, unpriced=tuple(
            f"{k} x {inputs.fabric_counts[k]:,.0f}" for k in sorted(missing)))
    try:
        return costs(inputs, prices)
    except KeyError as exc:
        raise InputError([Problem(prices.file, None, "systems", str(exc.args[0]))]) from None


def _with_token_value(inputs: CostInputs, res, prices: Prices) -> CostInputs:
    """The value of a lost output token: the deployments' published output prices, by their tokens."""
    import dataclasses

    num = den = 0.0
    for plan in res.scenario.deployments:
        price = prices.token_usd.get(plan.model)
        tokens = sum(d["output_tokens"] for name, d in res.deployments.items()
                     if name == plan.name or name.startswith(f"{plan.name}/"))
        if price is not None:
            num += price[1] * max(tokens, 1.0)
            den += max(tokens, 1.0)
    return dataclasses.replace(inputs, token_value_usd=num / den if den else 0.0)


def scenario_prices(scenario) -> Prices:
    """The price list a scenario names (``economics: {prices: ...}``), with its overrides applied."""
    econ = getattr(scenario, "economics", None)
    if econ is None:
        return load_prices()
    base = Path(scenario.source_file).parent if scenario.source_file else None
    return apply_overrides(load_prices(econ.prices, base), econ)
