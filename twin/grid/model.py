"""The AI grid: place the requests of user regions on sites, serve them, add the network.

``simulate(path) -> GridResults``. Each site is served by the coupled twin's fluid model in steady
state (:mod:`twin.grid.sites`); placement follows the scenario's policy (:mod:`twin.grid.placement`);
the latency a user sees is the network round trip (normal, its jitter the standard deviation, clipped
at zero) plus the site's TTFT / end-to-end latency, drawn per request from the fluid model's latency
pieces with a fixed seed. Results per region, per site and per (region, class, site) flow: arrivals,
served, rejected, deadline misses (rejected included), in flight (Little's law), TTFT / TPOT / end-to-end
percentiles and jitter (P99 - P50), tokens/s, GPU and site power, cost and tokens per dollar — and the
same with every request sent to the central site, when one is marked.

Conservation (checked on every result): for every region and site, arrived = served + rejected, and
the served requests are those of the flows placed there. A request misses when its first token at
the user is later than its class's ``deadline``, or its TPOT exceeds the class's ``tpot`` limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.errors import ArgumentError, ServingInputError
from twin.grid.chains import chain_latency, network_p99, network_time, round_trips
from twin.grid.network import LinkLoads, routes
from twin.grid.placement import Flow, Placement, place, site_order
from twin.grid.sites import BYTES_PER_TOKEN, SiteModel, class_lengths
from twin.layout.catalog_io import Catalog, load_catalog
from twin.layout.grid import load_grid
from twin.layout.schema_grid import POLICIES, GridSpec

#: requests drawn per check of a site's P99 TTFT during placement
PROBE_SAMPLES = 2000
#: parts each flow is placed in
CHUNKS = 10
#: most requests of one flow a discrete grid run simulates
DISCRETE_MAX_REQUESTS = 1_000_000


@dataclass
class GridResults:
    """What :func:`simulate` returns: tables as lists of dicts, totals, the central comparison."""

    name: str
    policy: str
    regions: list[dict]
    sites: list[dict]
    flows: list[dict]
    totals: dict
    central: dict | None = None
    invariants: dict = field(default_factory=dict)
    #: one row per step of a timeline (None: one steady state)
    timeline: list[dict] | None = None
    #: one row per link of the network: what it carries, its utilisation, its traffic cost
    links: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Everything as plain values (JSON)."""
        return _plain(
            {
                "name": self.name,
                "policy": self.policy,
                "totals": self.totals,
                "regions": self.regions,
                "sites": self.sites,
                "flows": self.flows,
                "central": self.central,
                "invariants": self.invariants,
                "timeline": self.timeline,
                "links": self.links,
            }
        )


@dataclass
class Served:
    """One placement served (:meth:`Grid.serve`): the arrays and latency samples its tables come from."""

    pl: Placement
    arrived: np.ndarray  # (flows,) req/s
    served: np.ndarray  # (flows, sites) req/s
    rejected: np.ndarray  # (flows,) req/s rejected at placement or beyond an overloaded site's capacity
    missed: np.ndarray  # (flows,) req/s missing their deadline, the rejected included
    sample: dict  # (f, s) -> {"ttft", "tpot", "e2e", "net": arrays [s], "w": req/s each sample stands for}
    miss: dict  # (f, s) -> share of the served requests of flow f at site s that miss
    sites: list[dict]  # site rows
    conserved: bool  # arrived = served + rejected per flow, and per site; network cost by link = by site
    links: list[dict]  # link rows: bytes each way, utilisation, traffic cost


#: site-row fields that hold for the whole period (not averaged over a timeline)
_FIXED = ("site", "system", "gpus", "replicas", "central", "location")


def grid_totals(arrived, served, rejected, missed, site_rows: list[dict]) -> dict:
    """Totals of the grid from the per-flow arrays [req/s] and the site rows."""
    arrived_s = float(arrived.sum())
    cost = sum(x["cost_usd_per_h"] for x in site_rows)
    tokens = sum(x["output_tokens_per_s"] for x in site_rows)
    return {
        "arrived_per_s": arrived_s,
        "served_per_s": float(served.sum()),
        "rejected_per_s": float(rejected.sum()),
        "deadline_missed_per_s": float(missed.sum()),
        "deadline_miss_rate": float(missed.sum() / arrived_s) if arrived_s else 0.0,
        "output_tokens_per_s": tokens,
        "site_power_w": sum(x["site_power_w"] for x in site_rows),
        "cost_usd_per_h": cost,
        "tokens_per_usd": tokens * 3600.0 / cost if cost > 0 else None,
    }


