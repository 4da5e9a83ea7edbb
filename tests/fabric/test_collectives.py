"""Collective times: the alpha-beta formulas, and how they scale with message and group size."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.fabric import collective_time_s, hierarchical_time_s, kv_transfer_time_s

A, B = 2e-6, 100e9  # 2 µs per step, 100 GB/s per GPU


def test_ring_all_reduce_formula():
    # p = 8, n = 1 GB: 2 x 7 x 2 µs + 2 x 7/8 x 1e9 / 1e11 = 28 µs + 17.5 ms
    assert_allclose(collective_time_s("all_reduce", 1e9, 8, B, A), 28e-6 + 17.5e-3)


def test_tree_and_nvls_all_reduce_formulas():
    # tree p = 8: 2 x log2(8) x 2 µs + 2 x 1e9/1e11 = 12 µs + 20 ms
    assert_allclose(collective_time_s("all_reduce", 1e9, 8, B, A, "tree"), 12e-6 + 20e-3)
    # NVLS: 2 x 2 µs + 1e9/1e11 = 4 µs + 10 ms
    assert_allclose(collective_time_s("all_reduce", 1e9, 8, B, A, "nvls"), 4e-6 + 10e-3)


def test_all_gather_reduce_scatter_all_to_all_formulas():
    # (p-1) α + (p-1)/p n/B with p = 4, n = 400 MB: 6 µs + 3 ms
    for op in ("all_gather", "reduce_scatter"):
        assert_allclose(collective_time_s(op, 4e8, 4, B, A), 6e-6 + 3e-3)
    assert_allclose(collective_time_s("all_to_all", 4e8, 4, B, A, "pairwise"), 6e-6 + 3e-3)
    assert_allclose(collective_time_s("all_gather", 4e8, 4, B, A, "nvls"), 2e-6 + 3e-3)


def test_scaling_with_size_and_group():
    n = np.array([1e3, 1e6, 1e9, 2e9])
    t = collective_time_s("all_reduce", n, 8, B, A)
    assert np.all(np.diff(t) > 0)
    # bandwidth-bound: doubling a large message doubles the bandwidth term
    assert_allclose(t[3] - 28e-6, 2 * (t[2] - 28e-6))
    # latency-bound: tiny messages cost ~ 2(p-1)α
    assert_allclose(t[0], 28e-6, rtol=1e-3)
    p = np.array([2, 4, 8, 16, 64])
    tp = collective_time_s("all_reduce", 1e9, p, B, 0.0)
    # ring bandwidth term 2(p-1)/p n/B rises with p towards 2 n/B
    assert np.all(np.diff(tp) > 0)
    assert_allclose(tp, 2 * (p - 1) / p * 1e9 / B)
    # a group of one costs nothing
    assert collective_time_s("all_reduce", 1e9, 1, B, A) == 0.0


def test_unknown_names_list_valid_ones():
    with pytest.raises(ValueError, match="valid: ring, tree, nvls"):
        collective_time_s("all_reduce", 1e9, 8, B, A, "butterfly")
    with pytest.raises(ValueError, match="valid: all_reduce"):
        collective_time_s("broadcast", 1e9, 8, B, A)


def test_hierarchical_inside_one_domain_is_flat():
    nv = {"alpha_s": A, "efficiency": 1.0}
    t = hierarchical_time_s("all_reduce", 1e9, 72, 72, 900e9, 50e9, nvlink=nv)
    assert_allclose(t, collective_time_s("all_reduce", 1e9, 72, 900e9, A))


def test_hierarchical_across_domains():
    nv = {"alpha_s": 0.0, "efficiency": 1.0}
    net = {"alpha_s": 0.0, "efficiency": 1.0}
    # 144 GPUs = 2 NVL72 domains, n = 7.2 GB: RS + AG inside: 2 x 71/72 x 7.2e9 / 9e11 = 15.78 ms;
    # all-reduce across 2 domains of n/72 = 100 MB at 50 GB/s: 2 x 1/2 x 1e8 / 5e10 = 2 ms
    t = hierarchical_time_s("all_reduce", 7.2e9, 144, 72, 900e9, 50e9, nvlink=nv, network=net)
    assert_allclose(t, 2 * 71 / 72 * 7.2e9 / 900e9 + 1e8 / 50e9)
    # all-to-all over 144 GPUs: network part (144-72)/144 x n / 50 GB/s dominates NVLink part
    t2 = hierarchical_time_s("all_to_all", 1e9, 144, 72, 900e9, 50e9, nvlink=nv, network=net)
    assert_allclose(t2, 0.5 * 1e9 / 50e9)


def test_kv_transfer():
    # 2 GB KV cache from a TP=8 prefill replica over 400G NICs (50 GB/s), η = 1, α = 5 µs:
    # 5 µs + 2e9 / (8 x 5e10) = 5.005 ms
    assert_allclose(kv_transfer_time_s(2e9, 8, 50e9, 5e-6, 1.0), 5e-6 + 5e-3)
    t = kv_transfer_time_s(np.array([1e9, 2e9]), 8, 50e9)
    assert t[1] > t[0]
