"""Schema of the optional ``fabric:`` section of a layout: the scale-out network design.

Without ``fabric:`` a layout has NVLink domains only (no scale-out switches, optics or cables are
counted). With it, :mod:`twin.fabric` builds a rail-optimised Spectrum-X leaf/spine (two tiers,
three where the switch radix requires) per hall (``scope: hall``) or across the site
(``scope: site``), one independent fat tree per plane. Example::

    fabric:
      switch: sn5600
      nic: {gb300-nvl72: connectx-8, gb200-nvl72: connectx-7}
      oversubscription: 1
      transceiver: osfp-800g-2xsr4
      cable: mmf-mpo12-30m
      frontend: {switch: sn5600, nic: bluefield-3, oversubscription: 2,
                 transceiver: osfp-800g-2xsr4, cable: mmf-mpo12-30m}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from twin.layout.fields import Strict, bounded

Name = Annotated[str, Field(max_length=100)]

#: Links one switch port can break out into (OSFP 800G: 1 x 800G, 2 x 400G, 4 x 200G, 8 x 100G;
#: NVIDIA SN5000 hardware user manual, splitter cables).
BREAKOUTS: tuple[int, ...] = (1, 2, 4, 8)


class FrontendSpec(Strict):
    """Front-end (north-south, storage, in-band management) network, counted at lower fidelity.

    ``nics_per_node`` DPUs per compute tray or server, every port linked to a two-tier leaf/spine
    at ``oversubscription`` (downlink:uplink bandwidth at the leaf).
    """

    switch: Name
    nic: Name
    nics_per_node: bounded(64, "the NICs a node can hold") = 1
    oversubscription: float = Field(default=2.0, ge=1.0, le=64.0)
    transceiver: Name
    cable: Name


class FabricSpec(Strict):
    """The scale-out (east-west) compute fabric and, optionally, the front-end network.

    Attributes
    ----------
    switch
        Catalog ``switch`` used at every tier (leaf, spine, super-spine).
    nic
        Catalog ``nic`` of the compute fabric: one name for every system, or a mapping
        system name -> NIC name.
    nics_per_gpu
        NIC ports of the compute fabric per GPU (rails per compute tray = GPUs per tray x this).
    oversubscription
        Leaf downlink:uplink bandwidth ratio, >= 1 (1 = non-blocking). Spines are non-blocking.
    planes
        Independent fabric planes; each NIC port is split into ``planes`` links of
        port speed / planes (Spectrum-X multiplane).
    scope
        ``hall``: one fabric per hall (copies of a hall each get their own); ``site``: one fabric
        for all racks of a system across the site. Racks of different systems never share a fabric.
    transceiver
        Catalog ``transceiver`` in every switch cage (the NIC-side optic is part of the NIC power in
        the system entry).
    cable
        Catalog ``cable`` of a NIC-leaf link; ``trunk_cable`` of switch-switch links (default the same).
    nic_power_in_system
        True (default) when the system entries' components already carry the NICs and their optics,
        so the fabric adds no power inside compute racks (no double counting).
    """

    switch: Name
    nic: Name | dict[Name, Name]
    nics_per_gpu: bounded(16, "the NICs one GPU can have") = 1
    oversubscription: float = Field(default=1.0, ge=1.0, le=64.0)
    planes: bounded(16, "the planes a fabric can have") = 1
    scope: Literal["hall", "site"] = "hall"
    transceiver: Name
    cable: Name
    trunk_cable: Name | None = None
    nic_power_in_system: bool = True
    frontend: FrontendSpec | None = None


def check_fabric(layout: Any, catalog: Any, add: Callable[[tuple, str], None]) -> None:
    """Check the ``fabric:`` section's catalog references and port speeds; report with ``add``.

    ``catalog`` is a :class:`~twin.layout.catalog_io.Catalog`, ``add(loc, message)`` records a
    problem at a field path (the caller turns it into file:line).
    """
    spec: FabricSpec | None = getattr(layout, "fabric", None)
    if spec is None:
        return
    fl = ("fabric",)

    def ref(kind: str, name: str, loc: tuple):
        try:
            return catalog.lookup(kind, name)
        except KeyError as exc:
            add(loc, exc.args[0])
            return None

    switch = ref("switch", spec.switch, (*fl, "switch"))
    ref("transceiver", spec.transceiver, (*fl, "transceiver"))
    ref("cable", spec.cable, (*fl, "cable"))
    if spec.trunk_cable is not None:
        ref("cable", spec.trunk_cable, (*fl, "trunk_cable"))
    systems = sorted({row.system for hall in layout.halls for row in hall.rows})
    if isinstance(spec.nic, str):
        nics = {s: (spec.nic, (*fl, "nic")) for s in systems}
    else:
        nics = {}
        for s in systems:
            if s not in spec.nic:
                add((*fl, "nic"), f"no NIC given for system {s!r} used in this layout; "
                                  f"add '{s}: <nic name>' (systems: {', '.join(systems)})")
            else:
                nics[s] = (spec.nic[s], (*fl, "nic", s))
    for _sys, (name, loc) in nics.items():
        nic = ref("nic", name, loc)
        if nic is None or switch is None:
            continue
        link = nic.port_speed.si / spec.planes
        ratio = switch.port_speed.si / link
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) not in BREAKOUTS:
            add(loc, f"NIC {name!r} port speed {nic.port_speed.value} over {spec.planes} plane(s) gives "
                     f"{link * 8e-9:.4g} Gbit/s links, which switch {spec.switch!r} ports of "
                     f"{switch.port_speed.value} cannot break out into (port speed / link speed must be "
                     f"one of {', '.join(map(str, BREAKOUTS))})")
    if spec.frontend is not None:
        fe, fel = spec.frontend, (*fl, "frontend")
        fsw = ref("switch", fe.switch, (*fel, "switch"))
        fnic = ref("nic", fe.nic, (*fel, "nic"))
        ref("transceiver", fe.transceiver, (*fel, "transceiver"))
        ref("cable", fe.cable, (*fel, "cable"))
        if fsw is not None and fnic is not None:
            ratio = fsw.port_speed.si / fnic.port_speed.si
            if abs(ratio - round(ratio)) > 1e-9 or round(ratio) not in BREAKOUTS:
                add((*fel, "nic"), f"front-end NIC {fe.nic!r} port speed {fnic.port_speed.value} does not "
                                   f"divide switch {fe.switch!r} port speed {fsw.port_speed.value}")
