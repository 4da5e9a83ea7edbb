"""Speed and memory of loading, evaluating and N-1 on the shipped layouts.

Run: ``python benchmarks/run.py`` (writes the table into benchmarks/README.md between markers).
Each measurement runs in a fresh subprocess so peak memory (ru_maxrss) belongs to that case alone.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from readme import write_section

ROOT = Path(__file__).resolve().parents[1]

CASE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from twin.layout import load_layout
from twin.power.network import solve_power
from twin.power.failover import n_minus_1
t_import = time.perf_counter() - t0
path, do_n1 = sys.argv[1], sys.argv[2] == "1"
t0 = time.perf_counter(); f = load_layout(path); t_load = time.perf_counter() - t0
solve_power(f, 1.0)  # warm caches
reps = 5
t0 = time.perf_counter()
for _ in range(reps):
    solve_power(f, 1.0)
t_eval = (time.perf_counter() - t0) / reps
from twin.engine.steady import evaluate
t0 = time.perf_counter(); evaluate(f, 1.0, with_n_minus_1=False); t_full = time.perf_counter() - t0
t_n1, cases = None, None
if do_n1:
    t0 = time.perf_counter(); _, c = n_minus_1(f, 1.0); t_n1 = time.perf_counter() - t0; cases = len(c)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(racks=f.num_racks, gpus=f.num_gpus, nodes=len(f.power), t_import=t_import,
                      t_load=t_load, t_eval=t_eval, t_full=t_full, t_n1=t_n1, cases=cases, rss=rss)))
"""

GOALS = {
    "campus-1gw": {"t_load": 3.0, "t_eval": 1.0},
    "hall-100mw": {"t_n1": 5.0},
}
MEMORY_GOAL = 1024**3


def measure(layout: str, n1: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CASE, f"layouts/{layout}.yaml", "1" if n1 else "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = []
    for layout in ["rack-nvl72", "pod-8x-nvl72", "hall-100mw", "campus-1gw"]:
        r = measure(layout, n1=True)
        rows.append((layout, r))
        print(layout, r, file=sys.stderr)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, 2 cores; command: `python benchmarks/run.py`.",
        "",
        "| layout | racks | power nodes | load [s] | power solve [ms] | full evaluate [ms] | N-1 cases "
        "| N-1 [s] "
        "| peak RSS [MiB] | goals |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for layout, r in rows:
        goals = []
        for key, limit in GOALS.get(layout, {}).items():
            label = {"t_load": "load < 3 s", "t_eval": "evaluate < 1 s", "t_n1": "N-1 < 5 s"}[key]
            goals.append(f"{label}: {'met' if r[key] < limit else 'NOT met'}")
        goals.append(f"memory < 1 GiB: {'met' if r['rss'] < MEMORY_GOAL else 'NOT met'}")
        lines.append(
            f"| {layout} | {r['racks']} | {r['nodes']} | {r['t_load']:.2f} | {r['t_eval'] * 1e3:.1f} | "
            f"{r['t_full'] * 1e3:.0f} | "
            f"{r['cases']} | {r['t_n1']:.2f} | {r['rss'] / 2**20:.0f} | {'; '.join(goals)} |"
        )
    write_section("results", "## Power: load, evaluate, N-1 (issue 2)", "\n".join(lines))


if __name__ == "__main__":
    main()
