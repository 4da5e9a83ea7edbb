"""Placement: which site serves each region's requests of each class.

Flows (region, class) are split into ``chunks`` equal parts and placed one part at a time, strictest
deadline first, on the first site in the policy's order that stays *feasible* with it (where a part
fits only in part, the largest share that does — found by bisection — stays and the rest tries the
next site):

- the site is planned at most ``max_utilisation`` of its capacity (for its mixture of requests), and
- every flow at the site, the new part included, still meets its deadline at the 99th percentile:
  ``latency + 2.326 jitter`` (the network's P99, normal jitter) plus the site's P99 TTFT for that
  class (the fluid model's latency pieces, sampled with a fixed seed), and its P99 TPOT within the
  class's ``tpot`` limit where it has one.

Orders: ``nearest`` sends every part to the lowest-latency site, with no check (what a DNS-nearest
router does); ``latency`` tries sites by latency (spill-over to the next when a site's queue would
break a deadline); ``cost`` by cost per output token at planned utilisation, cheapest first, among
those meeting the deadline; ``power`` by latency but sites under a power cap last. A part no site can
take within its deadline goes late (its requests will show as deadline misses): to the lowest-latency
site with room where it adds no expected misses to the flows already there, else to the site with
room where it adds the fewest (the requests/s of the others expected to miss, from the same probes,
before and after); where no site has room it is rejected — counted as missed, never dropped
silently. Flows placed wholly late at a site load it but are not judged there again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: the standard normal's 99th percentile (network jitter taken as normal)
Z99 = 2.326
#: halvings when a part fits a site only in part (the share placed is within 2^-8 of the largest)
BISECTIONS = 8


@dataclass
class Flow:
    """One region's requests of one class."""

    region: str
    cls: str
    rate_per_s: float
    deadline_s: float


@dataclass
class Placement:
    """Rates [req/s] of each flow at each site; late (placed past its deadline) and rejected."""

    rate: np.ndarray  # (flows, sites)
    late: np.ndarray  # (flows, sites) part of ``rate`` placed knowing it misses the deadline
    rejected: np.ndarray  # (flows,)
    order: dict[str, list[int]] = field(default_factory=dict)


def _all_late(rate: np.ndarray, late: np.ndarray, s: int) -> frozenset:
    """Flows whose every request at site ``s`` was placed late (judging them there is moot)."""
    every = (late[:, s] > 0) & (rate[:, s] <= late[:, s] * (1 + 1e-12))
    return frozenset(int(g) for g in np.flatnonzero(every))


def site_order(
    policy: str, latency: np.ndarray, cost_per_token: np.ndarray, capped: np.ndarray, reachable: np.ndarray
) -> list[int]:
    """Sites one flow tries, by the policy (``latency`` of its links; unreachable sites left out)."""
    idx = [int(i) for i in np.flatnonzero(reachable)]
    if policy == "cost":
        return sorted(idx, key=lambda i: (cost_per_token[i], latency[i]))
    if policy == "power":
        return sorted(idx, key=lambda i: (bool(capped[i]), latency[i]))
    return sorted(idx, key=lambda i: latency[i])


def place(
    flows: list[Flow],
    num_sites: int,
    order: list[list[int]],
    fallback: list[list[int]],
    feasible,
    has_room,
    policy: str,
    chunks: int = 10,
    harm=None,
    link_room=None,
) -> Placement:
    """Place every flow (see the module notes).

    ``order[f]``: the sites flow ``f`` tries; ``fallback[f]``: where a part that meets its deadline
    nowhere goes late (lowest latency first); ``feasible(site, rates, skip)`` and ``has_room(site, rates)``
    judge a site with ``rates`` (req/s of every flow there, a vector over flows; flows in ``skip`` are
    not judged); ``harm(site, rates, skip)`` is the requests/s of judged flows expected to miss there;
    ``link_room(flow, site, rate, share)`` the requests/s more of the flow that the links of its route
    to the site carry within ``share`` of their bandwidth (``None``: the planning limit; ``link_room``
    None: links without limits).
    """
    nf = len(flows)
    rate = np.zeros((nf, num_sites))
    late = np.zeros((nf, num_sites))
    rejected = np.zeros(nf)
    for f in sorted(range(nf), key=lambda i: (flows[i].deadline_s, i)):
        part = flows[f].rate_per_s / chunks
        sites = order[f]
        full: set[int] = set()  # sites this flow found full (more load only makes them fuller)
        for _ in range(chunks):
            if policy == "nearest":
                rate[f, sites[0]] += part
                continue
            left = part
            for s in sites:
                if s in full:
                    continue
                # what the route's links still carry (planned at max_utilisation, as the site)
                take = left if link_room is None else min(left, link_room(f, s, rate, None))
                if take <= 0.0:
                    full.add(s)
                    continue
                trial = rate[:, s].copy()
                trial[f] += take
                known = _all_late(rate, late, s)
                if feasible(s, trial, known):
                    rate[f, s] += take
                    if take == left:
                        left = 0.0
                        break
                    left -= take
                    full.add(s)
                    continue
                # the largest share of what is left that the site still takes (bisection)
                lo, hi = 0.0, 1.0
                for _ in range(BISECTIONS):
                    mid = 0.5 * (lo + hi)
                    trial[f] = rate[f, s] + take * mid
                    lo, hi = (mid, hi) if feasible(s, trial, known) else (lo, mid)
                if lo > 0.0:
                    rate[f, s] += take * lo
                    left = left * (1.0 - lo) if take == left else left - take * lo
                full.add(s)
            if left <= 0.0:
                continue
            # late: where it breaks no other flow's deadline (nearest first), else where it costs the others
            # the fewest expected misses among the sites with room
            best, best_harm = None, np.inf
            for s in fallback[f]:
                trial = rate[:, s].copy()
                trial[f] += left
                if not has_room(s, trial) or (link_room is not None and link_room(f, s, rate, 1.0) < left):
                    continue
                # judged: every flow with a part there meant to meet its deadline (this one too, if so)
                known = _all_late(rate, late, s) | ({f} if rate[f, s] <= late[f, s] else set())
                # what this part adds to the misses of the others there (not those they had already)
                h = harm(s, trial, frozenset(known)) - harm(s, rate[:, s], frozenset(known)) if harm else 0.0
                if h < best_harm:
                    best, best_harm = s, h
                if h <= 0.0:
                    break
            if best is not None:
                rate[f, best] += left
                late[f, best] += left
                left = 0.0
            rejected[f] += left
    return Placement(rate, late, rejected)
