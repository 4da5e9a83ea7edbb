"""Sweep overhead: a 24-point pod grid (steady, with N-1) on 1 and 2 LocalCluster workers.

Overhead per scenario = (elapsed x workers - sum of the scenarios' own wall_s) / scenarios, with the
cluster's start counted apart. Run: python benchmarks/sweep.py
"""

import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = """name: bench
base: {base}
axes:
  halls[*].cooling.facility_water.supply_temp: [28 degC, 30 degC, 32 degC, 34 degC, 36 degC, 38 degC]
  halls[*].cooling.rack_supply_temp: [40 degC, 44 degC, 48 degC, 52 degC]
kpis: [facility_power_w, pue, max_gpu_temp_c, n_minus_1_survives]
"""


def main() -> None:
    import twin.sweep
    from twin.sweep.runner import Progress

    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "bench.yaml"
            spec.write_text(SPEC.format(base=ROOT / "layouts" / "pod-8x-nvl72.yaml"))
            marks = {}

            def progress(p: Progress, marks=marks) -> None:
                marks.setdefault("start", time.perf_counter()) if p.message else None

            t0 = time.perf_counter()
            df = twin.sweep.run(spec, Path(tmp) / "out", workers=workers, progress=progress)
            t1 = time.perf_counter()
            start = marks["start"] - t0
            elapsed = t1 - marks["start"]
            n = len(df)
            overhead = (elapsed * workers - df["wall_s"].sum()) / n
            print(f"{workers} worker(s): {n} scenarios, cluster start {start:.1f} s, then {elapsed:.1f} s "
                  f"({n / elapsed:.2f} scenarios/s); mean scenario {df['wall_s'].mean() * 1e3:.0f} ms; "
                  f"overhead {overhead * 1e3:.0f} ms per scenario (worker warm-up included)")


if __name__ == "__main__":
    main()
