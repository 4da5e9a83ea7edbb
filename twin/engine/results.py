"""The results of a steady evaluation as one typed object: headline figures, tables, invariants.

:func:`twin.engine.steady.evaluate` computes every figure once and builds :class:`Results`; the CLI,
JSON (:meth:`Results.to_dict`), Parquet (:meth:`Results.to_parquet`) and everything later read it.
Tables are pandas DataFrames, one row per rack, power node, CDU group or hall loop (pandas is imported
only when a table is asked for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.engine.cooling import CoolingResults
from twin.fabric import Fabric
from twin.factory import NODE_KINDS, Factory
from twin.power.failover import FailureCase, Overload
from twin.power.network import PowerFlow

if TYPE_CHECKING:
    import pandas as pd


def _overload_dict(o: Overload) -> dict:
    loading = o.loading
    return o.__dict__ | {"loading": loading if np.isfinite(loading) else None}


@dataclass(frozen=True)
class Results:
    """One operating point of a factory: power chain, fabric and cooling, with N-1 and invariants.

    Powers in W. ``it_power_w`` is compute racks (at their cords) plus the fabric's network power;
    ``power_chain_w`` the electrical input of the whole IT load (the distribution tree's input plus the
    network racks' share at the chain's average loss ratio); ``facility_power_w`` adds the cooling
    plant (the meter); ``losses_w`` are the electrical losses by stage (``power_shelf`` lies inside IT
    power, ``network_share`` is the network racks' part of the chain losses). See docs/nomenclature.md.
    """

    factory: Factory
    utilisation: float
    flow: PowerFlow
    power_cases: list[FailureCase] | None
    cooling: CoolingResults | None
    fabric: Fabric
    it_power_racks_w: float
    network_power_w: float
    it_power_w: float
    power_chain_w: float
    losses_w: dict[str, float]
    cooling_power_w: float
    facility_power_w: float
    pue: float | None
    pue_electrical: float | None
    baseline_overloads: list[Overload]  # components over their rating in normal operation, worst first
    invariant_messages: dict[str, str | None] = field(default_factory=dict)

    @property
    def invariants(self) -> dict[str, bool]:
        """Invariant name -> passed (see :mod:`twin.engine.invariants`)."""
        return {k: v is None for k, v in self.invariant_messages.items()}

    @property
    def losses_total_w(self) -> float:
        """Electrical losses outside IT power: every stage but the power shelves. [W]"""
        return float(sum(w for k, w in self.losses_w.items() if k != "power_shelf"))

    @property
    def n_minus_1_survives(self) -> bool | None:
        """True when every single power failure leaves no rack dropped and nothing overloaded."""
        return None if self.power_cases is None else all(c.survives for c in self.power_cases)

    # ---- tables ---------------------------------------------------------------------------------

    def component_rows(self) -> list[dict]:
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

    def system_rows(self) -> list[dict]:
        """One row per system: racks, GPUs, largest rack input, GPU power, lowest clock factor."""
        f, flow = self.factory, self.flow
        rows = []
        for s, name in enumerate(f.system_names):
            m = f.racks.system_idx == s
            rows.append(
                {
                    "system": name,
                    "num_racks": int(m.sum()),
                    "num_gpus": int(f.racks.num_gpus[m].sum()),
                    "rack_input_w_max": float(flow.rack_input_w[m].max()),
                    "gpu_power_w": float(flow.gpu_w[m].max()),
                    "clock_factor_min": float(flow.clock_factor[m].min()),
                }
            )
        return rows

    def racks(self) -> pd.DataFrame:
        """One row per rack: system, power (utilisation, clock, GPU, IT, input, shelf loss), cooling."""
        import pandas as pd

        f, flow, r = self.factory, self.flow, self.factory.racks
        cols = {
            "name": r.name.astype(str), "hall": r.hall.astype(str), "row": r.row.astype(str),
            "system": np.asarray(f.system_names, dtype=object)[r.system_idx].astype(str),
            "num_gpus": r.num_gpus.astype(int), "utilisation": flow.utilisation,
            "clock_factor": flow.clock_factor, "gpu_power_w": flow.gpu_w, "it_dc_w": flow.it_dc_w,
            "rack_input_w": flow.rack_input_w, "shelf_loss_w": flow.shelf_loss_w,
            "psu_load_fraction": flow.psu_load_fraction, "powered": flow.rack_powered,
            "fabric_power_in_rack_w": self.fabric.rack_power_w(),
        }
        if self.cooling is not None:
            t = self.cooling.result
            cols |= {"gpu_temp_c": t.gpu_temp_c, "throttle_margin_k": t.throttle_margin_k,
                     "coolant_supply_c": t.rack_supply_c, "coolant_return_c": t.rack_return_c,
                     "coolant_flow_m3_s": t.rack_flow_m3_s, "heat_to_liquid_w": t.heat_to_liquid_w,
                     "heat_to_air_w": t.heat_to_air_w}
        return pd.DataFrame(cols)

    def power_nodes(self) -> pd.DataFrame:
        """One row per power node (tree order): kind, parent, load, rating in service, loss, input."""
        import pandas as pd

        tree, flow = self.factory.power, self.flow
        parent = np.where(tree.parent >= 0, tree.name[np.maximum(tree.parent, 0)], "")
        with np.errstate(divide="ignore", invalid="ignore"):
            loading = np.where(flow.node_rating_w > 0, flow.node_load_w / flow.node_rating_w, np.nan)
        return pd.DataFrame({
            "name": tree.name.astype(str), "kind": [NODE_KINDS[k] for k in tree.kind],
            "parent": parent.astype(str), "load_w": flow.node_load_w, "rating_w": flow.node_rating_w,
            "loading": loading, "loss_w": flow.node_loss_w, "input_w": flow.node_input_w,
            "alive": flow.node_alive, "on_backup": flow.node_on_backup,
        })

    def cdu_groups(self) -> pd.DataFrame:
        """One row per CDU group (empty without a cooling design)."""
        import pandas as pd

        return pd.DataFrame(self.cooling.group_rows() if self.cooling is not None else [])

    def loops(self) -> pd.DataFrame:
        """One row per hall cooling loop (empty without a cooling design)."""
        import pandas as pd

        return pd.DataFrame(self.cooling.loop_rows() if self.cooling is not None else [])

    def to_parquet(self, folder: str | Path) -> list[Path]:
        """Write every table as ``<folder>/<table>.parquet`` (racks, power_nodes, cdu_groups, loops)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in ("racks", "power_nodes", "cdu_groups", "loops"):
            path = out / f"{name}.parquet"
            getattr(self, name)().to_parquet(path, index=False)
            paths.append(path)
        return paths

    # ---- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Figures and tables for scripts (the ``--json`` output of ``twin evaluate``), SI units."""
        f = self.factory
        out = {
            "layout": f.name,
            "source_file": f.source_file,
            "utilisation": self.utilisation,
            "num_halls": len(f.halls),
            "num_racks": f.num_racks,
            "num_gpus": f.num_gpus,
            "systems": self.system_rows(),
            "it_power_w": self.it_power_w,
            "it_power_racks_w": self.it_power_racks_w,
            "fabric_power_w": self.network_power_w,
            "it_load_dc_w": float(self.flow.it_dc_w.sum()),
            "facility_power_w": self.facility_power_w,
            "losses_w": dict(self.losses_w),
            "losses_total_w": self.losses_total_w,
            "power_chain_w": self.power_chain_w,
            "pue_electrical": self.pue_electrical,
            "baseline_overloads": [_overload_dict(o) for o in self.baseline_overloads],
            "components": self.component_rows(),
            "invariants": self.invariants,
        }
        failed = {k: v for k, v in self.invariant_messages.items() if v is not None}
        if failed:
            out["invariant_violations"] = failed
        if self.cooling is not None:
            out["cooling_power_w"] = self.cooling_power_w
            out["pue"] = self.pue
            out["cooling"] = self.cooling.to_dict()
            uncooled = sorted(set(f.halls) - {lp.name for lp in f.cooling.loops})
            if uncooled or self.cooling.network_heat_outside_loops_w > 0:
                out["pue_note"] = (
                    f"heat of {', '.join(repr(h) for h in uncooled) or 'no hall'} (no 'cooling:' design) and "
                    f"{self.cooling.network_heat_outside_loops_w:.0f} W of network racks outside the hall "
                    "loops is counted as IT power but no modelled plant removes it: PUE leaves out its "
                    "cooling")
        else:
            out["pue"] = None
            out["pue_note"] = "no 'cooling:' design in the layout: PUE counts electrical losses only"
        out["fabric"] = self.fabric.summary()
        if self.power_cases is not None:
            out["n_minus_1_survives"] = self.n_minus_1_survives
            out["n_minus_1"] = [
                {
                    "failed": c.failed,
                    "kind": c.kind,
                    "survives": c.survives,
                    "racks_dropped": c.racks_dropped,
                    "power_dropped_w": c.power_dropped_w,
                    "overloaded": [_overload_dict(o) for o in c.overloaded],
                }
                for c in self.power_cases
            ]
        return out
