"""Speed of the AI grid (issue 19): the shipped example, in process and as the `twin grid` process.

Run: ``python benchmarks/grid.py`` (rewrites its section of benchmarks/README.md). Goal: the shipped
grid (13 sites, 6 regions, 12 flows) placed and served in under 10 s on a 2-core machine, so a sweep
of a few dozen designs stays within minutes. In-process time is ``twin.grid.simulate`` alone (imports
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
]
GOAL_S = 10.0


def main() -> None:
    import twin.grid

    rows = []
    for rel, policy in CASES:
        path = ROOT / rel
        t = []
        for _ in range(3):
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
        rows.append(
            f"| `{rel}` | {policy} | {len(res.sites)} / {len(res.regions)} | {inproc:.2f} | {proc:.2f} | "
            f"< {GOAL_S:g} s: {'met' if proc < GOAL_S else 'NOT met'} |"
        )
    table = (
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, CPython {platform.python_version()}, "
        "2 cores; command: `python benchmarks/grid.py`.\n\n"
        "| grid | policy | sites / regions | in-process [s] | process [s] | goal |\n"
        "|---|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    write_section(
        "grid",
        "## AI grid: placement and serving of a grid scenario (issue 19)\n\n"
        "Goal: the shipped grid placed and served in under 10 s as a process. Run with "
        "`python benchmarks/grid.py`.",
        table,
    )


if __name__ == "__main__":
    main()
