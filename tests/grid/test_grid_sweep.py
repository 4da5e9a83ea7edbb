"""Sweeps over grid scenarios: the number and size of edge sites, each point a direct `twin.grid.simulate`."""

from __future__ import annotations

import pytest

from twin.errors import InputError
from twin.grid import simulate
from twin.sweep import load_sweep, run

GRID = """name: edge
classes:
  - {name: voice, input_tokens: 256, output_tokens: 32, deadline: 100 ms}
sites:
  - {name: central, system: hgx-b200, gpus: 64, model: llama-3.1-8b, precision: fp8, power_price: 60,
     central: true}
  - {name: edge-a, system: hgx-b200, gpus: 8, model: llama-3.1-8b, precision: fp8, power_price: 90}
  - {name: edge-b, system: hgx-b200, gpus: 8, model: llama-3.1-8b, precision: fp8, power_price: 90,
     enabled: true}
regions:
  - {name: city, rate: 6000, mix: {voice: 1}}
network:
  - {region: city, site: central, latency: 100 ms}
  - {region: city, site: edge-a, latency: 5 ms}
  - {region: city, site: edge-b, latency: 8 ms}
"""

SWEEP = """name: edge-sizing
base: BASE
sample: {method: grid}
axes:
  sites[1].gpus: [8, 16]
  sites[2].enabled: [true, false]
kpis: [deadline_miss_rate, tokens_per_dollar, site_power_w, invariants_hold]
constraints: [deadline_miss_rate < 0.5]
"""


def test_a_sweep_varies_the_number_and_size_of_edge_sites(tmp_path):
    base = tmp_path / "edge.yaml"
    base.write_text(GRID)
    spec = tmp_path / "sweep.yaml"
    spec.write_text(SWEEP.replace("BASE", str(base)))
    assert load_sweep(spec).base_kind == "grid"
    df = run(spec, tmp_path / "out", workers=1)
    assert len(df) == 4
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert df["invariants_hold"].all()
    # each row is the direct run of that design
    for _, row in df.iterrows():
        text = GRID.replace("edge-a, system: hgx-b200, gpus: 8",
                            f"edge-a, system: hgx-b200, gpus: {row['sites[1].gpus']}")
        if not row["sites[2].enabled"]:
            text = text.replace("enabled: true", "enabled: false")
        p = tmp_path / "direct.yaml"
        p.write_text(text)
        assert row["deadline_miss_rate"] == pytest.approx(simulate(p).totals["deadline_miss_rate"], abs=1e-12)
    # more edge GPUs miss fewer deadlines (the central site is 100 ms away: its requests all miss)
    small = df[(df["sites[1].gpus"] == 8) & (~df["sites[2].enabled"])]["deadline_miss_rate"].iloc[0]
    big = df[(df["sites[1].gpus"] == 16) & (df["sites[2].enabled"])]["deadline_miss_rate"].iloc[0]
    assert big < small


def test_bad_grid_sweeps_are_told(tmp_path):
    base = tmp_path / "edge.yaml"
    base.write_text(GRID)
    spec = tmp_path / "sweep.yaml"
    spec.write_text(SWEEP.replace("BASE", str(base)).replace("tokens_per_dollar", "pue")
                    .replace("name: edge-sizing", "name: edge-sizing\nrun: simulate"))
    with pytest.raises(InputError) as exc:
        load_sweep(spec)
    msg = str(exc.value)
    assert "unknown KPI 'pue'" in msg
    assert "use 'run: steady'" in msg
