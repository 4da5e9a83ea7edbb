"""Steady-state evaluation of a factory: the power chain at one operating point, plus N-1.

This is the engine's first coupling step. Cooling, fabric and serving join it in later issues;
until cooling is modelled, PUE counts electrical losses only (reported as ``pue_electrical``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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
        facility = flow.facility_power_w
        it = flow.it_power_w
        systems = []
        for s, name in enumerate(f.systems):
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
            "it_load_dc_w": float(flow.it_dc_w.sum()),
            "facility_power_w": facility,
            "losses_w": losses,
            "losses_total_w": float(sum(losses.values()) - losses["power_shelf"]),
            "pue_electrical": facility / it if it > 0 else None,
            "pue_note": "electrical losses only; cooling power is not modelled yet",
            "baseline_overloads": [_overload_dict(o) for o in overloads(f, flow)],
            "components": self.components(),
        }
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
    progress: Callable[[int, int], None] | None = None,
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
    progress : callable(done, total), optional
        Called as N-1 cases complete.
    """
    if not 0.0 <= utilisation <= 1.0 or not np.isfinite(utilisation):
        raise ValueError(f"utilisation must be between 0 and 1, got {utilisation}")
    if with_n_minus_1:
        flow, cases = n_minus_1(factory, utilisation, gpu_cap_w=gpu_cap_w, progress=progress)
    else:
        flow, cases = solve_power(factory, utilisation, gpu_cap_w=gpu_cap_w), None
    return Evaluation(factory, utilisation, flow, cases)
