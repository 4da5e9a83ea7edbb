"""Where the power chain's losses become heat: the hall's air, its electrical rooms, or outdoors.

Every watt a switchgear line-up, transformer, UPS or busway loses is heat somewhere, and someone
cools it. Busways run through the white space, so their losses heat the hall's air. UPS and
switchgear line-ups stand in electrical rooms with their own CRAHs and chillers (a hall's
``electrical_room:``) or, where the layout gives none, in the hall's air. Transformers stand
outdoors (liquid-immersed pad-mount units cooled by natural convection, ONAN: no cooling power)
unless the electrical room says ``transformers: indoor``. Losses of halls without a cooling design
leave as heat no modelled plant removes (``uncooled_w``), as their racks' heat does.

The network racks' share of the losses (the chain's average loss ratio on the network's power,
:func:`twin.engine.steady.evaluate`) is spread over the nodes in proportion to their losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.factory import NODE_KINDS, Factory
from twin.power.network import PowerFlow
from twin.thermal.plant import ThermalParams

#: Destination codes of a node's losses.
HALL_AIR, ROOM, OUTDOOR, UNCOOLED = 0, 1, 2, 3


@dataclass(frozen=True)
class LossHeat:
    """The power chain's losses by destination: per cooling loop, and site totals. [W]"""

    hall_air_w: np.ndarray  # per loop: losses heating the hall's air (busways; rooms without a design)
    room_w: np.ndarray  # per loop: losses in the electrical rooms
    outdoor_w: float  # outdoor transformers: to ambient by natural convection
    uncooled_w: float  # losses in halls without a cooling design

    @property
    def total_w(self) -> float:
        """Every loss routed. [W]"""
        return float(self.hall_air_w.sum() + self.room_w.sum()) + self.outdoor_w + self.uncooled_w


@dataclass(frozen=True)
class LossHeatMap:
    """For each power node, the loop and destination of its losses (built once per factory)."""

    node_loop: np.ndarray  # loop index, -1 where the node's hall has no cooling design
    node_dest: np.ndarray  # HALL_AIR | ROOM | OUTDOOR | UNCOOLED
    num_loops: int

    @classmethod
    def build(cls, factory: Factory, params: ThermalParams) -> LossHeatMap:
        """The routing of ``factory``'s power nodes onto the loops of ``params``."""
        tree = factory.power
        halls = tree.hall if tree.hall is not None else np.full(len(tree), "", dtype=object)
        loop_of = {lp.name: i for i, lp in enumerate(params.loops)}
        node_loop = np.array([loop_of.get(str(h), -1) for h in halls], dtype=np.int64)
        kinds = np.asarray(NODE_KINDS, dtype=object)[tree.kind]
        dest = np.full(len(tree), UNCOOLED, dtype=np.int64)
        for i, (kind, li) in enumerate(zip(kinds, node_loop, strict=True)):
            if li < 0:
                continue
            room = params.loops[li].room
            if kind == "busway":
                dest[i] = HALL_AIR
            elif kind == "transformer":
                dest[i] = ROOM if room is not None and room.transformers_indoor else OUTDOOR
            else:  # ups, switchgear (feeds are lossless)
                dest[i] = ROOM if room is not None else HALL_AIR
        return cls(node_loop, dest, params.num_loops)

    def split(self, node_loss_w: np.ndarray, extra_w: float = 0.0) -> LossHeat:
        """Route ``node_loss_w`` (per node), plus ``extra_w`` spread in proportion to it. [W]"""
        loss = np.asarray(node_loss_w, dtype=float)
        total = float(loss.sum())
        if extra_w and total > 0:
            loss = loss * (1.0 + extra_w / total)
        loop = np.where(self.node_loop >= 0, self.node_loop, 0)

        def per_loop(code: int) -> np.ndarray:
            sel = self.node_dest == code
            return np.bincount(loop[sel], weights=loss[sel], minlength=self.num_loops).astype(float)

        return LossHeat(
            hall_air_w=per_loop(HALL_AIR),
            room_w=per_loop(ROOM),
            outdoor_w=float(loss[self.node_dest == OUTDOOR].sum()),
            uncooled_w=float(loss[self.node_dest == UNCOOLED].sum()) + (extra_w if total <= 0 else 0.0),
        )

    def split_flow(self, flow: PowerFlow, network_losses_w: float = 0.0) -> LossHeat:
        """Route the losses of a power flow's energised nodes, plus the network racks' share. [W]"""
        return self.split(flow.node_loss_w * flow.node_alive, network_losses_w)
