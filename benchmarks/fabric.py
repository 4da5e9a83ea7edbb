"""Speed and memory of building the fabric of the shipped layouts (issue 4).

Run: ``python benchmarks/fabric.py`` (writes its table into benchmarks/README.md between the
``fabric-results`` markers). Each layout runs in a fresh subprocess: the layout is loaded first
(not timed here, see benchmarks/run.py), then ``build_fabric`` + ``summary()`` are timed, then the
networkx graph of the largest cluster and a max-flow across its bisection. Peak memory is the
process's ru_maxrss (load included) and tracemalloc's peak during the build alone.
Goal: the ~1 GW campus fabric built in under 5 s and under 2 GiB.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from readme import write_section

ROOT = Path(__file__).resolve().parents[1]

CASE = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
import networkx  # imported where first used by the twin; loaded here so "graph [ms]" is the build alone
from twin.layout import load_layout
from twin.fabric import build_fabric, max_flow_bytes_s
f = load_layout(sys.argv[1])
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
t0 = time.perf_counter(); fab = build_fabric(f); s = fab.summary(); t_build = time.perf_counter() - t0
_, traced_peak = tracemalloc.get_traced_memory(); tracemalloc.stop()
big = int(np.argmax(fab.clusters["num_nics"]))
t0 = time.perf_counter(); g = fab.graph(big); t_graph = time.perf_counter() - t0
blocks = [n for n, k in g.nodes(data="kind") if k == "block"]
blocks.sort(key=lambda n: int(n.rsplit("block")[1]))
h = len(blocks) // 2
t0 = time.perf_counter()
flow = max_flow_bytes_s(g, blocks[:h], blocks[h:]) if h else float("nan")
t_flow = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(racks=f.num_racks, gpus=f.num_gpus, clusters=fab.num_clusters,
    switches=s["num_leaf_switches"] + s["num_spine_switches"] + s["num_superspine_switches"],
    t_build=t_build, traced_peak=traced_peak,
    graph_nodes=g.number_of_nodes(), graph_edges=g.number_of_edges(),
    t_graph=t_graph, t_flow=t_flow, flow=flow,
    bisection=float(fab.bisection_bandwidth_bytes_s()[big]) / fab.num_planes,
    rss_loaded=rss_loaded, rss=rss)))
"""

BUILD_GOAL_S = 5.0
MEMORY_GOAL = 2 * 1024**3


def measure(layout: str) -> dict:
    cmd = [sys.executable, "-c", CASE, f"layouts/{layout}.yaml"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = []
    for layout in ["rack-nvl72", "pod-8x-nvl72", "hall-100mw", "campus-1gw"]:
        r = measure(layout)
        rows.append((layout, r))
        print(layout, r, file=sys.stderr)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores; command: `python benchmarks/fabric.py`. "
        "Build = `build_fabric` + `summary()`; graph and max-flow are for the largest cluster (one plane).",
        "",
        "| layout | racks | GPUs | clusters | switches | build [ms] | build alloc peak [MiB] "
        "| graph nodes / edges | graph [ms] | max-flow [ms] | max-flow = bisection "
        "| peak RSS [MiB] | goals |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for layout, r in rows:
        ok_t = r["t_build"] < BUILD_GOAL_S
        ok_m = r["rss"] < MEMORY_GOAL
        if r["flow"] != r["flow"]:  # NaN: a single block, nothing to cut
            same = "n/a (one block)"
        elif abs(r["flow"] - r["bisection"]) <= 1e-9 * r["bisection"]:
            same = "yes"
        else:
            same = f"cut at a block boundary, halves unequal: {r['flow'] / r['bisection']:.3f}"
        lines.append(
            f"| {layout} | {r['racks']} | {r['gpus']} | {r['clusters']} | {r['switches']} | "
            f"{r['t_build'] * 1e3:.1f} | {r['traced_peak'] / 2**20:.1f} | "
            f"{r['graph_nodes']} / {r['graph_edges']} | "
            f"{r['t_graph'] * 1e3:.0f} | {r['t_flow'] * 1e3:.0f} | {same} | "
            f"{r['rss'] / 2**20:.0f} | build < 5 s: {'met' if ok_t else 'NOT met'}; "
            f"memory < 2 GiB: {'met' if ok_m else 'NOT met'} |"
        )
    write_section(
        "fabric-results",
        "## Fabric: build the NVLink and Spectrum-X fabric (issue 4)\n\n"
        "Goal: the ~1 GW campus fabric (~440 k GPUs) built in under 5 s and under 2 GiB, without a node\n"
        "per GPU (the graph has one node per node block, leaf, spine or pod and core). Run with\n"
        "`python benchmarks/fabric.py`.",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
