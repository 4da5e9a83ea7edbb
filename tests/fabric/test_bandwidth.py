"""Max-flow across the bisection of the fabric graph equals the analytic bisection bandwidth."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from twin.fabric import build_fabric, max_flow_bytes_s, nvlink_domain_graph


def _halves(g):
    blocks = [n for n, k in g.nodes(data="kind") if k == "block"]
    blocks.sort(key=lambda n: int(n.rsplit("block")[1]))
    half = len(blocks) // 2
    return blocks[:half], blocks[half:]


@pytest.mark.parametrize(
    ("racks", "kw"),
    [
        (64, {}),  # 2 tiers, 18 blocks
        (64, {"oversubscription": 3}),  # 2 tiers, oversubscribed, 12 blocks
        (128, {"system": "hgx-b200", "nic": "connectx-8"}),  # 3 tiers, 4 pods, 16 blocks
    ],
)
def test_max_flow_equals_analytic_bisection(fabric_layout, racks, kw):
    fab = build_fabric(fabric_layout(racks, **kw))
    g = fab.graph(0)
    a, b = _halves(g)
    flow = max_flow_bytes_s(g, a, b)
    assert_allclose(flow, fab.bisection_bandwidth_bytes_s()[0], rtol=1e-9)


def test_graph_is_small_for_a_hall(shipped):
    fab = build_fabric(shipped("hall-100mw"))
    g = fab.graph(0)
    # 203 blocks + 812 leaves + 13 pods + core; never a node per GPU (51,840)
    assert g.number_of_nodes() == 203 + 812 + 13 + 1


def test_nvlink_domain_bisection():
    # NVL72: 72 GPUs x 18 NVLink-5 switch chips, 900 GB/s per GPU each way;
    # half the GPUs send to the other half at full rate: 36 x 900 GB/s = 32.4 TB/s
    g = nvlink_domain_graph(72, 18, 900e9)
    gpus = [f"gpu{i}" for i in range(72)]
    assert_allclose(max_flow_bytes_s(g, gpus[:36], gpus[36:]), 36 * 900e9)
    # HGX: 8 GPUs, 2 chips
    g8 = nvlink_domain_graph(8, 2, 900e9)
    assert_allclose(max_flow_bytes_s(g8, ["gpu0"], ["gpu7"]), 900e9)
