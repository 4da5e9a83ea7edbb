"""Sweep speed (issue 16 goals): overhead per scenario, and 1,000 steady points of the ~100 MW hall.

Run: ``python benchmarks/sweep.py`` (rewrites its section of benchmarks/README.md; ``--quick`` runs
100 hall points and leaves the README alone).

Goals on the 2-core machine: overhead per scenario under 50 ms beyond the scenario's own run; 1,000
steady-state scenarios of the ~100 MW hall in under 2 minutes; the scaling from 1 to 2 workers
recorded. Each case is ``twin.sweep.run`` on an embedded LocalCluster into a fresh folder.

- *start*: creating the cluster (processes); *sweep*: from then to the returned table (every task,
  part and the table; the workers' first import and load of the base included).
- *own run*: the scenarios' physics alone, ``twin.evaluate`` of each point's factory (every point
  of the pod, every 20th of the hall), timed here in one process, the mean; *in worker*: the rows'
  ``wall_s`` (building the point's layout
  from the cached base, checking, expanding, evaluating, KPIs).
- *overhead per scenario* = sweep x workers / scenarios - own run: everything a sweep adds per
  scenario on each worker's core (building the layout, scheduling, transfers, parts, the table).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from readme import write_section

ROOT = Path(__file__).resolve().parents[1]
POD = ROOT / "layouts" / "pod-8x-nvl72.yaml"
HALL = ROOT / "layouts" / "hall-100mw.yaml"

POD_SPEC = """name: bench-pod
base: {base}
axes:
  halls[*].cooling.facility_water.supply_temp: [28 degC, 30 degC, 32 degC, 34 degC, 36 degC, 38 degC]
  halls[*].cooling.rack_supply_temp: [40 degC, 44 degC, 48 degC, 52 degC]
kpis: [facility_power_w, pue, max_gpu_temp_c, n_minus_1_survives]
"""
HALL_SPEC = """name: bench-hall
base: {base}
n_minus_1: false
seed: 1
axes:
  halls[*].cooling.facility_water.supply_temp: {{low: 28 degC, high: 36 degC}}
  halls[*].cooling.rack_supply_temp: {{low: 38 degC, high: 46 degC}}
sample: {{method: lhs, n: {n}}}
kpis: [facility_power_w, pue, max_gpu_temp_c, min_throttle_margin_k]
constraints: [max_gpu_temp_c < 85]
"""

INTRO = """## Sweeps: overhead per scenario, 1,000 hall points, 1 vs 2 workers (issue 16)

