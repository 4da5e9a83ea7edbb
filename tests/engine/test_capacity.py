"""Capacity at a glance: the growth factors are where the engine's own components reach their ratings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import twin
from twin.engine.capacity import capacity
from twin.factory import NODE_KINDS
from twin.power.network import rack_demand, solve_power
from twin.report.tables import capacity_table, first_limit_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pod():
    return twin.evaluate(twin.load_layout(ROOT / "layouts" / "pod-8x-nvl72.yaml"), utilisation=0.8)


def _loading_at(factory, growth: float, failed: str | None = None) -> np.ndarray:
    """Node loading with every rack's IT load scaled by ``growth`` (and one node failed)."""
    u, clock, it, gpu = rack_demand(factory, 0.8)
    failed_nodes = None
    if failed is not None:
        failed_nodes = factory.power.name == failed
    flow = solve_power(factory, 0.8, demand=(u, clock, it * growth, gpu), failed_nodes=failed_nodes)
    with np.errstate(divide="ignore", invalid="ignore"):
        live = flow.node_alive & (flow.node_rating_w > 0)
        return np.where(live, flow.node_load_w / flow.node_rating_w, 0.0)


def _resource(cap, name):
    return next(r for r in cap.resources if r.name.startswith(name))


def test_growing_the_load_by_the_power_growth_brings_the_named_component_to_its_rating(pod):
    cap = capacity(pod)
    power = _resource(cap, "power (IT)")
    assert power.planned == pytest.approx(pod.it_power_w)
    loading = _loading_at(pod.factory, power.growth)
    assert loading.max() == pytest.approx(1.0, abs=1e-3)
    assert str(pod.factory.power.name[int(np.argmax(loading))]) in power.limit
    # losses grow faster than the load: below the first-order factor 1 / loading
    assert power.growth < 1.0 / pod.power_nodes()["loading"].max()
    # keeping N-1: the named failure at the N-1 growth brings its named component to its rating
    failed = power.limit_n_minus_1.split(" when ")[1].removesuffix(" fails")
    loading = _loading_at(pod.factory, power.growth_n_minus_1, failed=failed)
    assert loading.max() == pytest.approx(1.0, abs=1e-3)
    assert power.growth_n_minus_1 < power.growth  # 2N: one side carries it all


def test_utility_cooling_space_and_ports_are_the_designs_own_figures(pod):
    cap = capacity(pod)
    feeds = pod.power_nodes().query("kind == 'feed'")
    util = _resource(cap, "utility service")
    assert util.maximum == pytest.approx(feeds["rating_w"].sum())
    assert util.n_minus_1 == pytest.approx(feeds["rating_w"].sum() - feeds["rating_w"].max())
    assert util.planned == pytest.approx(pod.facility_power_w)
    g = pod.cdu_groups()
    cool = _resource(cap, "cooling (CDUs)")
    assert cool.planned == pytest.approx(g["heat_w"].sum())
    assert cool.growth == pytest.approx(1.0 / g["loading"].max())
    assert cool.n_minus_1 == pytest.approx(cool.maximum * (g["cdus"].iloc[0] - 1) / g["cdus"].iloc[0])
    space = _resource(cap, "space (rack positions)")
    assert (space.maximum, space.planned) == (8, 8)  # 2 blocks x 2 busways x 4 racks / 2 cords
    ports = _resource(cap, "network ports")
    assert ports.planned == pod.fabric.clusters["num_nics"][0]
    assert ports.maximum == 128 * 64  # two tiers of radix-128 switches, 64 NICs a leaf


def test_spare_blocks_show_as_rack_positions(tmp_path):
    text = (ROOT / "layouts" / "pod-8x-nvl72.yaml").read_text().replace(
        "        busways_per_block: 2\n", "        busways_per_block: 2\n        blocks: 4\n")
    path = tmp_path / "pod.yaml"
    path.write_text(text)
    res = twin.evaluate(twin.load_layout(path), utilisation=0.8, with_n_minus_1=False)
    space = _resource(capacity(res), "space (rack positions)")
    assert (space.maximum, space.planned, space.remaining) == (16, 8, 8)
    ups = res.factory.power.kind == NODE_KINDS.index("ups")
    assert ups.sum() == 4


def test_the_first_limit_and_what_it_strands(pod):
    cap = capacity(pod)
    first = cap.first_limit(n_minus_1=True)
    loads = [r for r in cap.resources if r.unit == "W"]
    assert first.growth_n_minus_1 == min(r.growth_n_minus_1 for r in loads)
    stranded = cap.stranded(n_minus_1=True)
    for r in loads:
        if r is not first:
            assert stranded[r.name] == pytest.approx(r.n_minus_1 - r.planned * first.growth_n_minus_1)
    text = first_limit_text(cap)
    assert first.name in text
    assert f"{first.growth_n_minus_1:.2f}x" in text
    rows = {r["resource"]: r for r in capacity_table(cap)}
    feeds_w = pod.power_nodes().query("kind == 'feed'")["rating_w"].sum()
    assert rows["utility service"]["maximum"] == f"{feeds_w / 1e6:,.2f} MW"


def test_a_design_without_n_minus_1_says_so():
    res = twin.evaluate(twin.load_layout(ROOT / "layouts" / "rack-nvl72.yaml"), utilisation=0.8)
    cap = capacity(res)
    assert _resource(cap, "power (IT)").n_minus_1 == 0.0  # single-corded racks drop
    text = first_limit_text(cap)
    assert text.startswith("The design does not hold N-1 today")
    assert f"{cap.first_limit(n_minus_1=False).growth:.2f}x" in text
