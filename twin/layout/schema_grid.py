"""Schema of a grid scenario: inference sites, user regions, request classes and the network between them.

A grid scenario (``twin grid FILE``) places the requests of several user regions on several sites (a
central AI factory and regional or edge sites), each site a compact entry: a catalog system, its GPU
count and one deployment (as in a scenario's ``deployments:``), its power price and cost per
GPU-hour. Every field is checked like a layout's: unknown keys, wrong units and names that match
nothing are errors with file:line; :func:`twin.layout.grid.load_grid` checks the cross references.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from twin.layout.fields import Strict, qty
from twin.layout.schema_scenario import Fraction, ReplicaShape

Seconds = qty("time")
#: a latency or jitter that may be zero
SecondsOrZero = qty("time", positive=False)


def _lat_lon(v: tuple[float, float]) -> tuple[float, float]:
    lat, lon = v
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(
            f"a location is [latitude, longitude] in degrees, latitude within +-90 and longitude "
            f"within +-180; got [{lat:g}, {lon:g}]"
        )
    return v


#: where a site or region is, [latitude, longitude] in degrees (for the app's map)
LatLon = Annotated[tuple[float, float], AfterValidator(_lat_lon)]

#: placement policies (twin.grid.placement)
POLICIES = ("nearest", "latency", "cost", "power")


class RequestClass(Strict):
    """A kind of request: its lengths and the deadline on its first token as the user sees it."""

    name: str = Field(min_length=1)
    input_tokens: str | int = 1024
    output_tokens: str | int = 256
    #: time to first token at the user (network round trip included) the request must meet
    deadline: Seconds
    #: time per output token the class must meet at P99 (None: no limit)
    tpot: Seconds | None = None
    #: the model these requests need (None: any site's model serves them)
    model: str | None = None


class Site(ReplicaShape):
    """An inference site: GPUs of one catalog system serving one model (a scenario deployment's shape)."""

    name: str = Field(min_length=1)
    system: str
    gpus: int = Field(ge=1)
    #: electricity price at the site [USD/MWh]
    power_price: float = Field(ge=0)
    #: cost of one GPU for an hour besides electricity (capital, operations) [USD]; None: the default
    #: of the system (:data:`twin.grid.sites.GPU_HOUR_USD`)
    gpu_hour_cost: float | None = Field(default=None, ge=0)
    #: facility power over GPU power (the rest of the servers, cooling, losses) [-]
    power_overhead: float = Field(default=1.0, ge=1.0)
    #: a share of the site's full-load GPU power it may draw (a power cap, a demand-response event)
    power_cap: Fraction | None = None
    #: the central factory the "everything central" comparison runs on
    central: bool = False
    location: LatLon | None = None
    #: whether the site is built (a sweep turns sites off to compare grids with fewer of them)
    enabled: bool = True


class Region(Strict):
    """Users in one place: their request rate and the mix of request classes."""

    name: str = Field(min_length=1)
    rate: float = Field(gt=0)  # requests/s
    mix: dict[str, Fraction]
    location: LatLon | None = None


class Link(Strict):
    """The network between a region and a site: round-trip latency, its jitter, the price of traffic."""

    region: str
    site: str
    latency: SecondsOrZero
    #: standard deviation of the round trip (normal, clipped at zero) [s]
    jitter: SecondsOrZero = 0.0
    #: price of the traffic [USD/GB]
    cost_per_gb: float = Field(default=0.0, ge=0)


class GridSpec(Strict):
    """A grid scenario file."""

    name: str = Field(min_length=1)
    description: str | None = None
    policy: Literal["nearest", "latency", "cost", "power"] = "latency"
    #: highest share of a site's capacity placement may plan (headroom for bursts)
    max_utilisation: Fraction = 0.9
    #: requests drawn to estimate the latency distributions, and their seed
    samples: int = Field(default=20000, ge=1000)
    #: how sites serve once placed: the fluid model's latency pieces (any number of sites), or request by
    #: request (``discrete``, for a few sites: every request of a ``duration`` window simulated)
    serving: Literal["fluid", "discrete"] = "fluid"
    #: the window a discrete run simulates (its first 20 % dropped as warm-up)
    duration: Seconds = 300.0
    seed: int = 0
    classes: list[RequestClass] = Field(min_length=1)
    sites: list[Site] = Field(min_length=1)
    regions: list[Region] = Field(min_length=1)
    network: list[Link] = Field(min_length=1)