Goals on the 2-core machine: overhead per scenario under 50 ms beyond the scenario's own run; 1,000
steady-state scenarios of the ~100 MW hall in under 2 minutes; the scaling from 1 to 2 workers. Each
case is `twin.sweep.run` on an embedded LocalCluster (processes, one thread each) into a new folder.
*Start* is creating the cluster; *sweep* the rest (tasks, the workers' first import and load of the
base, parts, the table). *Own run* is the mean of `twin.evaluate` alone over the sweep's points
(each point's factory built first; every point of the pod, every 20th of the hall), timed in one
process; *in worker* the rows' `wall_s` (the point's layout built from the cached base, checked,
expanded, evaluated, KPIs). Overhead per scenario = sweep x workers / scenarios - own run. *Load* is
the machine's 1-minute load average around the case (above 2, other processes shared the two cores
and every time is longer than on an idle machine). The hall case samples new temperatures (a Latin
hypercube of water and rack supply) with an empty property cache of its own: each worker imports
CoolProp (~2.5 s) and misses a few properties per point, the worst case for a sweep."""


def _own_run_s(text: str, n_minus_1: bool, every: int) -> float:
    """Mean seconds of ``twin.evaluate`` alone over the sweep's points (every ``every``-th), in this process.

    Each point's factory is built first (untimed) and evaluated once untimed (its properties
    cached), then timed: the scenario's own run, without anything a sweep adds.
    """
    from twin.engine.steady import evaluate
    from twin.layout.expand import expand
    from twin.layout.problems import validate_marked
    from twin.layout.schema import Layout
    from twin.sweep import load_sweep
    from twin.sweep.paths import assigned
    from twin.sweep.runner import _assignments
    from twin.sweep.worker import _base

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "own.yaml"
        spec.write_text(text)
        sw = load_sweep(spec)
    job = sw.job()
    base = _base(job)
    times = []
    for p in sw.points[::every]:
        data = assigned(base["marked"], [(tuple(loc), v) for _, loc, v in _assignments(sw, p)])
        factory, _ = expand(validate_marked(Layout, data, job["base"]), base["catalog"], job["base"], data)
        evaluate(factory, with_n_minus_1=n_minus_1)
        t0 = time.perf_counter()
        evaluate(factory, with_n_minus_1=n_minus_1)
        times.append(time.perf_counter() - t0)
    return statistics.mean(times)


def _sweep(text: str, workers: int, cold: bool) -> dict:
    import twin.sweep
    from twin.sweep.runner import Progress

    with tempfile.TemporaryDirectory() as tmp:
        if cold:  # an empty property cache of the case's own, which the workers inherit
            os.environ["TWIN_CACHE_DIR"] = str(Path(tmp) / "cache")
        spec = Path(tmp) / "bench.yaml"
        spec.write_text(text)
        marks: dict[str, float] = {}

        def progress(p: Progress) -> None:
            if p.message:
                marks.setdefault("start", time.perf_counter())

        t0 = time.perf_counter()
        try:
            df = twin.sweep.run(spec, Path(tmp) / "out", workers=workers, progress=progress)
        finally:
            if cold:
                os.environ.pop("TWIN_CACHE_DIR", None)
        t1 = time.perf_counter()
        parts = len(list((Path(tmp) / "out" / "parts").glob("*.parquet")))
    assert (df["status"] == "ok").all(), df.loc[df["status"] != "ok", "error"].iloc[0]
    return {"n": len(df), "start_s": marks["start"] - t0, "sweep_s": t1 - marks["start"], "total_s": t1 - t0,
            "worker_s": float(df["wall_s"].mean()), "parts": parts}


def main() -> None:
    quick = "--quick" in sys.argv
    n_hall = 100 if quick else 1000
    cases = [
        ("pod, 24 points, both N-1", POD_SPEC.format(base=POD), True, None),
        (f"hall, {n_hall} steady points, no N-1, cold property cache", HALL_SPEC.format(base=HALL, n=n_hall),
         False, "< 2 min"),
    ]
    rows = []
    for name, text, n1, goal in cases:
        own = _own_run_s(text, n1, 1 if n1 else 20)
        for workers in (1, 2):
            load0 = os.getloadavg()[0]
            r = _sweep(text, workers, cold=not n1)
            load = max(load0, os.getloadavg()[0])
            per = r["sweep_s"] * workers / r["n"]
            overhead = per - own
            rate = r["n"] / r["sweep_s"]
            verdict = [f"overhead < 50 ms: {'met' if overhead < 0.05 else 'NOT met'}"]
            if goal:
                verdict.append(f"{goal}: {'met' if r['total_s'] < 120 else 'NOT met'}")
            rows.append(f"| {name} | {workers} | {r['start_s']:.1f} | {r['sweep_s']:.1f} | "
                        f"{r['total_s']:.1f} | {rate:.1f} | {own * 1e3:.0f} | {r['worker_s'] * 1e3:.0f} | "
                        f"{overhead * 1e3:.0f} | {r['parts']} | {load:.1f} | {'; '.join(verdict)} |")
            print(rows[-1], flush=True)
    head = (f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, CPython "
            f"{platform.python_version()}, 2 cores; command: `python benchmarks/sweep.py`.\n\n"
            "| case | workers | start [s] | sweep [s] | total [s] | scenarios/s | own run [ms] | in worker "
            "[ms] | overhead per scenario [ms] | parts | load | goals |\n" + "|---" * 12 + "|")
    if quick:
        print(head + "\n" + "\n".join(rows))
    else:
        write_section("sweep", INTRO, head + "\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
