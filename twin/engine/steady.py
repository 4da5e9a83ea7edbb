"""Steady-state evaluation: a factory's power chain and cooling plant at one operating point, with N-1.

Rack power from the power model is the heat the cooling plant removes; the fabric's network racks
add IT power (and their share of losses) and heat to their hall's air, fabric parts inside compute
racks that the system entries do not carry add heat to those racks; cooling power joins the
electrical chain at the meter, so PUE counts both. A layout without a ``cooling:`` design reports
``pue_electrical`` only. The result is a :class:`~twin.engine.results.Results`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from twin.engine.cooling import evaluate_cooling
from twin.engine.invariants import check
from twin.engine.results import Results
from twin.errors import ArgumentError
from twin.fabric import build_fabric
from twin.factory import Factory
from twin.power.failover import n_minus_1, overloads
from twin.power.network import losses_by_stage, solve_power


def evaluate(
    factory: Factory,
    utilisation: float = 1.0,
    *,
    gpu_cap_w: float | None = None,
    with_n_minus_1: bool = True,
    ambient_c: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    with_cooling_n_minus_1: bool | None = None,
) -> Results:
    """Evaluate power chain, fabric and cooling of a factory at one utilisation, with N-1 analyses.

    Every headline figure is computed here, once, and every invariant of
    :mod:`twin.engine.invariants` is checked (``Results.invariants``).

    Parameters
    ----------
    factory : Factory
        From :func:`twin.layout.load_layout`.
    utilisation : float
        GPU/CPU utilisation of every rack, 0..1 (1 = design peak, GPUs at TDP or cap). [-]
    gpu_cap_w : float, optional
        GPU power cap applied to every rack, overriding the layout's caps; at least the GPUs' idle
        power. [W]
    with_n_minus_1 : bool
        Also fail every power component once (default True).
    ambient_c : float, optional
        Ambient dry bulb for the cooling plant; defaults to the layout's design ambient. [°C]
    progress : callable(done, total), optional
        Called as N-1 cases complete.
    with_cooling_n_minus_1 : bool, optional
        Cooling N-1 on its own (default: as ``with_n_minus_1``).
    """
    if not 0.0 <= utilisation <= 1.0 or not np.isfinite(utilisation):
        raise ArgumentError(f"utilisation must be between 0 and 1, got {utilisation}", field="utilisation")
    if gpu_cap_w is not None:
        idle = float(factory.racks.gpu_idle_w.max()) if len(factory.racks) else 0.0
        if not (np.isfinite(gpu_cap_w) and gpu_cap_w >= idle and gpu_cap_w > 0):
            raise ArgumentError(f"GPU power cap {gpu_cap_w:g} W is below the GPU idle power {idle:g} W of "
                                "the layout's systems; a cap must be at least the idle power",
                                field="gpu_cap_w")
    if with_n_minus_1:
        flow, cases = n_minus_1(factory, utilisation, gpu_cap_w=gpu_cap_w, progress=progress)
    else:
        flow, cases = solve_power(factory, utilisation, gpu_cap_w=gpu_cap_w), None
    fabric = build_fabric(factory)
    racks_it = flow.it_power_w
    network = fabric.fabric_power_w()
    chain = flow.chain_input_w
    # network racks are IT load on the same distribution: their electrical losses are taken at the
    # chain's average loss ratio (they are not placed in the power tree yet), and reported as a stage
    ratio = chain / racks_it if racks_it > 0 else 1.0
    power_chain = chain + network * ratio
    losses = losses_by_stage(factory, flow) | {"network_share": network * (ratio - 1.0)}
    it = racks_it + network
    cooling = None
    if factory.cooling is not None:
        cooling = evaluate_cooling(
            factory,
            flow,
            ambient_c=ambient_c,
            with_n_minus_1=with_n_minus_1 if with_cooling_n_minus_1 is None else with_cooling_n_minus_1,
            hall_air_heat_w=fabric.network_power_w(),
            extra_rack_heat_w=fabric.rack_power_w(),
            network_losses_w=losses["network_share"],
        )
    cooling_w = cooling.cooling_power_w if cooling is not None else 0.0
    facility = power_chain + cooling_w
    res = Results(
        factory=factory,
        utilisation=utilisation,
        flow=flow,
        power_cases=cases,
        cooling=cooling,
        fabric=fabric,
        it_power_racks_w=racks_it,
        network_power_w=network,
        it_power_w=it,
        power_chain_w=power_chain,
        losses_w=losses,
        cooling_power_w=cooling_w,
        facility_power_w=facility,
        pue=facility / it if cooling is not None and it > 0 else None,
        pue_electrical=power_chain / it if it > 0 else None,
        baseline_overloads=overloads(factory, flow),
    )
    return dataclasses.replace(res, invariant_messages=check(res))
