"""Shared small fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.layout import load_catalog, load_layout
from twin.layout.catalog_io import BUNDLED_CATALOG

ROOT = Path(__file__).resolve().parents[1]
POWER_DATA = ROOT / "tests" / "power" / "data"


@pytest.fixture(scope="session")
def hand_catalog():
    """The bundled catalog plus the round-number test entries of tests/power/data/catalog."""
    return load_catalog([BUNDLED_CATALOG, POWER_DATA / "catalog"])


@pytest.fixture(scope="session")
def one_rack(hand_catalog):
    """One hand-rack on a single N power path (tests/power/data/one-rack.yaml)."""
    return load_layout(POWER_DATA / "one-rack.yaml", catalog=hand_catalog)


@pytest.fixture
def write_layout(tmp_path, hand_catalog):
    """Write a layout text to a file beside a copy-free reference to the hand catalog and load it."""

    def _write(text: str, name: str = "layout.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return load_layout(path, catalog=hand_catalog)

    return _write


@pytest.fixture(scope="session")
def shipped():
    """Load a shipped layout by name, once per session."""
    cache = {}

    def _load(name: str):
        if name not in cache:
            cache[name] = load_layout(ROOT / "layouts" / f"{name}.yaml")
        return cache[name]

    return _load
