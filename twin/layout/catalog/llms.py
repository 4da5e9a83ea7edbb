"""Catalog entries for LLMs (``models/llms/*.yaml``): the architecture figures of a published config.

Every figure is a :class:`~twin.layout.fields.Sourced` value citing the model's ``config.json`` or
paper. Counts (layers, heads, sizes) are whole numbers; ``num_params`` is a plain number.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from twin.layout.catalog.base import _Entry
from twin.layout.fields import Sourced, Strict, sourced


def _whole_positive(s: Sourced) -> Sourced:
    if s.si < 1:
        raise ValueError(f"value: must be at least 1, got {s.value!r}")
    return s


def _number(s: Sourced) -> Sourced:
    v = s.value
    try:
        x = float(v) if not isinstance(v, bool) else float("nan")
    except (TypeError, ValueError):
        x = float("nan")
    if not x > 0:
        raise ValueError(f"value: expected a number greater than zero (e.g. 70.55e9), got {v!r}")
    s._si = x
    return s


#: A whole number >= 1 with its source.
Size = Annotated[sourced("count"), AfterValidator(_whole_positive)]
#: A positive plain number (e.g. a parameter count) with its source.
Number = Annotated[Sourced, AfterValidator(_number)]

Precision = Literal["bf16", "fp8", "fp4"]


class MoeSpec(Strict):
    """Mixture-of-experts layers: routed experts, how many a token uses, shared experts."""

    num_experts: Size
    num_active_experts: Size
    expert_intermediate_size: Size
    num_shared_experts: sourced("count") | None = None
    num_dense_layers: sourced("count") | None = None

    @model_validator(mode="after")
    def _active_le_total(self) -> MoeSpec:
        if self.num_active_experts.si > self.num_experts.si:
            raise ValueError(
                f"num_active_experts ({self.num_active_experts.value}) exceeds num_experts "
                f"({self.num_experts.value})"
            )
        return self


class MlaSpec(Strict):
    """Multi-head latent attention (DeepSeek-V2/V3): compressed KV latent plus a decoupled RoPE key."""

    kv_lora_rank: Size
    q_lora_rank: Size
    qk_rope_head_dim: Size
    qk_nope_head_dim: Size
    v_head_dim: Size


class LlmEntry(_Entry):
    """A decoder-only LLM, with the figures the serving model needs."""

    kind: Literal["llm"]
    num_layers: Size
    hidden_size: Size
    num_attention_heads: Size
    num_kv_heads: Size
    head_dim: Size
    intermediate_size: Size
    vocab_size: Size
    #: longest sequence the model takes, prompt plus output [tokens] (config.json max_position_embeddings)
    max_context: Size
    num_params: Number
    precisions: list[Precision] = Field(min_length=1)
    moe: MoeSpec | None = None
    mla: MlaSpec | None = None
    sliding_window: Size | None = None
    sliding_window_layer_fraction: sourced("fraction", unit_interval=True) | None = None

    @model_validator(mode="after")
    def _heads(self) -> LlmEntry:
        h, kv = int(self.num_attention_heads.si), int(self.num_kv_heads.si)
        if h % kv:
            raise ValueError(f"num_attention_heads ({h}) must be a multiple of num_kv_heads ({kv})")
        return self
