"""Memory plan: HBM as the driver reports it, workspace after aiconfigurator-core's TRT-LLM model."""

from __future__ import annotations

import pytest

from twin.serving.kv_cache import (
    WORKSPACE_OTHER_BYTES,
    kv_bytes_per_token_per_gpu,
    plan_memory,
    workspace_bytes_per_gpu,
)
from twin.serving.shapes import weight_bytes_per_gpu
from twin.serving.specs import BYTES_PER_ELEMENT, Deployment


def test_hbm_is_the_nvml_total(specs):
    # nvidia-smi reports 183,359 MiB on a B200 and 81,559 MiB on an H100 80GB (catalog sources)
    assert specs("hgx-b200", "llama-2-70b")[1].hbm_bytes == pytest.approx(183359 * 2**20)
    assert specs("hgx-h100", "llama-2-70b")[1].hbm_bytes == pytest.approx(81559 * 2**20)


def test_workspace_dense_by_hand(specs):
    m, _ = specs("hgx-b200", "llama-2-70b")
    dep = Deployment(tp=1, precision="fp4", max_num_tokens=3584)
    # 2 T h c with h = 64 heads x 128 = 8192, c = 11 (LLAMA, TP1); no NCCL at TP1; 3.5 GiB runtime
    assert workspace_bytes_per_gpu(m, dep) == pytest.approx(2 * 3584 * 8192 * 11 + 3.5 * 2**30)
    dep8 = Deployment(tp=8, precision="fp8", max_num_tokens=8192)
    assert workspace_bytes_per_gpu(m, dep8) == pytest.approx(2 * 8192 * 8192 * 5 + 411041792 + 3.5 * 2**30)
    # a larger token budget needs more activation memory, so the KV pool shrinks
    small = plan_memory(m, specs("hgx-b200", "llama-2-70b")[1], dep)
    big = plan_memory(m, specs("hgx-b200", "llama-2-70b")[1], Deployment(tp=1, precision="fp4",
                                                                          max_num_tokens=16384))
    assert big.kv_bytes_per_gpu < small.kv_bytes_per_gpu


def test_workspace_mla_moe_attention_dp(specs):
    m, _ = specs("hgx-b200", "deepseek-r1")
    dep = Deployment(tp=8, ep=8, attention_dp=True, precision="fp4", max_num_tokens=3456 * 8)
    t, h = 3456, m.hidden_size            # per rank; MLA: hidden size (config has no head size)
    act = 2 * t * h * 22                  # attention TP 1 under attention DP: coefficient of TP1
    moe = t * h * 8 * m.num_experts * m.num_active_experts / 8 / 128 * 4
    assert workspace_bytes_per_gpu(m, dep) == pytest.approx(act + moe + WORKSPACE_OTHER_BYTES)


def test_explicit_workspace_and_plan_balance(specs):
    m, hw = specs("hgx-h100", "llama-3.1-70b")
    dep = Deployment(tp=2, precision="fp8", workspace_bytes=6e9)
    plan = plan_memory(m, hw, dep)
    assert plan.workspace_bytes_per_gpu == 6e9
    w = weight_bytes_per_gpu(m, dep, BYTES_PER_ELEMENT["fp8"])
    # HBM = weights + workspace + KV / fraction, and the pool is whole blocks of the per-token size
    assert plan.kv_bytes_per_gpu == pytest.approx(dep.kv_mem_fraction * (hw.hbm_bytes - w - 6e9))
    per_tok = kv_bytes_per_token_per_gpu(m, dep)
    assert plan.kv_capacity_tokens * per_tok <= plan.kv_bytes_per_gpu < (plan.kv_capacity_tokens
                                                                         + dep.block_size) * per_tok


@pytest.mark.parametrize(("kw", "msg"), [({"kv_mem_fraction": 0.0}, "KV memory fraction"),
                                     ({"kv_mem_fraction": 1.5}, "KV memory fraction"),
                                     ({"workspace_bytes": -1.0}, "workspace must be >= 0")])
def test_bad_memory_settings_are_named(specs, kw, msg):
    from twin.serving.perf_model import PerfModel
    from twin.serving.specs import ServingInputError

    m, hw = specs("hgx-h100", "llama-3.1-8b")
    with pytest.raises(ServingInputError, match=msg):
        PerfModel(m, hw, Deployment(tp=1, precision="bf16", **kw))


def test_block_allocator_counts_blocks_per_sequence():
    """Blocks of 16 tokens: a 40-token prompt takes 3, growing to 49 tokens takes a 4th; shortfall is
    what the sequences would still need; release gives everything back; the checked calls refuse
    to overdraw or over-free."""
    from twin.serving.kv_cache import BlockAllocator

    kv = BlockAllocator(10, 16, num_seqs=3)
    assert kv.blocks_for(40) == 3
    assert kv.blocks_for(48) == 3
    assert kv.blocks_for(49) == 4
    kv.reserve(0, kv.blocks_for(40))
    kv.reserve(2, kv.blocks_for(16))
    assert (kv.num_free, kv.held) == (6, [3, 0, 1])
    base = [40, 0, 16]
    assert kv.shortfall([0, 2], base, 0) == 0
    assert kv.shortfall([0, 2], base, 9) == 2           # 49 and 25 tokens: one more block each
    assert kv.shortfall([0, 2], base, 100) == (9 - 3) + (8 - 1)
    kv.grow([0, 2], base, 9)
    assert (kv.num_free, kv.held) == (4, [4, 0, 2])
    kv.grow([0, 2], base, 9)                             # already held: nothing more
    assert kv.num_free == 4
    assert kv.num_used == 6
    assert kv.usage == pytest.approx(0.6)
    kv.release(0)
    assert (kv.num_free, kv.held) == (8, [0, 0, 2])
    with pytest.raises(RuntimeError, match="exhausted"):
        kv.allocate(9)
    kv.allocate(8)
    with pytest.raises(RuntimeError, match="freed more"):
        kv.free(11)
