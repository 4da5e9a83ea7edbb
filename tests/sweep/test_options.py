"""A layout's run options (n_minus_1, utilisation, ambient), the worker's in-memory layout points, and
parts that hold a batch of scenarios."""

import pandas as pd
import pytest

from tests.sweep.conftest import POD, ROOT
from twin.engine.steady import evaluate
from twin.errors import InputError
from twin.layout import load_layout
from twin.sweep import load_sweep
from twin.sweep.results import assemble, done_keys, prepare_dir, write_parts
from twin.sweep.runner import _assignments
from twin.sweep.worker import run_batch

BODY = """name: opts
base: BASE
OPTIONS
axes:
  halls[*].cooling.facility_water.supply_temp: [30 degC, 33 degC]
  halls[0].cooling.rack_supply_temp: [35 degC, 45 degC]
kpis: [facility_power_w, pue, max_gpu_temp_c]
"""


def _sweep(pod_sweep, options="", name="s.yaml"):
    return load_sweep(pod_sweep(BODY.replace("OPTIONS", options), name))


def test_options_are_in_the_key_and_the_default_keys_are_unchanged(pod_sweep):
    plain = _sweep(pod_sweep)
    assert "options" not in plain.key_inputs
    assert plain.options == {"n_minus_1": True, "utilisation": 1.0, "ambient_c": None}
    same = _sweep(pod_sweep, "n_minus_1: true\nutilisation: 1", "same.yaml")
    assert [p.key for p in same.points] == [p.key for p in plain.points]
    fast = _sweep(pod_sweep, "n_minus_1: false\nutilisation: 0.8\nambient: 40 degC", "fast.yaml")
    assert fast.options == {"n_minus_1": False, "utilisation": 0.8, "ambient_c": 40.0}
    assert not {p.key for p in fast.points} & {p.key for p in plain.points}


def test_bad_options(pod_sweep, tmp_path):
    with pytest.raises(InputError) as exc:
        _sweep(pod_sweep, "utilisation: 1.5\nambient: 40 kW")
    msgs = [str(p) for p in exc.value.problems]
    assert any(":3: utilisation: " in m for m in msgs), msgs
    with pytest.raises(InputError) as exc:
        _sweep(pod_sweep, "ambient: 40 kW")
    (msg,) = [str(p) for p in exc.value.problems]
    assert ":3: ambient: expected a temperature" in msg
    scen = tmp_path / "scen.yaml"
    scen.write_text(f"name: s\nbase: {ROOT / 'scenarios' / 'hall-site-cap.yaml'}\nn_minus_1: false\naxes:\n"
                    "  deployments[0].workload.rate: [60000]\nkpis: [pue]\n")
    with pytest.raises(InputError) as exc:
        load_sweep(scen)
    (msg,) = [str(p) for p in exc.value.problems]
    assert ":3: n_minus_1: 'n_minus_1' sets a layout's steady evaluation; this base is a scenario" in msg


def test_worker_point_equals_a_direct_evaluation_with_the_options(pod_sweep, tmp_path):
    sw = _sweep(pod_sweep, "n_minus_1: false\nutilisation: 0.8\nambient: 40 degC")
    p = sw.points[3]  # 33 degC water, 45 degC racks
    assert p.written == ("33 degC", "45 degC")
    (r,) = run_batch(sw.job(), [(p.key, _assignments(sw, p))])
    assert r["status"] == "ok", r["error"]
    first = r
    text = POD.read_text()
    modified = tmp_path / "pod.yaml"
    modified.write_text(text.replace("    supply_temp: 35 degC", "    supply_temp: 33 degC")
                        .replace("rack_supply_temp: 40 degC", "rack_supply_temp: 45 degC"))
    res = evaluate(load_layout(modified), 0.8, with_n_minus_1=False, ambient_c=40.0)
    assert res.power_cases is None
    assert r["kpis"]["facility_power_w"] == pytest.approx(res.facility_power_w, rel=1e-12)
    assert r["kpis"]["pue"] == pytest.approx(res.pue, rel=1e-12)
    assert r["kpis"]["max_gpu_temp_c"] == pytest.approx(res.cooling.max_gpu_temp_c, rel=1e-12)
    full = evaluate(load_layout(modified))
    assert r["kpis"]["facility_power_w"] < full.facility_power_w  # the options really applied
    # an invalid point fails with the loader's message, naming the base file without a line
    bad = sw.points[0]  # 30 degC water, 35 degC racks: valid; make it invalid
    (r,) = run_batch(sw.job(), [(bad.key, [(t, loc, "36 degC" if "facility_water" in loc else v)
                                            for t, loc, v in _assignments(sw, bad)])])
    assert r["status"] == "failed"
    assert r["error"].startswith("pod-8x-nvl72.yaml: halls[0].cooling.facility_water.supply_temp: facility "
                                 "water supply 36 degC must be below the rack supply setpoint 35 degC"), r
    # the cached base is not changed by the points
    (again,) = run_batch(sw.job(), [(p.key, _assignments(sw, p))])
    assert again["kpis"] == first["kpis"]


def test_batched_parts_resume_exactly(pod_sweep, tmp_path):
    sw = _sweep(pod_sweep, "n_minus_1: false")
    out = tmp_path / "out"
    prepare_dir(out, sw)
    results = {p.key: r for p, r in zip(sw.points, run_batch(sw.job(), [(p.key, _assignments(sw, p))
                                                                           for p in sw.points]), strict=True)}
    pairs = [(p, results[p.key]) for p in sw.points]
    write_parts(out, sw, pairs[:3])  # one task of three
    assert done_keys(out) == {p.key for p in sw.points[:3]}
    partial = assemble(out, sw)
    assert partial["scenario"].tolist() == [0, 1, 2]
    write_parts(out, sw, pairs[3:])  # and one of one: <key>.parquet
    names = sorted(f.name for f in (out / "parts").glob("*.parquet"))
    assert names == sorted([f"b-{sw.points[0].key}-3.parquet", f"{sw.points[3].key}.parquet"])
    assert done_keys(out) == {p.key for p in sw.points}
    df = assemble(out, sw)
    assert df["scenario"].tolist() == [0, 1, 2, 3]
    assert df["key"].tolist() == [p.key for p in sw.points]
    assert (df["status"] == "ok").all()
    assert df["facility_power_w"].tolist() == [results[p.key]["kpis"]["facility_power_w"] for p in sw.points]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), df)
