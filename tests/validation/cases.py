"""Validation cases: public measurements of shared/reference/inference-measurements.md, as setups.

Each :class:`Case` names the measured value, its source, the tolerance written next to it in the
reference ("Accuracy goal": throughput 10 %, mean TTFT/TPOT 15 %, P99 20 %, ratios 10 %), and a
``run`` that simulates the published setup and returns the prediction. Nothing here is fitted to
the measured values: no case was used to calibrate the model (see docs/validation.md).

Replicas of one system are identical and requests are routed round-robin, so a system of ``R``
replicas is simulated as one replica carrying ``1/R`` of the requests (offline) or of the rate
(server); per-GPU throughput is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from twin.layout.records import lookup_specs
from twin.serving.api import max_rate
from twin.serving.discrete import simulate_discrete
from twin.serving.metrics import RequestTimes, summarize
from twin.serving.perf_model import PerfModel
from twin.serving.shapes import Gemm
from twin.serving.specs import Deployment
from twin.serving.workload import LengthDist, Workload

TOL_THROUGHPUT, TOL_MEAN_LATENCY, TOL_P99, TOL_RATIO = 0.10, 0.15, 0.20, 0.10



def _clipped_lognormal(mean: float, std: float, max_len: int) -> LengthDist:
    """Lognormal whose mean *after* clipping at ``max_len`` is ``mean`` (coefficient of variation
    ``std/mean`` kept): the stated means are those of the dataset's samples, which never exceed the
    limit, while :class:`LengthDist` parameters are those before clipping.

    ``E[min(X, c)] = E[X] Phi((ln c - mu - s^2)/s) + c (1 - Phi((ln c - mu)/s))`` for lognormal X,
    solved for ``E[X]`` by bisection.
    """
    from math import erf, log, sqrt

    s2 = log(1.0 + (std / mean) ** 2)
    s = sqrt(s2)

    def clipped_mean(m: float) -> float:
        mu = log(m) - s2 / 2
        phi = lambda z: 0.5 * (1.0 + erf(z / sqrt(2.0)))  # noqa: E731
        return m * phi((log(max_len) - mu - s2) / s) + max_len * (1.0 - phi((log(max_len) - mu) / s))

    lo, hi = mean, 4.0 * mean
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if clipped_mean(mid) < mean else (lo, mid)
    m = 0.5 * (lo + hi)
    return LengthDist("lognormal", (m, std * m / mean), max_len)


# ---- MLPerf Inference v5.1 llama2-70b (OpenOrca): input <= 1024, output <= 1024, mean output
# 273-301 tokens (tok/s / samples/s, reference 1.0). The mean input is not in the stored material:
# ASSUMPTION 294 tokens, lognormal with std = mean, clipped at 1024 (OpenOrca prompts are skewed).
# Output: mean 287, ASSUMPTION std 250. Means are those of the clipped samples.
LLAMA2_MEAN_OUT = 287.0
LLAMA2_IN = _clipped_lognormal(294.0, 294.0, 1024)
LLAMA2_OUT = _clipped_lognormal(LLAMA2_MEAN_OUT, 250.0, 1024)
# ---- MLPerf v5.1 deepseek-r1: input <= 3,140, output <= 20,000, mean output ~3,750 (reference 1.0).
# Mean input not stored: ASSUMPTION 800 tokens lognormal std 600 clipped at 3,140; output lognormal
# mean 3,750 std 3,000 clipped at 20,000 (means of the clipped samples).
DSR1_MEAN_OUT = 3750.0
DSR1_IN = _clipped_lognormal(800.0, 600.0, 3140)
DSR1_OUT = _clipped_lognormal(DSR1_MEAN_OUT, 3000.0, 20000)


@dataclass(frozen=True)
class Case:
    """One measured value and how to reproduce it."""

    id: str
    source: str
    setup: str
    metric: str
    measured: float
    tolerance: float
    run: object = field(repr=False, compare=False)   # () -> predicted value


@cache
def _perf(system: str, model: str, **dep) -> PerfModel:
    m, h = lookup_specs(system, model)
    return PerfModel(m, h, Deployment(**dep))


@cache
def _offline(system, model, n, inp, out, seed=0, **dep) -> dict:
    pm = _perf(system, model, **dep)
    reqs = Workload(offline=True, num_requests=n, input_len=inp, output_len=out).generate(
        np.random.default_rng(seed))
    return summarize(simulate_discrete(pm, reqs, 1).requests, pm.dep.num_gpus)


@cache
def _server(system, model, rate, duration, inp, out, seed=0, **dep) -> dict:
    pm = _perf(system, model, **dep)
    reqs = Workload(rate_per_s=rate, duration_s=duration, input_len=inp, output_len=out).generate(
        np.random.default_rng(seed))
    r = simulate_discrete(pm, reqs, 1).requests
    # drop the first 20 % of the window (the batch fills up; MLPerf runs >= 600 s)
    keep = r.arrival_s >= 0.2 * duration
    rt = RequestTimes(*(getattr(r, f)[keep] for f in
                        ("arrival_s", "first_token_s", "completed_s", "input_tokens", "output_tokens")))
    return summarize(rt, pm.dep.num_gpus)


@cache
def _capacity(system, model, inp, out, p99_ttft_s, p99_tpot_s, seed=0, **dep) -> dict:
    """Metrics at the highest Poisson rate whose P99 TTFT and P99 TPOT meet the limits (MLPerf Server and
    Interactive score a system this way: LoadGen runs >= 600 s at the submitter's target rate and the run
    is valid only within the limits; every request counts, no warm-up is dropped). Rate within 2 %; the
    search starts from the fluid model's saturation rate (no measured value enters); the throughput is
    the steady-state one (rate x mean output): MLPerf's long runs make the final drain small."""
    m, h = lookup_specs(system, model)
    d = Deployment(**dep)
    w = Workload(rate_per_s=1.0, duration_s=600.0, input_len=inp, output_len=out)
    cap = max_rate(m, h, d, w, d.num_gpus, p99_ttft_s=p99_ttft_s, p99_tpot_s=p99_tpot_s, seed=seed,
                   rel_tol=0.02)["capacity"]
    return {"output_tokens_per_s_per_gpu": cap["output_tokens_per_s_per_gpu"] or 0.0,
            "max_rate_per_s": cap["max_rate_per_s"]}


