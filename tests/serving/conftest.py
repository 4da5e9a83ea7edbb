"""Small fixtures for the serving tests: specs from the bundled catalog."""

from __future__ import annotations

import pytest

from twin.layout.records import lookup_specs


@pytest.fixture(scope="session")
def specs():
    """``specs(system, model)`` -> (ModelSpec, HardwareSpec), cached."""
    cache = {}

    def get(system: str, model: str):
        if (system, model) not in cache:
            cache[(system, model)] = lookup_specs(system, model)
        return cache[(system, model)]

    return get


@pytest.fixture(scope="session")
def llama8b(specs):
    """``llama8b(**deployment)`` -> PerfModel of Llama-3.1-8B BF16 on one H100 (64 sequences, 512 tokens
    per iteration unless overridden): a cheap replica to simulate."""
    from twin.serving.perf_model import PerfModel
    from twin.serving.specs import Deployment

    m, h = specs("hgx-h100", "llama-3.1-8b")

    def make(**kw):
        return PerfModel(m, h, Deployment(**({"tp": 1, "precision": "bf16", "max_batch": 64,
                                              "max_num_tokens": 512} | kw)))
    return make
