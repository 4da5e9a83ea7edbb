"""Schema of layout files (``layouts/*.yaml``): a site described by rules, not by listing racks.

A layout names catalog entries and says how many: utility feeds, halls (optionally identical
``copies``), rows of racks of one system, and power *line-ups*. A line-up is a repeated power
block (switchgear → transformer → UPS → busways) under a redundancy scheme; rows name the line-up
that feeds them, and the loader assigns each group of ``racks_per_busway`` racks to busways.

Redundancy schemes (``Lineup.redundancy``):

``N``
    one block per busway group, racks single-corded; no redundancy above the rack.
``N+1``
    as ``N`` topologically; redundancy comes from UPS systems with a spare module
    (``ups.modules``), which the N-1 analysis checks.
``2N``
    two independent blocks (A and B); every rack dual-corded, one cord on each.
``3N/2``, ``4N/3`` (distributed redundant / block redundant)
    groups of 3 or 4 blocks; each rack's two cords go to a pair of blocks, pairs rotating so each
    block carries 2/k of its group's load and one block's loss is shared by the others.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin.layout.fields import Strict, bounded, qty
from twin.layout.schema_cooling import Ambient, CoolingSpec
from twin.layout.schema_economics import EconomicsSpec
from twin.layout.schema_fabric import FabricSpec

#: Names of halls, rows, line-ups, feeds and catalog entries a layout uses: at most 100 characters.
Name = Annotated[str, Field(max_length=100)]

#: redundancy scheme -> (blocks per group, cords per rack)
REDUNDANCY: dict[str, tuple[int, int]] = {
    "N": (1, 1),
    "N+1": (1, 1),
    "2N": (2, 2),
    "3N/2": (3, 2),
    "4N/3": (4, 2),
}


class UtilityFeed(Strict):
    """A utility service entrance (or substation transformer) feeding the site."""

    name: Name = Field(min_length=1)
    rating: qty("power")


#: Most racks a layout may expand to: three times the 1 GW campus (6,480 NVL72 racks). Beyond it an
#: evaluation with both N-1 analyses takes more than ~30 s on 2 cores (20,000 racks: 13 s).
MAX_RACKS = 20_000


class GeneratorRef(Strict):
    """Standby generators on each switchgear line-up of a power line-up."""

    model: Name
    count: bounded(64, "the generators one switchgear line-up can parallel")


class UpsRef(Strict):
    """A UPS system: ``modules`` catalog UPS modules in parallel sharing the load.

    ``mode`` is how the modules run while the utility is healthy: ``double_conversion`` (VFI,
    IEC 62040-3), or ``eco`` (the vendors' eco / eConversion / ESS modes: the load on the static
    bypass with the inverter standing by), which needs an ``eco_efficiency`` curve in the catalog.
    """

    model: Name
    modules: bounded(64, "the modules one UPS system can parallel")
    mode: Literal["double_conversion", "eco"] = "double_conversion"


class Lineup(Strict):
    """A repeated power block and the redundancy scheme that joins blocks."""

    name: Name = Field(min_length=1)
    redundancy: Literal["N", "N+1", "2N", "3N/2", "4N/3"]
    feeds: list[Name] = Field(min_length=1, max_length=100)
    switchgear: Name
    generator: GeneratorRef | None = None
    transformer: Name
    ups: UpsRef
    busway: Name
    racks_per_busway: bounded(1000, "the racks one busway can feed")
    busways_per_block: bounded(1000, "the busways one power block can feed")
    blocks: bounded(MAX_RACKS, "the blocks a layout may hold") | None = None


class RowSpec(Strict):
    """``count`` identical rows of ``racks_per_row`` racks of one catalog system."""

    name: Name = Field(min_length=1)
    count: bounded(MAX_RACKS, f"the {MAX_RACKS:,} racks a layout may expand to") = 1
    racks_per_row: bounded(MAX_RACKS, f"the {MAX_RACKS:,} racks a layout may expand to")
    system: Name
    lineup: Name | None = None
    gpu_power_cap: qty("power") | None = None
    nodes_per_rack: bounded(1000, "the nodes a rack can hold") | None = None


class Hall(Strict):
    """A data hall; ``copies`` > 1 builds identical halls named ``<name>-1``, ``<name>-2`` …"""

    name: Name = Field(min_length=1)
    copies: bounded(MAX_RACKS, f"the {MAX_RACKS:,} racks a layout may expand to") = 1
    rows: list[RowSpec] = Field(min_length=1, max_length=1000)
    lineups: list[Lineup] = Field(default_factory=list, max_length=1000)
    cooling: CoolingSpec | None = None


class Layout(Strict):
    """A whole site."""

    name: Name = Field(min_length=1)
    description: str = ""
    catalog: list[str] = Field(default_factory=list, max_length=100)
    ambient: Ambient | None = None
    utility_feeds: list[UtilityFeed] = Field(min_length=1, max_length=1000)
    halls: list[Hall] = Field(min_length=1, max_length=1000)
    fabric: FabricSpec | None = None
    economics: EconomicsSpec | None = None

    @model_validator(mode="after")
    def _size(self) -> Layout:
        racks = sum(h.copies * sum(r.count * r.racks_per_row for r in h.rows) for h in self.halls)
        if racks > MAX_RACKS:
            raise ValueError(f"halls: the layout expands to {racks:,} racks, more than the {MAX_RACKS:,} "
                             "racks a layout may expand to")
        return self
