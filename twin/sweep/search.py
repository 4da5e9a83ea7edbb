"""Design search: the design of a sweep file's axes that maximises (or minimises) a KPI under its constraints.

:func:`optimise` runs an Optuna study (TPE by default; random, grid or NSGA-II) whose trials are the
sweep's points: each trial's axis values are asked from the sampler, evaluated on the same Dask
cluster as ``twin sweep run`` by the same worker function (:func:`twin.sweep.worker.run_batch`),
and told back as they complete, several in flight per worker. The constraints of the sweep file
steer the TPE and NSGA-II samplers (Optuna's constrained optimisation, ``Trial.set_constraint``
before each tell): one signed violation per constraint, at most 0 when it holds
(``max_gpu_temp_c < 85`` gives ``max_gpu_temp_c - 85``; a yes/no constraint gives 0 or 1).

The search is resumable: the study lives in ``DIR/study.db`` (Optuna's RDB storage on sqlite) and
every evaluated trial is also a row of the sweep's results table (``DIR/parts/``,
``DIR/results.parquet``, ``DIR/sweep.yaml``: ``twin sweep plot DIR`` and the app open it), its
``scenario`` column the trial's number. Running it again continues from the trials already told;
trials left running by a kill are evaluated with the values they were given. A design asked again
is not computed again (its key's row is told). A failed evaluation is told as failed and recorded.
See docs/sweeps.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.errors import ArgumentError, InputError, Problem
from twin.sweep.results import SweepDirError
from twin.sweep.spec import (
    DEFAULT_SCENARIO_OBJECTIVE,
    DEFAULT_TRIALS,
    Constraint,
    Optimise,
    Point,
    Sweep,
    load_sweep,
)

#: The study's storage inside the results folder.
STUDY_FILE = "study.db"
#: The study's name in its storage.
STUDY_NAME = "twin-sweep-optimise"
#: Trials in flight per worker.
TRIALS_PER_WORKER = 2


@dataclass(frozen=True)
class OptimiseResult:
    """What a design search found (see :func:`optimise`)."""

    objective: str
    direction: str  # "maximise" or "minimise"
    best: dict | None  # the best feasible trial's row (axis values, KPIs, ...); None when none is feasible
    binding: str | None  # the constraint with the least relative slack at the best design
    slack: dict[str, float | None]  # constraint -> relative slack at the best (None: yes/no, no measure)
    blocked_by: dict[str, int]  # constraint -> trials at least as good on the objective it made infeasible
    trials: Any  # pandas.DataFrame: the results table, a row per trial (scenario = trial number)
    pareto: Any  # pandas.DataFrame: feasible trials on the front of (objective, pareto KPI)
    pareto_kpi: str | None
    study_file: Path
    at_bounds: dict[str, str] = dataclasses.field(default_factory=dict)  # range axis -> "low" / "high"


def settings(sweep: Sweep, pareto: str | None = None) -> Optimise:
    """The sweep's ``optimise:`` block, or the defaults (``tokens_per_dollar`` for a scenario base).

    Raises
    ------
    InputError
        A layout base without an ``optimise:`` block (it has no default objective), or a ``pareto``
        KPI that the base does not have.
    """
    from twin.layout.problems import did_you_mean
    from twin.sweep.kpis import registry
    from twin.sweep.pareto import better_high

    opt = sweep.optimise
    if opt is None:
        if sweep.base_kind == "layout":
            raise InputError([Problem(sweep.file, sweep.line, "optimise", "a layout base has no default "
                                      "objective: add an 'optimise:' block naming it, e.g. 'optimise: "
                                      "{objective: pue, direction: minimise}'")])
        opt = Optimise(DEFAULT_SCENARIO_OBJECTIVE, True, DEFAULT_TRIALS, "tpe", None, None)
    if pareto is not None:
        reg = registry(sweep.base_kind)
        if pareto not in reg or reg[pareto].dtype == "str":
            raise ArgumentError(f"--pareto {pareto!r}: not a numeric KPI of a {sweep.base_kind}"
                                f"{did_you_mean(pareto, list(reg))}", field="pareto")
        better_high(pareto)  # its direction must be known
        opt = dataclasses.replace(opt, pareto=pareto)
    return opt


def _with_kpis(sweep: Sweep, names: list[str]) -> Sweep:
    """The sweep also computing ``names`` (its keys then cover them)."""
    extra = [n for n in names if n is not None and n not in sweep.kpis]
    if not extra:
        return sweep
    kpis = (*sweep.kpis, *extra)
    return dataclasses.replace(sweep, kpis=kpis, key_inputs={**sweep.key_inputs, "kpis": list(kpis)})


def _choices(axis) -> list:
    """The distinct table values (SI) of a list-valued axis, in order."""
    out: list = []
    for v in axis.values:
        s = axis.si(v)
        if s not in out:
            out.append(s)
    return out


def distributions(sweep: Sweep) -> dict:
    """Axis path -> Optuna distribution: categorical for a list of values, float or int for a range."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for a in sweep.axes:
        if a.values:
            out[a.path] = CategoricalDistribution(_choices(a))
        elif a.integer:
            out[a.path] = IntDistribution(int(a.low), int(a.high))
        else:
            out[a.path] = FloatDistribution(a.low, a.high)
    return out


