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
