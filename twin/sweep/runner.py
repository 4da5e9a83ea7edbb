"""Run a sweep on dask.distributed: an embedded ``LocalCluster`` by default, or an existing cluster.

The client submits batches of points to the workers (:func:`twin.sweep.worker.run_batch`): each
worker's first task has :data:`PROBE` points; then tasks are sized from the points' median time so
that each runs at least :data:`MIN_TASK_S` (the scheduler's ~1 ms per task and the part written per
task stay small), and :data:`IN_FLIGHT` are kept per worker. As each batch returns, the client
writes its scenarios as one part (:mod:`twin.sweep.results`); when the run ends, or is
interrupted, ``results.parquet`` is rebuilt from the parts. Points already in the folder are not
computed again. Dask is imported here only.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twin.sweep.results import assemble, done_keys, prepare_dir, write_parts, write_series
from twin.sweep.spec import Sweep, load_sweep

#: Shortest run time a task should have (the scheduler's ~1 ms and a part's write per task stay small). [s]
MIN_TASK_S = 0.25
#: Largest batch (points per task).
MAX_BATCH = 256
#: Points of each worker's first task.
PROBE = 2
#: Tasks kept in flight per worker.
IN_FLIGHT = 3


def batch_size(times: list[float], left: int, n_workers: int) -> int:
    """Points per task: enough for :data:`MIN_TASK_S` at the median point time seen.

    Never so many that fewer than :data:`IN_FLIGHT` tasks per worker are left; one while nothing is
    timed yet.
    """
    if not times:
        return 1
    import statistics

    per = max(statistics.median(times[-200:]), 1e-3)
    return max(1, min(MAX_BATCH, math.ceil(MIN_TASK_S / per), math.ceil(left / (IN_FLIGHT * n_workers))))


@dataclass(frozen=True)
class Progress:
    """Where a sweep stands (given to the ``progress`` callback)."""

    name: str
    done: int  # scenarios finished, including those found in the folder
    total: int
    failed: int
    resumed: int  # scenarios found already finished
    elapsed_s: float
    eta_s: float | None
    dashboard: str | None
    message: str | None = None  # a line to print once (where the cluster is, what was lost)


def _line_printer() -> Callable[[Progress], None]:
    """A progress callback writing one carriage-return line on stderr (whole lines when not a terminal)."""
    tty = sys.stderr.isatty()
    last = [0.0, -1]

    def show(p: Progress) -> None:
        if p.message:
            if tty:
                sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.write(p.message + "\n")
            sys.stderr.flush()
            return
        now = time.perf_counter()
        final = p.done >= p.total
        if now - last[0] < 0.1 and not final:
            return
        last[0] = now
        eta = f"ETA {p.eta_s:.0f} s" if p.eta_s is not None else "ETA -"
        line = (f"{p.name}: {p.done}/{p.total} done, {p.failed} failed, {p.elapsed_s:.0f} s elapsed, {eta}")
        if tty:
            sys.stderr.write("\r" + line.ljust(100) + ("\n" if final else ""))
        elif final or p.done * 10 // max(p.total, 1) != last[1]:
            sys.stderr.write(line + "\n")
            last[1] = p.done * 10 // max(p.total, 1)
        sys.stderr.flush()

    return show


def _client(scheduler: str | None, workers: int | None):
    """(client, cluster or None): an existing cluster at ``scheduler``, else a new LocalCluster."""
    import logging

    from dask.distributed import Client, LocalCluster

    addr = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if addr:
        client = Client(addr, timeout="30s")
        client.wait_for_workers(1, timeout=60)
        return client, None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           scheduler_port=0, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _dashboard(client) -> str | None:
    try:
        services = client.scheduler_info().get("services", {})
        return client.dashboard_link if "dashboard" in services else None
    except Exception:  # no dashboard is no reason to stop
        return None


def run(spec: str | Path | Sweep, out_dir: str | Path, *, scheduler: str | None = None,
        workers: int | None = None, progress: Callable[[Progress], None] | bool | None = None):
    """Run a sweep into ``out_dir``; returns its results table (a ``pandas.DataFrame``).

    Parameters
    ----------
    spec : path or Sweep
        A sweep file (read with :func:`twin.sweep.spec.load_sweep`) or a loaded sweep.
    out_dir : path
        Folder of the results (created); re-running into it computes only what is missing.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:port``); default
        ``DASK_SCHEDULER_ADDRESS``, else an embedded LocalCluster.
    workers : int, optional
        Workers of the embedded LocalCluster (default: the machine's cores).
    progress : callable(Progress) or True, optional
        Called as scenarios finish; ``True`` prints a line on stderr.

    Raises
    ------
    InputError
        A sweep file with problems.
    SweepDirError
        ``out_dir`` holds another sweep.
    KeyboardInterrupt
        After writing the table of what finished.
    """
    sweep = spec if isinstance(spec, Sweep) else load_sweep(spec)
    show = _line_printer() if progress is True else progress or (lambda p: None)
    out = Path(out_dir)
    prepare_dir(out, sweep)
    have = done_keys(out)
    todo, seen = [], set(have)
    for p in sweep.points:
        if p.key not in seen:
            todo.append(p)
            seen.add(p.key)
    try:
        if todo:
            _compute(sweep, todo, have, out, scheduler, workers, show)
    finally:
        df = assemble(out, sweep)
    return df


def _assignments(sweep: Sweep, point) -> list:
    return [(a.target, loc, point.written[j]) for j, a in enumerate(sweep.axes) for loc in a.locs]


def _compute(sweep: Sweep, todo: list, have: set, out: Path, scheduler, workers, show) -> None:
    from dask.distributed import as_completed

    from twin.sweep.worker import run_batch

    count = {}
    for p in sweep.points:
        count[p.key] = count.get(p.key, 0) + 1
    total = len(sweep.points)
    resumed = sum(count[k] for k in have if k in count)
    state = {"done": resumed, "failed": 0, "computed": 0}
    t0 = time.perf_counter()
    by_key = {p.key: p for p in todo}
    job = sweep.job()
    client, cluster = _client(scheduler, workers)
    futures = []
    try:
        dash = _dashboard(client)
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        where = ("an embedded LocalCluster" if cluster is not None
                 else f"the cluster at {client.scheduler.address}")
        msg = (f"{sweep.name}: {len(todo)} scenarios to compute on {where} ({n_workers} workers)"
               + (f", {resumed} of {total} already done in {out}" if resumed else "")
               + (f"; dashboard {dash}" if dash else ""))
        show(Progress(sweep.name, resumed, total, 0, resumed, 0.0, None, dash, msg))

        ac = as_completed()

        def submit(batch):
            f = client.submit(run_batch, job, [(p.key, _assignments(sweep, p)) for p in batch], pure=False)
            futures.append(f)
            ac.add(f)
            return f

        # the first task of each worker carries PROBE points (the first point of a process pays its
        # imports and caches); then tasks are sized from the points' own times and kept
        # IN_FLIGHT per worker, so that every worker stays busy and the parts stay few
        rest = list(todo)
        times: list[float] = []
        in_flight = [0]

        def top_up() -> None:
            while rest and in_flight[0] < IN_FLIGHT * n_workers:
                size = batch_size(times, len(rest), n_workers)
                submit(rest[:size])
                del rest[:size]
                in_flight[0] += 1

        for _ in range(min(n_workers, len(todo))):
            if rest:
                submit(rest[:PROBE])
                del rest[:PROBE]
                in_flight[0] += 1
        lost: list[str] = []
        for fut in ac:
            in_flight[0] -= 1
            try:
                results = fut.result()
            except Exception as exc:  # a worker lost: its points stay missing, a re-run computes them
                lost.append(f"{type(exc).__name__}: {exc}")
                top_up()
                continue
            write_series(out, results)
            finished = [(by_key[r["key"]], r) for r in results]
            write_parts(out, sweep, finished)  # one part per task: a kill loses at most the tasks in flight
            for p, r in finished:
                state["done"] += count[p.key]
                state["computed"] += count[p.key]
                state["failed"] += count[p.key] if r["status"] != "ok" else 0
            # a task's first point may carry the process's warm-up: the others say what a point costs
            times.extend(r["wall_s"] for r in (results[1:] if len(results) > 1 else results))
            top_up()
            elapsed = time.perf_counter() - t0
            left = total - state["done"]
            eta = elapsed * left / state["computed"] if state["computed"] else None
            show(Progress(sweep.name, state["done"], total, state["failed"], resumed, elapsed, eta, dash))
        if lost:
            show(Progress(sweep.name, state["done"], total, state["failed"], resumed,
                          time.perf_counter() - t0, None, dash,
                          f"{total - state['done']} scenarios were not computed ({lost[0]}); run the sweep "
                          "again to compute them"))
    finally:
        if futures:
            try:
                client.cancel(futures)
            except Exception:  # the client may already be closing
                pass
        client.close()
        if cluster is not None:
            cluster.close()
