"""Speed and memory of the coupled twin (issue 12 goals).

Run: ``python benchmarks/coupled.py`` (rewrites its section of benchmarks/README.md).

Goals on the 2-core machine: 24 simulated hours of the ~100 MW hall, coupled, at 1 s physics steps
and 10 s serving epochs, in under 60 s (>= 1,440 simulated s per wall-second) with memory flat and
under 2 GiB; the ~1 GW campus over its weather year (8,760 hourly points) in under 60 s; one steady
coupled point of the campus in under 2 s after loading. Each case runs ``twin simulate`` in a fresh
process: "process" is what a user waits for (interpreter, imports, loading and checking the
scenario, the run, writing JSON), "run" the simulation alone (``wall_s`` in the JSON).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from readme import write_section

ROOT = Path(__file__).resolve().parents[1]

HALL_DAY = f"""
name: bench-hall-day
layout: {ROOT}/layouts/hall-100mw.yaml
run: {{duration: 24 h, physics_step: 1 s, serving_epoch: 10 s}}
deployments:
  - name: chat
    racks: {{hall: hall}}
    model: llama-3.1-70b
    precision: fp8
    tp: 8
    workload:
      rate: 60000
      hourly: [0.4, 0.35, 0.3, 0.3, 0.35, 0.45, 0.6, 0.8, 1.0, 1.15, 1.25, 1.3,
               1.35, 1.4, 1.4, 1.35, 1.3, 1.25, 1.2, 1.1, 1.0, 0.85, 0.7, 0.55]
      input_tokens: 2048
      output_tokens: 256
weather:
  design_day: {{min_dry_bulb: 24 degC, max_dry_bulb: 38 degC, relative_humidity: 35 %}}
events:
  - {{at: "14:00", trip: hall/cdu-group-03/cdu}}
  - {{at: "16:00", restore: hall/cdu-group-03/cdu}}
"""

GOALS = {"hall, 24 h at 1 s / 10 s": 60.0, "campus, weather year (8,760 h)": 60.0}
MEMORY_GOAL = 2 * 1024**3


def run_case(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(out)], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr)
        rss = int(proc.stderr.rsplit("RSS ", 1)[1].split()[0]) * 1024
        data = json.loads(out.read_text())
    return {"process_s": wall, "run_s": data["wall_s"], "duration_s": data["duration_s"], "rss": rss,
            "invariants": all(data["invariants"].values())}


#: the `twin simulate` command in a child process that reports its own peak memory
CHILD = """
import resource, sys
from twin.cli import main
try:
    main(["simulate", sys.argv[1], "--json", sys.argv[2], "--no-reference"], standalone_mode=False)
finally:
    print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hall = Path(tmp) / "hall-day.yaml"
        hall.write_text(HALL_DAY)
        cases = [("hall, 24 h at 1 s / 10 s", hall),
                 ("campus, weather year (8,760 h)", ROOT / "scenarios" / "campus-year.yaml")]
        for name, path in cases:
            r = run_case(path)
            goal = GOALS[name]
            ok = r["process_s"] < goal and r["rss"] < MEMORY_GOAL
            rows.append(f"| {name} | {r['duration_s'] / 3600:.0f} h | {r['process_s']:.1f} | "
                        f"{r['run_s']:.1f} | {r['duration_s'] / r['run_s']:,.0f} | {r['rss'] / 2**20:.0f} | "
                        f"{'all hold' if r['invariants'] else 'FAILED'} | < {goal:.0f} s, < 2 GiB: "
                        f"{'met' if ok else 'missed'} |")
    # the steady coupled point of the campus, in-process after loading
    from twin.engine.coupled import steady_point
    from twin.engine.scenario import load_scenario

    prep = load_scenario(ROOT / "scenarios" / "campus-year.yaml")
    steady_point(prep)
    t0 = time.perf_counter()
    steady_point(prep)
    t_steady = time.perf_counter() - t0
    rows.append(f"| campus, one steady coupled point | - | - | {t_steady:.2f} | - | - | - | "
                f"< 2 s after load: {'met' if t_steady < 2 else 'missed'} |")
    head = (f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, CPython "
            f"{platform.python_version()}, 2 cores; command: `python benchmarks/coupled.py`.\n\n"
            "| case | simulated | process [s] | run [s] | simulated s per wall s | peak RSS [MiB] | "
            "invariants | goal |\n|---|---|---|---|---|---|---|---|")
    write_section("coupled-results", INTRO, head + "\n" + "\n".join(rows))


INTRO = """## Coupled twin: serving, power, cooling and throttling in time (issue 12)

Goals on the 2-core machine: 24 simulated hours of the ~100 MW hall, coupled (6,480 fluid-served
replicas, 720 racks' power through the tree, the hall's cooling transient, a CDU failure 14:00-16:00),
at 1 s physics steps and 10 s serving epochs, in under 60 s with memory under 2 GiB (ExaDigiT's
RAPS, the anchor, simulates Frontier's power alone at ~145 simulated s per wall-second, its memory
growing ~1 GB per simulated hour); the ~1 GW campus over the weather year in under 60 s; one steady
coupled point of the campus in under 2 s after loading. Process time is the whole `twin simulate`
command (start-up, loading and checking the scenario, the run, JSON); run time the simulation alone.
Step records are preallocated, so memory does not grow with simulated time."""

if __name__ == "__main__":
    main()
