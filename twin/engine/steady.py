"""Steady-state evaluation of a factory: the power chain and the cooling plant at one operating
point, each with its N-1 analysis.

Rack power from the power model is the heat the cooling plant removes; the fabric's network racks
add IT power (and its share of losses) and heat to their hall's air; cooling power joins the
electrical chain at the meter, so PUE counts both. A layout without a ``cooling:`` design reports
``pue_electrical`` only. Fabric and serving join in later issues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.engine.cooling import CoolingEvaluation, evaluate_cooling
from twin.fabric import Fabric, build_fabric
from twin.factory import NODE_KINDS, Factory
from twin.power.failover import FailureCase, n_minus_1, overloads
from twin.power.network import PowerFlow, losses_by_stage, solve_power


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`."""

    factory: Factory
    utilisation: float
    flow: PowerFlow
    cases: list[FailureCase] | None
    cooling: CoolingEvaluation | None = None
    fabric: Fabric | None = None

    @property
    def network_power_w(self) -> float:
        """Power of the fabric's network racks (switches, switch-side optics) plus fabric power in
        compute racks not already in their system entries. [W]"""
        return self.fabric.fabric_power_w() if self.fabric is not None else 0.0

    @property
    def losses_w(self) -> dict[str, float]:
        """Electrical losses per stage. [W]"""
        return losses_by_stage(self.factory, self.flow)

    @property
    def survives_n_minus_1(self) -> bool | None:
        """True when every single failure leaves no rack dropped and nothing overloaded."""
        return None if self.cases is None else all(c.survives for c in self.cases)

    def components(self) -> list[dict]:
        """Every power component with its load and rating, most loaded first."""
        tree, flow = self.factory.power, self.flow
        rows = [
            {
                "name": str(tree.name[i]),
                "kind": NODE_KINDS[tree.kind[i]],
                "load_w": float(flow.node_load_w[i]),
                "rating_w": float(flow.node_rating_w[i]),
                "loading": float(flow.node_load_w[i] / flow.node_rating_w[i])
                if flow.node_rating_w[i]
                else None,
                "loss_w": float(flow.node_loss_w[i]),
            }
            for i in range(len(tree))
        ]
        return sorted(rows, key=lambda r: -(r["loading"] or 0.0))

    def to_dict(self) -> dict:
        """Figures for scripts (the ``--json`` output of ``twin evaluate``), SI units."""
        f, flow = self.factory, self.flow
        losses = self.losses_w
        chain = flow.facility_power_w
        racks_it = flow.it_power_w
        network = self.network_power_w
        # network racks are IT load on the same distribution: their electrical losses are taken at
        # the chain's average loss ratio (they are not placed in the power tree yet)
        chain_total = chain + network * (chain / racks_it if racks_it > 0 else 1.0)
        it = racks_it + network
        facility = chain_total
        systems = []
        for s, name in enumerate(f.system_names):
            m = f.racks.system_idx == s
            systems.append(
                {
                    "system": name,
                    "num_racks": int(m.sum()),
                    "num_gpus": int(f.racks.num_gpus[m].sum()),
                    "rack_input_w_max": float(flow.rack_input_w[m].max()),
                    "gpu_power_w": float(flow.gpu_w[m].max()),
                    "clock_factor_min": float(flow.clock_factor[m].min()),
                }
            )
        out = {
            "layout": f.name,
            "source_file": f.source_file,
            "utilisation": self.utilisation,
            "num_halls": len(f.halls),
            "num_racks": f.num_racks,
            "num_gpus": f.num_gpus,
            "systems": systems,
            "it_power_w": it,
            "it_power_racks_w": racks_it,
            "fabric_power_w": network,
            "it_load_dc_w": float(flow.it_dc_w.sum()),
            "facility_power_w": facility,
            "losses_w": losses,
            "losses_total_w": float(sum(losses.values()) - losses["power_shelf"]),
            "power_chain_w": chain_total,
            "pue_electrical": chain_total / it if it > 0 else None,
            "baseline_overloads": [_overload_dict(o) for o in overloads(f, flow)],
            "components": self.components(),
        }
        if self.cooling is not None:
            cool = self.cooling.to_dict()
            out["facility_power_w"] = chain_total + cool["cooling_power_w"]
            out["cooling_power_w"] = cool["cooling_power_w"]
            out["pue"] = out["facility_power_w"] / it if it > 0 else None
            out["cooling"] = cool
        else:
            out["pue"] = None
            out["pue_note"] = "no 'cooling:' design in the layout: PUE counts electrical losses only"
        if self.fabric is not None:
            out["fabric"] = self.fabric.summary()
        if self.cases is not None:
            out["n_minus_1_survives"] = self.survives_n_minus_1
            out["n_minus_1"] = [
                {
                    "failed": c.failed,
                    "kind": c.kind,
                    "survives": c.survives,
                    "racks_dropped": c.racks_dropped,
                    "power_dropped_w": c.power_dropped_w,
                    "overloaded": [_overload_dict(o) for o in c.overloaded],
                }
                for c in self.cases
            ]
        return out


def _overload_dict(o) -> dict:
    loading = o.loading
    return o.__dict__ | {"loading": loading if np.isfinite(loading) else None}


def evaluate(
    factory: Factory,
    utilisation: float = 1.0,
    *,
    gpu_cap_w: float | None = None,
    with_n_minus_1: bool = True,
    ambient_c: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    with_cooling_n_minus_1: bool | None = None,
) -> Evaluation:
    """Evaluate the power chain of a factory at one utilisation, with N-1 analysis.

    Parameters
    ----------
    factory : Factory
        From :func:`twin.layout.load_layout`.
    utilisation : float
        GPU/CPU utilisation of every rack, 0..1 (1 = design peak, GPUs at TDP or cap). [-]
    gpu_cap_w : float, optional
        GPU power cap applied to every rack, overriding the layout's caps. [W]
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
        raise ValueError(f"utilisation must be between 0 and 1, got {utilisation}")
    if with_n_minus_1:
        flow, cases = n_minus_1(factory, utilisation, gpu_cap_w=gpu_cap_w, progress=progress)
    else:
        flow, cases = solve_power(factory, utilisation, gpu_cap_w=gpu_cap_w), None
    fabric = build_fabric(factory)
    cooling = None
    if factory.cooling is not None:
        cooling = evaluate_cooling(
            factory,
            flow,
            ambient_c=ambient_c,
            with_n_minus_1=with_n_minus_1 if with_cooling_n_minus_1 is None else with_cooling_n_minus_1,
            hall_air_heat_w=fabric.network_power_w(),
        )
    return Evaluation(factory, utilisation, flow, cases, cooling, fabric)
