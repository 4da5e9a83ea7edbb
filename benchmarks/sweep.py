"""Sweep speed (issue 16 goals): overhead per scenario, and 1,000 steady points of the ~100 MW hall.

Run: ``python benchmarks/sweep.py`` (rewrites its section of benchmarks/README.md; ``--quick`` runs
100 hall points and leaves the README alone).

Goals on the 2-core machine: overhead per scenario under 50 ms beyond the scenario's own run; 1,000
steady-state scenarios of the ~100 MW hall in under 2 minutes; the scaling from 1 to 2 workers
recorded. Each case is ``twin.sweep.run`` on an embedded LocalCluster into a fresh folder.

- *start*: creating the cluster (processes); *sweep*: from then to the returned table (every task,
  part and the table; the workers' first import and load of the base included).
- *own run*: the scenario's physics alone, ``twin.evaluate`` of the loaded factory, timed here in
  one process (median of several); *in worker*: the rows' ``wall_s`` (building the point's layout
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
base, parts, the table). *Own run* is `twin.evaluate` of the loaded factory alone, timed in one
process; *in worker* the rows' `wall_s` (the point's layout built from the cached base, checked,
expanded, evaluated, KPIs). Overhead per scenario = sweep x workers / scenarios - own run. *Load* is
the machine's 1-minute load average around the case (above 2, other processes shared the two cores
and every time is longer than on an idle machine)."""


def _own_run_s(layout: Path, n_minus_1: bool, repeat: int) -> float:
    """Median seconds of ``twin.evaluate`` of the loaded layout (the scenario's own run)."""
    from twin.engine.steady import evaluate
    from twin.layout import load_layout

    factory = load_layout(layout)
    evaluate(factory, with_n_minus_1=n_minus_1)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        evaluate(factory, with_n_minus_1=n_minus_1)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _sweep(text: str, workers: int) -> dict:
    import twin.sweep
    from twin.sweep.runner import Progress

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "bench.yaml"
        spec.write_text(text)
        marks: dict[str, float] = {}

        def progress(p: Progress) -> None:
            if p.message:
                marks.setdefault("start", time.perf_counter())

        t0 = time.perf_counter()
        df = twin.sweep.run(spec, Path(tmp) / "out", workers=workers, progress=progress)
        t1 = time.perf_counter()
        parts = len(list((Path(tmp) / "out" / "parts").glob("*.parquet")))
    assert (df["status"] == "ok").all(), df.loc[df["status"] != "ok", "error"].iloc[0]
    return {"n": len(df), "start_s": marks["start"] - t0, "sweep_s": t1 - marks["start"], "total_s": t1 - t0,
            "worker_s": float(df["wall_s"].mean()), "parts": parts}


def main() -> None:
    quick = "--quick" in sys.argv
    n_hall = 100 if quick else 1000
    cases = [
        ("pod, 24 points, both N-1", POD_SPEC.format(base=POD), POD, True, None),
        (f"hall, {n_hall} steady points, no N-1", HALL_SPEC.format(base=HALL, n=n_hall), HALL, False,
         "< 2 min"),
    ]
    rows = []
    for name, text, layout, n1, goal in cases:
        own = _own_run_s(layout, n1, 3 if n1 else 9)
        for workers in (1, 2):
            load0 = os.getloadavg()[0]
            r = _sweep(text, workers)
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
