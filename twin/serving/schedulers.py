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
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.serving.specs import ServingInputError


@dataclass(frozen=True)
class Scheduler:
    """Policy switches read by the discrete simulator's iteration loop."""

    name: str
    reserve_output: bool
    preempt: bool
    description: str


class TrtllmScheduler(Scheduler):
    def __init__(self) -> None:
        super().__init__("trtllm", True, False, "TensorRT-LLM in-flight batching, chunked context, "
                         "GUARANTEED_NO_EVICT (reserve prompt + output blocks at admission)")


class VllmScheduler(Scheduler):
    def __init__(self, name: str = "vllm") -> None:
        super().__init__(name, False, True, "vLLM/Sarathi continuous batching, chunked prefill, "
                         "blocks on demand, preempt (recompute) the newest request when KV is full")


class TrtllmMaxUtilScheduler(Scheduler):
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
