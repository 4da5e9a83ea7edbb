"""The network of a grid: routes from regions to sites over a graph of links, and what the links carry.

The scenario's ``network:`` is a graph (networkx): its nodes are the regions, the sites and any
``routers``; a link joins a region and a site directly or ``between`` any two nodes. Requests go
from a region to a site on the route of least round-trip latency (Dijkstra), through routers only
(regions only send, sites only receive). A route's figures from its links':

    latency  = sum_i L_i                  (round trips add)
    jitter   = sqrt(sum_i J_i^2)          (independent normal delays)
    cost/GB  = sum_i c_i                  (each link prices the traffic crossing it)

A link with a ``bandwidth`` carries that many bytes/s each way (full duplex). A request crosses each
link of its route with its calls' prompts one way (``request_bytes``, or the prompt as text) and their
answers the other, once per round trip (every call of an agent whose loop runs at the client).
Placement plans each link to at most ``max_utilisation`` of its bandwidth; where a placement offers a
link more than it carries (the ``nearest`` policy checks nothing), every flow crossing it in that
direction loses the same share (``1 - bandwidth / offered``; a flow keeps the least share of the
links it crosses), and what is lost is counted as rejected. Links add no delay of their own beyond
their latency: a prompt's bytes take microseconds at link rates and voice is streamed as it is spoken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.layout.schema_grid import GridSpec


@dataclass(frozen=True)
class Route:
    """The lowest-latency route from a region to a site."""

    latency_s: float
    jitter_s: float
    cost_per_gb: float
    #: the links crossed: (index in ``network:``, whether crossed from its first end to its second)
    links: tuple[tuple[int, bool], ...]
    #: the nodes passed, region first and site last
    path: tuple[str, ...]


def routes(spec: GridSpec) -> dict[tuple[str, str], Route]:
    """The route of least latency from every region to every site it reaches (see the module notes)."""
    import networkx as nx

    regions = {r.name for r in spec.regions}
    sites = {s.name for s in spec.sites}
    g = nx.DiGraph()
    for i, lk in enumerate(spec.network):
        a, b = lk.ends
        for x, y, forward in ((a, b, True), (b, a, False)):
            if x not in sites and y not in regions:
                g.add_edge(x, y, latency=lk.latency, link=i, forward=forward)
    out = {}
    for r in spec.regions:
        if r.name not in g:
            continue
        _, paths = nx.single_source_dijkstra(g, r.name, weight="latency")
        for s in spec.sites:
            path = paths.get(s.name)
            if path is None:
                continue
            arcs = [g.edges[x, y] for x, y in zip(path, path[1:], strict=False)]
            used = [spec.network[e["link"]] for e in arcs]
            out[(r.name, s.name)] = Route(
                latency_s=float(sum(lk.latency for lk in used)),
                jitter_s=math.hypot(*(lk.jitter for lk in used)),
                cost_per_gb=float(sum(lk.cost_per_gb for lk in used)),
                links=tuple((e["link"], e["forward"]) for e in arcs),
                path=tuple(path),
            )
    return out


class LinkLoads:
    """Bytes/s each link carries each way for a placement, and the room left on a route.

    ``route[(f, s)]``: the route of flow ``f`` to site ``s``; ``up`` / ``down``: bytes per request of
    each flow toward the site / back to the user.
    """

    def __init__(self, spec: GridSpec, route: dict[tuple[int, int], Route], up: np.ndarray,
                 down: np.ndarray, num_sites: int) -> None:
        self.spec, self.ns = spec, num_sites
        nf, nl = len(up), len(spec.network)
        self.bandwidth = np.array([np.inf if lk.bandwidth is None else lk.bandwidth for lk in spec.network])
        self.limited = bool(np.isfinite(self.bandwidth).any())
        # bytes per request of (flow, site) on each link, from its first end to its second and back
        self.fwd = np.zeros((nf * num_sites, nl))
        self.back = np.zeros((nf * num_sites, nl))
        for (f, s), rt in route.items():
            for i, forward in rt.links:
                self.fwd[f * num_sites + s, i] += up[f] if forward else down[f]
                self.back[f * num_sites + s, i] += down[f] if forward else up[f]

    def load(self, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bytes/s on each link each way (first end to second, and back) at ``rate`` (flows x sites)."""
        r = rate.ravel()
        return r @ self.fwd, r @ self.back

    def room(self, f: int, s: int, rate: np.ndarray, share: float) -> float:
        """Requests/s more of flow ``f`` that site ``s``'s route carries within ``share`` of its links."""
        if not self.limited:
            return math.inf
        k = f * self.ns + s
        a, b = self.load(rate)
        out = math.inf
        for per, used in ((self.fwd[k], a), (self.back[k], b)):
            on = (per > 0) & np.isfinite(self.bandwidth)
            if on.any():
                out = min(out, float(np.min((share * self.bandwidth[on] - used[on]) / per[on])))
        return max(out, 0.0)

    def carried(self, rate: np.ndarray) -> np.ndarray:
        """The share of each (flow, site)'s requests the links carry (1 where none is over its bandwidth)."""
        if not self.limited:
            return np.ones_like(rate)
        a, b = self.load(rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            ka = np.where(a > self.bandwidth, self.bandwidth / a, 1.0)
            kb = np.where(b > self.bandwidth, self.bandwidth / b, 1.0)
        keep = np.ones(rate.size)
        for per, k in ((self.fwd, ka), (self.back, kb)):
            hit = np.where(per > 0, k[None, :], 1.0)
            keep = np.minimum(keep, hit.min(axis=1))
        return keep.reshape(rate.shape)

    def rows(self, rate: np.ndarray) -> list[dict]:
        """One row per link: what it carries each way [bit/s], its utilisation and traffic cost."""
        a, b = self.load(rate)
        out = []
        for i, lk in enumerate(self.spec.network):
            bw = self.bandwidth[i]
            out.append({
                "link": " - ".join(lk.ends),
                "routed": lk.between is not None,
                "bandwidth_bit_s": float(bw * 8) if np.isfinite(bw) else None,
                "forward_bit_s": float(a[i] * 8),
                "back_bit_s": float(b[i] * 8),
                "utilisation": float(max(a[i], b[i]) / bw) if np.isfinite(bw) else None,
                "latency_s": lk.latency,
                "network_cost_usd_per_h": float((a[i] + b[i]) / 1e9 * lk.cost_per_gb * 3600.0),
            })
        return out
