"""KV-cache sizing and the paged block allocator.

Memory per GPU (shared/reference inference-measurements.md (c), "Memory capacity")::

    weights/GPU + workspace + KV <= HBM,   KV = kv_mem_fraction * (HBM - weights/GPU - workspace)

(weights and KV include a speculative-decoding draft's, :mod:`twin.serving.speculative`)

as TensorRT-LLM sizes its pool (``kvcache_free_gpu_mem_frac``, 0.95 in NVIDIA's MLPerf v5.1
configs). HBM is the capacity the driver reports (NVML ``memory.total``, the catalog's figure);
the workspace (activations at the token budget, NCCL buffers, CUDA context) follows
aiconfigurator-core's TensorRT-LLM memory model (:func:`workspace_bytes_per_gpu`). The pool is cut
into blocks of ``block_size`` tokens (TRT-LLM's default 32 tokens per block, vLLM's 16).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from twin.serving.shapes import weight_bytes_per_gpu
from twin.serving.specs import BYTES_PER_ELEMENT, Deployment, HardwareSpec, ModelSpec, ServingInputError
from twin.serving.speculative import draft_spec, draft_weight_bytes_per_gpu


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
        """The plan as a plain dict."""
        return dict(self.__dict__)


#: TensorRT-LLM's memory besides weights and KV cache, as aiconfigurator-core 0.12.0 models it
#: (sdk/backends/base_backend.py ``_get_memory_usage``, trtllm_backend.py, systems/*.yaml ``misc``;
#: the same figures for H100, H200, B200, GB200 and GB300). Activation bytes per token of the
#: iteration budget are ``2 h c`` with ``h`` = heads x head size and ``c`` by family and TP (capped at 8):
WORKSPACE_ACTIVATION_COEFF: dict[str, dict[int, float]] = {
    "dense": {1: 11, 2: 6.5, 4: 5, 8: 5},     # family LLAMA
    "moe": {1: 22, 2: 13, 4: 10, 8: 10},      # families MOE and DEEPSEEK
}
#: floor of the activation estimate [bytes] (``MIN_ACTIVATION_BYTES``)
WORKSPACE_MIN_ACTIVATION_BYTES = 70 * 1024 ** 2
#: NCCL buffers per GPU by TP size [bytes] (``misc.nccl_mem``, NVIDIA: "nonofficial correction based on
#: observations")
WORKSPACE_NCCL_BYTES: dict[int, float] = {1: 0.0, 2: 358612992.0, 4: 411041792.0, 8: 411041792.0}
#: CUDA context, cuBLAS and other runtime memory [bytes] (``misc.other_mem``, 3.5 GiB; NVIDIA raised it
#: from 551 MB "for safer deployment, this will cover part of the inaccurate mem calc")
WORKSPACE_OTHER_BYTES = 3758096384.0


def workspace_bytes_per_gpu(m: ModelSpec, dep: Deployment) -> float:
    """Per-GPU memory for activations, NCCL buffers and the runtime [bytes], unless the deployment sets it.

    Notes
    -----
    aiconfigurator-core 0.12.0's TensorRT-LLM estimate: ``max(2 T h c, 70 MiB) + nccl(tp) + 3.5 GiB``
    with ``T`` the iteration token budget of one rank (``max_num_tokens``; per attention-DP rank),
    ``h`` heads x head size (hidden size for MLA, whose config has no head size) and ``c`` from
    :data:`WORKSPACE_ACTIVATION_COEFF`. MLA mixture-of-experts models (family DEEPSEEK) add the
    block-scale dispatch workspace ``T h R E k / ep / 128 x 4`` (``R`` attention-DP ranks, ``E``
    experts, ``k`` active). With attention DP the attention TP size is 1.
    """
    if dep.workspace_bytes is not None:
        return float(dep.workspace_bytes)
    ranks = dep.tp if dep.attention_dp else 1
    tp = 1 if dep.attention_dp else dep.tp
    tp_key = max(k for k in (1, 2, 4, 8) if k <= min(tp, 8))
    tokens = dep.max_num_tokens / ranks
    h = m.hidden_size if m.is_mla else m.num_heads * m.head_dim
    coeff = WORKSPACE_ACTIVATION_COEFF["moe" if m.is_moe else "dense"][tp_key]
    act = 2.0 * tokens * h * coeff
    if m.is_mla and m.is_moe:
        act += tokens * h * ranks * m.num_experts * m.num_active_experts / dep.ep / 128 * 4
    return max(act, WORKSPACE_MIN_ACTIVATION_BYTES) + WORKSPACE_NCCL_BYTES[tp_key] + WORKSPACE_OTHER_BYTES


def plan_memory(m: ModelSpec, hw: HardwareSpec, dep: Deployment) -> MemoryPlan:
    """Size the KV pool of one replica; raise :class:`ServingInputError` if the weights do not fit.

    Raises
    ------
    ServingInputError
        When weights plus workspace exceed HBM, naming both and the shortfall in GB.
    """
    bw = BYTES_PER_ELEMENT[dep.precision]
    w = weight_bytes_per_gpu(m, dep, bw) + draft_weight_bytes_per_gpu(m, dep)
    ws = workspace_bytes_per_gpu(m, dep)
    free = hw.hbm_bytes - w - ws
    if free <= 0:
        raise ServingInputError(
            f"{m.name} at {dep.precision} does not fit on {hw.name} with TP={dep.tp} PP={dep.pp}: "
            f"{w / 1e9:.1f} GB of weights + {ws / 1e9:.1f} GB workspace per GPU > "
            f"{hw.hbm_bytes / 1e9:.1f} GB HBM, short by {-free / 1e9:.1f} GB; use more GPUs per replica "
            "(larger `deployment.tp` or `deployment.pp`) or a smaller precision", field="deployment.tp"
        )
    kv = dep.kv_mem_fraction * free
    per_tok = kv_bytes_per_token_per_gpu(m, dep)
    if dep.speculative is not None:
        # the draft's KV (MTP/EAGLE layer, or the draft model) sits beside the target's, split over the
        # TP GPUs by the draft's own attention (replicated MLA, GQA heads split), on the last stage
        dm = draft_spec(m, dep.speculative)
        per_tok += kv_bytes_per_token_per_gpu(dm, dataclasses.replace(dep, pp=1, speculative=None))
    cap = int(kv / per_tok)
    blocks = cap // dep.block_size
    if blocks < 1:
        raise ServingInputError(
            f"{m.name}: the KV cache left on {hw.name} ({kv / 1e9:.2f} GB per GPU) holds less than one "
            f"block of {dep.block_size} tokens"
        )
    return MemoryPlan(w, ws, kv, per_tok, blocks * dep.block_size, blocks, dep.block_size)


def blocks_for(num_tokens: int, block_size: int) -> int:
    """Blocks needed to hold ``num_tokens`` tokens of one sequence."""
    return -(-num_tokens // block_size)


class BlockAllocator:
    """A pool of equal KV blocks, counted per sequence (which block holds what is irrelevant to timing).

    ``held[s]`` blocks belong to sequence ``s`` (an index ``0 <= s < num_seqs``); ``num_free`` are
    free. The discrete replicas take blocks at admission (:meth:`reserve`), as contexts grow
    (:meth:`grow`) and give them back at completion or preemption (:meth:`release`). The simulator's
    hot path does not check: a lone sequence that outgrows the pool overdraws it (``num_free < 0``),
    as a replica with one running request has nothing to preempt; :meth:`allocate` checks.
    """

    __slots__ = ("num_blocks", "num_free", "block_size", "held")

    def __init__(self, num_blocks: int, block_size: int, num_seqs: int = 0) -> None:
        self.num_blocks = num_blocks
        self.num_free = num_blocks
        self.block_size = block_size
        self.held = [0] * num_seqs

    def blocks_for(self, num_tokens: int) -> int:
        """Blocks one sequence of ``num_tokens`` tokens needs."""
        return -(-num_tokens // self.block_size)

    def can_allocate(self, n: int) -> bool:
        """Whether ``n`` blocks are free."""
        return n <= self.num_free

    def allocate(self, n: int) -> None:
        """Take ``n`` anonymous blocks; :class:`RuntimeError` when fewer are free."""
        if n > self.num_free:
            raise RuntimeError(f"KV pool exhausted: asked {n} blocks, {self.num_free} free")
        self.num_free -= n

    def free(self, n: int) -> None:
        """Give back ``n`` anonymous blocks."""
        self.num_free += n
        if self.num_free > self.num_blocks:
            raise RuntimeError("KV pool freed more blocks than it holds")

    def reserve(self, seq: int, n: int) -> None:
        """Sequence ``seq`` (holding nothing) takes ``n`` blocks."""
        self.held[seq] = n
        self.num_free -= n

    def release(self, seq: int) -> None:
        """Sequence ``seq`` gives back every block it holds."""
        self.num_free += self.held[seq]
        self.held[seq] = 0

    def shortfall(self, seqs, ctx_base: list, offset: int) -> int:
        """Blocks sequences ``seqs`` lack when sequence ``s`` has ``ctx_base[s] + offset`` tokens."""
        bs, held = self.block_size, self.held
        need = 0
        for s in seqs:
            g = -(-(ctx_base[s] + offset) // bs) - held[s]
            if g > 0:
                need += g
        return need

    def steps_that_fit(self, seqs, ctx_base: list, offset: float, limit: int, per_step: float = 1) -> int:
        """How many steps (``1..limit``) every sequence can still take before the pool runs short.

        The largest ``j`` in ``[1, limit]`` with :meth:`shortfall` at ``offset + j per_step`` within the
        free blocks (1 if none); a step adds ``per_step`` tokens to every sequence (1; speculative
        decoding's mean accepted length).
        """
        bs, held, free = self.block_size, self.held, self.num_free
        lo, hi = 1, limit
        while lo < hi:
            mid = (lo + hi + 1) // 2
            need = 0
            for s in seqs:
                g = -(-(ctx_base[s] + offset + mid * per_step) // bs) - held[s]
                if g > 0:
                    need += g
            if need <= free:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def grow(self, seqs, ctx_base: list, offset: int) -> None:
        """Sequences ``seqs`` take the blocks for ``ctx_base[s] + offset`` tokens they lack."""
        bs, held = self.block_size, self.held
        take = 0
        for s in seqs:
            need = -(-(ctx_base[s] + offset) // bs)
            if need > held[s]:
                take += need - held[s]
                held[s] = need
        self.num_free -= take

    @property
    def num_used(self) -> int:
        """Blocks held (more than the pool when a lone sequence overdraws it)."""
        return self.num_blocks - self.num_free

    @property
    def usage(self) -> float:
        """Share of the blocks held."""
        return 1.0 - self.num_free / self.num_blocks


def max_concurrency(plan: MemoryPlan, tokens_per_request: int) -> int:
    """Requests of a given total length (prompt + output) the pool holds at once."""
    return plan.num_blocks // max(1, math.ceil(tokens_per_request / plan.block_size))
