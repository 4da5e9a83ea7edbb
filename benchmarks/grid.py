"""Speed of the AI grid (issue 19): the shipped example, in process and as the `twin grid` process.

Run: ``python benchmarks/grid.py`` (rewrites its section of benchmarks/README.md). Goal: the shipped
grid (13 sites, 6 regions, 12 flows) placed and served in under 10 s on a 2-core machine, so a sweep
of a few dozen designs stays within minutes; over a timeline (the shipped day, 24 hourly steps) within
5 s a step. In-process time is ``twin.grid.simulate`` alone (imports
excluded, median of 3); process time is ``twin grid FILE --json OUT`` from interpreter start.
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from readme import write_section

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "twin"
TWIN = str(EXE) if EXE.exists() else "twin"
CASES = [
    ("scenarios/grids/voice-chat.yaml", "latency"),
    ("scenarios/grids/voice-chat.yaml", "nearest"),
    ("scenarios/grids/voice-chat.yaml", "cost"),
    ("scenarios/grids/voice-chat-day.yaml", "latency"),
    ("scenarios/grids/voice-chat-day.yaml", "nearest"),
    ("scenarios/grids/backbone-agents.yaml", "latency"),
]
#: goal of a timeline, per step [s]
GOAL_STEP_S = 5.0
GOAL_S = 10.0


def main() -> None:
    import twin.grid

    rows = []
    for rel, policy in CASES:
        path = ROOT / rel
        t = []
        for _ in range(1 if "day" in rel else 3):
            t0 = time.perf_counter()
            res = twin.grid.simulate(path, policy=policy)
            t.append(time.perf_counter() - t0)
        inproc = statistics.median(t)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run(
                [TWIN, "grid", str(path), "--policy", policy, "--json", f"{tmp}/g.json"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
            proc = time.perf_counter() - t0
        steps = len(res.timeline) if res.timeline else 1
        goal = GOAL_S if steps == 1 else GOAL_STEP_S * steps
        rows.append(
            f"| `{rel}` | {policy} | {len(res.sites)} / {len(res.regions)} | {steps} | {inproc:.2f} | "
            f"{proc:.2f} | < {goal:g} s: {'met' if proc < goal else 'NOT met'} |"
        )
    table = (
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, CPython {platform.python_version()}, "
        "2 cores; command: `python benchmarks/grid.py`.\n\n"
        "| grid | policy | sites / regions | steps | in-process [s] | process [s] | goal |\n"
        "|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    write_section(
        "grid",
        "## AI grid: placement and serving of a grid scenario (issue 19)\n\n"
        "Goal: the shipped grid placed and served in under 10 s as a process, a timeline within 5 s a "
        "step (the shipped day: 24 hourly steps). Run with `python benchmarks/grid.py` (in-process: median "
        "of 3, the day once).",
        table,
    )


if __name__ == "__main__":
    main()
