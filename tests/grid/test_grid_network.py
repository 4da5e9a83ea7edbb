"""The grid's network as a graph: routes through routers only, route figures from links, bandwidth limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import InputError
from twin.grid import simulate
from twin.grid.model import load
from twin.report.grid import link_rows

SITES = """sites:
  - {name: near, system: hgx-b200, gpus: 8, model: llama-3.1-8b, precision: fp8, tp: 1, power_price: 80}
  - {name: far, system: hgx-b200, gpus: 64, model: llama-3.1-8b, precision: fp8, tp: 1, power_price: 40}
"""

GRAPH = """name: graph
classes:
  - {name: chat, input_tokens: 256, output_tokens: 32, deadline: 2 s}
""" + SITES + """regions:
  - {name: a, rate: 10, mix: {chat: 1}}
  - {name: b, rate: 10, mix: {chat: 1}}
routers: [ix]
network:
  - {between: [a, ix], latency: 20 ms, jitter: 3 ms, cost_per_gb: 0.01}
  - {between: [ix, far], latency: 30 ms, jitter: 4 ms, cost_per_gb: 0.02}
  - {between: [near, ix], latency: 1 ms}
  - {region: a, site: near, latency: 10 ms}
  - {between: [b, ix], latency: 2 ms}
  - {region: a, site: far, latency: 60 ms}
"""


def write(tmp_path: Path, body: str, name: str = "g.yaml") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


def test_routes_take_the_least_latency_through_routers_only(tmp_path):
    g = load(write(tmp_path, GRAPH))
    f = {fl.region: i for i, fl in enumerate(g.flows)}
    near, far = g.site_index["near"], g.site_index["far"]
    # a -> far: via ix (20 + 30 ms) beats the direct 60 ms; a shorter way through the site `near`
    # (10 + 1 + 30 ms) is not a route: sites only receive
    rt = g.route[(f["a"], far)]
    assert rt.path == ("a", "ix", "far")
    assert g.latency[f["a"], far] == pytest.approx(0.050)
    assert g.jitter[f["a"], far] == pytest.approx(0.005)  # sqrt(3^2 + 4^2) ms
    assert g.gb_cost[f["a"], far] == pytest.approx(0.03)
    assert g.latency[f["a"], near] == pytest.approx(0.010)  # the direct link
    assert g.route[(f["b"], near)].path == ("b", "ix", "near")  # a router reaches the site beyond it
    assert g.latency[f["b"], near] == pytest.approx(0.003)
    res = simulate(tmp_path / "g.yaml").to_dict()
    assert all(res["invariants"].values())
    links = {x["link"]: x for x in res["links"]}
    assert sum(x["network_cost_usd_per_h"] for x in res["links"]) == pytest.approx(
        sum(s["network_cost_usd_per_h"] for s in res["sites"]), rel=1e-9)
    assert links["a - far"]["forward_bit_s"] == 0.0  # the longer direct link carries nothing
    assert len(link_rows(res)) == 6  # a graph with routers: its links are shown
    table = simulate(write(tmp_path, BANDWIDTH.format(policy="latency").replace(", bandwidth: 50 Mbit/s", ""),
                           "table.yaml")).to_dict()
    assert link_rows(table) == []  # a table of round trips: nothing to add to the flows


BANDWIDTH = """name: thin
policy: {policy}
classes:
  - {{name: voice, input_tokens: 256, output_tokens: 32, deadline: 1 s,
     request_bytes: 100 kB, response_bytes: 10 kB}}
""" + SITES.replace("{", "{{").replace("}", "}}") + """regions:
  - {{name: city, rate: 100, mix: {{voice: 1}}}}
network:
  - {{region: city, site: near, latency: 5 ms, bandwidth: 50 Mbit/s}}
  - {{region: city, site: far, latency: 40 ms}}