@cache
def _closed(system, model, conc, n, inp, out, **dep) -> dict:
    pm = _perf(system, model, **dep)
    reqs = Workload(offline=True, num_requests=n, input_len=inp, output_len=out).generate(
        np.random.default_rng(0))
    r = simulate_discrete(pm, reqs, 1, concurrency=conc).requests
    keep = np.arange(len(r.arrival_s)) >= 2 * conc      # warm-up excluded, as benchmark clients do
    rt = RequestTimes(*(getattr(r, f)[keep] for f in
                        ("arrival_s", "first_token_s", "completed_s", "input_tokens", "output_tokens")))
    return summarize(rt, pm.dep.num_gpus) | {"all": summarize(r, pm.dep.num_gpus)}


MLPERF = "MLPerf Inference v5.1 closed, summary_results.json + mlperf_log_summary.txt (reference 1.1)"
# KV policy of NVIDIA's MLPerf harness: every LLM config of closed/NVIDIA/configs sets
# trtllm_runtime_flags 'batch_scheduler_policy': 'max_util' (TRT-LLM MAX_UTILIZATION: KV blocks on
# demand, pause the newest request when full), e.g. the llama2-70b FP4 config (fp4 weights, FP8 KV,
# tokens_per_block 32, kvcache_free_gpu_mem_frac 0.95) and the gpt-oss-120b attention-DP config of the
# mlcommons inference_results repositories (mirror ntuhpc/inference_results_v5.1 and later rounds)
MAX_UTIL = {"scheduler": "trtllm-max-util"}
# Kernel fusion of NVIDIA's MLPerf v5.1 TensorRT engines (B200-SXM-180GBx8 llama2-70b configs, fork
# github.com/ykamiset/inference_results_v5.1 @e9ccad4): Server/Offline build with `norm_quant_fusion` and
# `use_fused_mlp` (residual add + RMSNorm + FP4 quantisation one kernel, SwiGLU in the GEMM: TensorRT's own
# GEMMs, no GEMM plugin, may take the activation as an epilogue), Interactive with `use_fused_mlp` and the
# FP4 GEMM plugin but no norm-quant fusion: norms, quantisation and SwiGLU separate kernels (`use_fused_mlp`
# merges the gate and up GEMMs and applies SwiGLU after them; the SwiGLU GEMM plugin is FP8-only,
# TensorRT-LLM tensorrt_llm/layers/mlp.py, and a plugin GEMM takes no epilogue)
B200_LLAMA = {"tp": 1, "precision": "fp4", "max_batch": 2048, "max_num_tokens": 3584,
              "elementwise": "fused-norm-quant-mlp"} | MAX_UTIL
B200_LLAMA_INT = {"tp": 1, "precision": "fp4", "max_batch": 768, "max_num_tokens": 768,
                  "elementwise": "unfused"} | MAX_UTIL
# H200 limits: NVIDIA's H200-SXM-141GBx8 llama2-70b configs (closed/NVIDIA/configs/H200-SXM-141GBx8/
# {Server,Offline,Interactive}/llama2-70b.py, v5.0-era copy in github.com/sheldon-xiong/xxd-mlpinf @a7e9579c;
# the v5.1 Dell results run NVIDIA's harness, whose v5.1 H200 config is not in the stored material):
# batch 2048 / max_num_tokens 1536 (Server, Offline), batch 512 / 256 (Interactive), fp8, KV fraction 0.9;
# fusion: Server/Offline `gemm_swiglu_plugin: fp8` + `use_fused_mlp` (SwiGLU in the GEMM), no norm-quant
# fusion; Interactive neither (norm, quantisation and SwiGLU as separate kernels)
H200_LLAMA = {"tp": 1, "precision": "fp8", "max_batch": 2048, "max_num_tokens": 1536,
              "kv_mem_fraction": 0.9, "elementwise": "fused-mlp"} | MAX_UTIL
H200_LLAMA_INT = {"tp": 1, "precision": "fp8", "max_batch": 512, "max_num_tokens": 256,
                  "kv_mem_fraction": 0.9, "elementwise": "unfused"} | MAX_UTIL
# DeepSeek-R1 (closed/NVIDIA/configs/B200-SXM-180GBx8/{Server,Offline}/deepseek-r1.py, v5.1, fork
# github.com/ykamiset/inference_results_v5.1 @e9ccad4; GB200-NVL72 the same per 8-GPU instance): TP8
# attention-DP, EP8, batch 512 per attention-DP rank, max_num_tokens 3456 (Server) / 4608 (Offline) per
# rank, KV fraction 0.9, enable_chunked_context False, attention-DP balancing (batching_wait_iters,
# timeout_iters) 3 / 9 (Server), 10 / 500 (B200 Offline), 10 / 50 (GB200-NVL72 Offline)
DSR1 = {"tp": 8, "ep": 8, "attention_dp": True, "precision": "fp4", "max_batch": 512 * 8,
        "max_num_tokens": 3456 * 8, "kv_mem_fraction": 0.9, "chunked_prefill": False,
        "adp_balance_wait_iters": 3, "adp_balance_timeout_iters": 9} | MAX_UTIL
