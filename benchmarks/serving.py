"""Speed and memory of the serving simulator (issue 5 goals).

Run: ``python benchmarks/serving.py`` (rewrites its section of benchmarks/README.md).

Anchor: Vidur simulated ~140 requests per wall-second (~97 events per request, 0.7 GB peak) for one
7B replica, conversation-trace lengths (mean 1,147 prompt / 211 output tokens), Poisson 2 req/s,
Sarathi chunk 512, batch cap 128, on a 2-core machine. Goals: >= 7,000 simulated requests per
wall-second on the same kind of workload, < 1 GiB peak for 100,000 requests; the fluid mode
evaluates 10,000 replicas at one load point in < 50 ms. Each case runs in a fresh subprocess so its
peak memory (ru_maxrss) is its own.
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
import numpy as np
from twin.layout.records import lookup_specs
from twin.serving.discrete import simulate_discrete
from twin.serving.fluid import FluidModel
from twin.serving.metrics import summarize
from twin.serving.perf_model import PerfModel
from twin.serving.specs import Deployment
from twin.serving.workload import LengthDist, Workload

kind, replicas, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# a 7B-class replica (Llama-3.1-8B, BF16, one H100), Sarathi-style: chunk 512, batch cap 128, vLLM KV
m, h = lookup_specs("hgx-h100", "llama-3.1-8b")
spec = None
if kind == "speculative":     # EAGLE drafting 3 tokens at acceptance 0.7 (issue 18)
    from twin.records import Speculation
    spec = Speculation("eagle", 3, (0.7,))
pm = PerfModel(m, h, Deployment(tp=1, precision="bf16", max_batch=128, max_num_tokens=512,
                                scheduler="vllm", speculative=spec))
if kind in ("discrete", "speculative", "host"):
    rate = 2.0 * replicas
    wl = Workload(rate_per_s=rate, duration_s=n / rate, num_requests=n,
                  input_len=LengthDist("lognormal", (1147.0, 1000.0), 16384),
                  output_len=LengthDist("lognormal", (211.0, 200.0), 4096))
    t0 = time.perf_counter()
    reqs = wl.generate(np.random.default_rng(0))
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    if kind == "host":        # the CPU front end first (14 cores per GPU, issue 18), then the replicas
        import dataclasses
        from twin.serving.host import HostPath, frontend_schedule
        fe = frontend_schedule(reqs.arrival_s, reqs.input_tokens, reqs.output_tokens,
                               HostPath(cores=14 * replicas))
        order = np.argsort(fe.ready_s, kind="stable")
        reqs = dataclasses.replace(reqs, arrival_s=fe.ready_s[order], input_tokens=reqs.input_tokens[order],
                                   output_tokens=reqs.output_tokens[order])
    res = simulate_discrete(pm, reqs, replicas)
    t_sim = time.perf_counter() - t0
    s = summarize(res.requests, replicas)
    out = {"requests": len(reqs), "sim_s": float(np.nanmax(res.requests.completed_s)), "wall_s": t_sim,
           "gen_s": t_gen, "events": res.num_events, "iterations": res.num_iterations,
           "completed": s["num_completed"], "mean_in": float(reqs.input_tokens.mean()),
           "mean_out": float(reqs.output_tokens.mean())}
else:
    fm = FluidModel(pm)
    rng = np.random.default_rng(0)
    same = np.full(replicas, 2.0)
    varied = rng.uniform(0.5, 6.0, replicas)
    clock = rng.uniform(0.6, 1.0, replicas)
    fm.curve(same, 1147.0, 211.0)
    t = []
    for rates, f in ((same, 1.0), (varied, clock)):
        best = 1e9
        for _ in range(5):
            t0 = time.perf_counter(); fm.curve(rates, 1147.0, 211.0, clock_factor=f)
            best = min(best, time.perf_counter() - t0)
        t.append(best)
    out = {"same_ms": t[0] * 1e3, "varied_ms": t[1] * 1e3}
out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def run(kind: str, replicas: int, n: int = 0) -> dict:
    res = subprocess.run([sys.executable, "-c", CASE, kind, str(replicas), str(n)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = []
    for kind, replicas, label in (("discrete", 1, ""), ("discrete", 64, ""),
                                  ("speculative", 1, ", EAGLE 3 drafts at 0.7"),
                                  ("host", 1, ", with the CPU front end (14 cores)")):
        r = run(kind, replicas, 100_000)
        req_s = r["requests"] / r["wall_s"]
        goals = [f"≥ 7,000 req/s: {'met' if req_s >= 7000 else 'NOT met'}",
                 f"< 1 GiB: {'met' if r['rss'] < 2**30 else 'NOT met'}"]
        rows.append(
            f"| discrete, {replicas} replica{'s' if replicas > 1 else ''}, Poisson {2 * replicas} req/s"
            f"{label} | "
            f"{r['requests']:,} (mean {r['mean_in']:.0f} / {r['mean_out']:.0f} tok) | {r['wall_s']:.2f} | "
            f"{req_s:,.0f} | {r['sim_s'] / r['wall_s']:,.0f} | {r['events'] / r['requests']:.1f} | "
            f"{r['iterations'] / r['requests']:.1f} | {r['rss'] / 2**20:.0f} | {'; '.join(goals)} |")
    f = run("fluid", 10_000)
    for label, ms in (("one load point (all alike)", f["same_ms"]),
                      ("each its own rate and clock factor", f["varied_ms"])):
        rows.append(f"| fluid, 10,000 replicas, {label} | – | {ms / 1e3:.4f} | – | – | – | – | "
                    f"{f['rss'] / 2**20:.0f} | < 50 ms: {'met' if ms < 50 else 'NOT met'} |")
    table = (
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, CPython {platform.python_version()}, "
        f"2 cores; command: `python benchmarks/serving.py`. Wall time is the simulation alone (drawing the "
        "requests is excluded); peak RSS includes Python, numpy, simpy and pandas (kernel tables).\n\n"
        "| case | requests | wall [s] | simulated req / wall s | simulated s / wall s | events / request | "
        "iterations / request | peak RSS [MiB] | goals |\n|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows))
    write_section(
        "serving",
        "## Serving: discrete and fluid simulation (issue 5)\n\n"
        "Vidur (anchor): ~140 simulated requests per wall-second, ~97 events per request, 0.7 GB, one 7B "
        "replica, mean 1,147 / 211 tokens, Poisson 2 req/s, chunk 512, batch cap 128. Goals: ≥ 7,000 "
        "req/s (50×), < 1 GiB for 100,000 requests; fluid mode 10,000 replicas at one load point < 50 ms. "
        "Workload here: Llama-3.1-8B BF16 on one H100 per replica, lognormal lengths (mean 1,147 / 211, "
        "std 1,000 / 200), vLLM/Sarathi scheduler, chunk 512, batch cap 128. Run with "
        "`python benchmarks/serving.py`.",
        table,
    )


if __name__ == "__main__":
    main()
