"""Design search: the optimiser finds the enumerated constrained optimum, resumes from its study, is
deterministic with one worker and a seed, and a bad optimise: block is a file:line error."""

import subprocess
import sys

import pandas as pd
import pytest

from tests.sweep.conftest import write_sweep
from twin.errors import InputError
from twin.sweep import load_sweep, optimise, run
from twin.sweep.pareto import read_results
from twin.sweep.search import violation

# 3 x 3 designs of the pod without N-1 (~10 ms each): more racks give more IT power, and the site
# limit lets the most racks in only with the warmest water (the least cooling power): one optimum
WATER = "halls[*].cooling.facility_water.supply_temp"
RACK = "halls[0].rows[0].racks_per_row"
SPEC = f"""name: pod-optimise
base: BASE
n_minus_1: false
seed: 3
axes:
  {WATER}: [27 degC, 31 degC, 35 degC]
  {RACK}: [2, 3, 4]
kpis: [pue, facility_power_w]
constraints: [facility_power_w <= LIMIT]
optimise: {{objective: it_power_w, direction: maximise, sampler: SAMPLER, trials: 9}}
"""
LIMIT = "1.122 MW"


def _spec(folder, sampler="grid", limit=LIMIT, name="opt.yaml"):
    return write_sweep(folder, SPEC.replace("SAMPLER", sampler).replace("LIMIT", limit), name)


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster worker shared by the module's searches (what --scheduler ADDR reaches)."""
    import logging

    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      scheduler_port=0, silence_logs=logging.ERROR) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def grid(tmp_path_factory, cluster):
    """The whole 3 x 3 grid run by twin sweep run: the true constrained optimum."""
    folder = tmp_path_factory.mktemp("grid")
    spec = _spec(folder)
    df = run(spec, folder / "grid", scheduler=cluster)
    ok = df[df.feasible]
    assert 0 < len(ok) < len(df), "the limit must cut the grid"
    assert (ok["it_power_w"] == ok["it_power_w"].max()).sum() == 1, "the optimum must be one design"
    assert df["it_power_w"].max() == ok["it_power_w"].max()
    assert (df["it_power_w"] == df["it_power_w"].max()).sum() == 3, "the limit must cut at the optimum"
    return spec, df, ok.loc[ok["it_power_w"].idxmax()]


def test_grid_search_finds_the_enumerated_optimum(grid, cluster, tmp_path):
    spec, df, best = grid
    res = optimise(spec, tmp_path / "opt", scheduler=cluster)
    assert res.objective == "it_power_w"
    assert res.direction == "maximise"
    assert len(res.trials) == 9
    assert set(res.trials["key"]) == set(df["key"])  # the same keys as the run: the same points
    assert res.best is not None
    assert (res.best[WATER], res.best[RACK]) == (best[WATER], best[RACK])
    assert (best[WATER], best[RACK]) == (35.0, 4)
    assert res.best["it_power_w"] == pytest.approx(best["it_power_w"], rel=1e-12)
    # as many racks with colder water break the site limit: it binds
    assert res.binding == f"facility_power_w <= {LIMIT}"
    assert 0 <= res.slack[res.binding] < 0.01
    assert res.blocked_by == {res.binding: 2}
    assert len(res.pareto) == 1
    # the folder opens like a sweep's results (twin sweep plot, the app)
    table, axes, kpis = read_results(tmp_path / "opt")
    assert axes == [WATER, RACK]
    assert kpis == ["pue", "facility_power_w"]  # as sweep.yaml lists them; the objective is a column too
    assert "it_power_w" in table
    assert sorted(table["scenario"]) == list(range(9))
    pd.testing.assert_frame_equal(table, res.trials)


def test_tpe_finds_it_and_is_deterministic(grid, cluster, tmp_path):
    spec, _, best = grid
    tpe = _spec(tmp_path, "tpe")
    a = optimise(tpe, tmp_path / "a", trials=24, scheduler=cluster)
    b = optimise(tpe, tmp_path / "b", trials=24, scheduler=cluster)
    assert len(a.trials) == 24
    assert a.trials[[WATER, RACK]].values.tolist() == b.trials[[WATER, RACK]].values.tolist()
    assert (a.best[WATER], a.best[RACK]) == (best[WATER], best[RACK])
    # a design asked again is told from its row, not computed again: one part per distinct design
    assert len(list((tmp_path / "a" / "parts").glob("*.parquet"))) == a.trials["key"].nunique()
    assert a.trials["key"].nunique() < 24