"""


def test_a_thin_link_spills_load_to_the_far_site_and_nearest_loses_what_it_cannot_carry(tmp_path):
    # by hand: a request sends 100 kB toward the site; the 50 Mbit/s = 6.25 MB/s link is planned to 90 %,
    # 5.625 MB/s = 56.25 req/s; the other 43.75 req/s go to the far site (40 ms, within the deadline)
    lat = simulate(write(tmp_path, BANDWIDTH.format(policy="latency"), "lat.yaml")).to_dict()
    sites = {s["site"]: s for s in lat["sites"]}
    assert sites["near"]["served_per_s"] == pytest.approx(56.25, rel=1e-9)
    assert sites["far"]["served_per_s"] == pytest.approx(43.75, rel=1e-9)
    link = {x["link"]: x for x in lat["links"]}["city - near"]
    assert link["utilisation"] == pytest.approx(0.9, rel=1e-9)
    assert link["forward_bit_s"] == pytest.approx(56.25 * 100e3 * 8, rel=1e-9)
    assert link["back_bit_s"] == pytest.approx(56.25 * 10e3 * 8, rel=1e-9)
    assert lat["totals"]["deadline_miss_rate"] == pytest.approx(0.0, abs=1e-3)
    # nearest sends all 100 req/s = 10 MB/s at the 6.25 MB/s link: it carries 62.5 %, the rest is lost
    near = simulate(write(tmp_path, BANDWIDTH.format(policy="nearest"), "near.yaml")).to_dict()
    r = near["regions"][0]
    assert r["served_per_s"] == pytest.approx(62.5, rel=1e-9)
    assert r["rejected_per_s"] == pytest.approx(37.5, rel=1e-9)
    assert near["totals"]["deadline_miss_rate"] >= 0.375 - 1e-9
    assert {x["link"]: x for x in near["links"]}["city - near"]["utilisation"] == pytest.approx(1.0)
    assert all(lat["invariants"].values())
    assert all(near["invariants"].values())
    # the tables the CLI and the app show: a row per link, where a link has a bandwidth
    rows = link_rows(lat)
    assert [r["link"] for r in rows] == ["city - near", "city - far"]
    assert rows[0]["utilisation"] == "90%"
    assert rows[0]["bandwidth [Gbit/s]"] == "0.05"


B = "{between: [b, ix], latency: 2 ms}"


@pytest.mark.parametrize(("old", "new", "where", "what"), [
    (B, "{between: [b, ixx], latency: 2 ms}", "g.yaml:16: network[4].between[1]",
     "unknown region, site or router 'ixx' (did you mean 'ix'?)"),
    (B, "{between: [b, a], latency: 2 ms}", "g.yaml:16: network[4].between",
     "a link between two regions carries no request"),
    (B, "{between: [b, ix], region: b, latency: 2 ms}", "g.yaml:16: network[4]",
     "a link joins either a 'region' and a 'site', or"),
    (B, "{between: [ix, b], latency: 2 ms, bandwidth: 10 Gb/s}",
     "g.yaml:16: network[4].bandwidth", "write Gbit/s or Gbps for bits"),
    ("routers: [ix]", "routers: [ix, spare]", "g.yaml:10: routers[1]", "router 'spare' has no link"),
    (B, "{between: [ix, b], latency: 2 ms}\n  - {between: [b, ix], latency: 3 ms}",
     "g.yaml:17: network[5]", "the link b - ix is given twice (first at network[4])"),
])
def test_bad_networks_name_file_line_and_field(tmp_path, old, new, where, what):
    assert old in GRAPH
    with pytest.raises(InputError) as exc:
        load(write(tmp_path, GRAPH.replace(old, new)))
    msg = str(exc.value)
    assert where in msg, msg
    assert what in msg, msg


def test_a_region_behind_a_router_with_no_site_reaches_nothing(tmp_path):
    body = GRAPH.replace("{between: [b, ix], latency: 2 ms}", "{between: [b, ix2], latency: 2 ms}").replace(
        "routers: [ix]", "routers: [ix, ix2]")
    with pytest.raises(InputError) as exc:
        load(write(tmp_path, body))
    assert "regions[1].name" in str(exc.value)
    assert "region 'b' reaches no built site" in str(exc.value)


def test_the_shipped_backbone_grid_routes_through_its_exchanges():
    # run with `nearest` (the shipped policy's run is the benchmark's): every flow's route enters and
    # leaves through exchanges, the links carry what the flows send, and the agents' six calls load
    # the site six times
    path = Path(__file__).resolve().parents[2] / "scenarios" / "grids" / "backbone-agents.yaml"
    assert path.read_text().startswith("#")
    res = simulate(path, policy="nearest").to_dict()
    assert all(res["invariants"].values())
    for f in res["flows"]:
        hops = f["route"].split(" > ")
        assert hops[0] == f["region"]
        assert hops[-1] == f["site"]
        assert all(h.startswith("ix-") for h in hops[1:-1])
    links = {x["link"]: x for x in res["links"]}
    # new-york's access link carries all its requests' bytes: voice 20 kB, chat and agent calls as text
    ny = links["new-york - ix-new-york"]
    assert ny["forward_bit_s"] > 0
    assert ny["back_bit_s"] > 0
    assert all(x["utilisation"] is None or x["utilisation"] < 1.0 for x in res["links"])
    site = {s["site"]: s for s in res["sites"]}
    offered = sum(f["rate_per_s"] for f in res["flows"])
    agents = sum(f["rate_per_s"] for f in res["flows"] if f["class"] == "agent")
    assert sum(s["calls_per_s"] for s in site.values()) == pytest.approx(offered + 5 * agents, rel=1e-9)
    # nearest sends every request to the edge beside its users: far beyond the edges' capacity
    assert site["factory"]["served_per_s"] == 0.0
    assert res["totals"]["rejected_per_s"] > 0.5 * offered
