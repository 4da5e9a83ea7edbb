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
from twin.economics.tco import CostInputs, CostReport, costs, usd_per_million_tokens
from twin.errors import InputError, Problem
from twin.fabric.bom import nic_of_optic


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
    by_run_hour = np.bincount((t // 3600.0).astype(int), weights=meter * h) if len(t) else np.zeros(1)
    inputs_t = sum(d.get("input_tokens", 0.0) for d in res.deployments.values())
    lost = max((res.reference_output_tokens or res.output_tokens) - res.output_tokens, 0.0)
    return CostInputs(
        system_units=units, fabric_counts=counts, critical_w=critical, num_gpus=float(racks.num_gpus.sum()),
        duration_s=res.duration_s, energy_j=float(res.energy_j), energy_by_hour_j=by_hour,
        peak_w=float(meter.max()) if len(meter) else 0.0, water_m3=float(res.water_kg) / 1000.0,
        output_tokens=float(res.output_tokens), input_tokens=float(inputs_t), gpus_by_system=gpus_by,
        nameplate_by_system_w=nameplate, lost_output_tokens=lost,
        reference_energy_j=getattr(res, "reference_energy_j", None), energy_by_run_hour_j=by_run_hour)


def _nic_optic(row: dict, catalog) -> str | None:
    """The catalog transceiver that fits a NIC's cage: same speed as its port (None without a catalog)."""
    if catalog is None:
        return None
    nic = catalog.entries.get(nic_of_optic(row["model"]))
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
    inputs = _with_token_value(cost_inputs(res, catalog), res, prices)
    try:
        return costs(inputs, prices)
    except KeyError as exc:
        raise InputError([Problem(prices.file, None, "systems", str(exc.args[0]))]) from None
    except ValueError as exc:  # an hourly price series shorter than the run (a layout's)
        raise InputError([Problem(res.scenario.factory.source_file, None, "economics.energy_prices",
                                  str(exc))]) from None


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
    """The price list of a scenario, with the layout's and then the scenario's overrides applied.

    The list is the one the scenario names (``economics: {prices: ...}``), else the layout's, else
    the bundled one; a file path is relative to the file that names it.
    """
    layout_econ = scenario.factory.economics
    econ = scenario.economics
    if econ is not None and econ.prices is not None:
        prices = load_prices(econ.prices, Path(scenario.source_file).parent)
    elif layout_econ is not None and layout_econ.prices is not None:
        prices = load_prices(layout_econ.prices, Path(scenario.factory.source_file).parent)
    else:
        prices = load_prices()
    return apply_overrides(apply_overrides(prices, layout_econ), econ)


def cost_curve(prepared, res, prices: Prices, points: int = 10) -> list[dict]:
    """$ per million output tokens along each deployment's throughput-latency curve.

    ``res`` is a priced run (:class:`SimResults` with ``costs``). The operator's choice is a point on
    the curve, not one number: more requests per GPU lower the
    cost per token and raise the time per output token. For each (aggregated) deployment the steady
    fluid model is solved from 5 % of its replicas' saturated rate to saturation; at each point the
    cost per GPU-hour is the run's fixed cost per GPU-hour of its system (everything but energy and
    water) plus the energy of that point: its GPUs' and rack parts' power (:mod:`twin.power.parts`)
    per GPU, times the run's PUE and mean energy price. Interactivity is ``1 / TPOT`` (output tokens
    per second seen by one user). Disaggregated pools are left out (their cost splits over two pools).
    """
    from twin.power.parts import (
        HOST_CPU_LOAD_SERVING,
        MEMORY_BOUND_POWER,
        gpu_activity_power_w,
        rack_parts_power_w,
    )
    from twin.serving.fluid import FluidModel

    report: CostReport = res.costs
    k = report.kpis
    lines = {x["item"]: x["usd"] for x in report.lines}
    energy_usd = sum(x["usd"] for x in report.lines if x["category"] == "energy")
    hours = k["cost_usd"] / k["usd_per_hour"] if k["usd_per_hour"] else 0.0
    if not hours:
        return []
    fac = prepared.scenario.factory
    racks = fac.racks
    gpus_total = float(racks.num_gpus.sum())
    var_per_gpu_hour = (energy_usd + lines.get("water", 0.0)) / hours / gpus_total
    usd_per_j = energy_usd / res.energy_j if res.energy_j > 0 else prices.energy_usd_per_j
    pue = res.pue or 1.0
    rows = []
    for sd in prepared.served:
        if sd.role != "both":
            continue
        system = sd.plan.system
        gpu_hour = report.rental_band.get(system, {}).get("usd_per_gpu_hour", k["usd_per_gpu_hour"])
        fixed = gpu_hour - var_per_gpu_hour
        fm = FluidModel(sd.perf)
        n_in, n_out = sd.input_len.mean, sd.output_len.mean
        sat = float(fm.curve(1e9, n_in, n_out).completed_per_s[0])
        rates = sat * np.r_[np.linspace(0.05, 0.95, points - 1), 0.999]
        cur = fm.curve(rates, n_in, n_out)
        r = int(sd.plan.racks[0])
        load = np.minimum(cur.compute_fraction + MEMORY_BOUND_POWER * cur.memory_fraction, 1.0)
        g = gpu_activity_power_w(load, 0.0, 1.0, racks.gpu_idle_w[r], racks.gpu_tdp_w[r], memory_power=1.0)
        it = rack_parts_power_w(g, HOST_CPU_LOAD_SERVING, racks.num_gpus[r], racks.gpu_idle_w[r],
                                racks.gpu_tdp_w[r], racks.num_cpus[r], racks.cpu_idle_w[r],
                                racks.cpu_tdp_w[r], racks.fixed_idle_w[r], racks.fixed_max_w[r])
        w_per_gpu = np.asarray(it, dtype=float) / racks.num_gpus[r] * pue
        usd_h = fixed + w_per_gpu * usd_per_j * 3600.0
        tok_gpu = cur.completed_per_s * n_out / sd.deployment.num_gpus
        cost = usd_per_million_tokens(usd_h, tok_gpu)
        for i in range(len(rates)):
            rows.append({"deployment": sd.plan.name, "system": system,
                         "rate_per_s": float(rates[i] * sd.num_replicas),
                         "share_of_saturation": float(rates[i] / sat),
                         "tokens_per_s_per_gpu": float(tok_gpu[i]),
                         "tokens_per_s_per_user": float(1.0 / cur.tpot_s[i]),
                         "ttft_s": float(cur.ttft_s[i]), "tpot_s": float(cur.tpot_s[i]),
                         "usd_per_gpu_hour": float(usd_h[i]), "usd_per_million_tokens": float(cost[i])})
    return rows
