"""What-if edits of a factory a planner tries before changing the layout file (pure: a new Factory).

:func:`with_rack_supply` moves every hall's CDU secondary supply setpoint (the coolant the racks
get) and the facility water with it, keeping each CDU's approach: the temperature question of
"will every GPU stay below its limit at this coolant temperature?".
"""

from __future__ import annotations

import dataclasses

from twin.errors import ArgumentError
from twin.factory import Factory

#: Range of rack coolant supply temperatures a what-if accepts (assumption: a sanity range around
#: ASHRAE's liquid-cooling classes W17 to W+, facility supply 17 to over 45 degC; outside it a
#: value is a typo, not a design). [°C]
RACK_SUPPLY_RANGE_C = (5.0, 65.0)


def with_rack_supply(factory: Factory, rack_supply_c: float) -> Factory:
    """``factory`` with every loop's rack coolant supply at ``rack_supply_c``.

    Each loop's facility water supply moves by the same amount, keeping the CDU approach
    (rack supply - facility supply).

    Raises :class:`~twin.errors.ArgumentError` outside :data:`RACK_SUPPLY_RANGE_C` or for a layout
    without a cooling design.
    """
    lo, hi = RACK_SUPPLY_RANGE_C
    if not lo <= rack_supply_c <= hi:
        raise ArgumentError(f"rack coolant supply {rack_supply_c:g} degC is outside {lo:g}..{hi:g} degC",
                            field="rack_supply_c")
    if factory.cooling is None:
        raise ArgumentError("the layout has no cooling design to change", field="rack_supply_c")
    loops = tuple(dataclasses.replace(lp, rack_supply_c=rack_supply_c,
                                      fw_supply_c=lp.fw_supply_c + (rack_supply_c - lp.rack_supply_c))
                  for lp in factory.cooling.loops)
    return dataclasses.replace(factory, cooling=dataclasses.replace(factory.cooling, loops=loops))
