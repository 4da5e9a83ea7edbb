"""Schema of a grid scenario: inference sites, user regions, request classes and the network between them.

A grid scenario (``twin grid FILE``) places the requests of several user regions on several sites (a
central AI factory and regional or edge sites), each site a compact entry: a catalog system, its GPU
count and one deployment (as in a scenario's ``deployments:``), its power price and cost per
GPU-hour. Every field is checked like a layout's: unknown keys, wrong units and names that match
nothing are errors with file:line; :func:`twin.layout.grid.load_grid` checks the cross references.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from twin.layout.fields import Strict, qty
from twin.layout.schema_scenario import Fraction, ReplicaShape, TimeOfDay

Seconds = qty("time")


def _not_negative(v: float) -> float:
    if v < 0:
        raise ValueError(f"must be zero or more, got {v:g} s")
    return v


def _utc_offset(v: float) -> float:
    if not -14 * 3600.0 <= v <= 14 * 3600.0:
        raise ValueError(f"a UTC offset is within -14 h and +14 h, got {v / 3600:g} h")
    return v


#: what a network link carries each way
Bandwidth = qty("bandwidth")
#: bytes of a request or a response on the network
Bytes = qty("data")
#: a latency or jitter that may be zero (never negative)
SecondsOrZero = Annotated[qty("time", positive=False), AfterValidator(_not_negative)]
#: a region's local time minus UTC, e.g. ``-5 h`` for New York in winter
UtcOffset = Annotated[qty("time", positive=False), AfterValidator(_utc_offset)]


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
    #: LLM calls one request makes in sequence (an agent's chain: plan, tool calls, answer), each of
    #: the class's lengths; ``deadline`` is then on the final call's first token, ``tpot`` on its stream
    calls: int = Field(default=1, ge=1, le=100)
    #: where an agent's loop runs: at the ``client`` (every call crosses the network) or beside the
    #: ``site`` (one round trip for the chain)
    loop: Literal["client", "site"] = "client"
    #: time the agent spends between two calls (running a tool) [s]
    tool_time: SecondsOrZero = 0.0
    #: bytes a call sends over the network, e.g. ``40 kB`` of voice audio; None: its prompt as text
    #: (:data:`twin.grid.sites.BYTES_PER_TOKEN` a token)
    request_bytes: Bytes | None = None
    #: bytes of a call's answer over the network, e.g. synthesised speech; None: its output as text
    response_bytes: Bytes | None = None

    @model_validator(mode="after")
    def _chain_fields(self) -> RequestClass:
        if self.calls == 1 and (self.tool_time > 0 or self.loop != "client"):
            raise ValueError("'tool_time' and 'loop' describe an agent's chain of calls: give 'calls' "
                             "(2 or more LLM calls per request) or leave them out")
        return self


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
    #: the rate over the region's local day (with a ``timeline``): 24 factors on ``rate``, one per local
    #: hour from midnight, as a coupled-twin workload's ``hourly``
    hourly: list[Annotated[float, Field(ge=0)]] | None = Field(default=None, min_length=24, max_length=24)
    #: local time minus UTC (the timeline runs in UTC), for ``hourly``
    utc_offset: UtcOffset = 0.0


class Link(Strict):
    """A link of the network: a region straight to a site, or a link of the network graph.

    ``region`` and ``site``, or ``between`` two of regions, sites and ``routers``: requests take the
    lowest-latency route; regions only send and sites only receive, so routes pass through routers alone.
    """

    region: str | None = None
    site: str | None = None
    between: tuple[str, str] | None = None
    #: round trip across the link (a route's is the sum of its links')
    latency: SecondsOrZero
    #: standard deviation of the round trip (normal, clipped at zero; a route's is the root sum of
    #: squares of its links', independent) [s]
    jitter: SecondsOrZero = 0.0
    #: price of the traffic across the link [USD/GB] (a route's is the sum of its links')
    cost_per_gb: float = Field(default=0.0, ge=0)
    #: what the link carries each way (full duplex) [byte/s], e.g. ``10 Gbit/s``; None: no limit.
    #: Placement plans links to at most ``max_utilisation`` of it; traffic beyond it is lost
    bandwidth: Bandwidth | None = None

    @model_validator(mode="after")
    def _ends(self) -> Link:
        direct = self.region is not None or self.site is not None
        if direct == (self.between is not None) or (direct and (self.region is None or self.site is None)):
            raise ValueError("a link joins either a 'region' and a 'site', or the two names of "
                             "'between: [a, b]' (regions, sites or routers)")
        return self

    @property
    def ends(self) -> tuple[str, str]:
        """The link's two ends (a direct link: region, site)."""
        return (self.region, self.site) if self.between is None else self.between


class Timeline(Strict):
    """A grid over time: quasi-steady steps, each placed and served at its midpoint's rates and events."""

    #: how long the grid runs (a day: ``24 h``)
    duration: Seconds
    #: the length of a step; the duration must be a whole number of steps
    step: Seconds = 3600.0
    #: the UTC time of day the timeline starts
    start: TimeOfDay = "00:00"


class GridEvent(Strict):
    """Something that happens at one site for a while: a power cap (demand response) or an outage."""

    site: str
    #: when it begins: a time with units from the timeline's start, or a UTC time of day ``"17:00"``
    at: str | int | float
    duration: Seconds
    #: the site may draw this share of its full-load GPU power meanwhile (the grid asks for less)
    power_cap: Fraction | None = None
    #: the site serves nothing meanwhile (an outage: its requests go elsewhere or miss)
    down: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> GridEvent:
        if (self.power_cap is not None) == self.down:
            raise ValueError("an event needs exactly one of 'power_cap' (a share of the site's full-load "
                             "GPU power) or 'down: true' (an outage)")
        return self


class GridSpec(Strict):
    """A grid scenario file."""

    name: str = Field(min_length=1)
    description: str | None = None
    policy: Literal["nearest", "latency", "cost", "power"] = "latency"
    #: highest share of a site's capacity placement may plan (headroom for bursts); the default 90 % is
    #: an assumption (a common planning margin, not a sourced figure)
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
    #: names of the network graph's inner nodes (internet exchanges, backbone routers) for ``between``
    routers: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    #: run over time (steps of the regions' ``hourly`` rates and of ``events``); None: one steady state
    timeline: Timeline | None = None
    events: list[GridEvent] = Field(default_factory=list, max_length=10_000)