DSR1_OFFLINE = {"hgx-b200": DSR1 | {"max_num_tokens": 4608 * 8, "adp_balance_wait_iters": 10,
                                    "adp_balance_timeout_iters": 500},
                "gb200-nvl72": DSR1 | {"max_num_tokens": 4608 * 8, "adp_balance_wait_iters": 10,
                                       "adp_balance_timeout_iters": 50}}
#: MLPerf latency limits (P99 TTFT, P99 TPOT) [s], reference 1.0 (mlperf.conf of v5.1)
LIMITS = {"llama2-server": (2.0, 0.2), "llama2-interactive": (0.45, 0.04), "dsr1-server": (2.0, 0.08)}


def _mlperf_offline_n(tok_s_per_gpu: float, mean_out: float, min_queries: int, num_gpus: int) -> int:
    """Samples per GPU of an MLPerf Offline run: the minimum query count, or enough to fill the minimum
    duration of 600 s at the submitter's target throughput (reference 1.0), whichever is larger."""
    return max(min_queries // num_gpus, int(600.0 * tok_s_per_gpu / mean_out))


#: Offline samples per instance where the submitter's config states the run length. LoadGen sends
#: max(min_query_count, offline_expected_qps x min_duration) samples. NVIDIA v5.1 configs (fork
#: github.com/ykamiset/inference_results_v5.1 @e9ccad4, closed/NVIDIA/configs/...): B200-SXM-180GBx8
#: llama2-70b Offline offline_expected_qps 376, min_duration 2,400,000 ms (8 one-GPU instances);
#: deepseek-r1 Offline min_query_count 26,328 per 8-GPU instance on B200, 26,328 x 8 over the 9 instances
#: of GB200-NVL72 (expected 10 qps x 600 s is less). Other systems: the 600 s rule above.
OFFLINE_SAMPLES = {("llama2", "hgx-b200"): 376 * 2400 // 8, ("dsr1", "hgx-b200"): 26328,
                   ("dsr1", "gb200-nvl72"): 26328 * 8 // 9}


def _mlperf_llama(system, sysname, per_gpu_off, srv, inter, dep, dep_int, n_gpus):
    """Offline / Server / Interactive cases of one llama2-70b system."""
    n_off = OFFLINE_SAMPLES.get(("llama2", system)) or _mlperf_offline_n(
        per_gpu_off, LLAMA2_MEAN_OUT, 24576, n_gpus)
    out = [Case(f"mlperf-llama2-70b-{sysname}-offline", MLPERF, f"{sysname} {dep}, {n_off} samples per GPU",
                "output tok/s/GPU", per_gpu_off, TOL_THROUGHPUT,
                lambda: _offline(system, "llama-2-70b", n_off, LLAMA2_IN, LLAMA2_OUT,
                                 **dep)["output_tokens_per_s_per_gpu"])]
    for scen, (tok, ttft, tpot), d in (("server", srv, dep), ("interactive", inter, dep_int)):
        rate = tok / LLAMA2_MEAN_OUT
        kw = {"rate": rate, "duration": 600.0}
        lim = LIMITS[f"llama2-{scen}"]
        out += [
            Case(f"mlperf-llama2-70b-{sysname}-{scen}-throughput", MLPERF,
                 f"{sysname} {d}, highest Poisson rate with P99 TTFT <= {lim[0]} s and P99 TPOT <= "
                 f"{lim[1]} s",
                 "output tok/s/GPU", tok, TOL_THROUGHPUT,
                 lambda d=d, lim=lim: _capacity(system, "llama-2-70b", LLAMA2_IN, LLAMA2_OUT, *lim,
                                                **d)["output_tokens_per_s_per_gpu"]),
            Case(f"mlperf-llama2-70b-{sysname}-{scen}-ttft", MLPERF,
                 f"{sysname} {d}, Poisson {rate:.1f} req/s per GPU", "mean TTFT s", ttft, TOL_MEAN_LATENCY,
                 lambda kw=kw, d=d: _server(system, "llama-2-70b", kw["rate"], kw["duration"], LLAMA2_IN,
                                            LLAMA2_OUT, **d)["ttft_s"]["mean"]),
            Case(f"mlperf-llama2-70b-{sysname}-{scen}-tpot", MLPERF,
                 f"{sysname} {d}, Poisson {rate:.1f} req/s per GPU", "mean TPOT s", tpot, TOL_MEAN_LATENCY,
                 lambda kw=kw, d=d: _server(system, "llama-2-70b", kw["rate"], kw["duration"], LLAMA2_IN,
                                            LLAMA2_OUT, **d)["tpot_s"]["mean"]),
        ]
    return out


CASES: list[Case] = []
CASES += _mlperf_llama("hgx-b200", "b200x8", 12691, (12390, 0.246, 0.123), (7443, 0.069, 0.0342),
                       B200_LLAMA, B200_LLAMA_INT, 8)
CASES += _mlperf_llama("gb200-nvl72", "gb200x4", 12934, (12340, 0.218, 0.116), (7436, 0.058, 0.0306),
                       B200_LLAMA, B200_LLAMA_INT, 4)
CASES += _mlperf_llama("hgx-h200", "h200x8", 4415, (4156, 0.395, 0.169), (2740, 0.125, 0.0372),
                       H200_LLAMA, H200_LLAMA_INT, 8)
CASES.append(Case("mlperf-llama2-70b-lenovo-b200x8-offline", MLPERF + " (Lenovo SR680a V3)",
                  f"hgx-b200 {B200_LLAMA}", "output tok/s/GPU", 12864, TOL_THROUGHPUT,
                  lambda: _offline("hgx-b200", "llama-2-70b",
                                   _mlperf_offline_n(12691, LLAMA2_MEAN_OUT, 24576, 8), LLAMA2_IN, LLAMA2_OUT,
                                   **B200_LLAMA)["output_tokens_per_s_per_gpu"]))
for sysname, system, off, srv in (("b200x8", "hgx-b200", 4172, (2324, 0.726, 0.0665)),
                                  ("gb200-nvl72", "gb200-nvl72", 4024, (2328, 0.659, 0.0696))):
    CASES.append(Case(f"mlperf-deepseek-r1-{sysname}-offline", MLPERF,
                      f"{system} {DSR1_OFFLINE[system]}, {OFFLINE_SAMPLES[('dsr1', system)]} samples per "
                      "instance",
                      "output tok/s/GPU",
                      off, TOL_THROUGHPUT,
                      lambda system=system: _offline(
                          system, "deepseek-r1", OFFLINE_SAMPLES[("dsr1", system)], DSR1_IN,
                          DSR1_OUT, **DSR1_OFFLINE[system])["output_tokens_per_s_per_gpu"]))
    lim = LIMITS["dsr1-server"]
    CASES.append(Case(f"mlperf-deepseek-r1-{sysname}-server-throughput", MLPERF,
                      f"{system} {DSR1}, highest Poisson rate with P99 TTFT <= {lim[0]} s and P99 TPOT <= "
                      f"{lim[1]} s", "output tok/s/GPU", srv[0], TOL_THROUGHPUT,
                      lambda system=system, lim=lim: _capacity(system, "deepseek-r1", DSR1_IN, DSR1_OUT, *lim,
                                                               **DSR1)["output_tokens_per_s_per_gpu"]))
    rate = srv[0] * 8 / DSR1_MEAN_OUT
    for key, val, label in (("ttft_s", srv[1], "TTFT"), ("tpot_s", srv[2], "TPOT")):
        CASES.append(Case(f"mlperf-deepseek-r1-{sysname}-server-{label.lower()}", MLPERF,
                          f"{system} {DSR1}, Poisson {rate:.2f} req/s per replica", f"mean {label} s", val,
                          TOL_MEAN_LATENCY,
                          lambda system=system, rate=rate, key=key: _server(
                              system, "deepseek-r1", rate, 600.0, DSR1_IN, DSR1_OUT, **DSR1)[key]["mean"]))

# ---- ratios (reference (b): "ratio tests within +-10 %")
CASES.append(Case("ratio-b200-over-h200-llama2-offline", MLPERF, "offline per-GPU ratio", "ratio",
                  12691 / 4415, TOL_RATIO,
                  lambda: CASES_BY_ID["mlperf-llama2-70b-b200x8-offline"].run()
                  / CASES_BY_ID["mlperf-llama2-70b-h200x8-offline"].run()))
CASES.append(Case("ratio-gb200-over-b200-llama2-offline", MLPERF, "offline per-GPU ratio", "ratio",
                  12934 / 12691, TOL_RATIO,
                  lambda: CASES_BY_ID["mlperf-llama2-70b-gb200x4-offline"].run()
                  / CASES_BY_ID["mlperf-llama2-70b-b200x8-offline"].run()))

# ---- TensorRT-LLM perf overview (trtllm-bench throughput, max throughput, output tok/s per GPU).
# The overview leaves max_batch_size / max_num_tokens unset, so trtllm-bench's heuristic sets them from
# the model, the GPUs and the dataset's ISL/OSL (`calc_engine_setting` / `finetune_setting` in
# NVIDIA/TensorRT-LLM tensorrt_llm/bench/build/tuning.py, reproduced in `_trtllm_bench_limits`) — used
# for the dense Llama cases. DeepSeek-R1 (MLA, whose KV the heuristic's GQA formula does not describe):
# ASSUMPTION max_batch 2048 and max_num_tokens 8192 per rank. Requests: 3000 for 1k/1k, 1500 for
# 1k/8k, 1000 for 32k/1k (the overview's dataset sizes).
TRT = ("NVIDIA/TensorRT-LLM docs/source/developer-guide/perf-overview.md @03e27c7d "
       "(reference, serving-engine table)")
L33_FP4 = {"tp": 1, "precision": "fp4", "max_batch": 2048, "max_num_tokens": 8192}
L33_FP8 = {"tp": 2, "precision": "fp8", "max_batch": 2048, "max_num_tokens": 8192}
TRT_REQUESTS = {(1000, 1000): 3000, (1024, 8192): 1500, (32768, 1024): 1000}


def _trtllm_bench_limits(system: str, model: str, dep: dict, isl: int, osl: int) -> dict:
    """``dep`` with trtllm-bench's own max batch / max num tokens for this model, GPUs and ISL/OSL.

    TensorRT-LLM ``calc_engine_setting``: KV bytes per token ``2 L max(tp, n_kv) d_h b_kv``, engine
    ``params x b_w``, cache = (HBM x GPUs - engine) x 0.95, requests = cache / (bytes per token x
    (ISL + OSL)); ``finetune_setting``: batch = min(requests, 4096) / pp rounded up (to 32 with a floor
    of 64 below 256, to 128 below 1024, else to 256); tokens = min(batch x (1 + ISL/OSL), 32768) rounded
    up (to 256 with a floor of 2048 below 4096, to 512 below 8192, else to 1024).
    """
    import math

    from twin.serving.shapes import param_breakdown
    from twin.serving.specs import BYTES_PER_ELEMENT

    m, h = lookup_specs(system, model)
    d = Deployment(**dep)
    gib = 1024.0 ** 3
    per_token = (2 * m.num_layers * max(d.tp, m.num_kv_heads) * m.head_dim
                 * BYTES_PER_ELEMENT[d.kv_dtype] / gib)
    engine = sum(param_breakdown(m).values()) * BYTES_PER_ELEMENT[d.precision] / gib
    cache = (h.hbm_bytes / gib * d.num_gpus - engine) * 0.95
    raw_bs = min(cache / (per_token * (isl + osl)), 4096) / d.pp
    raw_tok = min(raw_bs * (1 + isl / osl), 32768)
    def round_up(x: float, rungs: tuple, floor: int) -> int:
        q = next(q for limit, q in rungs if x < limit)
        return max(floor, q * math.ceil(x / q))

    bs = round_up(raw_bs, ((256, 32), (1024, 128), (math.inf, 256)), 64)
    tok = round_up(raw_tok, ((4096, 256), (8192, 512), (math.inf, 1024)), 2048)
    return dep | {"max_batch": bs, "max_num_tokens": tok}

# DeepSeek-R1 extra_llm_api_options of the perf overview: attention-DP balancing on, batching_wait_iters
# 0, timeout_iters 60
ADP_TRT = {"adp_balance_wait_iters": 0, "adp_balance_timeout_iters": 60}
DEP4 = {"tp": 4, "ep": 4, "attention_dp": True, "precision": "fp4", "max_batch": 2048 * 4,
        "max_num_tokens": 8192 * 4} | ADP_TRT
DEP8 = {"tp": 8, "ep": 8, "attention_dp": True, "precision": "fp8", "max_batch": 2048 * 8,
        "max_num_tokens": 8192 * 8} | ADP_TRT
for model, rows in (
    ("llama-3.1-70b", [("hgx-b200", L33_FP4, [(1000, 1000, 6920), (1024, 8192, 3242), (32768, 1024, 274)]),
                       ("gb200-nvl72", L33_FP4, [(1000, 1000, 7769), (1024, 8192, 3805), (32768, 1024, 302)]),
                       ("hgx-h200", L33_FP8, [(1000, 1000, 2587), (1024, 8192, 2009), (32768, 1024, 120)]),
                       ("hgx-h100", L33_FP8, [(1000, 1000, 2209)])]),
    ("deepseek-r1", [("hgx-b200", DEP4, [(1000, 1000, 6463), (1024, 8192, 3862)]),
                     ("gb200-nvl72", DEP4, [(1000, 1000, 6939), (1024, 8192, 4379)]),
                     ("hgx-h200", DEP8, [(1000, 1000, 1627), (1024, 8192, 1218)])]),
):
    for system, dep0, points in rows:
        for isl, osl, val in points:
            n = TRT_REQUESTS.get((isl, osl), 1000)
            dep = _trtllm_bench_limits(system, model, dep0, isl, osl) if model.startswith("llama") else dep0
            CASES.append(Case(
                f"trtllm-{model}-{system}-{isl}-{osl}", TRT,
                f"{system} {dep}, {n} requests ISL {isl} OSL {osl}, all at t=0", "output tok/s/GPU", val,
                TOL_THROUGHPUT,
                lambda system=system, dep=dep, isl=isl, osl=osl, n=n, model=model: _offline(
                    system, model, n, LengthDist("fixed", (isl,)), LengthDist("fixed", (osl,)),
                    **dep)["output_tokens_per_s_per_gpu"]))

# ---- TensorRT-LLM perf overview of the 1.0 era (docs/source/performance/perf-overview.md @00f37686, PyTorch
# backend, trtllm-bench throughput, nvidia ModelOpt checkpoints): the table reports "Total Output Throughput
# (tokens/sec)" of the TP group; per GPU = total / TP (the TP1 Llama 3.3 70B rows, 7,007 on B200, match the
# later per-GPU table's 6,920). Llama 3.1 405B on B200 / GB200 TP4 FP4 and H200 / H100 TP8 FP8; Llama 3.1
# 8B FP8 TP1 on H200 / H100. Batch limits by trtllm-bench's heuristic as above; 3000 requests (the
# overview's 1k/1k dataset size, ASSUMPTION for the other lengths). Added with issue 18 (cross-generation
# ratios), never used to set a parameter.
TRT10 = ("NVIDIA/TensorRT-LLM docs/source/performance/perf-overview.md @00f37686 (total output tok/s of "
         "the TP group / TP)")
L405 = {"hgx-b200": {"tp": 4, "precision": "fp4"}, "gb200-nvl72": {"tp": 4, "precision": "fp4"},
        "hgx-h200": {"tp": 8, "precision": "fp8"}, "hgx-h100": {"tp": 8, "precision": "fp8"}}
TRT10_ROWS = {
    "llama-3.1-405b": {(1000, 1000): {"hgx-b200": 5209, "gb200-nvl72": 5389, "hgx-h200": 3330,
                                      "hgx-h100": 2919},
                       (2048, 2048): {"hgx-b200": 4212, "hgx-h200": 2948, "hgx-h100": 2296},
                       (5000, 500): {"hgx-b200": 1048, "hgx-h200": 650, "hgx-h100": 610}},
    "llama-3.1-8b": {(1000, 1000): {"hgx-h200": 17744, "hgx-h100": 15220},
                     (2048, 2048): {"hgx-h200": 12194, "hgx-h100": 9305}},
}


def _trt10_id(model, system, isl, osl):
    return f"trtllm10-{model}-{system}-{isl}-{osl}"


for model, by_len in TRT10_ROWS.items():
    for (isl, osl), by_sys in by_len.items():
        for system, total in by_sys.items():
            dep0 = (L405[system] if model == "llama-3.1-405b" else {"tp": 1, "precision": "fp8"}) | {
                "max_batch": 2048, "max_num_tokens": 8192}
            dep = _trtllm_bench_limits(system, model, dep0, isl, osl)
            CASES.append(Case(
                _trt10_id(model, system, isl, osl), TRT10,
                f"{system} {dep}, 3000 requests ISL {isl} OSL {osl}, all at t=0", "output tok/s/GPU",
                total / dep["tp"], TOL_THROUGHPUT,
                lambda system=system, dep=dep, isl=isl, osl=osl, model=model: _offline(
                    system, model, 3000, LengthDist("fixed", (isl,)), LengthDist("fixed", (osl,)),
                    **dep)["output_tokens_per_s_per_gpu"]))

# ---- MLPerf Inference v5.1 llama2-70b Offline on the RTX PRO 6000 Blackwell Server Edition (issue 18): HPE
# ProLiant DL380a Gen12, 8 GPUs, 26,205.8 tok/s (closed/HPE/results/HPE_PROLIANT_DL380A_RTX_PRO_6000_PCIE_
# 96GBx8_TRT_TRT/llama2-70b-99/Offline, mlcommons/inference_results_v5.1 @965182b0; TensorRT 10.11, FP4
# weights). HPE's engine configuration is not in the stored material: ASSUMPTION NVIDIA's B200 Llama 2
# Offline engine (TP1, FP4, FP8 KV, batch 2048, 3,584 tokens, norm-quant and SwiGLU fusion, max_util),
# on the GPU's own kernel tables.
CASES.append(Case("mlperf-llama2-70b-rtx-pro-6000x8-offline", MLPERF + " (HPE DL380a Gen12)",
                  f"rtx-pro-6000-server {B200_LLAMA}", "output tok/s/GPU", 26205.8 / 8, TOL_THROUGHPUT,
                  lambda: _offline("rtx-pro-6000-server", "llama-2-70b",
                                   _mlperf_offline_n(26205.8 / 8, LLAMA2_MEAN_OUT, 24576, 8), LLAMA2_IN,
                                   LLAMA2_OUT, **B200_LLAMA)["output_tokens_per_s_per_gpu"]))

# ---- MLPerf Inference v5.1 llama3.1-405b Offline (issue 18): B200 x 8 (NVIDIA, 1,624.11 tok/s) and, from one
# submitter on both generations, Nebius H200 x 8 (552.75) and B200 x 8 (1,659.50) (summary_results.json of
# mlcommons/inference_results_v5.1, as copied in the public fork ntuhpc/inference_results_v5.1 @965182b0).
# Workload: min_query_count 8,313 (reference 1.0), input <= 20,000, mean output 653.7 tokens (SR780a run
# log, tests/validation/test_power_mlperf.py); the mean input is not in the stored material: the same
# ASSUMPTION as the power cases there, 9,400 tokens lognormal std 6,000 (fixed before these cases ran).
# Setups: NVIDIA v5.1 B200-SXM-180GBx8/Offline/llama3_1-405b.py (fork ykamiset @e9ccad4): fp4, TP2 x PP2
# (two replicas), gpu_batch_size 128, runtime max_num_tokens 1536, kv 0.95, norm_quant_fusion +
# use_fused_mlp, max_util. H200: NVIDIA's v5.0 H200_SXM_141GBx8 Offline class (as copied in
# closed/Cisco/configs/llama3_1-405b/Offline/__init__.py, ntuhpc/mlperf_inference_results_v5.0 @cf354115):
# fp8, fp8 KV, TP4 x PP2 (one replica), gpu_batch_size 512, runtime max_num_tokens 1536, kv 0.95; its
# kernel fusion is not stated: ASSUMPTION as NVIDIA's H200 Llama 2 engine (`fused-mlp`). Nebius' own
# configs are not in the stored material: ASSUMPTION NVIDIA's.
L405_IN = _clipped_lognormal(9400.0, 6000.0, 20000)
L405_OUT = _clipped_lognormal(653.7, 500.0, 2000)
L405_B200 = {"tp": 2, "pp": 2, "precision": "fp4", "max_batch": 128, "max_num_tokens": 1536,
             "elementwise": "fused-norm-quant-mlp"} | MAX_UTIL
L405_H200 = {"tp": 4, "pp": 2, "precision": "fp8", "max_batch": 512, "max_num_tokens": 1536,
             "elementwise": "fused-mlp"} | MAX_UTIL
for sysname, system, dep, measured, who in (
        ("b200x8", "hgx-b200", L405_B200, 1624.11 / 8, "NVIDIA"),
        ("nebius-b200x8", "hgx-b200", L405_B200, 1659.50 / 8, "Nebius"),
        ("nebius-h200x8", "hgx-h200", L405_H200, 552.75 / 8, "Nebius")):
    n = 8313 * Deployment(**dep).num_gpus // 8           # min_query_count over the system's replicas
    CASES.append(Case(f"mlperf-llama3.1-405b-{sysname}-offline", MLPERF + f" ({who})",
                      f"{system} {dep}, {n} samples per replica", "output tok/s/GPU", measured,
                      TOL_THROUGHPUT,
                      lambda system=system, dep=dep, n=n: _offline(
                          system, "llama-3.1-405b", n, L405_IN, L405_OUT,
                          **dep)["output_tokens_per_s_per_gpu"]))

# ---- NVIDIA NIM 1.8.0 benchmarking: Llama-3.3-70B, 2 x H100-80G, FP8, TP2, AIPerf fixed concurrency,
# 5000 in / 500 out. NIM's engine limits are not in the table: ASSUMPTION max_batch 256, 8192 tokens;
# its kernel fusion is not published either: ASSUMPTION the default (TRT-LLM PyTorch backend op list).
NIM = "docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance.md, Llama-3.3-70B table (reference)"
NIM_DEP = {"tp": 2, "precision": "fp8", "max_batch": 256, "max_num_tokens": 8192}
for conc, ttft, itl, thr in ((1, 0.4068, 0.01858, 51.7), (5, 0.5467, 0.02183, 218.5),
                             (25, 0.6887, 0.03875, 623.4), (50, 0.8345, 0.05973, 814.4),
                             (100, 7.996, 0.09291, 917.3), (250, 88.605, 0.0932, 920.1)):
    n = 10 * conc if conc < 100 else 4 * conc

    def run(conc=conc, n=n):
        return _closed("hgx-h100", "llama-3.1-70b", conc, n, LengthDist("fixed", (5000,)),
                       LengthDist("fixed", (500,)), **NIM_DEP)

    sat = conc >= 100
    CASES += [
        Case(f"nim-h100-tp2-c{conc}-ttft", NIM, f"hgx-h100 {NIM_DEP}, concurrency {conc}", "mean TTFT s",
             ttft, TOL_MEAN_LATENCY,
             lambda run=run, sat=sat: (run()["all"] if sat else run())["ttft_s"]["mean"]),
        Case(f"nim-h100-tp2-c{conc}-itl", NIM, f"hgx-h100 {NIM_DEP}, concurrency {conc}", "mean ITL s", itl,
             TOL_MEAN_LATENCY, lambda run=run: run()["tpot_s"]["mean"]),
        Case(f"nim-h100-tp2-c{conc}-throughput", NIM, f"hgx-h100 {NIM_DEP}, concurrency {conc}",
             "output tok/s (2 GPUs)", thr, TOL_THROUGHPUT,
             lambda run=run, sat=sat: (run()["all"] if sat else run())["output_tokens_per_s"]),
    ]
CASES += [
    Case("nim-h100-tp2-500-2000-c1-ttft", NIM, f"hgx-h100 {NIM_DEP}, 500 in / 2000 out, concurrency 1",
         "mean TTFT s", 0.0478, TOL_MEAN_LATENCY,
         lambda: _closed("hgx-h100", "llama-3.1-70b", 1, 6, LengthDist("fixed", (500,)),
                         LengthDist("fixed", (2000,)), **NIM_DEP)["ttft_s"]["mean"]),
    Case("nim-h100-tp2-500-2000-c1-itl", NIM, f"hgx-h100 {NIM_DEP}, 500 in / 2000 out, concurrency 1",
         "mean ITL s", 0.01891, TOL_MEAN_LATENCY,
         lambda: _closed("hgx-h100", "llama-3.1-70b", 1, 6, LengthDist("fixed", (500,)),
                         LengthDist("fixed", (2000,)), **NIM_DEP)["tpot_s"]["mean"]),
]


# ---- Speculative decoding: TensorRT-LLM's DeepSeek-R1 min-latency runs with MTP (issue 18).
# NVIDIA/TensorRT-LLM docs/source/blogs/tech_blog/blog1_Pushing_Latency_Boundaries_Optimizing_DeepSeek-R1_
# Performance_on_NVIDIA_B200_GPUs.md @01c4ece9, table "Autoregressive MTP Layers": nvidia/DeepSeek-R1-FP4 on
# 8 x B200, ISL 1k / OSL 2k, one request at a time; attention TP8, MoE "Mixed TP4 with Expert Parallelism 2"
# (our tp 8, ep 2), dense and MoE FFN NVFP4, "3x MTP Layers | bf16" (the MTP layer reused autoregressively).
# The table's "Acceptance Rate" is the acceptance length (1.00 without MTP): given as tau, never fitted.
# Metric TPS/user = 1 / mean TPOT. Blog 2 of the same repository runs ten requests; 10 here, the first 2
# excluded as warm-up. Batch limits of the min-latency engine are not given: ASSUMPTION max_batch 1 (one
# request runs), max_num_tokens 8192.
MTP_BLOG = ("NVIDIA/TensorRT-LLM docs/source/blogs/tech_blog/blog1_Pushing_Latency_Boundaries_Optimizing_"
            "DeepSeek-R1_Performance_on_NVIDIA_B200_GPUs.md @01c4ece9, table 'Autoregressive MTP Layers'")
MTP_DEP = {"tp": 8, "ep": 2, "precision": "fp4", "max_batch": 1, "max_num_tokens": 8192}
MTP_ROWS = ((0, 1.00, 111), (1, 1.92, 198), (2, 2.58, 250), (3, 2.82, 253), (4, 2.99, 245), (5, 3.01, 239))


def _mtp_dep(d: int, tau: float) -> dict:
    from twin.records import Speculation
    from twin.serving.speculative import acceptance_for_length

    if d == 0:
        return MTP_DEP
    return MTP_DEP | {"speculative": Speculation("mtp", d, (acceptance_for_length(d, tau),),
                                                 draft_precision="bf16")}


def _mtp_tps_user(d: int, tau: float) -> float:
    r = _closed("hgx-b200", "deepseek-r1", 1, 10, LengthDist("fixed", (1000,)), LengthDist("fixed", (2000,)),
                **_mtp_dep(d, tau))
    return 1.0 / r["tpot_s"]["mean"]


for d, tau, tps in MTP_ROWS:
    CASES.append(Case(f"trtllm-mtp-deepseek-r1-b200-mtp{d}-tps-user", MTP_BLOG,
                      f"hgx-b200 {MTP_DEP}, MTP {d} draft tokens (bf16), acceptance length {tau}, batch 1, "
                      "ISL 1000 OSL 2000", "output tok/s per user", tps, TOL_MEAN_LATENCY,
                      lambda d=d, tau=tau: _mtp_tps_user(d, tau)))
for d, tau, tps in MTP_ROWS[1:]:
    CASES.append(Case(f"ratio-mtp{d}-over-none-deepseek-r1-b200", MTP_BLOG,
                      f"TPS/user with MTP {d} (acceptance length {tau}) over without MTP", "ratio", tps / 111,
                      TOL_RATIO, lambda d=d, tau=tau: _mtp_tps_user(d, tau) / _mtp_tps_user(0, 1.0)))


# ---- Kernel level: Vidur's H100 BF16 MLP profile (reference 1.8) against our GEMM model
VIDUR = "microsoft/vidur data/profiling/compute/h100/meta-llama/Llama-2-70b-hf/mlp.csv (reference 1.8)"


def _gemm_ms(tp: int, which: str, tokens: int) -> float:
    pm = _perf("hgx-h100", "llama-2-70b", tp=8, precision="bf16")   # only its GEMM pricing is used
    g = (Gemm("up", 2 * 28672 // tp, 8192, 1, 1.0, "mlp") if which == "up"
         else Gemm("down", 8192, 28672 // tp, 1, 1.0, "mlp"))
    return float(pm._gemm_times(np.array([float(tokens)]), g)[0][0]) * 1e3


for tp, which, tokens, ms in ((1, "up", 1, 0.311), (1, "up", 128, 0.327), (1, "up", 512, 0.650),
                              (1, "up", 4096, 5.67), (1, "down", 1, 0.171), (1, "down", 128, 0.166),
                              (1, "down", 512, 0.269), (1, "down", 4096, 2.65), (8, "up", 1, 0.043),
                              (8, "up", 4096, 0.643), (8, "down", 1, 0.022), (8, "down", 4096, 0.296)):
    CASES.append(Case(f"vidur-h100-bf16-{which}-tp{tp}-{tokens}tok", VIDUR,
                      f"Llama-2-70B MLP {which}-projection GEMM, TP{tp}, {tokens} tokens", "ms", ms,
                      0.15, lambda tp=tp, which=which, tokens=tokens: _gemm_ms(tp, which, tokens)))

CASES_BY_ID = {c.id: c for c in CASES}


# ---- Cross-generation and cross-system ratios (issue 18): for every pair of systems measured on the same
# workload by the same source, the ratio of their per-GPU throughput (reference (b): "ratio tests within
# +-10 %"). A ratio case runs the two absolute cases; it sets nothing and is judged on its own, because a
# planner's choice between systems (tokens per dollar) rests on the ratio even where both absolutes drift.
def _ratio(num_id: str, den_id: str, label: str) -> Case:
    num, den = CASES_BY_ID[num_id], CASES_BY_ID[den_id]
    return Case(f"ratio-{label}", num.source, f"{num_id} / {den_id}", "ratio", num.measured / den.measured,
                TOL_RATIO, lambda: CASES_BY_ID[num_id].run() / CASES_BY_ID[den_id].run())


_SHORT = {"hgx-b200": "b200", "gb200-nvl72": "gb200", "hgx-h200": "h200", "hgx-h100": "h100",
          "b200x8": "b200", "gb200x4": "gb200", "h200x8": "h200"}
_PAIRS = (("b200x8", "h200x8"), ("gb200x4", "b200x8"))
_RATIOS: list[Case] = []
for scen in ("server-throughput", "interactive-throughput"):
    for a_sys, b_sys in _PAIRS:
        _RATIOS.append(_ratio(f"mlperf-llama2-70b-{a_sys}-{scen}", f"mlperf-llama2-70b-{b_sys}-{scen}",
                              f"{_SHORT[a_sys]}-over-{_SHORT[b_sys]}-llama2-{scen.split('-')[0]}"))
for scen in ("offline", "server-throughput"):
    _RATIOS.append(_ratio(f"mlperf-deepseek-r1-gb200-nvl72-{scen}", f"mlperf-deepseek-r1-b200x8-{scen}",
                          f"gb200-over-b200-deepseek-r1-mlperf-{scen.split('-')[0]}"))
for sysname in ("b200x8", "gb200x4", "h200x8"):
    _RATIOS.append(_ratio(f"mlperf-llama2-70b-{sysname}-server-throughput",
                          f"mlperf-llama2-70b-{sysname}-offline",
                          f"server-over-offline-llama2-{_SHORT[sysname]}"))
# trtllm-bench (perf overview @03e27c7d): every pair of systems on a model and ISL/OSL
for model, lens in (("llama-3.1-70b", ((1000, 1000), (1024, 8192), (32768, 1024))),
                    ("deepseek-r1", ((1000, 1000), (1024, 8192)))):
    for isl, osl in lens:
        for a_sys, b_sys in (("hgx-b200", "hgx-h200"), ("gb200-nvl72", "hgx-b200"), ("hgx-h200", "hgx-h100")):
            a_id, b_id = f"trtllm-{model}-{a_sys}-{isl}-{osl}", f"trtllm-{model}-{b_sys}-{isl}-{osl}"
            if a_id in CASES_BY_ID and b_id in CASES_BY_ID:
                _RATIOS.append(_ratio(a_id, b_id,
                                      f"{_SHORT[a_sys]}-over-{_SHORT[b_sys]}-{model}-trtllm-{isl}-{osl}"))
_RATIOS.append(_ratio("mlperf-llama3.1-405b-nebius-b200x8-offline",
                      "mlperf-llama3.1-405b-nebius-h200x8-offline",
                      "b200-over-h200-llama3.1-405b-mlperf-offline"))
# perf overview of the 1.0 era
for model, by_len in TRT10_ROWS.items():
    for (isl, osl), by_sys in by_len.items():
        for a_sys, b_sys in (("hgx-b200", "hgx-h200"), ("gb200-nvl72", "hgx-b200"), ("hgx-h200", "hgx-h100")):
            if a_sys in by_sys and b_sys in by_sys:
                _RATIOS.append(_ratio(_trt10_id(model, a_sys, isl, osl), _trt10_id(model, b_sys, isl, osl),
                                      f"{_SHORT[a_sys]}-over-{_SHORT[b_sys]}-{model}-trtllm10-{isl}-{osl}"))
CASES += _RATIOS
CASES_BY_ID.update({c.id: c for c in _RATIOS})
assert len(CASES_BY_ID) == len(CASES), "duplicate case ids"
