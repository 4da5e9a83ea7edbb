"""Sweep files: every mistake is a file:line: field: message; sampling gives the expected points."""

import subprocess
import sys

import numpy as np
import pytest

from twin.errors import InputError
from twin.sweep import load_sweep

GRID = """name: t
base: BASE
axes:
  halls[*].cooling.facility_water.supply_temp: [30 degC, 35 degC]
  halls[0].cooling.rack_supply_temp: [40 degC, 45 degC, 50 degC]
kpis: [pue, max_gpu_temp_c]
"""


def _problems(path):
    with pytest.raises(InputError) as exc:
        load_sweep(path)
    return [str(p) for p in exc.value.problems]


def test_unknown_path_has_line_and_did_you_mean(pod_sweep):
    p = pod_sweep(GRID.replace("facility_water.supply_temp", "facility_watr.supply_temp"))
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}:4: axes.halls[*].cooling.facility_watr.supply_temp: no key 'facility_watr'")
    assert "did you mean 'facility_water'?" in msg


def test_index_out_of_range(pod_sweep):
    (msg,) = _problems(pod_sweep(GRID.replace("halls[0]", "halls[3]")))
    assert ":5: axes.halls[3].cooling.rack_supply_temp: index [3] is out of range: halls has 1 item" in msg


def test_unknown_kpi_with_did_you_mean(pod_sweep):
    p = pod_sweep(GRID.replace("[pue, max_gpu_temp_c]", "[pue,\n       max_gpu_tmp_c]"))
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}:7: kpis[1]: unknown KPI 'max_gpu_tmp_c' (did you mean 'max_gpu_temp_c'?)")


def test_scenario_kpi_on_a_layout(pod_sweep):
    (msg,) = _problems(pod_sweep(GRID.replace("[pue, max_gpu_temp_c]", "[usd_per_million_tokens]")))
    assert "kpis[0]: unknown KPI 'usd_per_million_tokens'; 'usd_per_million_tokens' is a scenario KPI" in msg


def test_bad_sample_method(pod_sweep):
    p = pod_sweep(GRID + "sample: {method: sobol}\n")
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}:7: sample.method: ")
    assert "'grid', 'list', 'random' or 'lhs'" in msg


def test_quantity_with_wrong_units(pod_sweep):
    p = pod_sweep(GRID.replace("[30 degC, 35 degC]", "\n    - 30 degC\n    - 35 kW"))
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}:6: axes.halls[*].cooling.facility_water.supply_temp[1]: "
                          "expected a temperature")
    assert "'35 kW' which is a power" in msg


def test_bad_constraint_and_range(pod_sweep):
    body = GRID.replace("[40 degC, 45 degC, 50 degC]", "{low: 40 degC, high: 1 bar}") + \
        "sample: {method: random, n: 4}\nconstraints: [max_gpu_temp_c < 85, pue_x < 2, 'pue < hot']\n"
    msgs = _problems(pod_sweep(body))
    assert any(":5: axes.halls[0].cooling.rack_supply_temp.high: expected a temperature" in m for m in msgs)
    assert any(":8: constraints[1]: unknown KPI 'pue_x' (did you mean 'pue'?)" in m for m in msgs)
    assert any(":8: constraints[2]: expected a number after '<', got 'hot'" in m for m in msgs)


def test_cli_exits_2_without_traceback(pod_sweep, tmp_path):
    p = pod_sweep(GRID.replace("rack_supply_temp", "rack_suply_temp"))
    cmd = [sys.executable, "-m", "twin.cli", "sweep", "run", str(p), "--out", str(tmp_path / "o")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"{p}:5: axes.halls[0].cooling.rack_suply_temp: no key 'rack_suply_temp'" in res.stderr
    assert "did you mean 'rack_supply_temp'?" in res.stderr
    assert not (tmp_path / "o").exists()


def test_grid_is_every_permutation_in_file_order(pod_sweep):
    sw = load_sweep(pod_sweep(GRID))
    assert [p.written for p in sw.points] == [(a, b) for a in ("30 degC", "35 degC")
                                             for b in ("40 degC", "45 degC", "50 degC")]
    assert sw.columns["halls[*].cooling.facility_water.supply_temp"] == (30.0,) * 3 + (35.0,) * 3
    assert len({p.key for p in sw.points}) == 6


def test_list_zips_axes_and_refuses_unequal_lengths(pod_sweep):
    body = GRID.replace("[30 degC, 35 degC]", "[30 degC, 33 degC, 36 degC]") + "sample: {method: list}\n"
    sw = load_sweep(pod_sweep(body))
    assert [p.written for p in sw.points] == [("30 degC", "40 degC"), ("33 degC", "45 degC"),
                                             ("36 degC", "50 degC")]
    (msg,) = _problems(pod_sweep(GRID + "sample: {method: list}\n"))
    assert "has 2 values; the other axes have 3" in msg


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_random_and_lhs_are_seeded_and_in_range(pod_sweep, method):
    body = f"""name: t
base: BASE
seed: SEED
axes:
  halls[0].cooling.rack_supply_temp: {{low: 40 degC, high: 50 degC}}
  halls[0].rows[0].count: {{low: 1, high: 3}}
  halls[0].cooling.adiabatic: [true, false]
sample: {{method: {method}, n: 9}}
kpis: [pue]
"""
    a = load_sweep(pod_sweep(body.replace("SEED", "1"), "a.yaml"))
    b = load_sweep(pod_sweep(body.replace("SEED", "1"), "b.yaml"))
    c = load_sweep(pod_sweep(body.replace("SEED", "2"), "c.yaml"))
    assert [p.written for p in a.points] == [p.written for p in b.points]
    assert [p.key for p in a.points] == [p.key for p in b.points]
    assert [p.written for p in a.points] != [p.written for p in c.points]
    temps = np.array(a.columns["halls[0].cooling.rack_supply_temp"])
    counts = np.array(a.columns["halls[0].rows[0].count"])
    assert len(temps) == 9
    assert ((temps >= 40) & (temps <= 50)).all()
    assert set(counts) <= {1, 2, 3}
    assert counts.dtype.kind == "i"
    assert set(a.columns["halls[0].cooling.adiabatic"]) <= {True, False}
    assert all(w[0].endswith(" degC") for w in (p.written for p in a.points))
    if method == "lhs":  # one point in each ninth of the range
        assert sorted(np.floor((temps - 40) / 10 * 9).astype(int)) == list(range(9))
