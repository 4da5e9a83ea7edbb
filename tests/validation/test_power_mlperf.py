"""System power under inference: predicted wall power of one 8-GPU server vs MLPerf Power measurements.

Each case is one MLPerf Inference Power result: the AC wall power of the whole server under test,
averaged by the power analyser over the timed run. The prediction is
:func:`twin.engine.server_power.server_wall_power` on the catalog system (``hgx-h200`` for the DGX
H200 MaxQ system, ``hgx-b200`` for both Lenovo B200 servers) with the submitter's deployment and the
MLPerf workload:
the fluid serving model's compute- and memory-bound shares, the GPU power limit turned into a
clock, :func:`twin.power.parts.gpu_activity_power_w` and :func:`twin.power.parts.rack_parts_power_w`
for one node, the catalog PSU curve. Nothing is fitted to these numbers (docs/validation.md, "System
power under inference (MLPerf Power)"); cases outside ±15 % are strict expected failures stating
their error. ``python -m tests.validation.test_power_mlperf`` prints the table of docs/validation.md.

Sources (every number below was read from these files):

- ``V41`` = mlcommons/inference_results_v4.1 @198fc467, ``closed/NVIDIA/``: results
  ``results/H200-SXM-141GBx8_TRT_MaxQ/<benchmark>/<scenario>/performance/run_1/`` (tokens/s and
  samples/s from ``mlperf_log_summary.txt``; wall power: the published result, and our mean of the
  ``spl.txt`` analyser samples between ``power_begin`` and ``power_end`` of ``mlperf_log_detail.txt``
  agrees within 0.03 %), system ``systems/H200-SXM-141GBx8_TRT_MaxQ.json`` (8x H200-SXM-141GB,
  'H200 TGP 700W', 2x Xeon Platinum 8480C, air-cooled), configs ``configs/<benchmark>/<scenario>/
  __init__.py`` class ``H200_SXM_141GBx8_MaxQ``: ``power_limit = 500`` [W per GPU], TP1, ``use_fp8``,
  ``kvcache_free_gpu_mem_frac`` 0.90, batch and token limits as quoted per case.
- ``V51`` = mlcommons inference_results_v5.1 (mirror ntuhpc/inference_results_v5.1 @387c3dd0),
  ``closed/Lenovo/``: results ``results/<system>_V3_B200SXMx8_TRT/<benchmark>/<scenario>/performance/
  run_1/`` (as above; our spl.txt means agree within 0.15 %), systems ``systems/SR680a_V3_B200SXMx8_TRT.json``
  (air-cooled) and ``systems/SR780a_V3_B200SXMx8_TRT.json`` (water-cooled), both 8x B200-SXM-180GB
  'B200 TGP 1000W', 2x Xeon Platinum 8568Y+; ``measurements/<system>/power_settings.txt``: 'GPUs ran
  with original power mode, 1000W.' (no cap); configs ``configs/SR680a_V3_B200SXMx8/<scenario>/
  <benchmark>.py`` (the SR780a configs are the same), limits as quoted per case.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cache

import pytest

from tests.validation.cases import (
    B200_LLAMA,
    LLAMA2_IN,
    LLAMA2_MEAN_OUT,
    LLAMA2_OUT,
    MAX_UTIL,
    _clipped_lognormal,
)
from twin.engine.server_power import server_wall_power
from twin.layout.catalog_io import load_catalog
from twin.serving.workload import LengthDist

#: tolerance on the wall power (the brief's ±15 %)
TOL_POWER = 0.15

V41 = "mlcommons/inference_results_v4.1 @198fc467 closed/NVIDIA"
V51 = "mlcommons/inference_results_v5.1 (mirror ntuhpc/inference_results_v5.1 @387c3dd0) closed/Lenovo"

# ---- workloads. Llama 2 70B: the OpenOrca lengths of tests/validation/cases.py (mean input 294
# ASSUMED there, mean output 287 from the v5.1 logs). The v4.1 H200 logs give 25,262.1 / 86.7369 = 291
# output tokens per sample and the Lenovo v5.1 logs 102,909 / 376.512 = 273: within 5 % of 287.
# Mixtral 8x7B (15,000 samples of OpenOrca, GSM8K and MBXP): mean output 48,987.9 / 335.674 = 145.9
# tokens (V41 MaxQ Offline run_1 summary; Server 45,497.0 / 311.75 = 145.9). The mean input is not in
# the stored material: ASSUMPTION 500 tokens (between the OpenOrca prompts' ~294 and few-shot GSM8K
# prompts), lognormal with std = mean, clipped at NVIDIA's max_input_len 2048; output std = mean,
# clipped at 1024.
MIXTRAL_MEAN_OUT = 145.9
MIXTRAL_IN = _clipped_lognormal(500.0, 500.0, 2048)
MIXTRAL_OUT = _clipped_lognormal(MIXTRAL_MEAN_OUT, MIXTRAL_MEAN_OUT, 1024)
# Llama 3.1 405B (input <= 20,000, output <= 2,000; max_input_len 20000 in the configs): mean output
# 1,637.11 / 2.50422 = 653.7 (V51 SR780a Offline run_1; Server 1,249.04 / 1.90 = 657). Mean input not
# stored: ASSUMPTION 9,400 tokens, lognormal std 6,000, clipped at 20,000; output std 500, clipped at
# 2,000.
L405_MEAN_OUT = 653.7
L405_IN = _clipped_lognormal(9400.0, 6000.0, 20000)
L405_OUT = _clipped_lognormal(L405_MEAN_OUT, 500.0, 2000)
# Llama 3.1 8B (CNN-DailyMail summarisation, input <= 2,540, max_seq_len 2,668): 146,960 / 1,148.12 =
# 128.0 output tokens per sample (V51 SR780a Offline run_1) = the 128-token output limit: fixed 128.
# Mean input not stored: ASSUMPTION 780 tokens (a news article), lognormal std 390, clipped at 2,540.
L8_OUT_TOKENS = 128
L8_IN = _clipped_lognormal(780.0, 390.0, 2540)
L8_OUT = LengthDist("fixed", (L8_OUT_TOKENS,))

# ---- deployments (twin.records.Deployment fields, per replica)
# V41 configs/llama2-70b/{Offline,Server}/__init__.py: H200_SXM_141GBx8_MaxQ <- H200_SXM_141GBx1:
# TP1, use_fp8, gpu_batch_size 806 (Offline) / 896 (Server); configs/llama2-70b/__init__.py
# max_num_tokens 4096; kvcache_free_gpu_mem_frac 0.90. KV policy and kernel fusion: as the v5.0-era H200
# engine of cases.H200_LLAMA (max_util, `fused-mlp`), ASSUMPTION (the v4.1 files do not state them).
H200_LLAMA_V41 = {"tp": 1, "precision": "fp8", "max_num_tokens": 4096, "kv_mem_fraction": 0.9,
                  "elementwise": "fused-mlp"} | MAX_UTIL
# V41 configs/mixtral-8x7b/Offline/__init__.py H200_SXM_141GBx8_MaxQ <- H200_SXM_141GBx1: TP1, use_fp8,
# gpu_batch_size 3072, max_num_tokens 16384 (configs/mixtral-8x7b/__init__.py); Server: gpu_batch_size
# 1200, max_num_tokens 8192; kvcache_free_gpu_mem_frac 0.90. Fusion not stated: the default op list.
H200_MIXTRAL_V41 = {"tp": 1, "precision": "fp8", "kv_mem_fraction": 0.9} | MAX_UTIL
# V51 configs/SR680a_V3_B200SXMx8/{Offline,Server}/llama2-70b.py: fp4, TP1, gpu_batch_size 2048,
# max_num_tokens 3584, kvcache_free_gpu_mem_frac 0.95, norm_quant_fusion + use_fused_mlp, max_util: the
# setup of cases.B200_LLAMA (NVIDIA's B200 config), which the Lenovo throughput case already uses
# V51 .../Offline/llama3_1-405b.py: fp4, TP2 x PP2, gpu_batch_size 128, runtime max_num_tokens 1536,
# kv 0.95, norm_quant_fusion + use_fused_mlp; Server: TP4 x PP1, batch 256, max_num_tokens 2048
L405_OFFLINE = {"tp": 2, "pp": 2, "precision": "fp4", "max_batch": 128, "max_num_tokens": 1536,
                "elementwise": "fused-norm-quant-mlp"} | MAX_UTIL
L405_SERVER = {"tp": 4, "precision": "fp4", "max_batch": 256, "max_num_tokens": 2048,
               "elementwise": "fused-norm-quant-mlp"} | MAX_UTIL
# V51 .../llama3_1-8b.py (Offline and Server alike): fp4, TP1, gpu_batch_size 6000, max_num_tokens
# 12000, kv 0.9, use_fused_mlp without norm_quant_fusion (SwiGLU in the GEMM, norms and quantisation
# separate: `fused-mlp`)
L8 = {"tp": 1, "precision": "fp4", "max_batch": 6000, "max_num_tokens": 12000, "kv_mem_fraction": 0.9,
      "elementwise": "fused-mlp"} | MAX_UTIL


@dataclass(frozen=True)
class PowerCase:
    """One measured wall power and the setup that produced it."""

    id: str
    source: str
    system: str                     # catalog system
    model: str                      # catalog LLM
    scenario: str                   # "offline" or "server"
    measured_w: float               # average AC wall power over the timed run [W]
    measured_tok_s: float           # the run's output tokens/s
    mean_output: float              # tokens per sample, to turn a Server throughput into a rate
    gpu_limit_w: float | None
    deployment: dict = field(compare=False)
    input_len: LengthDist = field(compare=False)
    output_len: LengthDist = field(compare=False)
    tolerance: float = TOL_POWER

    def run(self) -> dict:
        return _predict(self.id)


def _case(id, path, system, model, scenario, watts, tok_s, mean_out, limit, dep, inp, out, src):
    source = f"{src} {path}: {tok_s:,} tok/s at {watts:,} W"
    return PowerCase(id, source, system, model, scenario, watts, tok_s, mean_out, limit, dep, inp, out)


H200 = "results/H200-SXM-141GBx8_TRT_MaxQ"
SR680 = "results/SR680a_V3_B200SXMx8_TRT"
SR780 = "results/SR780a_V3_B200SXMx8_TRT"
CASES: list[PowerCase] = [
    _case("h200-maxq-llama2-70b-offline", f"{H200}/llama2-70b-99/Offline", "hgx-h200", "llama-2-70b",
          "offline", 6152.98, 25262.1, LLAMA2_MEAN_OUT, 500.0, H200_LLAMA_V41 | {"max_batch": 806},
          LLAMA2_IN, LLAMA2_OUT, V41),
    _case("h200-maxq-llama2-70b-server", f"{H200}/llama2-70b-99/Server", "hgx-h200", "llama-2-70b",
          "server", 6280.21, 23113.14, LLAMA2_MEAN_OUT, 500.0, H200_LLAMA_V41 | {"max_batch": 896},
          LLAMA2_IN, LLAMA2_OUT, V41),
    _case("h200-maxq-mixtral-8x7b-offline", f"{H200}/mixtral-8x7b/Offline", "hgx-h200", "mixtral-8x7b",
          "offline", 6154.80, 48987.9, MIXTRAL_MEAN_OUT, 500.0,
          H200_MIXTRAL_V41 | {"max_batch": 3072, "max_num_tokens": 16384}, MIXTRAL_IN, MIXTRAL_OUT, V41),
    _case("h200-maxq-mixtral-8x7b-server", f"{H200}/mixtral-8x7b/Server", "hgx-h200", "mixtral-8x7b",
          "server", 6174.90, 45496.95, MIXTRAL_MEAN_OUT, 500.0,
          H200_MIXTRAL_V41 | {"max_batch": 1200, "max_num_tokens": 8192}, MIXTRAL_IN, MIXTRAL_OUT, V41),
    _case("sr680a-b200-llama2-70b-offline", f"{SR680}/llama2-70b-99/Offline", "hgx-b200", "llama-2-70b",
          "offline", 10401.0, 102909, LLAMA2_MEAN_OUT, None, B200_LLAMA, LLAMA2_IN, LLAMA2_OUT, V51),
    _case("sr680a-b200-llama2-70b-server", f"{SR680}/llama2-70b-99/Server", "hgx-b200", "llama-2-70b",
          "server", 10442.3, 99159.3, LLAMA2_MEAN_OUT, None, B200_LLAMA, LLAMA2_IN, LLAMA2_OUT, V51),
    _case("sr780a-b200-llama3.1-405b-offline", f"{SR780}/llama3.1-405b/Offline", "hgx-b200",
          "llama-3.1-405b", "offline", 9891.8, 1637.11, L405_MEAN_OUT, None, L405_OFFLINE, L405_IN, L405_OUT,
          V51),
    _case("sr780a-b200-llama3.1-405b-server", f"{SR780}/llama3.1-405b/Server", "hgx-b200",
          "llama-3.1-405b", "server", 9566.2, 1249.04, L405_MEAN_OUT, None, L405_SERVER, L405_IN, L405_OUT,
          V51),
    _case("sr780a-b200-llama3.1-8b-offline", f"{SR780}/llama3.1-8b/Offline", "hgx-b200", "llama-3.1-8b",
          "offline", 9436.1, 146960, L8_OUT_TOKENS, None, L8, L8_IN, L8_OUT, V51),
    _case("sr780a-b200-llama3.1-8b-server", f"{SR780}/llama3.1-8b/Server", "hgx-b200", "llama-3.1-8b",
          "server", 9011.1, 128689, L8_OUT_TOKENS, None, L8, L8_IN, L8_OUT, V51),
]
CASES_BY_ID = {c.id: c for c in CASES}
assert len(CASES_BY_ID) == len(CASES), "duplicate case ids"

#: cases outside ±15 % today (strict: one that starts passing must move out, and docs/validation.md
#: be updated; the table test checks that each reason quotes the current error)
KNOWN_MISSES: dict[str, str] = {
    "h200-maxq-llama2-70b-offline": "error +19.8% vs tolerance ±15% (measured 6153 W, predicted 7370 W)",
    "h200-maxq-llama2-70b-server": "error +17.4% vs tolerance ±15% (measured 6280 W, predicted 7370 W)",
    "h200-maxq-mixtral-8x7b-offline": "error +19.8% vs tolerance ±15% (measured 6155 W, predicted 7370 W)",
    "sr680a-b200-llama2-70b-offline": "error +22.9% vs tolerance ±15% (measured 10401 W, predicted 12781 W)",
    "sr680a-b200-llama2-70b-server": "error +22.4% vs tolerance ±15% (measured 10442 W, predicted 12781 W)",
    "sr780a-b200-llama3.1-405b-offline":
        "error +24.7% vs tolerance ±15% (measured 9892 W, predicted 12336 W)",
    "sr780a-b200-llama3.1-405b-server":
        "error +17.7% vs tolerance ±15% (measured 9566 W, predicted 11257 W)",
    "sr780a-b200-llama3.1-8b-offline": "error +27.5% vs tolerance ±15% (measured 9436 W, predicted 12028 W)",
    "sr780a-b200-llama3.1-8b-server": "error +26.0% vs tolerance ±15% (measured 9011 W, predicted 11355 W)",
}


@cache
def _catalog():
    return load_catalog()


@cache
def _predict(case_id: str) -> dict:
    c = CASES_BY_ID[case_id]
    load = ({"offline": True} if c.scenario == "offline"
            else {"rate": c.measured_tok_s / c.mean_output})
    return server_wall_power(c.system, c.model, input_tokens=c.input_len, output_tokens=c.output_len,
                             gpu_power_limit_w=c.gpu_limit_w, catalog=_catalog(), **load, **c.deployment)


def _error(c: PowerCase) -> float:
    return c.run()["wall_w"] / c.measured_w - 1.0


def _reason(c: PowerCase) -> str:
    return (f"error {_error(c):+.1%} vs tolerance ±{c.tolerance:.0%} (measured {c.measured_w:.0f} W, "
            f"predicted {c.run()['wall_w']:.0f} W)")


def _params():
    for c in CASES:
        marks = [pytest.mark.xfail(reason=KNOWN_MISSES[c.id], strict=True)] if c.id in KNOWN_MISSES else []
        yield pytest.param(c, id=c.id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_wall_power_within_tolerance(case: PowerCase):
    err = _error(case)
    assert abs(err) <= case.tolerance, f"{case.id}: {_reason(case)}; source: {case.source}"


def table() -> str:
    """The markdown table of docs/validation.md, one row per case."""
    rows = ["| case | system (catalog) | benchmark | scenario | GPU limit | measured W | predicted W "
            "| error | GPU W | clock | a_c / a_m | result |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in CASES:
        p = c.run()
        err = _error(c)
        ok = "pass" if abs(err) <= c.tolerance else "miss"
        limit = f"{c.gpu_limit_w:.0f} W" if c.gpu_limit_w else "none (TDP)"
        bench = c.model
        rows.append(f"| {c.id} | {c.system} | {bench} | {c.scenario} | {limit} | {c.measured_w:,.0f} | "
                    f"{p['wall_w']:,.0f} | {err:+.1%} | {p['gpu_w']:.0f} | {p['clock_factor']:.3f} | "
                    f"{p['activity']['compute']:.2f} / {p['activity']['memory']:.2f} | {ok} |")
    return "\n".join(rows)


def test_errors_table_and_known_misses_agree():
    """Every case predicts a finite power between the node's idle and its nameplate, and every
    expected failure's reason quotes the error the model gives today (prints the table with ``-s``)."""
    sys.stdout.write("\n" + table() + "\n")
    for c in CASES:
        p = c.run()
        assert p["gpu_idle_w"] * p["num_gpus"] < p["wall_w"] < p["num_gpus"] * p["gpu_tdp_w"] * 2.0, c.id
        if c.id in KNOWN_MISSES:
            assert KNOWN_MISSES[c.id] == _reason(c), (c.id, _reason(c))
        else:
            assert abs(_error(c)) <= c.tolerance, c.id
    assert set(KNOWN_MISSES) <= set(CASES_BY_ID)


def test_maxq_limit_binds_where_the_demand_exceeds_it():
    """Under the 500 W MaxQ limit a GPU demanding more at full clock is held at the limit by a lower
    clock, one demanding less runs at full clock. Both Offline runs (compute-bound, saturated) are
    held; then the case tests the non-GPU parts and the limit, not the activity shares."""
    for c in CASES:
        if c.gpu_limit_w is None:
            continue
        p = c.run()
        assert p["limit_met"], c.id
        if p["gpu_demand_w_full_clock"] > c.gpu_limit_w:
            assert p["clock_factor"] < 1.0, c.id
            assert p["gpu_w"] == pytest.approx(c.gpu_limit_w, abs=0.5), c.id
        else:
            assert p["clock_factor"] == 1.0, c.id
            assert p["gpu_w"] == p["gpu_demand_w_full_clock"], c.id
        if c.scenario == "offline":
            assert p["clock_factor"] < 1.0, c.id


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
