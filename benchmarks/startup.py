"""End-to-end process time of the commands a user types, with the heavy libraries each one loads.

Run: ``python benchmarks/startup.py`` (writes its table into benchmarks/README.md). Every command runs
as a fresh process, the way a user waits for it: interpreter start, imports and work. "warm" runs have
the CoolProp property cache filled (any earlier run fills it); "cold" runs get an empty cache folder
and so import CoolProp (~3 s of CPU with CoolProp 8). Times are the median of three runs.
"""

from __future__ import annotations

import json
import os
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

README_SERVE = ["serve-sim", "--system", "gb200-nvl72", "--gpus", "72", "--model", "llama-3.1-70b",
                "--precision", "fp8", "--tp", "8", "--rate", "50", "--input-tokens", "2048",
                "--output-tokens", "256", "--duration", "600"]

#: (label, arguments, goal [s] or None, cache: "warm" | "cold")
CASES = [
    ("twin --help", ["--help"], 0.5, "warm"),
    ("twin serve-sim (README example)", README_SERVE, 3.0, "warm"),
    ("twin evaluate (default pod, both N-1)", ["evaluate"], None, "warm"),
    ("twin evaluate layouts/campus-1gw.yaml (both N-1)", ["evaluate", "layouts/campus-1gw.yaml"], 5.0,
     "warm"),
    ("twin evaluate layouts/campus-1gw.yaml, first run (cold property cache)",
     ["evaluate", "layouts/campus-1gw.yaml"], None, "cold"),
]

#: which heavy libraries a command ends up importing (run in-process by the same entry point)
PROBE = r"""
import json, sys
from twin.cli import main
sys.argv = ["twin", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = ["CoolProp", "scipy.optimize", "pandas", "pyarrow", "networkx", "simpy", "pydantic", "pint"]
print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)
"""


def run(args: list[str], cache: str) -> float:
    env = dict(os.environ)
    tmp = None
    if cache == "cold":
        tmp = tempfile.TemporaryDirectory()
        env["TWIN_CACHE_DIR"] = tmp.name
    t0 = time.perf_counter()
    subprocess.run([TWIN, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    dt = time.perf_counter() - t0
    if tmp is not None:
        tmp.cleanup()
    return dt


def modules(args: list[str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stderr.strip().splitlines()[-1])


def main() -> None:
    run(["evaluate", "layouts/campus-1gw.yaml", "--no-n-minus-1"], "warm")  # fill the property cache
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, 2 cores; command: `python benchmarks/startup.py`. Wall time of the "
        "whole process (median of 3), imports included.",
        "",
        "| command | process wall [s] | heavy libraries imported | goal |",
        "|---|---|---|---|",
    ]
    for label, args, goal, cache in CASES:
        t = statistics.median(run(args, cache) for _ in range(3))
        mods = ", ".join(modules(args)) if cache == "warm" else "as above, plus CoolProp"
        verdict = "" if goal is None else f"< {goal:g} s: {'met' if t < goal else 'NOT met'}"
        lines.append(f"| `{label}` | {t:.2f} | {mods or 'none'} | {verdict} |")
        print(label, f"{t:.2f}", file=sys.stderr)
    write_section("startup", "## Start-up: commands end to end, as a process (issue 11)", "\n".join(lines))


if __name__ == "__main__":
    main()
