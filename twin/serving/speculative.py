"""Speculative decoding: the draft a deployment runs, its weights and KV, and the ``--speculative`` syntax.

A speculative step (Leviathan et al. 2023; Chen et al. 2023) drafts ``d`` tokens per decoding sequence
with a cheap model, then the target model scores the ``1 + d`` tokens in one pass and keeps the
accepted prefix plus one token of its own, so a sequence advances ``tau = 1 + sum_j prod_{i<=j} a_i``
tokens per iteration (:attr:`twin.records.Speculation.tokens_per_step`). What the draft is:

- ``mtp`` — DeepSeek-V3's multi-token-prediction module (arXiv:2412.19437, 2.2): one transformer
  block of the target's shape (an MoE block for DeepSeek) after a projection ``M in R^{d x 2d}`` of the
  concatenated hidden state and next-token embedding; embedding and output head shared with the
  target. Engines reuse the one module for every draft step (TensorRT-LLM's MTP "eagle" mode).
- ``eagle`` — an EAGLE-3 draft head (Li et al., arXiv:2503.01840): one dense decoder layer of the
  target's width after a projection of three of the target's hidden states (``3d -> d``), with its
  own LM head (taken here at the target's vocabulary, an upper bound: EAGLE-3 checkpoints often use
  a reduced draft vocabulary).
- ``draft`` — a separate, smaller model of the catalog (its own weights, KV and LM head).

The iteration cost of the verification pass and of the ``d`` draft steps is priced by
:class:`twin.serving.perf_model.PerfModel`; this module only describes the draft.
"""

from __future__ import annotations

import dataclasses

from twin.records import SPECULATIVE_METHODS, ModelSpec, Speculation
from twin.serving.shapes import param_breakdown
from twin.serving.specs import BYTES_PER_ELEMENT, Deployment, ServingInputError

#: the ``--speculative`` syntax, for help texts and errors
SYNTAX = ("METHOD:D,A (mtp:3,0.7 = MTP drafting 3 tokens, each accepted with probability 0.7), "
          "METHOD:D,A1/A2/A3 (per-position acceptance rates), METHOD:D,tau=2.8 (a measured acceptance "
          "length: mean tokens per step, the bonus token included), or draft:MODEL:D,A (a separate draft "
          "model); an optional third field is the draft's precision (mtp:3,0.7,bf16)")


def acceptance_for_length(num_draft_tokens: int, tokens_per_step: float) -> float:
    """The i.i.d. acceptance rate ``a`` whose ``(1 - a^(d+1)) / (1 - a)`` is ``tokens_per_step``.

    Engines report the mean acceptance length (tokens per step, the target's own token included);
    the iteration cost depends on ``d`` and ``tau`` only, so any per-position split of the same
    ``tau`` gives the same throughput. Bisection; ``tau`` must lie in ``[1, 1 + d]``.
    """
    d, tau = int(num_draft_tokens), float(tokens_per_step)
    if not 1.0 <= tau <= 1.0 + d:
        raise ServingInputError(f"an acceptance length of {tau} is impossible with {d} draft tokens "
                                f"(between 1 and {1 + d})", field="speculative")
    lo, hi = 0.0, 1.0
    for _ in range(60):
        a = 0.5 * (lo + hi)
        if sum(a ** j for j in range(d + 1)) < tau:
            lo = a
        else:
            hi = a
    return 0.5 * (lo + hi)


def parse_speculative(text: str, lookup_model=None) -> Speculation:
    """A :class:`Speculation` from ``mtp:3,0.7``, ``eagle:3,0.8/0.6/0.4`` or ``draft:llama-3.1-8b:4,0.6``.

    ``lookup_model(name) -> ModelSpec`` resolves a draft model's catalog name. Raises
    :class:`ServingInputError` (field ``speculative``) saying what was expected.
    """
    def bad(why: str) -> ServingInputError:
        return ServingInputError(f"speculative decoding {text!r}: {why}; expected {SYNTAX}",
                                 field="speculative")

    parts = str(text).strip().split(":")
    method = parts[0].strip().lower()
    if method not in SPECULATIVE_METHODS:
        raise bad(f"unknown method {method!r} (valid: {', '.join(SPECULATIVE_METHODS)})")
    draft = None
    if method == "draft":
        if len(parts) != 3:
            raise bad("a draft model needs draft:MODEL:D,A")
        if lookup_model is None:
            raise bad("no catalog to look the draft model up in")
        try:
            draft = lookup_model(parts[1].strip())
        except ServingInputError as exc:
            raise bad(f"draft model: {exc}") from None
        spec = parts[2]
    else:
        if len(parts) != 2:
            raise bad(f"{method} takes {method}:D,A")
        spec = parts[1]
    fields = spec.split(",")
    if len(fields) not in (2, 3):
        raise bad("give the number of draft tokens and the acceptance, separated by a comma")
    precision = fields[2].strip().lower() if len(fields) == 3 else None
    try:
        d = int(fields[0])
    except ValueError:
        raise bad(f"the number of draft tokens {fields[0]!r} is not a whole number") from None
    if d < 1:
        raise bad(f"at least 1 draft token, got {d}")
    try:
        if fields[1].strip().lower().startswith("tau="):
            acc = (acceptance_for_length(d, float(fields[1].split("=", 1)[1])),)
        else:
            acc = tuple(float(x) for x in fields[1].split("/"))
    except ServingInputError as exc:     # (a ValueError too: first)
        raise bad(str(exc)) from None
    except ValueError:
        raise bad(f"the acceptance {fields[1]!r} is not a number (or numbers separated by '/')") from None
    sp = Speculation(method=method, num_draft_tokens=d, acceptance=acc, draft_model=draft,
                     draft_precision=precision)
    problems = check_speculation(sp)
    if problems:
        raise bad("; ".join(problems))
    return sp


