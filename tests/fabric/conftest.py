"""Small layouts with a ``fabric:`` section, written to tmp files (bundled catalog only)."""

from __future__ import annotations

import pytest

from twin.layout import load_layout

LAYOUT = """\
name: fabric-{racks}
utility_feeds:
  - {{name: utility, rating: 100 MW}}
halls:
  - name: h
    rows:
      - {{name: r, count: 1, racks_per_row: {racks}, system: {system}}}
    lineups:
      - name: main
        redundancy: N
        feeds: [utility]
        switchgear: switchgear-mv-34.5kv
        transformer: transformer-4000kva
        ups: {{model: ups-module-1250kw, modules: 3}}
        busway: busway-2500a-415v
        racks_per_busway: 1
        busways_per_block: 1
fabric:
  switch: {switch}
  nic: {nic}
  oversubscription: {oversubscription}
  planes: {planes}
  transceiver: osfp-800g-2xsr4
  cable: mmf-mpo12-30m
  trunk_cable: smf-mpo12-100m
"""


def layout_text(racks: int, system: str = "gb200-nvl72", nic: str = "connectx-7", oversubscription: float = 1,
                planes: int = 1, switch: str = "sn5600") -> str:
    return LAYOUT.format(racks=racks, system=system, nic=nic, oversubscription=oversubscription,
                         planes=planes, switch=switch)


@pytest.fixture
def fabric_layout(tmp_path):
    """Write a one-row layout with a fabric and load it: ``fabric_layout(racks, **kw) -> Factory``."""

    def _make(racks: int, **kw):
        path = tmp_path / f"fabric-{racks}.yaml"
        path.write_text(layout_text(racks, **kw))
        return load_layout(path)

    return _make
