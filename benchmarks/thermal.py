"""Speed of the cooling models (issue 3 goals).

Run: ``python benchmarks/thermal.py`` (rewrites its section of benchmarks/README.md).

Goals on the 2-core machine: steady thermal for the ~1 GW campus under 1 s; one transient step for
all of its racks under 10 ms; one simulated hour of the ~100 MW hall at 1 s steps under 30 s.
"""

from __future__ import annotations

import platform
import resource
import time
from pathlib import Path

from readme import write_section

from twin.layout import load_layout
from twin.power.network import solve_power
from twin.thermal.failover import cooling_n_minus_1, max_ambient_c
from twin.thermal.plant import ThermalParams
from twin.thermal.steady import Ambient, solve_steady
from twin.thermal.transient import initial_state, step

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, reps: int = 1) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main() -> None:
    amb = Ambient(35.0, 0.4)
    campus = load_layout(ROOT / "layouts" / "campus-1gw.yaml")
    flow = solve_power(campus, 1.0)
    t_params = timed(lambda: ThermalParams.from_factory(campus), 3)
    p = ThermalParams.from_factory(campus)
    heat, gpu = flow.rack_input_w, flow.gpu_w
    t_steady = timed(lambda: solve_steady(p, heat, gpu, amb), 10)
    state = initial_state(p, solve_steady(p, heat, gpu, amb))
    t_step = timed(lambda: step(p, state, heat, amb, 1.0, gpu_power_w=gpu), 50)
    t_maxamb = timed(lambda: max_ambient_c(p, heat, gpu, 0.4))
    t_n1_campus = timed(lambda: cooling_n_minus_1(p, heat, gpu, amb))

    hall = load_layout(ROOT / "layouts" / "hall-100mw.yaml")
    hflow = solve_power(hall, 1.0)
    hp = ThermalParams.from_factory(hall)
    hstate = initial_state(hp, solve_steady(hp, hflow.rack_input_w, hflow.gpu_w, amb))

    def hour():
        s = hstate
        for _ in range(3600):
            s, _ = step(hp, s, hflow.rack_input_w, amb, 1.0, gpu_power_w=hflow.gpu_w)

    t0 = time.perf_counter()
    hour()
    t_hour = time.perf_counter() - t0
    t_n1_hall = timed(lambda: cooling_n_minus_1(hp, hflow.rack_input_w, hflow.gpu_w, amb))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def verdict(t: float, goal: float) -> str:
        return "met" if t < goal else "NOT met"

    rows = [
        (
            "campus-1gw (6,480 racks, 160 CDU groups, 9 loops): build parameters",
            f"{t_params * 1e3:.1f} ms",
            "",
        ),
        ("campus-1gw: steady thermal solve", f"{t_steady * 1e3:.2f} ms", f"< 1 s: {verdict(t_steady, 1.0)}"),
        (
            "campus-1gw: one transient step, all racks",
            f"{t_step * 1e3:.2f} ms",
            f"< 10 ms: {verdict(t_step, 0.01)}",
        ),
        ("campus-1gw: highest ambient without throttling (bisection)", f"{t_maxamb:.2f} s", ""),
        ("campus-1gw: cooling N-1 (identical halls/groups simulated once)", f"{t_n1_campus:.2f} s", ""),
        (
            "hall-100mw: one simulated hour at 1 s steps",
            f"{t_hour:.2f} s",
            f"< 30 s: {verdict(t_hour, 30.0)}",
        ),
        ("hall-100mw: cooling N-1", f"{t_n1_hall:.2f} s", ""),
        ("peak RSS of this benchmark process", f"{rss:.0f} MiB", ""),
    ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, CPython {platform.python_version()}, "
        "2 cores; command: `python benchmarks/thermal.py`.",
        "",
        "| case | time | goal |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
    ]
    write_section(
        "thermal",
        "## Cooling: steady, transient, N-1 (issue 3)\n\n"
        "Goals: steady thermal for the ~1 GW campus under 1 s; one transient step for all of its racks\n"
        "under 10 ms; one simulated hour of the ~100 MW hall at 1 s steps under 30 s.",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
