"""Sweeps run end to end: rows equal a direct evaluation, failures recorded, resume after SIGINT and
SIGKILL, and the same table on an explicitly started dask scheduler with two workers."""

import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.sweep.conftest import POD, ROOT, write_sweep
from twin.engine.steady import evaluate
from twin.layout import load_layout
from twin.sweep import SweepDirError, load_sweep, run
from twin.sweep.results import done_keys

# 3 x 4 = 12 points; facility water at 36 degC with racks at 35 degC is not a valid design (scenario 8)
SWEEP = """name: pod-resume
base: BASE
axes:
  halls[*].cooling.facility_water.supply_temp: [30 degC, 33 degC, 36 degC]
  halls[0].cooling.rack_supply_temp: [35 degC, 40 degC, 45 degC, 50 degC]
kpis: [facility_power_w, pue, max_gpu_temp_c, n_minus_1_survives, cooling_n_minus_1_survives, first_limit]
constraints: [max_gpu_temp_c < 80]
"""
FAILING = 8
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ref")
    spec = write_sweep(folder, SWEEP)
    df = run(spec, folder / "out", workers=2)
    return spec, df


def _comparable(df):
    return df.drop(columns=["wall_s"]).reset_index(drop=True)


def test_table_contract(reference):
    spec, df = reference
    sw = load_sweep(spec)
    assert list(df.columns) == ["scenario", "key", "halls[*].cooling.facility_water.supply_temp",
                                "halls[0].cooling.rack_supply_temp", "facility_power_w", "pue",
                                "max_gpu_temp_c", "n_minus_1_survives", "cooling_n_minus_1_survives",
                                "first_limit", "feasible", "constraint: max_gpu_temp_c < 80", "status",
                                "error", "wall_s"]
    assert df["scenario"].tolist() == list(range(12))
    assert df["key"].tolist() == [p.key for p in sw.points]
    assert df["halls[0].cooling.rack_supply_temp"].tolist() == [35.0, 40.0, 45.0, 50.0] * 3
    on_disk = pd.read_parquet(spec.parent / "out" / "results.parquet")
    pd.testing.assert_frame_equal(on_disk, df)
    # one part per task (a batch part names its first key and holds several): every key in one
    assert done_keys(spec.parent / "out") == {p.key for p in sw.points}
    assert len(list((spec.parent / "out" / "parts").glob("*.parquet"))) < 12
    ok = df[df.status == "ok"]
    assert (ok["feasible"] == (ok["max_gpu_temp_c"] < 80)).all()
    assert ok["feasible"].any()
    assert not ok["feasible"].all()


def test_rows_equal_a_direct_evaluation(reference, tmp_path):
    _, df = reference
    text = POD.read_text()
    assert "    supply_temp: 35 degC" in text
    assert "rack_supply_temp: 40 degC" in text
    modified = tmp_path / "pod.yaml"
    modified.write_text(text.replace("    supply_temp: 35 degC", "    supply_temp: 33 degC")
                        .replace("rack_supply_temp: 40 degC", "rack_supply_temp: 45 degC"))
    res = evaluate(load_layout(modified))
    row = df.iloc[6]  # 33 degC water, 45 degC racks
    assert row["halls[*].cooling.facility_water.supply_temp"] == 33.0
    assert row["status"] == "ok"
    assert row["error"] == ""
    assert row["facility_power_w"] == pytest.approx(res.facility_power_w, rel=1e-12)
    assert row["pue"] == pytest.approx(res.pue, rel=1e-12)
    assert row["max_gpu_temp_c"] == pytest.approx(res.cooling.max_gpu_temp_c, rel=1e-12)
    assert bool(row["n_minus_1_survives"]) is res.n_minus_1_survives
    assert bool(row["cooling_n_minus_1_survives"]) is res.cooling.n_minus_1_survives
    # a different supply temperature really changed the result
    assert df.iloc[4]["max_gpu_temp_c"] != row["max_gpu_temp_c"]


def test_failing_point_is_recorded_and_others_complete(reference):
    _, df = reference
    bad = df.iloc[FAILING]
    assert bad["status"] == "failed"
    assert bad["error"].startswith("pod-8x-nvl72.yaml: halls[0].cooling.facility_water.supply_temp: facility "
                                   "water supply 36 degC must be below the rack supply setpoint 35 degC")
    assert pd.isna(bad["facility_power_w"])
    assert not bad["feasible"]
    assert (df.drop(index=FAILING)["status"] == "ok").all()


def test_rerun_computes_nothing_and_other_sweep_is_refused(reference):
    spec, df = reference
    parts = spec.parent / "out" / "parts"
    before = {p: p.stat().st_mtime_ns for p in parts.glob("*.parquet")}
    again = run(spec, spec.parent / "out")  # nothing missing: no cluster is started
    pd.testing.assert_frame_equal(again, df)
    assert {p: p.stat().st_mtime_ns for p in parts.glob("*.parquet")} == before
    other = write_sweep(spec.parent, SWEEP.replace("50 degC]", "55 degC]"), "other.yaml")
    with pytest.raises(SweepDirError, match="holds the results of another sweep: 3 of this sweep's 12"):
        run(other, spec.parent / "out")


def _cli(spec, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "twin.cli", "sweep", "run", str(spec), "--out", str(out),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            start_new_session=True)


def _stop(proc):
    """Kill what is left of a runner we started (its session: the runner and its workers)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_resume_after_a_kill_gives_the_same_table(reference, tmp_path, sig):
    spec, ref = reference
    out = tmp_path / "out"
    proc = _cli(spec, out, "--workers", "1")
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "parts").glob("*.parquet"))) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted" in err
        assert "Traceback" not in err
        partial = pd.read_parquet(out / "results.parquet")
        assert 3 <= len(partial) < 12
    else:
        assert proc.returncode == -signal.SIGKILL
    n_before = len(list((out / "parts").glob("*.parquet")))
    assert n_before < 12
    proc = _cli(spec, out, "--workers", "1")
    try:
        _, err = proc.communicate(timeout=180)
    finally:
        _stop(proc)
    assert proc.returncode == 0, err
    assert f"already done in {out}" in err
    final = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(_comparable(final), _comparable(ref))
    assert not list((out / "parts").glob(".*"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_explicit_scheduler_and_two_workers_give_the_same_table(reference, tmp_path):
    from dask.distributed import Client

    spec, ref = reference
    addr = f"tcp://127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", addr.rsplit(":", 1)[1], "--no-dashboard"], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr,
                                           "--nthreads", "1", "--no-dashboard"], env=ENV, cwd=tmp_path,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        with Client(addr, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
        lines = []
        df = run(spec, tmp_path / "out", scheduler=addr, progress=lambda p: lines.append(p))
        assert lines[0].message.startswith(f"pod-resume: 12 scenarios to compute on the cluster at {addr} "
                                           "(2 workers)")
    finally:
        for p in procs:
            _stop(p)
    pd.testing.assert_frame_equal(_comparable(df), _comparable(ref))