def test_resume_continues_the_study(cluster, tmp_path):
    import optuna

    spec = _spec(tmp_path)
    out = tmp_path / "opt"
    first = optimise(spec, out, trials=4, scheduler=cluster)
    assert len(first.trials) == 4
    again = optimise(spec, out, trials=9, scheduler=cluster)
    study = optuna.load_study(study_name="twin-sweep-optimise", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.trials) == 9
    assert all(t.state.is_finished() for t in study.trials)
    df = again.trials
    assert df["scenario"].tolist() == list(range(9))
    assert df["key"].is_unique  # the grid never repeats a design, and no trial has two rows
    pd.testing.assert_frame_equal(df.iloc[:4].drop(columns="wall_s"), first.trials.drop(columns="wall_s"))
    assert len(list((out / "parts").glob("*.parquet"))) == 9
    # asking for what is there computes nothing (no cluster is needed)
    same = optimise(spec, out, trials=9, scheduler="tcp://127.0.0.1:1")
    pd.testing.assert_frame_equal(same.trials, df)


def test_another_search_in_the_folder_is_refused(cluster, tmp_path):
    from twin.sweep import SweepDirError

    out = tmp_path / "opt"
    optimise(_spec(tmp_path), out, trials=1, scheduler=cluster)
    with pytest.raises(SweepDirError, match="holds another design search"):
        optimise(_spec(tmp_path, limit="80", name="other.yaml"), out, trials=2, scheduler=cluster)


def test_violation_is_signed():
    from twin.sweep.spec import Constraint

    lt = Constraint("max_gpu_temp_c < 85", "max_gpu_temp_c", "<", 85.0)
    assert violation(lt, {"max_gpu_temp_c": 90.0}) == pytest.approx(5.0)
    assert violation(lt, {"max_gpu_temp_c": 80.0}) == pytest.approx(-5.0)
    assert violation(lt, {"max_gpu_temp_c": 85.0}) > 0  # strict: met exactly is not met
    assert violation(lt, {"max_gpu_temp_c": None}) == 1.0
    ge = Constraint("pue >= 1.1", "pue", ">=", 1.1)
    assert violation(ge, {"pue": 1.0}) == pytest.approx(0.1)
    assert violation(ge, {"pue": 1.3}) == pytest.approx(-0.2)
    yes = Constraint("n_minus_1_survives", "n_minus_1_survives", "is", True)
    assert violation(yes, {"n_minus_1_survives": True}) == 0.0
    assert violation(yes, {"n_minus_1_survives": False}) == 1.0


def _problems(path):
    with pytest.raises(InputError) as exc:
        load_sweep(path)
    return [str(p) for p in exc.value.problems]


BLOCK = "{objective: it_power_w, direction: maximise, sampler: SAMPLER, trials: 9}"


def test_bad_optimise_blocks_have_lines(tmp_path):
    base = SPEC.replace("LIMIT", LIMIT)
    p = write_sweep(tmp_path, base.replace(BLOCK, "\n  objective: pue_x\n  sampler: sobol\n"), "a.yaml")
    msgs = _problems(p)
    assert any(m.startswith(f"{p}:12: optimise.sampler: ") and "'tpe', 'random', 'grid' or 'nsga2'" in m
               for m in msgs), msgs
    tpe = base.replace("SAMPLER", "tpe")
    p = write_sweep(tmp_path, tpe.replace("objective: it_power_w", "objective: pue_x"), "b.yaml")
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}:10: optimise.objective: unknown KPI 'pue_x' (did you mean 'pue'?)"), msg
    p = write_sweep(tmp_path, tpe.replace("objective: it_power_w", "objective: cooling_n_minus_1_survives"),
                    "c.yaml")
    (msg,) = _problems(p)
    assert "an objective is a number" in msg
    ranged = base.replace("SAMPLER", "grid").replace("[27 degC, 31 degC, 35 degC]",
                                                     "{low: 27 degC, high: 35 degC}")
    ranged += "sample: {method: lhs, n: 4}\n"
    p = write_sweep(tmp_path, ranged, "d.yaml")
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}:6: axes.{WATER}: 'sampler: grid' takes every value of list-valued axes"), msg
    p = write_sweep(tmp_path, base.replace("SAMPLER", "nsga2"), "e.yaml")
    (msg,) = _problems(p)
    assert "'sampler: nsga2' searches two objectives" in msg
    n1 = base.replace("SAMPLER", "tpe").replace("kpis: [pue,", "kpis: [n_minus_1_survives, pue,")
    p = write_sweep(tmp_path, n1, "f.yaml")
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}:8: kpis[0]: 'n_minus_1_survives' needs the N-1 analyses"), msg