def written(sweep: Sweep, params: dict) -> tuple:
    """A trial's parameters as the values written into the base, per axis."""
    vals = []
    for a in sweep.axes:
        p = params[a.path]
        if a.values:
            si = _choices(a)
            vals.append(a.values[[a.si(v) for v in a.values].index(si[si.index(p)])])
        else:
            vals.append(a.written(p))
    return tuple(vals)


def violation(c: Constraint, kpis: dict) -> float:
    """Signed violation of a constraint (at most 0 when it holds), for Optuna's constraints.

    ``kpi < t`` and ``kpi <= t`` give ``kpi - t``, ``kpi > t`` and ``kpi >= t`` give ``t - kpi`` (a
    strict bound met exactly counts as a tiny violation); any other constraint gives 0 when it holds
    and 1 when not (a missing value never holds).
    """
    holds = c.holds(kpis)
    v = kpis.get(c.kpi)
    if c.op not in ("<", "<=", ">", ">=") or v is None or isinstance(v, bool) or \
            isinstance(c.threshold, bool | str) or not math.isfinite(float(v)):
        return 0.0 if holds else 1.0
    signed = float(v) - float(c.threshold) if c.op in ("<", "<=") else float(c.threshold) - float(v)
    return min(signed, 0.0) if holds else max(signed, 1e-9)


def relative_slack(c: Constraint, kpis: dict) -> float | None:
    """How far the KPI is inside a numeric constraint, over the threshold's size; None for yes/no ones."""
    v = kpis.get(c.kpi)
    if c.op not in ("<", "<=", ">", ">=") or v is None or isinstance(v, bool) or \
            isinstance(c.threshold, bool | str):
        return None
    t = float(c.threshold)
    gap = t - float(v) if c.op in ("<", "<=") else float(v) - t
    return gap / abs(t) if t != 0 else gap


def _identity(sweep: Sweep, opt: Optimise) -> str:
    """What a study in a folder must match to be continued: the search space, objective and keys' inputs."""
    axes = [[a.path, list(a.values), a.low, a.high, a.integer] for a in sweep.axes]
    payload = {"keys": sweep.key_inputs, "axes": axes, "objective": opt.objective, "max": opt.maximise,
               "sampler": opt.sampler, "pareto": opt.pareto if opt.sampler == "nsga2" else None,
               "seed": sweep.seed}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _prepare(out: Path, sweep: Sweep) -> None:
    """``out`` new, empty, or holding a design search (its study checked later); else refuse."""
    if out.exists() and not out.is_dir():
        raise SweepDirError(f"--out {out} is a file; expected a folder for the design search")
    if out.is_dir() and any(out.iterdir()) and not (out / STUDY_FILE).is_file():
        raise SweepDirError(f"{out} is not empty and holds no design search (no {STUDY_FILE}); write the "
                            "search to a new or empty folder")
    (out / "parts").mkdir(parents=True, exist_ok=True)
    from twin.sweep.results import atomic_write

    atomic_write(out / "sweep.yaml", sweep.text.encode("utf-8"))
    for stale in (out / "parts").glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def _sampler(opt: Optimise, sweep: Sweep):
    import optuna

    if opt.sampler == "grid":

        class Grid(optuna.samplers.GridSampler):
            """Optuna's grid sampler, without its ``study.stop`` at the grid's end.

            ``study.stop`` works only inside ``study.optimize``; the search stops at the grid's size.
            """

            def after_trial(self, study, trial, state, values) -> None:
                return None

        return Grid({a.path: _choices(a) for a in sweep.axes}, seed=sweep.seed)
    if opt.sampler == "random":
        return optuna.samplers.RandomSampler(seed=sweep.seed)
    if opt.sampler == "nsga2":  # both read the trials' constraints (Trial.set_constraint)
        return optuna.samplers.NSGAIISampler(seed=sweep.seed)
    return optuna.samplers.TPESampler(seed=sweep.seed)


