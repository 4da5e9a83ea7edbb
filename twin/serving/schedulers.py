"""Replica batch schedulers: continuous batching with chunked prefill, and what to do when KV is full.

Every scheduler here batches at iteration level (Orca) with chunked prefill (Sarathi-Serve,
arXiv:2403.02310): each iteration first carries one token of every decoding sequence, then fills the
remaining token budget (``max_num_tokens``) with prefill chunks, continuing partially prefilled
prompts before admitting new requests in arrival order, up to ``max_batch`` sequences. They differ
in how they hold KV-cache blocks:

- ``trtllm`` — TensorRT-LLM's default ``GUARANTEED_NO_EVICT`` capacity policy: a request is admitted
  only if blocks for its whole prompt and maximum output are free; nothing is ever evicted.
- ``trtllm-max-util`` — TensorRT-LLM's ``MAX_UTILIZATION`` capacity policy
  (``batch_scheduler_policy: max_util``, used by NVIDIA's MLPerf Inference harness for Offline and
  Server): requests are admitted while blocks for their current context are free, blocks are taken as
  the context grows, and when the pool runs out the most recently admitted request is paused, its
  blocks freed and its context recomputed later — the same KV behaviour as ``vllm`` below.
- ``vllm`` (alias ``sarathi``) — vLLM's policy: blocks are taken as the context grows; when the pool
  runs out, the most recently admitted running request is preempted and later recomputed
  (prompt plus the tokens it had generated).

The two ways of holding blocks are the batching policies the discrete replicas run
(:class:`ReserveAtAdmission`, :class:`BlocksOnDemand`), on the replica's paged block allocator
(:class:`twin.serving.kv_cache.BlockAllocator`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twin.serving.kv_cache import BlockAllocator
from twin.serving.specs import ServingInputError

if TYPE_CHECKING:
    from twin.serving.replica import ReplicaState


@dataclass(frozen=True)
class Scheduler:
    """Policy switches read by the discrete simulator's iteration loop."""

    name: str
    reserve_output: bool
    preempt: bool
    description: str

    def batching(self, kv: BlockAllocator) -> BatchingPolicy:
        """The batching policy of one replica holding the KV pool ``kv``."""
        return BlocksOnDemand(kv) if self.preempt else ReserveAtAdmission(kv)


class TrtllmScheduler(Scheduler):
    """TensorRT-LLM ``GUARANTEED_NO_EVICT``."""

    def __init__(self) -> None:
        super().__init__("trtllm", True, False, "TensorRT-LLM in-flight batching, chunked context, "
                         "GUARANTEED_NO_EVICT (reserve prompt + output blocks at admission)")


class VllmScheduler(Scheduler):
    """vLLM / Sarathi-Serve."""

    def __init__(self, name: str = "vllm") -> None:
        super().__init__(name, False, True, "vLLM/Sarathi continuous batching, chunked prefill, "
                         "blocks on demand, preempt (recompute) the newest request when KV is full")


class TrtllmMaxUtilScheduler(Scheduler):
    """TensorRT-LLM ``MAX_UTILIZATION``."""

    def __init__(self) -> None:
        super().__init__("trtllm-max-util", False, True, "TensorRT-LLM in-flight batching, chunked "
                         "context, MAX_UTILIZATION (blocks on demand, pause and recompute the newest "
                         "request when KV is full)")


#: name -> scheduler class. Unknown names fail listing these.
SCHEDULERS: dict[str, type[Scheduler]] = {
    "trtllm": TrtllmScheduler,
    "trtllm-max-util": TrtllmMaxUtilScheduler,
    "vllm": VllmScheduler,
    "sarathi": VllmScheduler,
}


def get_scheduler(name: str) -> Scheduler:
    """Scheduler by name; :class:`ServingInputError` listing the valid names otherwise."""
    cls = SCHEDULERS.get(name)
    if cls is None:
        raise ServingInputError(f"unknown scheduler {name!r}; valid: {', '.join(SCHEDULERS)}")
    return cls(name) if cls is VllmScheduler else cls()


class BatchingPolicy:
    """How a replica holds KV blocks.

    Read by the discrete replica's iteration loop (:func:`twin.serving.replica.serve`): the blocks a
    request takes at admission and the free blocks admission leaves (``watermark``). Policies whose
    blocks grow with the context (``grows``) also say, for the decoders (admission order) whose
    contexts are ``ctx_base[s] + step`` (``ctx_base[s] + tau step + d`` with speculative decoding), how
    many blocks their next tokens lack (``shortfall``), whom
    to preempt for them (:meth:`make_room`), how many decode iterations the free blocks carry
    (``stretch_limit``) and take the blocks after each iteration (``after_iteration``); those three
    are the block allocator's own methods, bound here, so the hot loop pays one call for each.
    """

    #: blocks are taken as contexts grow (then the hooks below apply, and the replica keeps its
    #: decoders in admission order)
    grows = False

    def __init__(self, kv: BlockAllocator) -> None:
        self.kv = kv
        #: free blocks an admission must leave while anything runs
        self.watermark = 0

    def admission_tokens(self, st: ReplicaState, li: int) -> int:
        """Tokens request ``li`` needs blocks for when admitted."""
        raise NotImplementedError

    def make_room(self, st: ReplicaState) -> int:
        """Before an iteration: free blocks for every decoder's next token; returns preemptions."""
        return 0


class ReserveAtAdmission(BatchingPolicy):
    """TensorRT-LLM ``GUARANTEED_NO_EVICT``: blocks for prompt and whole output at admission.

    Nothing grows, nothing is evicted.
    """

    def admission_tokens(self, st: ReplicaState, li: int) -> int:
        """The prompt, every output token still to come and the slots of the draft tokens being verified."""
        return st.prompt[li] + st.output[li] - st.generated[li] + st.draft_slots


class BlocksOnDemand(BatchingPolicy):
    """vLLM / TensorRT-LLM ``MAX_UTILIZATION``: blocks on demand, preempt the newest when short.

    Blocks for the prompt and the first token at admission, more as the context grows; when the pool
    runs short the newest decoder is preempted (blocks freed, recomputed later). Admission keeps a
    watermark of 1 % of the blocks free and admits nothing in the iteration after a preemption, so a
    paused request is not re-admitted only to be paused again (vLLM's scheduler: ``watermark=0.01``,
    no prefills in a step that preempted).
    """

    grows = True

    def __init__(self, kv: BlockAllocator) -> None:
        super().__init__(kv)
        self.watermark = math.ceil(0.01 * kv.num_blocks)
        #: ``(decoders, ctx_base, step)`` -> blocks the next token of every decoder lacks
        self.shortfall = kv.shortfall
        #: ``(decoders, ctx_base, step, k)`` -> decode iterations (<= k) the free blocks carry
        self.stretch_limit = kv.steps_that_fit
        #: ``(decoders, ctx_base, step)``: take the blocks the grown contexts need
        self.after_iteration = kv.grow

    def admission_tokens(self, st: ReplicaState, li: int) -> int:
        """The prompt, the first output token and the slots of the draft tokens being verified."""
        return st.prompt[li] + 1 + st.draft_slots

    def make_room(self, st: ReplicaState) -> int:
        """Preempt the newest decoders (never the last one) until every next token has its block."""
        kv, decoders, base = self.kv, st.decoders, st.base
        n = 0
        nxt = st.kv_offset(st.step + 1)
        while st.num_decoding > 1 and kv.shortfall(decoders, base, nxt) > kv.num_free:
            st.preempt(decoders.pop())
            n += 1
        if n:
            st.hold_admission = True
        return n
