"""GEMM shapes and parameter counts of a model, per GPU of a deployment.

A transformer layer is a list of GEMMs ``(name, n, k, group)`` applied to the ``m`` tokens of a batch
(``y[m, n] = x[m, k] @ W[k, n]``), plus attention over the context and, for MoE, routed experts.
Shapes follow the published architectures: Llama (GQA + SwiGLU, arXiv:2407.21783), Mixtral
(arXiv:2401.04088), DeepSeek-V3 MLA + MoE (arXiv:2412.19437, 2.1), gpt-oss (model card).
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.serving.specs import Deployment, ModelSpec


@dataclass(frozen=True)
class Gemm:
    """One weight GEMM per layer on one GPU: ``count`` layers, output width ``n``, input width ``k``.

    ``token_share`` is the fraction of the replica's tokens this GPU multiplies (1 with tensor
    parallelism, ``1/tp`` with attention data parallelism); ``group`` is ``attention``, ``mlp``,
    ``moe`` (shared experts) or ``head``. ``prequantised_input``: even TensorRT-LLM's PyTorch flow
    hands this GEMM an input the producing kernel already quantised (attention output, SwiGLU) —
    aiconfigurator-core 0.12.0's ``low_precision_input`` on the ``proj`` and ``ffn2`` GEMMs of its
    Llama, GPT and MoE models (sdk/models/llama.py, gpt.py, moe.py; not its DeepSeek model).
    """

    name: str
    n: int
    k: int
    count: int
    token_share: float
    group: str
    prequantised_input: bool = False


def attention_params_per_layer(m: ModelSpec) -> float:
    """Weights of one attention block (projections only) [parameters]."""
    d = m.hidden_size
    if m.is_mla:
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        return (d * (m.q_lora_rank + m.kv_lora_rank + m.qk_rope_head_dim)
                + m.q_lora_rank * m.num_heads * qk
                + m.kv_lora_rank * m.num_heads * (m.qk_nope_head_dim + m.v_head_dim)
                + m.num_heads * m.v_head_dim * d)
    return d * (m.num_heads + 2 * m.num_kv_heads) * m.head_dim + m.num_heads * m.head_dim * d


def param_breakdown(m: ModelSpec) -> dict[str, float]:
    """Parameters by part: attention, dense MLP, shared experts, routed experts, embeddings.

    Notes
    -----
    Gated MLPs (SwiGLU) have three matrices of ``d x d_ff``. Input embedding and LM head are counted
    separately (untied), as in every model of the catalog.
    """
    d, L = m.hidden_size, m.num_layers
    attn = L * attention_params_per_layer(m)
    if m.is_moe:
        dense_mlp = m.num_dense_layers * 3 * d * m.intermediate_size
        shared = m.num_moe_layers * m.num_shared_experts * 3 * d * m.expert_intermediate_size
        routed = m.num_moe_layers * m.num_experts * 3 * d * m.expert_intermediate_size
        router = m.num_moe_layers * d * m.num_experts
    else:
        dense_mlp, shared, routed, router = L * 3 * d * m.intermediate_size, 0.0, 0.0, 0.0
    return {"attention": attn, "mlp": dense_mlp + router, "shared_experts": shared,
            "routed_experts": routed, "embedding": 2.0 * m.vocab_size * d}


def active_params(m: ModelSpec) -> float:
    """Parameters a token touches (routed experts: only its ``k``)."""
    p = param_breakdown(m)
    routed = p["routed_experts"] * (m.num_active_experts / m.num_experts if m.is_moe else 0.0)
    return p["attention"] + p["mlp"] + p["shared_experts"] + routed + p["embedding"] / 2


def weight_bytes_per_gpu(m: ModelSpec, dep: Deployment, bytes_per_weight: float) -> float:
    """Weight bytes on each GPU of the replica (the most loaded one).

    Everything is split over ``tp * pp`` GPUs, except attention weights under attention-DP
    (replicated on each of the ``tp`` GPUs of a stage).
    """
    p = param_breakdown(m)
    g = dep.tp * dep.pp
    attn = p["attention"] / dep.pp if dep.attention_dp else p["attention"] / g
    rest = (p["mlp"] + p["shared_experts"] + p["routed_experts"] + p["embedding"]) / g
    return (attn + rest) * bytes_per_weight


def gemms_per_gpu(m: ModelSpec, dep: Deployment) -> list[Gemm]:
    """The weight GEMMs of one pipeline stage on one GPU (routed experts excluded, see moe)."""
    d, tp = m.hidden_size, dep.tp
    L = m.num_layers // dep.pp
    ta = 1 if dep.attention_dp else tp
    share_a = 1.0 / tp if dep.attention_dp else 1.0
    out: list[Gemm] = []
    if m.is_mla:
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        out += [
            Gemm("mla_fused_a", m.q_lora_rank + m.kv_lora_rank + m.qk_rope_head_dim, d, L, share_a,
                 "attention"),
            Gemm("mla_q_b", m.num_heads * qk // ta, m.q_lora_rank, L, share_a, "attention"),
            Gemm("mla_kv_b", m.num_heads * (m.qk_nope_head_dim + m.v_head_dim) // ta, m.kv_lora_rank, L,
                 share_a, "attention"),
            Gemm("attn_out", d, m.num_heads * m.v_head_dim // ta, L, share_a, "attention"),
        ]
    else:
        kv_local = max(m.num_kv_heads // ta, 1)
        out += [
            Gemm("qkv", (m.num_heads // ta + 2 * kv_local) * m.head_dim, d, L, share_a, "attention"),
            Gemm("attn_out", d, m.num_heads * m.head_dim // ta, L, share_a, "attention", True),
        ]
    dense_layers = m.num_dense_layers // dep.pp if m.is_moe else L
    if dense_layers:
        out += [
            Gemm("mlp_gate_up", 2 * m.intermediate_size // tp, d, dense_layers, 1.0, "mlp"),
            Gemm("mlp_down", d, m.intermediate_size // tp, dense_layers, 1.0, "mlp", not m.is_mla),
        ]
    if m.is_moe and m.num_shared_experts:
        inter = m.num_shared_experts * m.expert_intermediate_size
        moe_layers = m.num_moe_layers // dep.pp
        out += [
            Gemm("shared_gate_up", 2 * inter // tp, d, moe_layers, 1.0, "moe"),
            Gemm("shared_down", d, inter // tp, moe_layers, 1.0, "moe"),
        ]
    return out