def test_cli_bad_block_and_layout_without_objective_exit_2(tmp_path):
    p = write_sweep(tmp_path, SPEC.replace("LIMIT", LIMIT).replace(BLOCK, "{objective: pue, trials: 0}"))
    cmd = [sys.executable, "-m", "twin.cli", "sweep", "optimise", str(p), "--out", str(tmp_path / "o")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"{p}:10: optimise.trials: " in res.stderr
    assert not (tmp_path / "o").exists()
    q = write_sweep(tmp_path, SPEC.replace("LIMIT", LIMIT).split("optimise:")[0], "plain.yaml")
    res = subprocess.run([*cmd[:5], str(q), *cmd[6:]], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert f"{q}:1: optimise: a layout base has no default objective" in res.stderr
    assert not (tmp_path / "o").exists()


def test_a_failed_trial_is_told_failed_and_recorded(cluster, tmp_path):
    import optuna

    # water at 36 degC with racks at 35 degC is not a valid design: one trial of the four fails
    body = SPEC.replace("LIMIT", "2 MW").replace("SAMPLER", "grid").replace(
        "[27 degC, 31 degC, 35 degC]", "[30 degC, 36 degC]").replace(
        f"{RACK}: [2, 3, 4]", "halls[0].cooling.rack_supply_temp: [35 degC, 45 degC]")
    res = optimise(write_sweep(tmp_path, body), tmp_path / "opt", scheduler=cluster)
    df = res.trials
    assert len(df) == 4
    bad = df[df["status"] == "failed"]
    assert len(bad) == 1
    assert "must be below the rack supply setpoint" in bad["error"].iloc[0]
    assert not bad["feasible"].iloc[0]
    study = optuna.load_study(study_name="twin-sweep-optimise",
                              storage=f"sqlite:///{tmp_path / 'opt' / 'study.db'}")
    states = {t.number: t.state for t in study.trials}
    assert states[int(bad["scenario"].iloc[0])] == optuna.trial.TrialState.FAIL
    assert sum(s == optuna.trial.TrialState.COMPLETE for s in states.values()) == 3
    assert res.best is not None
    assert res.best["status"] == "ok"


def test_nsga2_searches_two_objectives_and_gives_their_pareto_set(cluster, tmp_path):
    body = SPEC.replace("LIMIT", "2 MW").replace("SAMPLER", "nsga2").replace("trials: 9}", "trials: 9, "
                                                                             "pareto: pue}")
    res = optimise(write_sweep(tmp_path, body), tmp_path / "opt", trials=8, scheduler=cluster)
    assert res.pareto_kpi == "pue"
    assert len(res.trials) == 8
    front = res.pareto
    assert len(front) >= 1
    ok = res.trials[res.trials["feasible"]]
    for _, r in front.iterrows():  # nothing feasible is at least as good in both and better in one
        dominated = ((ok["it_power_w"] >= r["it_power_w"]) & (ok["pue"] <= r["pue"])
                     & ((ok["it_power_w"] > r["it_power_w"]) | (ok["pue"] < r["pue"])))
        assert not dominated.any()


def test_a_trial_left_running_by_a_kill_is_evaluated_on_resume(cluster, tmp_path):
    import optuna

    from twin.sweep.search import distributions, written

    spec = _spec(tmp_path, "tpe")
    out = tmp_path / "opt"
    optimise(spec, out, trials=3, scheduler=cluster)
    storage = f"sqlite:///{out / 'study.db'}"
    study = optuna.load_study(study_name="twin-sweep-optimise", storage=storage)
    sw = load_sweep(spec)
    stale = study.ask(distributions(sw))  # asked, never told: what a SIGKILL mid-trial leaves
    assert study.trials[stale.number].state == optuna.trial.TrialState.RUNNING
    res = optimise(spec, out, trials=5, scheduler=cluster)
    study = optuna.load_study(study_name="twin-sweep-optimise", storage=storage)
    assert len(study.trials) == 5
    assert all(t.state.is_finished() for t in study.trials)
    row = res.trials[res.trials["scenario"] == stale.number].iloc[0]
    assert (row[WATER], row[RACK]) == tuple(a.si(v) for a, v in zip(sw.axes, written(sw, stale.params),
                                                                      strict=True))
    assert res.trials["scenario"].tolist() == list(range(5))
