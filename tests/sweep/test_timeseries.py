"""A sweep over a scenario in time keeps each scenario's step table, keyed like its row."""

from __future__ import annotations

import pandas as pd
import pytest

import twin
from twin.errors import InputError
from twin.sweep import load_sweep, run

from .conftest import ROOT

SCENARIO = f"""name: pod-10min
layout: {ROOT / 'layouts' / 'pod-8x-nvl72.yaml'}
run: {{duration: 10 min, physics_step: 1 s, serving_epoch: 10 s, start: "13:00"}}
deployments:
  - name: chat
    racks: {{hall: hall}}
    model: llama-3.1-70b
    precision: fp8
    tp: 8
    workload: {{rate: 20, input_tokens: 2048, output_tokens: 256}}
weather:
  design_day: {{min_dry_bulb: 24 degC, max_dry_bulb: 38 degC, relative_humidity: 35 %}}
"""


def _sweep(tmp_path, timeseries: str = "true", run_mode: str = "simulate"):
    (tmp_path / "pod-10min.yaml").write_text(SCENARIO)
    path = tmp_path / "sweep.yaml"
    path.write_text("name: rate-in-time\nbase: pod-10min.yaml\n"
                    f"run: {run_mode}\ntimeseries: {timeseries}\n"
                    "axes:\n  deployments[0].workload.rate: [20, 40]\n"
                    "kpis: [output_tokens, max_gpu_temp_c]\n")
    return path


def test_each_scenario_keeps_its_step_table(tmp_path):
    table = run(_sweep(tmp_path), tmp_path / "out", workers=1)
    assert list(table["status"]) == ["ok", "ok"]
    first = pd.read_parquet(tmp_path / "out" / "timeseries" / f"{table['key'][0]}.parquet")
    direct = twin.simulate(tmp_path / "pod-10min.yaml", priced=False)  # the base is the rate-20 point
    pd.testing.assert_series_equal(first["meter_w"], direct.steps_table()["meter_w"], check_names=False)
    second = pd.read_parquet(tmp_path / "out" / "timeseries" / f"{table['key'][1]}.parquet")
    assert second["tokens_per_s"].mean() > first["tokens_per_s"].mean()  # twice the rate
    assert sorted(p.stem for p in (tmp_path / "out" / "timeseries").glob("*.parquet")) == sorted(table["key"])


def test_time_series_need_a_run_in_time(tmp_path):
    with pytest.raises(InputError, match=r"sweep.yaml:4: timeseries: a time series comes from a run in time"):
        load_sweep(_sweep(tmp_path, run_mode="steady"))


def test_keeping_series_changes_the_keys(tmp_path):
    with_series = load_sweep(_sweep(tmp_path))
    without = load_sweep(_sweep(tmp_path, timeseries="false"))
    assert {p.key for p in with_series.points}.isdisjoint({p.key for p in without.points})
