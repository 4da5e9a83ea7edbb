"""Fabric counts checked by hand on 1, 8 and 64 GB200 NVL72 racks and a 3-tier HGX case.

Common figures: ConnectX-7 400G per GPU (L = 50 GB/s each way), SN5600 64 x 800G broken out into
400G links: breakout m = 2, logical radix k = 128; non-blocking leaf d = u = 64. A GB200 tray has
4 GPUs, so 4 rails; 18 trays per rack.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.fabric import build_fabric, fat_tree_counts, leaf_ports

L400 = 50e9  # 400 Gbit/s in bytes/s
SWITCH_W, XCVR_W = 1000.0, 17.0


def test_one_rack(fabric_layout):
    s = build_fabric(fabric_layout(1)).summary()
    # N = 18 trays x 4 rails = 72 NICs; one block (18 <= 64) -> 4 leaves of 18 downlinks, 18 uplinks
    # each -> U = 72; 4 leaves <= 128 -> 2 tiers, spines = ceil(72/128) = 1
    assert (s["num_gpus"], s["num_nvlink_domains"], s["num_nvlink_switch_trays"]) == (72, 1, 9)
    assert s["num_compute_nics"] == 72
    assert (s["num_leaf_switches"], s["num_spine_switches"], s["num_superspine_switches"]) == (4, 1, 0)
    # cables: 72 NIC-leaf + 72 leaf-spine = 144
    assert s["num_cables"] == 144
    # transceivers: leaf down ceil(72/2) = 36, leaf-spine both ends 2 x ceil(72/2) = 72, NIC side 72
    assert s["num_transceivers"] == 36 + 72 + 72
    # bisection = 1/2 x 50 GB/s x min(E = 72, U = 72) = 1.8 TB/s
    assert_allclose(s["bisection_bandwidth_bytes_s"], 0.5 * L400 * 72)
    assert s["oversubscription"] == 1.0
    assert s["max_switch_hops"] == 3
    # power: 5 switches x 1,000 W + 108 switch-side optics x 17 W = 6,836 W, NICs not added again
    assert_allclose(s["fabric_power_w"], 5 * SWITCH_W + 108 * XCVR_W)
    assert s["fabric_power_in_compute_racks_w"] == 0.0


def test_eight_racks(fabric_layout):
    s = build_fabric(fabric_layout(8)).summary()
    # N = 144 trays; blocks of 64: 64 + 64 + 16 -> 3 per rail, 12 leaves; U = 4 x 144 = 576
    # spines = ceil(576/128) = 5
    assert s["num_compute_nics"] == 576
    assert (s["num_leaf_switches"], s["num_spine_switches"]) == (12, 5)
    assert s["num_cables"] == 576 + 576
    assert s["num_transceivers"] == 288 + 2 * 288 + 576
    assert_allclose(s["bisection_bandwidth_bytes_s"], 0.5 * L400 * 576)


@pytest.mark.parametrize(("o", "leaves", "spines", "uplinks"), [(1, 72, 36, 4608), (3, 48, 12, 1536)])
def test_sixty_four_racks(fabric_layout, o, leaves, spines, uplinks):
    fab = build_fabric(fabric_layout(64, oversubscription=o))
    s = fab.summary()
    # N = 1,152 trays, E = 4,608. o = 1: d = 64 -> 18 blocks, 72 leaves, U = 4,608, spines = 36.
    # o = 3: d + ceil(d/3) <= 128 -> d = 96, u = 32 -> 12 blocks, 48 leaves, U = 48 x 32 = 1,536,
    # spines = 1,536/128 = 12; realised oversubscription 4,608/1,536 = 3.
    assert s["num_compute_nics"] == 4608
    counts = (s["num_leaf_switches"], s["num_spine_switches"], s["num_superspine_switches"])
    assert counts == (leaves, spines, 0)
    assert s["num_cables"] == 4608 + uplinks
    assert_allclose(s["oversubscription"], 4608 / uplinks)
    assert_allclose(s["bisection_bandwidth_bytes_s"], 0.5 * L400 * min(4608, uplinks))


def test_three_tiers_hgx(fabric_layout):
    s = build_fabric(fabric_layout(128, system="hgx-b200", nic="connectx-8")).summary()
    # HGX B200: 4 servers x 8 GPUs per rack, 8 rails. CX-8 800G: m = 1, k = 64, d = u = 32.
    # N = 512 servers -> 16 blocks x 8 rails = 128 leaves > 64 -> 3 tiers, pods of 32 leaves -> 4.
    # U = 4,096; spines = 4,096/32 = 128 (32 per pod); super-spines = 4,096/64 = 64
    c = s["clusters"][0]
    assert (c["num_tiers"], c["num_pods"]) == (3, 4)
    assert (s["num_leaf_switches"], s["num_spine_switches"], s["num_superspine_switches"]) == (128, 128, 64)
    assert s["num_cables"] == 3 * 4096
    assert s["max_switch_hops"] == 5
    assert_allclose(s["bisection_bandwidth_bytes_s"], 0.5 * 100e9 * 4096)


def test_planes_multiply_switches(fabric_layout):
    one = build_fabric(fabric_layout(8)).summary()
    two = build_fabric(fabric_layout(8, planes=2)).summary()
    # 2 planes of 200G links: k = 256, d = 128 -> 144 trays in 2 blocks, 8 leaves per plane, 16 in all;
    # NIC ports (and NIC-side optics) stay one per GPU, cables double, bisection is unchanged.
    assert two["num_leaf_switches"] == 16
    assert two["num_compute_nics"] == one["num_compute_nics"] == 576
    assert_allclose(two["bisection_bandwidth_bytes_s"], one["bisection_bandwidth_bytes_s"])


def test_leaf_ports_and_limits():
    d, u = leaf_ports(np.array([64, 128, 128]), np.array([1.0, 1.0, 3.0]))
    assert d.tolist() == [32, 64, 96]
    assert u.tolist() == [32, 64, 32]
    c = fat_tree_counts(1, 1, 64, 1.0)  # one NIC: a single leaf, no spine
    assert (int(c["num_tiers"]), int(c["num_spines"])) == (1, 0)
    assert int(fat_tree_counts(10, 1, 64, 1.0)["max_leaves"]) == 64 * 32  # k^2/2 leaves in 3 tiers


def test_no_fabric_section_means_nvlink_only(shipped):
    f = shipped("rack-nvl72")
    from dataclasses import replace

    fab = build_fabric(replace(f, fabric=None))
    s = fab.summary()
    assert not s["scale_out"]
    assert s["num_leaf_switches"] == 0
    assert s["fabric_power_w"] == 0.0
    assert s["num_nvlink_domains"] == 1
    assert s["nvlink_bw_per_gpu_bytes_s"] == 900e9


def test_nic_power_not_in_system_goes_to_racks(fabric_layout):
    f = fabric_layout(8)
    from dataclasses import replace

    fab = build_fabric(replace(f, fabric=replace(f.fabric, nic_power_in_system=False)))
    # 72 NICs x 30 W per rack
    assert_allclose(fab.rack_power_w(), 72 * 30.0)
    base = build_fabric(f)
    assert_allclose(fab.fabric_power_w() - base.fabric_power_w(), 8 * 72 * 30.0)


def test_campus_consistency(shipped):
    f = shipped("campus-1gw")
    fab = build_fabric(f)
    s = fab.summary()
    assert s["num_gpus"] == f.num_gpus == sum(c["num_gpus"] for c in s["clusters"])
    assert s["num_compute_nics"] == f.num_gpus
    assert len(s["clusters"]) == 9  # one per hall copy
    assert_allclose(sum(s["network_power_by_location_w"].values()), s["fabric_power_w"])
    # racks' node offsets stay inside their cluster
    r = fab.racks
    assert np.all(r.first_node + r.num_nodes <= fab.clusters["num_nodes"][r.cluster])


def test_switch_hops_and_per_gpu_bandwidth(fabric_layout):
    fab = build_fabric(fabric_layout(128, system="hgx-b200", nic="connectx-8"))
    # 4 servers per rack, blocks of 32 servers = 8 racks, pods of 32 leaves = 4 blocks = 32 racks
    hops = fab.switch_hops([0, 0, 0, 0], [0, 7, 8, 32])
    assert hops.tolist() == [1, 1, 3, 5]
    # non-blocking: 800 Gbit/s = 100 GB/s per GPU each way
    assert_allclose(fab.scale_out_bw_per_gpu_bytes_s(), 100e9)
    fab3 = build_fabric(fabric_layout(64, oversubscription=3))
    assert_allclose(fab3.scale_out_bw_per_gpu_bytes_s(), 50e9 / 3)