def _mean_row(parts: list[tuple[float, dict]], fixed: tuple[str, ...] = _FIXED) -> dict:
    """A site (or link) row over time: numbers as time means (weights sum to 1).

    Tokens per dollar are of the means; fields in ``fixed`` and those not numbers are the first row's.
    """
    first = parts[0][1]
    out = {}
    for k, v in first.items():
        if k in fixed or not isinstance(v, int | float) or isinstance(v, bool):
            out[k] = v
        else:
            out[k] = float(sum(w * row[k] for w, row in parts))
    if "cost_usd_per_h" in out and "output_tokens_per_s" in out:
        cost = out["cost_usd_per_h"]
        out["tokens_per_usd"] = out["output_tokens_per_s"] * 3600.0 / cost if cost > 0 else None
    return out


def _plain(x):
    """Numpy scalars to Python numbers, through dicts and lists."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def _wq(x: np.ndarray, w: np.ndarray, q: float) -> float | None:
    """Weighted quantile (inverted CDF) of finite values; None if none."""
    ok = np.isfinite(x)
    if not ok.any():
        return None
    x, w = x[ok], w[ok]
    i = np.argsort(x, kind="stable")
    cw = np.cumsum(w[i])
    return float(x[i][min(np.searchsorted(cw, q * cw[-1]), len(x) - 1)])


def _stats(x: np.ndarray, w: np.ndarray) -> dict:
    ok = np.isfinite(x)
    mean = float(np.average(x[ok], weights=w[ok])) if ok.any() and w[ok].sum() > 0 else None
    p = {k: _wq(x, w, q) for k, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))}
    return {"mean": mean, **p}


class Grid:
    """A loaded grid scenario: its sites' models, flows and links, ready to place and evaluate."""

    def __init__(self, spec: GridSpec, catalog: Catalog, where) -> None:
        self.spec = spec
        self.classes = {c.name: c for c in spec.classes}
        self.lengths = {c.name: class_lengths(c) for c in spec.classes}
        problems = []
        self.sites: list[SiteModel] = []
        for i, s in enumerate(spec.sites):
            if not s.enabled:  # not built (a sweep's choice): neither served nor priced
                continue
            try:
                self.sites.append(SiteModel(s, catalog))
            except ServingInputError as exc:
                field_ = exc.field or "tp"
                key = field_.removeprefix("deployment.")
                key = key if key in type(s).model_fields else "tp"
                problems.append((("sites", i, key), str(exc)))
        for i, c in enumerate(spec.classes):
            for site in self.sites:
                m = site.perf.model
                ctx = m.max_context
                hi_in, hi_out = self.lengths[c.name].input_len.upper, self.lengths[c.name].output_len.upper
                if ctx and hi_in is not None and hi_out is not None and hi_in + hi_out > ctx:
                    problems.append(
                        (
                            ("classes", i, "input_tokens"),
                            f"requests of {c.name!r} can need more than {m.name}'s context of {ctx} "
                            f"tokens (site {site.site.name!r})",
                        )
                    )
        if problems:
            for loc, msg in problems:
                where.add(loc, msg)
            where.raise_any()
        self.site_index = {s.site.name: i for i, s in enumerate(self.sites)}
        #: probes of site states already judged (placement asks the same state more than once)
        self._harm: dict = {}
        self.locations = {r.name: list(r.location) for r in spec.regions if r.location}
        self.flows = [
            Flow(r.name, k, r.rate * share, self.classes[k].deadline)
            for r in spec.regions
            for k, share in r.mix.items()
            if share > 0
        ]
        #: LLM calls per request of each flow (an agentic chain makes several), and round trips
        self.calls = np.array([self.classes[fl.cls].calls for fl in self.flows], dtype=float)
        self.trips = [round_trips(self.classes[fl.cls].calls, self.classes[fl.cls].loop) for fl in self.flows]
        ns = len(self.sites)
        self.latency = np.full((len(self.flows), ns), np.inf)
        self.jitter = np.zeros((len(self.flows), ns))
        self.gb_cost = np.zeros((len(self.flows), ns))
        if spec.serving == "discrete":
            for fl in self.flows:
                n_calls = fl.rate_per_s * spec.duration * self.classes[fl.cls].calls
                if n_calls > DISCRETE_MAX_REQUESTS:
                    where.add(
                        ("serving",),
                        f"discrete serving would simulate ~{n_calls:,.0f} "
                        f"calls of {fl.region}/{fl.cls} alone (at most {DISCRETE_MAX_REQUESTS:,} per "
                        "flow): use `serving: fluid` or a shorter `duration`",
                    )
            where.raise_any()
        rts = routes(spec)
        #: the route of each (flow, site) pair that serves the flow's class
        self.route = {}
        for f, fl in enumerate(self.flows):
            for s, site in enumerate(self.sites):
                rt = rts.get((fl.region, site.site.name))
                want = self.classes[fl.cls].model
                if rt is not None and (want is None or want == site.site.model):
                    self.latency[f, s], self.jitter[f, s], self.gb_cost[f, s] = (
                        rt.latency_s,
                        rt.jitter_s,
                        rt.cost_per_gb,
                    )
                    self.route[(f, s)] = rt
        #: bytes of one request toward the site and back, each flow (every round trip's call)
        pairs = [(self._bytes(fl.cls, "request") * t, self._bytes(fl.cls, "response") * t)
                 for fl, t in zip(self.flows, self.trips, strict=True)]
        self.up, self.down = np.array(pairs, dtype=float).reshape(-1, 2).T.copy()
        self.links = LinkLoads(spec, self.route, self.up, self.down, ns)
        # per class: mean input, mean of its square (mixture spread), mean output
        rng = np.random.default_rng(spec.seed)
        self.moments = {}
        for k, ln in self.lengths.items():
            x = ln.input_len.sample(PROBE_SAMPLES, rng).astype(float)
            self.moments[k] = (ln.mean_input, float(np.mean(x**2)), ln.mean_output)

    def _bytes(self, cls: str, way: str) -> float:
        """Bytes of one call of class ``cls`` on the network, ``way`` ``request`` or ``response``.

        Its ``request_bytes`` / ``response_bytes``, else its mean prompt / output as text.
        """
        c, ln = self.classes[cls], self.lengths[cls]
        if way == "request":
            return c.request_bytes if c.request_bytes is not None else ln.mean_input * BYTES_PER_TOKEN
        return c.response_bytes if c.response_bytes is not None else ln.mean_output * BYTES_PER_TOKEN

    # ------------------------------------------------------------------ site states
    def mixture(self, rates: np.ndarray) -> tuple[float, float, float, float]:
        """``(calls/s, mean input, mean output, input cv^2)`` of the flows at ``rates`` (req/s by flow).

        A request of an agentic class is ``calls`` LLM calls at the site.
        """
        calls = rates * self.calls
        lam = float(calls.sum())
        if lam <= 0:
            return 0.0, 1.0, 1.0, 0.0
        w = calls / lam
        m1 = sum(w[f] * self.moments[fl.cls][0] for f, fl in enumerate(self.flows))
        m2 = sum(w[f] * self.moments[fl.cls][1] for f, fl in enumerate(self.flows))
        mo = sum(w[f] * self.moments[fl.cls][2] for f, fl in enumerate(self.flows))
        return lam, m1, mo, max(m2 / m1**2 - 1.0, 0.0)

    def has_room(self, s: int, rates: np.ndarray, share: float = 0.999) -> bool:
        """Whether site ``s`` stays below ``share`` of its capacity with these rates."""
        lam, n_in, n_out, _ = self.mixture(rates)
        return lam <= share * self.sites[s].capacity_per_s(n_in, n_out)

    def feasible(self, s: int, rates: np.ndarray, skip: frozenset = frozenset()) -> bool:
        """Planned below ``max_utilisation`` and every flow there meets its deadline at P99.

        Flows in ``skip`` (placed there knowing they miss) load the site but are not judged.
        """
        if not self.has_room(s, rates, self.spec.max_utilisation):
            return False
        return self.harm(s, rates, skip) == 0.0

    def harm(self, s: int, rates: np.ndarray, skip: frozenset = frozenset(), expected: bool = False) -> float:
        """Requests/s of the flows at site ``s`` (``skip`` left out) that break their deadline.

        By default a flow breaks whole when its P99 does (network ``latency + 2.326 jitter`` plus the
        P99 TTFT; the P99 TPOT against its limit); with ``expected``, the requests/s expected to miss
        (each flow's share of probe requests over its deadline or TPOT limit, the network drawn).
        """
        key = (s, rates.tobytes(), skip, expected)
        if key in self._harm:
            return self._harm[key]
        lam, n_in, n_out, cv2 = self.mixture(rates)
        site = self.sites[s]
        curve = site.curve(lam, n_in, n_out, cv2)
        rng = np.random.default_rng(self.spec.seed + 1)
        broken = 0.0
        for f in np.flatnonzero(rates > 0):
            if int(f) in skip:
                continue
            fl = self.flows[f]
            c = self.classes[fl.cls]
            limit = c.tpot
            net99 = network_p99(self.latency[f, s], self.jitter[f, s], self.trips[f])
            if not expected and net99 + (c.calls - 1) * c.tool_time >= fl.deadline_s:
                broken += rates[f]
                continue
            lat = self._at_site(f, site, curve, PROBE_SAMPLES, rng, n_in, n_out)
            ttft, tpot = lat["ttft"], lat["tpot"]
            if expected:
                net = network_time(rng, self.latency[f, s], self.jitter[f, s], len(ttft), self.trips[f])
                ok = net + ttft <= fl.deadline_s
                if limit is not None:
                    ok &= ~(tpot > limit)
                broken += rates[f] * float(np.mean(~ok))
                continue
            if not np.isfinite(ttft).all() or net99 + float(np.percentile(ttft, 99)) > fl.deadline_s:
                broken += rates[f]
                continue
            fin = tpot[np.isfinite(tpot)]
            if limit is not None and len(fin) and float(np.percentile(fin, 99)) > limit:
                broken += rates[f]
        if len(self._harm) > 4096:
            self._harm.clear()
        self._harm[key] = float(broken)
        return float(broken)

    def _at_site(self, f: int, site: SiteModel, curve, n: int, rng, n_in: float, n_out: float) -> dict:
        """Latencies at the site [s] of ``n`` requests of flow ``f``: ``ttft``, ``tpot``, ``e2e``.

        An agentic request's calls and tool times are summed (:mod:`twin.grid.chains`); no network.
        """
        c = self.classes[self.flows[f].cls]
        lat = site.latency_samples(curve, self.lengths[c.name], n * c.calls, rng, n_in, n_out)
        return chain_latency(lat, np.zeros(n), c.calls, c.tool_time)

    def cost_per_token(self) -> np.ndarray:
        """USD per output token of each site at planned utilisation of the scenario's overall mixture."""
        total = np.array([fl.rate_per_s for fl in self.flows])
        lam, n_in, n_out, cv2 = self.mixture(total)
        out = np.empty(len(self.sites))
        for s, site in enumerate(self.sites):
            cap = site.capacity_per_s(n_in, n_out) * self.spec.max_utilisation
            _, w = site.power_w(site.curve(cap, n_in, n_out, cv2))
            out[s] = site.cost_per_h(w) / (cap * n_out * 3600.0)
        return out

    # ------------------------------------------------------------------ placement and evaluation
    def placement(self, policy: str | None = None) -> Placement:
        """Place every flow by the policy (the scenario's unless given)."""
        policy = policy or self.spec.policy
        cpt = self.cost_per_token() if policy == "cost" else np.zeros(len(self.sites))
        capped = np.array([s.site.power_cap is not None for s in self.sites])
        order, fallback = [], []
        for f in range(len(self.flows)):
            reach = np.isfinite(self.latency[f])
            order.append(site_order(policy, self.latency[f], cpt, capped, reach))
            fallback.append(site_order("latency", self.latency[f], cpt, capped, reach))
        return place(
            self.flows,
            len(self.sites),
            order,
            fallback,
            self.feasible,
            self.has_room,
            policy,
            CHUNKS,
            harm=lambda s, r, skip: self.harm(s, r, skip, expected=True),
            link_room=self._link_room if self.links.limited else None,
        )

    def _link_room(self, f: int, s: int, rate: np.ndarray, share: float | None) -> float:
        """Requests/s more of flow ``f`` the route to site ``s`` carries (``None``: planned share)."""
        return self.links.room(f, s, rate, self.spec.max_utilisation if share is None else share)

    def central_placement(self) -> Placement | None:
        """Every flow at the central site (None without one); flows that cannot reach it are rejected."""
        c = next((i for i, s in enumerate(self.sites) if s.site.central), None)
        if c is None:
            return None
        nf = len(self.flows)
        rate = np.zeros((nf, len(self.sites)))
        rej = np.zeros(nf)
        for f, fl in enumerate(self.flows):
            if np.isfinite(self.latency[f, c]):
                rate[f, c] = fl.rate_per_s
            else:
                rej[f] = fl.rate_per_s
        return Placement(rate, np.zeros_like(rate), rej)

    def serve(self, pl: Placement) -> Served:
        """Serve a placement: what every site serves and the latencies its requests see (one state)."""
        spec, nf, ns = self.spec, len(self.flows), len(self.sites)
        rng = np.random.default_rng(spec.seed)
        total_rate = sum(fl.rate_per_s for fl in self.flows)
        served = np.zeros((nf, ns))
        late_served = np.zeros(nf)  # req/s served past their deadline
        sample = {}  # (f, s) -> dict of arrays and the weight of one sample
        miss = {}  # (f, s) -> share of the served requests that miss
        site_rows = []
        # what the links carry of each placed flow (all of it unless one is offered beyond its bandwidth)
        carried = pl.rate * self.links.carried(pl.rate)
        for s, site in enumerate(self.sites):
            rates = carried[:, s]
            lam, n_in, n_out, cv2 = self.mixture(rates)
            if lam <= 0:
                g, w = site.power_w(None)
                site_rows.append(self._site_row(site, 0.0, 0.0, 0.0, 0.0, 0.0, g, w, 0.0))
                continue
            cap = site.capacity_per_s(n_in, n_out)
            share = min(1.0, cap / lam)  # an overloaded site serves its capacity, pro rata
            curve = site.curve(min(lam, cap * 0.999999), n_in, n_out, cv2)
            tok = 0.0
            net_cost = 0.0
            discrete = self._discrete(s, rates, rng) if spec.serving == "discrete" else None
            for f in np.flatnonzero(rates > 0):
                fl = self.flows[f]
                served[f, s] = rates[f] * share
                c = self.classes[fl.cls]
                if discrete is None:
                    n = max(200, int(round(spec.samples * rates[f] / total_rate)))
                    lat = self._at_site(f, site, curve, n, rng, n_in, n_out)
                else:
                    lat = chain_latency(discrete[f], np.zeros(len(discrete[f]["ttft_s"]) // c.calls),
                                        c.calls, c.tool_time)
                    n = len(lat["ttft"])
                net = network_time(rng, self.latency[f, s], self.jitter[f, s], n, self.trips[f])
                if share < 1.0:
                    lat = {k: np.full(n, np.inf) if k != "tpot" else v for k, v in lat.items()}
                d = {
                    "ttft": net + lat["ttft"],
                    "tpot": lat["tpot"],
                    "e2e": net + lat["e2e"],
                    "net": net,
                    "w": np.full(n, served[f, s] / n),
                }
                sample[(f, s)] = d
                ok = d["ttft"] <= fl.deadline_s
                limit = self.classes[fl.cls].tpot
                if limit is not None:
                    ok &= ~(d["tpot"] > limit)  # a one-token request has no TPOT (nan): not a miss
                miss[(f, s)] = float(np.mean(~ok))
                late_served[f] += served[f, s] * miss[(f, s)]
                tok += served[f, s] * c.calls * self.moments[fl.cls][2]
                # bytes over the network: every call's prompt and answer with the loop at the client
                net_cost += served[f, s] * (self.up[f] + self.down[f]) / 1e9 * self.gb_cost[f, s] * 3600
            g, w = site.power_w(curve)
            site_rows.append(
                self._site_row(
                    site, float(rates.sum()), lam, float(served[:, s].sum()), lam / cap, tok, g, w, net_cost
                )
            )
        arrived = np.array([fl.rate_per_s for fl in self.flows])
        # rejected at placement, or beyond an overloaded site's capacity: missed, never served
        rejected = pl.rejected + (pl.rate.sum(axis=1) - served.sum(axis=1))
        missed = rejected + late_served
        conserved = bool(
            np.allclose(arrived, served.sum(axis=1) + rejected, rtol=1e-9, atol=1e-12)
            and np.allclose([r["served_per_s"] for r in site_rows], served.sum(axis=0), rtol=1e-9, atol=1e-12)
        )
        links = self.links.rows(served)
        conserved &= math.isclose(
            sum(x["network_cost_usd_per_h"] for x in links),
            sum(x["network_cost_usd_per_h"] for x in site_rows),
            rel_tol=1e-9,
            abs_tol=1e-9,
        )
        return Served(pl, arrived, served, rejected, missed, sample, miss, site_rows, conserved, links)

    def evaluate(self, pl: Placement) -> tuple[list[dict], list[dict], list[dict], dict, dict]:
        """Serve a placement: (regions, sites, flows, totals, invariants) — see the module notes."""
        return self.tables([(1.0, self.serve(pl))])

    def tables(self, parts: list[tuple[float, Served]]) -> tuple[list, list, list, dict, dict]:
        """(regions, sites, flows, totals, invariants) of served states, each with its share of the time.

        One state is a steady grid; over a timeline, rates are time means, percentiles and miss rates
        are over all requests of the period (every state's samples weighted by its requests), energy
        and cost are summed.
        """
        wsum = sum(w for w, _ in parts)
        ws = [(w / wsum, x) for w, x in parts]

        def mean(get):
            return sum(w * get(x) for w, x in ws)

        rate, late = mean(lambda x: x.pl.rate), mean(lambda x: x.pl.late)
        served, missed = mean(lambda x: x.served), mean(lambda x: x.missed)
        rejected = mean(lambda x: x.rejected)
        pooled: dict[tuple[int, int], dict] = {}
        for w, x in ws:
            for key, d in x.sample.items():
                pooled.setdefault(key, []).append({**d, "w": d["w"] * w})
        sample = {k: {q: np.concatenate([d[q] for d in v]) for q in v[0]} for k, v in pooled.items()}
        flow_rows = []
        for f, fl in enumerate(self.flows):
            for s in np.flatnonzero(rate[f] > 0):
                d = sample[(f, s)]
                got = served[f, s]
                m = sum(w * x.served[f, s] * x.miss.get((f, s), 0.0) for w, x in ws) / got if got > 0 else 1.0
                flow_rows.append(
                    {
                        "region": fl.region,
                        "class": fl.cls,
                        "site": self.sites[s].site.name,
                        "rate_per_s": float(rate[f, s]),
                        "served_per_s": float(got),
                        "placed_late_per_s": float(late[f, s]),
                        "network_latency_s": float(self.latency[f, s]),
                        "route": " > ".join(self.route[(f, int(s))].path),
                        "deadline_s": fl.deadline_s,
                        "deadline_miss_rate": float(m),
                        "ttft_s": _stats(d["ttft"], d["w"]),
                    }
                )
        arrived_f = mean(lambda x: x.arrived)
        region_rows = []
        for r in self.spec.regions:
            fs = [f for f, fl in enumerate(self.flows) if fl.region == r.name]
            region_rows.append(self._region_row(r.name, fs, arrived_f, rate, served, missed, sample))
        site_rows = [_mean_row([(w, x.sites[s]) for w, x in ws]) for s in range(len(self.sites))]
        totals = grid_totals(arrived_f, served, rejected, missed, site_rows)
        arrived, srv, rej = totals["arrived_per_s"], totals["served_per_s"], totals["rejected_per_s"]
        inv = {
            "requests_conserved_per_region": all(
                math.isclose(
                    x["arrived_per_s"], x["served_per_s"] + x["rejected_per_s"], rel_tol=1e-9, abs_tol=1e-12
                )
                for x in region_rows
            ),
            "requests_conserved_per_site": all(
                math.isclose(
                    x["served_per_s"],
                    sum(fr["served_per_s"] for fr in flow_rows if fr["site"] == x["site"]),
                    rel_tol=1e-9,
                    abs_tol=1e-12,
                )
                for x in site_rows
            ),
            "requests_conserved_overall": math.isclose(arrived, srv + rej, rel_tol=1e-9, abs_tol=1e-12),
            "requests_conserved_every_step": all(x.conserved for _, x in ws),
        }
        return region_rows, site_rows, flow_rows, totals, inv

    @staticmethod
    def link_rows(parts: list[tuple[float, Served]]) -> list[dict]:
        """The links over served states (each with its share of the time).

        Time means, and the peak utilisation of any state.
        """
        wsum = sum(w for w, _ in parts)
        out = []
        for i, first in enumerate(parts[0][1].links):
            row = _mean_row([(w / wsum, x.links[i]) for w, x in parts], fixed=("link", "bandwidth_bit_s"))
            u = [x.links[i]["utilisation"] for _, x in parts]
            row["utilisation_peak"] = max(u) if first["bandwidth_bit_s"] is not None else None
            out.append(row)
        return out

    def _discrete(self, s: int, rates: np.ndarray, rng: np.random.Generator) -> dict[int, dict]:
        """Latencies of every request of each flow at site ``s``, simulated request by request.

        Poisson arrivals of each flow over ``duration`` with its class's lengths, merged, served by the
        site's replicas (round-robin) at its clock; the first 20 % of the window is dropped as warm-up.
        """
        from twin.serving.discrete import simulate_discrete
        from twin.serving.workload import Requests, Workload

        site, dur = self.sites[s], self.spec.duration
        parts = []
        for f in np.flatnonzero(rates > 0):
            ln = self.lengths[self.flows[f].cls]
            wl = Workload(
                rate_per_s=float(rates[f] * self.calls[f]),
                duration_s=dur,
                input_len=ln.input_len,
                output_len=ln.output_len,
            )
            r = wl.generate(rng)
            parts.append((f, r))
        arrival = np.concatenate([r.arrival_s for _, r in parts])
        order = np.argsort(arrival, kind="stable")
        flow_of = np.concatenate([np.full(len(r), f) for f, r in parts])[order]
        reqs = Requests(
            arrival[order],
            np.concatenate([r.input_tokens for _, r in parts])[order],
            np.concatenate([r.output_tokens for _, r in parts])[order],
        )
        out = simulate_discrete(site.perf, reqs, site.replicas, clock=np.array([site.clock])).requests
        keep = out.arrival_s >= 0.2 * dur
        ttft = out.first_token_s - out.arrival_s
        e2e = out.completed_s - out.arrival_s
        multi = out.output_tokens > 1
        tpot = np.where(
            multi, (out.completed_s - out.first_token_s) / np.maximum(out.output_tokens - 1, 1), np.nan
        )
        res = {}
        for f, _ in parts:
            sel = keep & (flow_of == f)
            if not sel.any():  # a trickle with no request after the warm-up: keep them all
                sel = flow_of == f
            # an agentic flow's calls, taken in order of arrival, make its chains (a whole number)
            calls = int(self.calls[f])
            m = max(int(sel.sum()) // calls, 1) * calls
            res[f] = {
                k: np.resize(v[sel], m) for k, v in (("ttft_s", ttft), ("tpot_s", tpot), ("e2e_s", e2e))
            }
        return res

    @staticmethod
    def _site_row(site: SiteModel, offered, calls, served, util, tok, gpu_w, site_w, net_cost) -> dict:
        cost = site.cost_per_h(site_w) + net_cost
        return {
            "site": site.site.name,
            "system": site.site.system,
            "gpus": site.site.gpus,
            "replicas": site.replicas,
            "clock_factor": site.clock,
            "offered_per_s": offered,
            "calls_per_s": calls,
            "served_per_s": served,
            "utilisation": util,
            "output_tokens_per_s": tok,
            "gpu_power_w": gpu_w,
            "site_power_w": site_w,
            "network_cost_usd_per_h": net_cost,
            "cost_usd_per_h": cost,
            "tokens_per_usd": tok * 3600.0 / cost if cost > 0 else None,
            "central": site.site.central,
            "location": list(site.site.location) if site.site.location else None,
        }

    def _region_row(self, name: str, fs: list[int], arrived_f, rate, served, missed, sample) -> dict:
        arrived = float(sum(arrived_f[f] for f in fs))
        keys = [(f, s) for f in fs for s in np.flatnonzero(rate[f] > 0)]
        cat = {
            k: np.concatenate([sample[x][k] for x in keys]) if keys else np.zeros(0)
            for k in ("ttft", "tpot", "e2e", "net")
        }
        w = np.concatenate([sample[x]["w"] for x in keys]) if keys else np.zeros(0)
        srv = float(sum(served[f].sum() for f in fs))
        stats = {k: _stats(cat[k], w) for k in cat}
        jit = {
            k: (stats[k]["p99"] - stats[k]["p50"]) if stats[k]["p99"] is not None else None
            for k in ("ttft", "e2e")
        }
        e2e_mean = stats["e2e"]["mean"] or 0.0
        return {
            "region": name,
            "arrived_per_s": arrived,
            "served_per_s": srv,
            "rejected_per_s": arrived - srv,
            "deadline_missed_per_s": float(sum(missed[f] for f in fs)),
            "deadline_miss_rate": float(sum(missed[f] for f in fs) / arrived) if arrived else 0.0,
            "in_flight": srv * e2e_mean if math.isfinite(e2e_mean) else None,
            "ttft_s": stats["ttft"],
            "tpot_s": stats["tpot"],
            "e2e_s": stats["e2e"],
            "network_s": stats["net"],
            "ttft_jitter_s": jit["ttft"],
            "e2e_jitter_s": jit["e2e"],
            "location": self.locations.get(name),
            "sites": {
                self.sites[s].site.name: float(sum(rate[f, s] for f in fs))
                for s in range(len(self.sites))
                if any(rate[f, s] > 0 for f in fs)
            },
        }


def load(path: str | Path, catalog: Catalog | None = None) -> Grid:
    """Read and check a grid scenario file (every problem with file:line at once)."""
    cat = catalog or load_catalog()
    spec, where = load_grid(path, cat)
    return Grid(spec, cat, where)


def simulate(
    path: str | Path, *, policy: str | None = None, catalog: Catalog | None = None, progress=None
) -> GridResults:
    """Place, serve and measure a grid scenario; also everything-central when a site is central.

    With a ``timeline``, every step is placed and served (:mod:`twin.grid.timeline`) and
    ``progress(done, total)`` is called after each; the tables are over the whole period and
    ``GridResults.timeline`` has a row per step.

    Raises
    ------
    InputError
        Every problem of the file (file:line, field, what was expected).
    ArgumentError
        An unknown ``policy``.
    """
    if policy is not None and policy not in POLICIES:
        raise ArgumentError(f"unknown policy {policy!r}; valid: {', '.join(POLICIES)}", field="policy")
    grid = load(path, catalog)
    policy = policy or grid.spec.policy
    if grid.spec.timeline is None:
        pl = grid.placement(policy)
        x = grid.serve(pl)
        regions, sites, flows, totals, inv = grid.tables([(1.0, x)])
        central = None
        cp = grid.central_placement()
        if cp is not None:
            cr, cs, _, ct, _ = grid.tables([(1.0, grid.serve(cp))])
            central = {"totals": ct, "regions": cr, "sites": cs}
        links = grid.link_rows([(1.0, x)])
        return GridResults(grid.spec.name, policy, regions, sites, flows, totals, central, inv, links=links)
    return _simulate_timeline(grid, policy, progress)


def _simulate_timeline(grid: Grid, policy: str, progress) -> GridResults:
    """Every step of the timeline placed and served; tables over the period, a row per step."""
    from twin.grid.timeline import at_step, step_key, step_row, steps

    todo = steps(grid.spec, grid.site_index)
    parts, central_parts, rows = [], [], []
    placed: dict[tuple, Placement] = {}  # steps with the same rates and events place alike
    for k, st in enumerate(todo):
        g = at_step(grid, st)
        key = step_key(st)
        if key not in placed:
            placed[key] = g.placement(policy)
        x = g.serve(placed[key])
        cp = g.central_placement()
        cx = g.serve(cp) if cp is not None else None
        parts.append((st.duration_s, x))
        if cx is not None:
            central_parts.append((st.duration_s, cx))
        rows.append(step_row(g, st, x, cx))
        if progress is not None:
            progress(k + 1, len(todo))
    regions, sites, flows, totals, inv = grid.tables(parts)
    _add_period(totals, sites, parts)
    central = None
    if central_parts:
        cr, cs, _, ct, _ = grid.tables(central_parts)
        _add_period(ct, cs, central_parts)
        central = {"totals": ct, "regions": cr, "sites": cs}
    return GridResults(
        grid.spec.name, policy, regions, sites, flows, totals, central, inv, rows, grid.link_rows(parts)
    )


def _add_period(totals: dict, site_rows: list[dict], parts: list[tuple[float, Served]]) -> None:
    """Sums over a timeline: requests, misses, energy [MWh], cost [USD], peak power; per site too."""
    span = sum(d for d, _ in parts)
    totals["duration_s"] = span
    totals["requests"] = sum(d * float(x.arrived.sum()) for d, x in parts)
    totals["deadline_missed"] = sum(d * float(x.missed.sum()) for d, x in parts)
    power = [sum(r["site_power_w"] for r in x.sites) for _, x in parts]
    totals["site_power_peak_w"] = max(power)
    totals["energy_mwh"] = sum(d * p for (d, _), p in zip(parts, power, strict=True)) / 3.6e9
    totals["cost_usd"] = sum(d * sum(r["cost_usd_per_h"] for r in x.sites) for d, x in parts) / 3600.0
    for s, row in enumerate(site_rows):
        row["site_power_peak_w"] = max(x.sites[s]["site_power_w"] for _, x in parts)
        row["energy_mwh"] = sum(d * x.sites[s]["site_power_w"] for d, x in parts) / 3.6e9
