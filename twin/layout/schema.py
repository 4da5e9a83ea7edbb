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

from typing import Literal

from pydantic import Field

from twin.layout.fields import Strict, qty
from twin.layout.schema_cooling import Ambient, CoolingSpec
from twin.layout.schema_economics import EconomicsSpec
from twin.layout.schema_fabric import FabricSpec

Name = str

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


class GeneratorRef(Strict):
    """Standby generators on each switchgear line-up of a power line-up."""

    model: Name
    count: int = Field(ge=1)


class UpsRef(Strict):
    """A UPS system: ``modules`` catalog UPS modules in parallel sharing the load."""

    model: Name
    modules: int = Field(ge=1)


class Lineup(Strict):
    """A repeated power block and the redundancy scheme that joins blocks."""

    name: Name = Field(min_length=1)
    redundancy: Literal["N", "N+1", "2N", "3N/2", "4N/3"]
    feeds: list[Name] = Field(min_length=1)
    switchgear: Name
    generator: GeneratorRef | None = None
    transformer: Name
    ups: UpsRef
    busway: Name
    racks_per_busway: int = Field(ge=1)
    busways_per_block: int = Field(ge=1)
    blocks: int | None = Field(default=None, ge=1)


class RowSpec(Strict):
    """``count`` identical rows of ``racks_per_row`` racks of one catalog system."""

    name: Name = Field(min_length=1)
    count: int = Field(default=1, ge=1)
    racks_per_row: int = Field(ge=1)
    system: Name
    lineup: Name | None = None
    gpu_power_cap: qty("power") | None = None
    nodes_per_rack: int | None = Field(default=None, ge=1)


class Hall(Strict):
    """A data hall; ``copies`` > 1 builds identical halls named ``<name>-1``, ``<name>-2`` …"""

    name: Name = Field(min_length=1)
    copies: int = Field(default=1, ge=1)
    rows: list[RowSpec] = Field(min_length=1)
    lineups: list[Lineup] = Field(default_factory=list)
    cooling: CoolingSpec | None = None


class Layout(Strict):
    """A whole site."""

    name: Name = Field(min_length=1)
    description: str = ""
    catalog: list[str] = Field(default_factory=list)
    ambient: Ambient | None = None
    utility_feeds: list[UtilityFeed] = Field(min_length=1)
    halls: list[Hall] = Field(min_length=1)
    fabric: FabricSpec | None = None
    economics: EconomicsSpec | None = None
