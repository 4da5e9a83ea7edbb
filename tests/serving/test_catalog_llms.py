"""LLM catalog entries: shapes reproduce the published parameter counts; KV sizes by hand."""

import pytest
from numpy.testing import assert_allclose

from twin.serving.shapes import active_params, param_breakdown
from twin.serving.specs import ModelSpec

MODELS = ["llama-2-70b", "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mixtral-8x7b", "deepseek-r1",
          "gpt-oss-120b"]


@pytest.mark.parametrize("name", MODELS)
def test_shapes_give_published_parameter_count(specs, name):
    m, _ = specs("hgx-h100", name)
    assert_allclose(sum(param_breakdown(m).values()), m.num_params, rtol=0.01)


def test_active_parameters_of_moe_models(specs):
    # DeepSeek-V3 report: 37B activated (incl. embeddings); Mixtral paper: 13B; gpt-oss card: 5.13B
    assert_allclose(active_params(specs("hgx-h100", "deepseek-r1")[0]), 37e9, rtol=0.03)
    assert_allclose(active_params(specs("hgx-h100", "mixtral-8x7b")[0]), 12.9e9, rtol=0.03)
    assert_allclose(active_params(specs("hgx-h100", "gpt-oss-120b")[0]), 5.13e9, rtol=0.03)


def test_kv_bytes_per_token_by_hand(specs):
    # Llama-3-70B: 2 * 80 layers * 8 KV heads * 128 * 2 B = 327,680 B (shared/reference (c))
    m, _ = specs("hgx-h100", "llama-3.1-70b")
    assert m.kv_bytes_per_token("bf16") == 327_680
    assert m.kv_bytes_per_token("fp8") == 163_840
    # DeepSeek MLA: 61 layers * (512 latent + 64 rope) * 1 B = 35,136 B
    d, _ = specs("hgx-h100", "deepseek-r1")
    assert d.kv_bytes_per_token("fp8") == 61 * 576


def test_sliding_window_layers_hold_no_per_token_kv(specs):
    g, _ = specs("hgx-h100", "gpt-oss-120b")
    assert g.num_full_attention_layers == 18
    assert g.kv_bytes_per_token("bf16") == 18 * 2 * 8 * 64 * 2


def test_plain_spec_defaults_are_dense():
    m = ModelSpec("x", 2, 8, 2, 1, 4, 16, 10, 1e3)
    assert not m.is_moe
    assert not m.is_mla
    assert m.num_moe_layers == 0