def check_speculation(sp: Speculation) -> list[str]:
    """What is wrong with a speculation record (empty when nothing is)."""
    out = []
    if sp.method not in SPECULATIVE_METHODS:
        out.append(f"unknown method {sp.method!r} (valid: {', '.join(SPECULATIVE_METHODS)})")
    if sp.num_draft_tokens < 1:
        out.append(f"at least 1 draft token, got {sp.num_draft_tokens}")
    if len(sp.acceptance) not in (1, sp.num_draft_tokens):
        out.append(f"{len(sp.acceptance)} acceptance rates for {sp.num_draft_tokens} draft tokens (give 1 or "
                   f"{sp.num_draft_tokens})")
    if any(not 0.0 <= a <= 1.0 for a in sp.acceptance):
        out.append(f"acceptance rates must be in [0, 1], got {', '.join(str(a) for a in sp.acceptance)}")
    if sp.method == "draft" and sp.draft_model is None:
        out.append("method 'draft' needs a draft model")
    if sp.draft_precision is not None and sp.draft_precision not in BYTES_PER_ELEMENT:
        out.append(f"unknown draft precision {sp.draft_precision!r} (valid: {', '.join(BYTES_PER_ELEMENT)})")
    if sp.method != "draft" and sp.draft_model is not None:
        out.append(f"method {sp.method!r} derives its draft from the target; a draft model is for 'draft'")
    return out


def draft_spec(target: ModelSpec, sp: Speculation) -> ModelSpec:
    """The model one draft step runs: the draft model, or one decoder layer of the target's shape.

    MTP on an MoE target is an MoE layer (DeepSeek-V3's MTP block); EAGLE is a dense layer (the
    target's dense FFN width).
    """
    if sp.method == "draft":
        return sp.draft_model
    moe = target.is_moe and sp.method == "mtp"
    return dataclasses.replace(
        target, name=f"{target.name}-{sp.method}-layer", num_layers=1,
        num_dense_layers=0 if moe else 1, num_experts=target.num_experts if moe else 0,
        num_active_experts=target.num_active_experts if moe else 0,
        num_shared_experts=target.num_shared_experts if moe else 0,
        expert_intermediate_size=target.expert_intermediate_size if moe else 0,
        sliding_window=0, sliding_window_layer_fraction=0.0)


def projection_width(target: ModelSpec, sp: Speculation) -> int:
    """Input width of the draft's projection to the hidden size: ``2d`` (MTP), ``3d`` (EAGLE-3), else 0."""
    return {"mtp": 2, "eagle": 3}.get(sp.method, 0) * target.hidden_size


def draft_weight_bytes_per_gpu(target: ModelSpec, dep: Deployment) -> float:
    """Weight bytes of the draft on each GPU of the replica (0 without speculation).

    Split over the replica's ``tp`` GPUs (the draft runs on the last pipeline stage, whose GPUs hold it).
    MTP shares the target's embedding and head; EAGLE shares the embedding and has its own head; a
    draft model brings everything. Layers at the deployment's precision, heads in BF16.
    """
    sp = dep.speculative
    if sp is None:
        return 0.0
    dm = draft_spec(target, sp)
    p = param_breakdown(dm)
    layers = p["attention"] + p["mlp"] + p["shared_experts"] + p["routed_experts"]
    layers += projection_width(target, sp) * target.hidden_size
    head = {"mtp": 0.0, "eagle": p["embedding"] / 2, "draft": p["embedding"]}[sp.method]
    bw = BYTES_PER_ELEMENT[sp.draft_precision or dep.precision]
    return (layers * bw + head * BYTES_PER_ELEMENT["bf16"]) / dep.tp