def _study(out: Path, sweep: Sweep, opt: Optimise):
    """The folder's study (created, or loaded and checked to be this search's)."""
    import logging
    import warnings

    import optuna

    from twin.sweep.pareto import better_high

    optuna.logging.set_verbosity(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    directions = ["maximize" if opt.maximise else "minimize"]
    if opt.sampler == "nsga2":
        directions.append("maximize" if better_high(opt.pareto) else "minimize")
    existed = (out / STUDY_FILE).is_file()
    storage = optuna.storages.RDBStorage(f"sqlite:///{(out / STUDY_FILE).resolve()}")
    study = optuna.create_study(storage=storage, study_name=STUDY_NAME, directions=directions,
                                sampler=_sampler(opt, sweep),
                                load_if_exists=True)
    ident = _identity(sweep, opt)
    if existed:
        old = study.user_attrs.get("identity")
        if old != ident:
            raise SweepDirError(f"{out} holds another design search (its study in {out / STUDY_FILE} has "
                                "other axes, objective, sampler, seed, base or KPIs; a --pareto KPI the "
                                "file does not list adds one); write to another --out folder, or delete "
                                f"{out} to start again")
    else:
        study.set_user_attr("identity", ident)
        study.set_user_attr("sweep", sweep.name)
    return study


def _values(opt: Optimise, rec: dict) -> list[float] | None:
    """The values to tell for a row (None: the trial failed or its objective is missing)."""
    if rec["status"] != "ok":
        return None
    names = [opt.objective] + ([opt.pareto] if opt.sampler == "nsga2" else [])
    vals = []
    for n in names:
        v = rec.get(n)
        if v is None:
            return None
        f = float(v)
        if not math.isfinite(f):
            return None
        vals.append(f)
    return vals


def _table(out: Path, sweep: Sweep, entries: list[tuple[int, tuple]]):
    """``results.parquet`` of the trials ``(number, written)`` that have a row; returns it as read back."""
    from twin.sweep.results import records, write_table

    pts = [sweep.point(n, w) for n, w in entries]
    recs = records(out, {p.key for p in pts})
    rows, kept = [], []
    for (n, w), p in zip(entries, pts, strict=True):
        if p.key not in recs:
            continue
        rec = dict(recs[p.key])
        rec["scenario"] = n
        rec |= {a.column: a.si(v) for a, v in zip(sweep.axes, w, strict=True)}
        rows.append(rec)
        kept.append(w)
    view = dataclasses.replace(sweep, points=tuple(Point(i, w, "") for i, w in enumerate(kept)),
                               columns={a.column: tuple(a.si(w[j]) for w in kept)
                                        for j, a in enumerate(sweep.axes)})
    return write_table(out, view, rows)


def optimise(spec: str | Path | Sweep, out_dir: str | Path, *, trials: int | None = None,
             scheduler: str | None = None, workers: int | None = None,
             progress: Callable | bool | None = None, pareto: str | None = None) -> OptimiseResult:
    """Search the sweep's axes for the best feasible design; resumable in ``out_dir``.

    Parameters
    ----------
    spec : path or Sweep
        A sweep file; its ``optimise:`` block says the objective (default ``tokens_per_dollar`` for a
        scenario base; a layout base must name one), the direction, the trials and the sampler.
    out_dir : path
        Folder of the study (``study.db``) and its results table; running again continues it.
    trials : int, optional
        Trials the study should have in all (default: the block's ``trials``, else 40; at most the
        grid's size with ``sampler: grid``).
    scheduler, workers
        As :func:`twin.sweep.runner.run`: an existing Dask cluster, or an embedded LocalCluster.
    progress : callable(Progress) or True, optional
        Called as trials are told; ``True`` prints a line on stderr.
    pareto : str, optional
        A second KPI: the Pareto set of the feasible trials on (objective, it).

    Raises
    ------
    InputError
        A sweep file with problems (or a layout base without an objective).
    SweepDirError
        ``out_dir`` holds something else than this search.
    KeyboardInterrupt
        After writing the table of the trials told.
    """
    import optuna

    from twin.sweep.runner import Progress, _line_printer

    sweep = spec if isinstance(spec, Sweep) else load_sweep(spec)
    opt = settings(sweep, pareto)
    sweep = _with_kpis(sweep, [opt.objective, opt.pareto])
    n_trials = trials if trials is not None else opt.trials
    if n_trials < 1:
        raise ArgumentError(f"trials must be at least 1, got {n_trials}", field="trials")
    if opt.sampler == "grid":
        n_trials = min(n_trials, math.prod(len(_choices(a)) for a in sweep.axes))
    show = _line_printer() if progress is True else progress or (lambda p: None)
    out = Path(out_dir)
    _prepare(out, sweep)
    study = _study(out, sweep, opt)
    dists = distributions(sweep)
    entries: dict[int, tuple] = {}  # trial number -> values written
    stale = []
    for t in study.get_trials(deepcopy=False):
        if set(t.params) >= set(dists):
            entries[t.number] = written(sweep, t.params)
        if t.state == optuna.trial.TrialState.RUNNING:
            stale.append(t)
    try:
        _search(sweep, opt, study, out, entries, stale, n_trials, dists, scheduler, workers, show, Progress)
    finally:
        df = _table(out, sweep, sorted(entries.items()))
    return _result(sweep, opt, df, out)


def _search(sweep, opt, study, out, entries, stale, n_trials, dists, scheduler, workers, show, Progress):
    """Ask, evaluate on the cluster and tell until the study has ``n_trials`` finished trials."""
    import optuna

    from twin.sweep.results import records, row, write_parts, write_series
    from twin.sweep.runner import _assignments, _client, _dashboard
    from twin.sweep.worker import run_batch

    state = optuna.trial.TrialState
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    told = {"n": len(finished), "failed": sum(t.state == state.FAIL for t in finished)}
    resumed = told["n"]
    known = records(out, {sweep.point(n, w).key for n, w in entries.items()})  # key -> row
    t0 = time.perf_counter()

    def tell(number: int, trial_id: int, rec: dict) -> None:
        trial = optuna.trial.Trial(study, trial_id)
        kpis = {k: rec.get(k) for k in sweep.kpis}
        trial.set_user_attr("key", rec["key"])
        for c in sweep.constraints:
            trial.set_constraint(c.text, violation(c, kpis))
        if rec["error"]:
            trial.set_user_attr("error", rec["error"][:2000])
        vals = _values(opt, rec)
        if vals is None:
            study.tell(number, state=state.FAIL)
            told["failed"] += 1
        else:
            study.tell(number, vals if len(vals) > 1 else vals[0])
        told["n"] += 1

    def report(dash, message=None) -> None:
        elapsed = time.perf_counter() - t0
        done = told["n"] - resumed
        eta = elapsed * (n_trials - told["n"]) / done if done and told["n"] < n_trials else None
        show(Progress(sweep.name, min(told["n"], n_trials), n_trials, told["failed"], resumed, elapsed, eta,
                      dash, message))

    if told["n"] >= n_trials and not stale:
        return
    client, cluster = _client(scheduler, workers)
    futures: dict = {}
    try:
        from dask.distributed import as_completed

        dash = _dashboard(client)
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        where = ("an embedded LocalCluster" if cluster is not None
                 else f"the cluster at {client.scheduler.address}")
        report(dash, f"{sweep.name}: optimising {opt.objective} ({opt.direction}, {opt.sampler}) on {where} "
                     f"({n_workers} workers): {n_trials} trials"
                     + (f", {resumed} already told in {out}" if resumed else ""))
        job = sweep.job()
        ac = as_completed()
        capacity = TRIALS_PER_WORKER * n_workers

        def launch(number: int, trial_id: int, values: tuple) -> None:
            p = sweep.point(number, values)
            entries[number] = values
            if p.key in known:  # a design asked again: its row is told, not computed
                tell(number, trial_id, known[p.key])
                report(dash)
                return
            f = client.submit(run_batch, job, [(p.key, _assignments(sweep, p))], pure=False)
            futures[f] = (number, trial_id, p)
            ac.add(f)

        for t in stale:
            launch(t.number, t._trial_id, written(sweep, t.params))

        def fill() -> None:
            while len(futures) < capacity and told["n"] + len(futures) < n_trials:
                trial = study.ask(dists)
                launch(trial.number, trial._trial_id, written(sweep, trial.params))

        fill()
        while futures:
            fut = next(ac)
            number, trial_id, p = futures.pop(fut)
            try:
                (r,) = fut.result()
            except Exception as exc:  # a worker lost: the trial is failed and recorded
                r = {"key": p.key, "status": "failed", "error": f"{type(exc).__name__}: {exc}", "kpis": {},
                     "wall_s": 0.0}
            view = dataclasses.replace(sweep, points=(Point(0, p.written, p.key),),
                                       columns={a.column: (a.si(v),) for a, v in zip(sweep.axes, p.written,
                                                                                     strict=True)})
            pt = view.points[0]
            write_series(out, [r])
            write_parts(out, view, [(pt, r)])
            rec = row(view, pt, r)
            known[p.key] = rec
            tell(number, trial_id, rec)
            report(dash)
            fill()
    finally:
        if futures:
            try:
                client.cancel(list(futures))
            except Exception:  # the client may already be closing
                pass
        client.close()
        if cluster is not None:
            cluster.close()


def _result(sweep: Sweep, opt: Optimise, df, out: Path) -> OptimiseResult:
    """The best feasible trial, its binding constraint and the Pareto set, from the results table."""
    import numpy as np

    from twin.sweep.pareto import better_high, eligible_rows, numeric_values, pareto_mask

    ok = eligible_rows(df)
    obj = numeric_values(df[opt.objective]) if len(df) else np.array([])
    ok &= ~np.isnan(obj)
    best = None
    binding = None
    slack: dict[str, float | None] = {}
    blocked: dict[str, int] = {}
    pareto_df = df.iloc[0:0]
    if ok.any():
        sign = -1.0 if opt.maximise else 1.0
        idx = np.flatnonzero(ok)
        i = int(idx[np.argmin(sign * obj[idx])])  # the first of equals: the earliest trial
        best = {k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else
                    v.item() if hasattr(v, "item") else v) for k, v in df.iloc[i].to_dict().items()}
        kpis = {k: best.get(k) for k in sweep.kpis}
        slack = {c.text: relative_slack(c, kpis) for c in sweep.constraints}
        numeric = {k: v for k, v in slack.items() if v is not None}
        better = df[(df["status"] == "ok") & (sign * obj <= sign * obj[i])]
        for c in sweep.constraints:
            n = int((~better[c.column].astype(bool)).sum()) if len(better) else 0
            if n:
                blocked[c.text] = n
        if numeric:
            binding = min(numeric, key=lambda k: numeric[k])
        elif blocked:
            binding = max(blocked, key=lambda k: blocked[k])
        cols = [opt.objective] + ([opt.pareto] if opt.pareto else [])
        vals = np.column_stack([numeric_values(df[c]) for c in cols])[idx]
        flags = [opt.maximise] + ([better_high(opt.pareto)] if opt.pareto else [])
        front = idx[pareto_mask(vals, flags)]
        pareto_df = df.iloc[front].sort_values(opt.objective, ascending=not opt.maximise)
    edges = {}
    if best is not None:  # a best design at the end of a range: the range, not a limit, may be what binds
        for a in sweep.axes:
            if not a.values and best.get(a.column) is not None:
                span = a.high - a.low
                v = float(best[a.column])
                if v <= a.low + 0.01 * span:
                    edges[a.path] = "low"
                elif v >= a.high - 0.01 * span:
                    edges[a.path] = "high"
    return OptimiseResult(opt.objective, opt.direction, best, binding, slack, blocked, df, pareto_df,
                          opt.pareto, out / STUDY_FILE, edges)
