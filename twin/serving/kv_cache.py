"""KV-cache sizing and the paged block allocator.

Memory per GPU (shared/reference inference-measurements.md (c), "Memory capacity")::

    weights/GPU + workspace + KV <= HBM,   KV = kv_mem_fraction * (HBM - weights/GPU - workspace)

as TensorRT-LLM sizes its pool (``kvcache_free_gpu_mem_frac``, 0.95 in NVIDIA's MLPerf v5.1
configs). The pool is cut into blocks of ``block_size`` tokens (TRT-LLM's default 32 tokens per
block, vLLM's 16).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.serving.shapes import weight_bytes_per_gpu
from twin.serving.specs import BYTES_PER_ELEMENT, Deployment, HardwareSpec, ModelSpec, ServingInputError


def kv_bytes_per_token_per_gpu(m: ModelSpec, dep: Deployment) -> float:
    """KV bytes one context token occupies on each GPU of the replica, averaged over its GPUs.

    GQA heads split over TP (replicated once ``tp`` exceeds the KV heads); MLA's latent is not split
    by heads, so TP replicates it, while attention-DP keeps each sequence on one GPU.
    """
    total = m.kv_bytes_per_token(dep.kv_dtype) / dep.pp
    if dep.attention_dp:
        return total / dep.tp
    if m.is_mla:
        return total
    return total / min(dep.tp, m.num_kv_heads)


@dataclass(frozen=True)
class MemoryPlan:
    """How a replica's HBM is used: weights, workspace, KV pool and what that allows."""

    weights_bytes_per_gpu: float
    workspace_bytes_per_gpu: float
    kv_bytes_per_gpu: float
    kv_bytes_per_token_per_gpu: float
    kv_capacity_tokens: int
    num_blocks: int
    block_size: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def plan_memory(m: ModelSpec, hw: HardwareSpec, dep: Deployment) -> MemoryPlan:
    """Size the KV pool of one replica; raise :class:`ServingInputError` if the weights do not fit.

    Raises
    ------
    ServingInputError
        When weights plus workspace exceed HBM, naming both and the shortfall in GB.
    """
    bw = BYTES_PER_ELEMENT[dep.precision]
    w = weight_bytes_per_gpu(m, dep, bw)
    free = hw.hbm_bytes - w - dep.workspace_bytes
    if free <= 0:
        raise ServingInputError(
            f"{m.name} at {dep.precision} does not fit on {hw.name} with TP={dep.tp} PP={dep.pp}: "
            f"{w / 1e9:.1f} GB of weights + {dep.workspace_bytes / 1e9:.1f} GB workspace per GPU > "
            f"{hw.hbm_bytes / 1e9:.1f} GB HBM, short by {-free / 1e9:.1f} GB; use more GPUs per replica "
            f"(larger --tp or --pp) or a smaller precision"
        )
    kv = dep.kv_mem_fraction * free
    per_tok = kv_bytes_per_token_per_gpu(m, dep)
    cap = int(kv / per_tok)
    blocks = cap // dep.block_size
    if blocks < 1:
        raise ServingInputError(
            f"{m.name}: the KV cache left on {hw.name} ({kv / 1e9:.2f} GB per GPU) holds less than one "
            f"block of {dep.block_size} tokens"
        )
    return MemoryPlan(w, dep.workspace_bytes, kv, per_tok, blocks * dep.block_size, blocks, dep.block_size)


def blocks_for(num_tokens: int, block_size: int) -> int:
    """Blocks needed to hold ``num_tokens`` tokens of one sequence."""
    return -(-num_tokens // block_size)


class BlockAllocator:
    """A pool of equal KV blocks, counted (which block holds what is irrelevant to timing)."""

    __slots__ = ("num_blocks", "num_free", "block_size")

    def __init__(self, num_blocks: int, block_size: int) -> None:
        self.num_blocks = num_blocks
        self.num_free = num_blocks
        self.block_size = block_size

    def can_allocate(self, n: int) -> bool:
        return n <= self.num_free

    def allocate(self, n: int) -> None:
        if n > self.num_free:
            raise RuntimeError(f"KV pool exhausted: asked {n} blocks, {self.num_free} free")
        self.num_free -= n

    def free(self, n: int) -> None:
        self.num_free += n
        if self.num_free > self.num_blocks:
            raise RuntimeError("KV pool freed more blocks than it holds")

    @property
    def usage(self) -> float:
        return 1.0 - self.num_free / self.num_blocks


def max_concurrency(plan: MemoryPlan, tokens_per_request: int) -> int:
    """Requests of a given total length (prompt + output) the pool holds at once."""
    return plan.num_blocks // max(1, math.ceil(tokens_per_request / plan.block_size))
