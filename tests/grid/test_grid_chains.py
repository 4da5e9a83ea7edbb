"""Agentic chains in the grid: a request of N calls loads the site N times and waits for them in turn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.errors import InputError
from twin.grid import simulate
from twin.grid.chains import chain_latency, network_p99

GRID = """name: agents
classes:
  - {{name: agent, input_tokens: 512, output_tokens: 64, deadline: 30 s{chain}}}
sites:
  - {{name: site, system: hgx-b200, gpus: 8, model: llama-3.1-8b, precision: fp8, tp: 1, power_price: 80}}
regions:
  - {{name: city, rate: {rate}, mix: {{agent: 1}}}}
network:
  - {{region: city, site: site, latency: 20 ms, cost_per_gb: 0.05}}
"""


def run(tmp_path: Path, name: str, chain: str, rate: float) -> dict:
    p = tmp_path / f"{name}.yaml"
    p.write_text(GRID.format(chain=chain, rate=rate))
    return simulate(p).to_dict()


def test_a_chain_of_calls_is_its_calls_in_turn_plus_tools_and_round_trips(tmp_path):
    # by hand: 3 calls with the loop at the client = 3 round trips of 20 ms, 2 tool runs of 50 ms, the
    # first two calls whole and the last to its first token, each call served at the site's load of
    # 3 x 20 = 60 calls/s: the same site serving 60 single calls/s gives the per-call means
    one = run(tmp_path, "one", "", 60.0)
    client = run(tmp_path, "client", ", calls: 3, tool_time: 50 ms", 20.0)
    site = run(tmp_path, "site", ", calls: 3, tool_time: 50 ms, loop: site", 20.0)
    r1, rc, rs = one["regions"][0], client["regions"][0], site["regions"][0]
    ttft1, e2e1 = r1["ttft_s"]["mean"] - 0.02, r1["e2e_s"]["mean"] - 0.02  # at the site
    want = 3 * 0.02 + 2 * 0.05 + 2 * e2e1 + ttft1
    assert rc["ttft_s"]["mean"] == pytest.approx(want, rel=0.03)
    assert rc["e2e_s"]["mean"] - rc["ttft_s"]["mean"] == pytest.approx(e2e1 - ttft1, rel=0.03)
    # the loop beside the site saves two round trips, exactly (no jitter; the same site draws)
    assert rc["ttft_s"]["mean"] - rs["ttft_s"]["mean"] == pytest.approx(0.04, abs=1e-9)
    assert rc["network_s"]["p50"] == pytest.approx(0.06)
    assert rs["network_s"]["p50"] == pytest.approx(0.02)
    # the site serves 60 calls/s for 20 requests/s, and three calls' tokens each
    s1, sc, ss = one["sites"][0], client["sites"][0], site["sites"][0]
    assert sc["calls_per_s"] == pytest.approx(60.0)
    assert sc["served_per_s"] == pytest.approx(20.0)
    assert sc["output_tokens_per_s"] == pytest.approx(s1["output_tokens_per_s"], rel=1e-9)
    assert sc["gpu_power_w"] == pytest.approx(s1["gpu_power_w"], rel=1e-9)
    # traffic: every call crosses the network with the loop at the client, one with it at the site
    assert sc["network_cost_usd_per_h"] == pytest.approx(s1["network_cost_usd_per_h"], rel=1e-9)
    assert ss["network_cost_usd_per_h"] == pytest.approx(s1["network_cost_usd_per_h"] / 3, rel=1e-9)
    assert rc["in_flight"] == pytest.approx(20.0 * rc["e2e_s"]["mean"], rel=1e-9)
    assert all(client["invariants"].values())
    assert all(site["invariants"].values())


def test_a_chain_that_cannot_meet_its_deadline_misses_every_request(tmp_path):
    # 10 calls of 64 tokens cannot all finish within 1 s at ~0.3 s a call: every request misses
    res = run(tmp_path, "slow", ", calls: 10", 5.0)
    base = GRID.replace("deadline: 30 s", "deadline: 1 s")
    p = tmp_path / "tight.yaml"
    p.write_text(base.format(chain=", calls: 10", rate=5.0))
    tight = simulate(p).to_dict()
    assert res["totals"]["deadline_miss_rate"] == 0.0
    assert tight["totals"]["deadline_miss_rate"] == pytest.approx(1.0)
    assert tight["regions"][0]["arrived_per_s"] == pytest.approx(5.0)
    assert all(tight["invariants"].values())


def test_chain_latency_and_network_tail_by_hand():
    site = {"ttft_s": np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0]),
            "e2e_s": np.array([4.0, 5.0, 6.0, 40.0, 50.0, 60.0]),
            "tpot_s": np.array([0.1, 0.2, 0.3, 1.0, 2.0, 3.0])}
    out = chain_latency(site, np.array([0.5, 0.7]), 3, 0.25)
    # chain 0: 4 + 5 (two calls whole) + 2 x 0.25 tools + 0.5 network + 3 (last call's first token)
    assert out["ttft"].tolist() == pytest.approx([13.0, 121.2])
    assert out["e2e"].tolist() == pytest.approx([16.0, 151.2])
    assert out["tpot"].tolist() == [0.3, 3.0]
    assert network_p99(0.01, 0.002, 4) == pytest.approx(0.04 + 2.326 * 2 * 0.002)


def test_chain_fields_without_calls_are_an_input_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(GRID.format(chain=", tool_time: 50 ms", rate=5.0))
    with pytest.raises(InputError) as exc:
        simulate(p)
    msg = str(exc.value)
    assert "bad.yaml:3" in msg
    assert "classes[0]" in msg
    assert "give 'calls'" in msg
