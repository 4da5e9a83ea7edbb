"""``twin serve-sim``: token throughput and latency of an LLM deployment, and the catalog adapter.

The adapter functions (:func:`model_spec`, :func:`hardware_spec`) turn catalog entries into the plain
dataclasses of :mod:`twin.serving.specs`: the serving physics never imports the catalog schema.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import click

from twin.cli.common import json_option, positive_number, write_json
from twin.errors import InputError
from twin.layout import Catalog, load_catalog
from twin.layout.catalog import LlmEntry, SystemEntry
from twin.serving.api import max_rate, simulate
from twin.serving.perf_model import ELEMENTWISE
from twin.serving.specs import Deployment, HardwareSpec, ModelSpec, ServingInputError
from twin.serving.workload import LengthDist, Workload, parse_length, read_trace

#: system catalog name -> aiconfigurator-core kernel-table directory (same GPU silicon).
#: hgx-h100/h200/b200 are the SXM boards of aiconfigurator's h100_sxm/h200_sxm/b200_sxm; the NVL72
#: racks are its gb200/gb300 entries.
KERNEL_DEVICES: dict[str, str] = {
    "hgx-h100": "h100_sxm",
    "hgx-h200": "h200_sxm",
    "hgx-b200": "b200_sxm",
    "gb200-nvl72": "gb200",
    "gb300-nvl72": "gb300",
}

#: Scale-out bandwidth per GPU, one direction [bytes/s]: ConnectX-7 400 Gb/s on H100/H200/B200/GB200
#: (NVIDIA DGX user guides, shared/reference hardware-and-facility.md 1.1); ConnectX-8 800 Gb/s on
#: GB300 NVL72 (same table).
SCALE_OUT_BW: dict[str, float] = {"gb300-nvl72": 100e9}
DEFAULT_SCALE_OUT_BW = 50e9


def model_spec(entry: LlmEntry) -> ModelSpec:
    """Plain :class:`ModelSpec` from a catalog ``llm`` entry."""
    i = lambda s: int(s.si) if s is not None else 0  # noqa: E731
    moe, mla = entry.moe, entry.mla
    return ModelSpec(
        name=entry.name,
        num_layers=i(entry.num_layers),
        hidden_size=i(entry.hidden_size),
        num_heads=i(entry.num_attention_heads),
        num_kv_heads=i(entry.num_kv_heads),
        head_dim=i(entry.head_dim),
        intermediate_size=i(entry.intermediate_size),
        vocab_size=i(entry.vocab_size),
        max_context=i(entry.max_context),
        num_params=entry.num_params.si,
        precisions=tuple(entry.precisions),
        num_experts=i(moe.num_experts) if moe else 0,
        num_active_experts=i(moe.num_active_experts) if moe else 0,
        num_shared_experts=i(moe.num_shared_experts) if moe else 0,
        expert_intermediate_size=i(moe.expert_intermediate_size) if moe else 0,
        num_dense_layers=i(moe.num_dense_layers) if moe else 0,
        kv_lora_rank=i(mla.kv_lora_rank) if mla else 0,
        q_lora_rank=i(mla.q_lora_rank) if mla else 0,
        qk_rope_head_dim=i(mla.qk_rope_head_dim) if mla else 0,
        qk_nope_head_dim=i(mla.qk_nope_head_dim) if mla else 0,
        v_head_dim=i(mla.v_head_dim) if mla else 0,
        sliding_window=i(entry.sliding_window),
        sliding_window_layer_fraction=(
            entry.sliding_window_layer_fraction.si if entry.sliding_window_layer_fraction else 0.0
        ),
    )


def hardware_spec(entry: SystemEntry) -> HardwareSpec:
    """Plain :class:`HardwareSpec` from a catalog ``system`` entry (its GPU and NVLink domain)."""
    g = entry.gpu
    return HardwareSpec(
        name=entry.name,
        peak_flops={k: v.si for k, v in g.peak_dense_flops.items()},
        hbm_bytes=g.hbm_capacity.si,
        hbm_bw_bytes_s=g.hbm_bandwidth.si,
        nvlink_bw_bytes_s=g.nvlink_bandwidth.si,
        nvlink_domain_gpus=int(entry.nvlink_domain_gpus.si),
        scale_out_bw_bytes_s=SCALE_OUT_BW.get(entry.name, DEFAULT_SCALE_OUT_BW),
        kernel_device=KERNEL_DEVICES.get(entry.name),
    )


def lookup_specs(system: str, model: str, catalog: Catalog | None = None) -> tuple[ModelSpec, HardwareSpec]:
    """Model and hardware specs by catalog name; ``ServingInputError`` listing valid names otherwise."""
    cat = catalog or load_catalog()
    try:
        sys_entry = cat.lookup("system", system)
        llm_entry = cat.lookup("llm", model)
    except KeyError as exc:
        raise ServingInputError(exc.args[0]) from None
    return model_spec(llm_entry), hardware_spec(sys_entry)


def serve_sim(
    *,
    system: str,
    gpus: int,
    model: str,
    precision: str = "fp8",
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    attention_dp: bool = False,
    max_batch: int = 256,
    max_num_tokens: int = 8192,
    scheduler: str = "trtllm",
    workload: Workload | None = None,
    rate: float | None = None,
    input_tokens: str | int = 2048,
    output_tokens: str | int = 256,
    duration_s: float = 600.0,
    offline: bool = False,
    num_requests: int | None = None,
    trace: str | None = None,
    seed: int = 0,
    fluid: bool = False,
    backend: str = "auto",
    slo_ttft_s: float | None = None,
    slo_tpot_s: float | None = None,
    progress=None,
    catalog: Catalog | None = None,
    prefill_gpus: int | None = None,
    concurrency: int | None = None,
    rate_profile: str = "constant",
    max_rate_search: bool = False,
    chunked_prefill: bool = True,
    adp_balance: tuple[int, int] | None = None,
    elementwise: str = "pytorch",
    prefill: dict | None = None,
) -> dict:
    """The ``twin serve-sim`` computation from Python; returns the JSON-ready result dict.

    With ``max_rate_search`` the arrival rate is searched instead of given: the result is the highest
    Poisson rate whose P99 TTFT and P99 TPOT stay within ``slo_ttft_s`` / ``slo_tpot_s`` (MLPerf
    Server scoring, :func:`twin.serving.api.max_rate`), with the metrics at that rate. ``prefill``
    (with ``prefill_gpus``) overrides the prefill pool's shape: any of ``tp``, ``ep``, ``max_batch``,
    ``max_num_tokens``, ``attention_dp``.
    """
    prefill = {k: v for k, v in (prefill or {}).items() if v is not None}
    unknown = set(prefill) - {"tp", "ep", "max_batch", "max_num_tokens", "attention_dp"}
    if unknown:
        raise ServingInputError(f"unknown prefill-pool setting(s) {', '.join(sorted(unknown))}; "
                                "valid: tp, ep, max_batch, max_num_tokens, attention_dp")
    if max_rate_search:
        if offline or trace or concurrency is not None or fluid or prefill_gpus or prefill:
            raise ServingInputError("--max-rate searches the Poisson arrival rate of an aggregated discrete "
                                    "run: drop --offline, --trace, --concurrency, --fluid and --prefill-*")
        if slo_ttft_s is None and slo_tpot_s is None:
            raise ServingInputError("--max-rate needs the P99 limits to meet: --slo-ttft and/or --slo-tpot")
    mspec, hspec = lookup_specs(system, model, catalog)
    dep = Deployment(
        tp=tp,
        pp=pp,
        ep=ep,
        precision=precision,
        attention_dp=attention_dp,
        max_batch=max_batch,
        max_num_tokens=max_num_tokens,
        scheduler=scheduler,
        chunked_prefill=chunked_prefill,
        adp_balance_wait_iters=adp_balance[0] if adp_balance else 0,
        adp_balance_timeout_iters=adp_balance[1] if adp_balance else 0,
        elementwise=elementwise,
    )
    prefill_dep = dataclasses.replace(dep, **prefill) if prefill else None
    if workload is None:
        if trace:
            workload = Workload(trace=read_trace(trace))
        else:
            workload = Workload(
                rate_per_s=None if offline else (1.0 if max_rate_search and rate is None else rate),
                input_len=_dist(input_tokens, "input"),
                output_len=_dist(output_tokens, "output"),
                duration_s=duration_s,
                num_requests=num_requests,
                offline=offline or concurrency is not None,
                rate_profile=rate_profile,
            )
    workload.check()
    if concurrency is not None and concurrency < 1:
        raise ServingInputError(f"--concurrency must be at least 1, got {concurrency}")
    if fluid and (prefill_gpus or concurrency):
        raise ServingInputError(
            "--fluid covers aggregated open-loop serving only (no --prefill-gpus, no --concurrency)"
        )
    notes = []
    if precision not in hspec.peak_flops:
        wider = next(p for p in ("fp8", "bf16") if p in hspec.peak_flops)
        notes.append(
            f"{system} has no {precision} tensor-core rate: {precision} weights compute at the "
            f"{wider} rate (memory traffic stays {precision})"
        )
    if offline and rate is not None:
        notes.append("--offline sends every request at time zero: --rate is ignored")
    if not prefill_gpus and gpus >= dep.num_gpus and gpus % dep.num_gpus:
        notes.append(f"{gpus} GPUs are not a whole number of {dep.num_gpus}-GPU replicas (TP{tp} x PP{pp}): "
                     f"{gpus % dep.num_gpus} GPUs stay idle and are not counted per GPU")
    if max_rate_search:
        if rate is not None:
            notes.append("--max-rate searches the arrival rate: --rate is ignored")
        result = max_rate(mspec, hspec, dep, workload, gpus, p99_ttft_s=slo_ttft_s, p99_tpot_s=slo_tpot_s,
                          backend=backend, seed=seed, progress=progress)
        return result | {"notes": notes}
    result = simulate(
        mspec,
        hspec,
        dep,
        workload,
        gpus,
        fluid=fluid,
        backend=backend,
        seed=seed,
        slo_ttft_s=slo_ttft_s,
        slo_tpot_s=slo_tpot_s,
        progress=progress,
        prefill_gpus=prefill_gpus,
        concurrency=concurrency,
        prefill_deployment=prefill_dep,
    )
    return result | {"notes": notes}


def _dist(v: str | int | LengthDist, what: str) -> LengthDist:
    return v if isinstance(v, LengthDist) else parse_length(str(v), what)


def _table(d: dict) -> str:
    cap = d.get("capacity")

    def limits(fmt: str) -> str:
        return " and ".join(f"P99 {k} <= {v * 1e3:{fmt}} ms" for k, v in
                            (("TTFT", cap["p99_ttft_limit_s"]), ("TPOT", cap["p99_tpot_limit_s"])) if v)

    if cap is not None and not cap["max_rate_per_s"]:
        low = min(p["rate_per_s"] for p in cap["probes"])
        return "\n".join([f"{d['model']} on {d['num_gpus']} x {d['system']} GPUs, capacity search",
                          f"  no rate meets {limits(',.3g')}: even {low:.3g} requests/s fails "
                          f"({len(cap['probes'])} simulations)",
                          *[f"  note: {n}" for n in d.get("notes", [])]])
    dis = d.get("disaggregated")
    shape = f"TP{d['tp']} PP{d['pp']} EP{d['ep']}"
    if dis:
        pre_shape = f"TP{dis['prefill_tp']} PP{dis['prefill_pp']} EP{dis['prefill_ep']}"
        pools = (f", disaggregated {dis['prefill_replicas']} prefill ({pre_shape}) + "
                 f"{dis['decode_replicas']} decode ({shape})")
    lines = [
        f"{d['model']} on {d['num_gpus']} x {d['system']} GPUs: {d['num_replicas']} "
        f"replica{'s' if d['num_replicas'] != 1 else ''} of "
        f"{shape if not dis or pre_shape == shape else 'two shapes'} {d['precision']} "
        f"(KV {d['kv_precision']}), {d['mode']} mode, {d['backend']} kernels" + (pools if dis else ""),
        f"  KV pool {d['memory']['kv_capacity_tokens']:,} tokens per {'decode ' if dis else ''}replica, "
        f"weights {d['memory']['weights_bytes_per_gpu'] / 1e9:.1f} GB per GPU"
        + (f"; prefill replicas {dis['prefill_memory']['kv_capacity_tokens']:,} tokens, "
           f"{dis['prefill_memory']['weights_bytes_per_gpu'] / 1e9:.1f} GB" if dis else ""),
        *(
            [
                f"  OVERLOADED: {d['saturated_replicas']} of {d['num_replicas']} replicas cannot keep up "
                f"with the offered load; they serve at capacity and queues (and TTFT) grow without bound"
            ]
            if d.get("saturated_replicas")
            else []
        ),
        *[f"  note: {n}" for n in d.get("notes", [])],
        f"  requests completed      {d['num_completed']:>12,}",
        f"  output tokens/s         {d['output_tokens_per_s']:>12,.0f}   "
        f"({d['output_tokens_per_s_per_gpu']:,.1f} per GPU)",
        f"  total tokens/s          {d['total_tokens_per_s']:>12,.0f}",
        f"  requests/s              {d['requests_per_s']:>12,.2f}",
        "",
        f"  {'metric':<10}{'mean':>10}{'p50':>10}{'p90':>10}{'p99':>10}",
    ]
    for key, label, scale, unit in (
        ("ttft_s", "TTFT", 1e3, "ms"),
        ("tpot_s", "TPOT", 1e3, "ms"),
        ("e2e_s", "E2E", 1.0, "s"),
    ):
        s = d[key]
        lines.append(
            f"  {label + ' ' + unit:<10}"
            + "".join(
                f"{s[q] * scale:>10.1f}" if s[q] is not None else f"{'-':>10}"
                for q in ("mean", "p50", "p90", "p99")
            )
        )
    if cap is not None:
        lines.insert(1, f"  highest rate with {limits(',.0f')}: {cap['max_rate_per_s']:,.3f} requests/s, "
                        f"{cap['output_tokens_per_s']:,.0f} output tokens/s "
                        f"({cap['output_tokens_per_s_per_gpu']:,.1f} per GPU) in steady state "
                        f"({len(cap['probes'])} simulations); the run at that rate:")
    if d.get("goodput_requests_per_s") is not None:
        lines.append(
            f"  goodput at SLA: {d['goodput_requests_per_s']:.2f} req/s "
            f"({d['slo_attainment']:.1%} of requests meet it)"
        )
    return "\n".join(lines)


def _adp_balance(ctx, param, value):
    if value is None:
        return None
    try:
        wait, timeout = (int(x) for x in value.split(","))
        if wait < 0 or timeout < 1:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected WAIT,TIMEOUT iterations, whole numbers, WAIT >= 0 and "
                                 "TIMEOUT >= 1 (e.g. 3,9)") from None
    return wait, timeout


@click.command("serve-sim")
@click.option("--system", required=True, help="System catalog name (e.g. gb200-nvl72, hgx-h100).")
@click.option("--gpus", type=int, required=True, help="GPUs to use; replicas = gpus // (tp * pp).")
@click.option("--model", "model_name", required=True, help="LLM catalog name (e.g. llama-3.1-70b).")
@click.option("--precision", default="fp8", show_default=True, help="Weight precision: bf16, fp8, fp4.")
@click.option("--tp", type=int, default=1, show_default=True, help="Tensor-parallel GPUs per replica.")
@click.option("--pp", type=int, default=1, show_default=True, help="Pipeline stages per replica.")
@click.option("--ep", type=int, default=1, show_default=True, help="Expert-parallel GPUs (MoE).")
@click.option("--attention-dp", is_flag=True, help="Attention data-parallel over the TP GPUs (MoE).")
@click.option("--max-batch", type=int, default=256, show_default=True, help="Max sequences per iteration.")
@click.option(
    "--max-num-tokens",
    type=int,
    default=8192,
    show_default=True,
    help="Max tokens per iteration (prefill chunk budget).",
)
@click.option(
    "--scheduler",
    default="trtllm",
    show_default=True,
    help="Batch scheduler: trtllm (reserve KV, no eviction), trtllm-max-util or vllm (KV on demand, "
    "preempt the newest when full).",
)
@click.option("--rate", type=float, help="Poisson arrival rate, all replicas [requests/s].")
@click.option(
    "--input-tokens",
    default="2048",
    show_default=True,
    help="Prompt length: N, or a distribution fixed:N | normal:MEAN,STD[,MAX] | uniform:LO,HI | "
    "lognormal:MEAN,STD[,MAX] | exponential:MEAN[,MAX] (MAX clips the tail).",
)
@click.option("--output-tokens", default="256", show_default=True, help="Output length (same forms).")
@click.option("--duration", type=float, default=600.0, show_default=True, help="Arrival window [s].")
@click.option(
    "--rate-profile",
    default="constant",
    show_default=True,
    help="Arrival-rate shape: constant, diurnal:PERIOD_S,AMPLITUDE, bursty:PERIOD_S,DUTY,FACTOR.",
)
@click.option("--offline", is_flag=True, help="Send all requests at time zero (MLPerf Offline).")
@click.option(
    "--concurrency",
    type=int,
    help="Closed loop: this many clients, each sending the next "
    "request when its previous one completes (needs --num-requests).",
)
@click.option("--prefill-gpus", type=int, help="Disaggregated: GPUs of the prefill pool (the rest decode).")
@click.option("--prefill-tp", type=int, help="Disaggregated: TP of a prefill replica (default: --tp).")
@click.option("--prefill-ep", type=int, help="Disaggregated: EP of a prefill replica (default: --ep).")
@click.option("--prefill-max-batch", type=int,
              help="Disaggregated: prefill batch limit (default: --max-batch).")
@click.option("--prefill-max-num-tokens", type=int,
              help="Disaggregated: prefill tokens per iteration (default: --max-num-tokens).")
@click.option("--num-requests", type=int, help="Number of requests (offline, or a cap).")
@click.option(
    "--trace", type=click.Path(path_type=Path), help="CSV with arrival_s,input_tokens,output_tokens."
)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Random seed.")
@click.option("--fluid", is_flag=True, help="Analytic (queueing) mode instead of the discrete simulation.")
@click.option("--backend", default="auto", show_default=True, help="GEMM times: auto, tables, roofline.")
@click.option("--slo-ttft", type=float, callback=positive_number, help="SLA on TTFT for goodput [s].")
@click.option("--slo-tpot", type=float, callback=positive_number, help="SLA on TPOT for goodput [s].")
@click.option("--no-chunked-prefill", "no_chunked", is_flag=True,
              help="Admit a prompt only when it fits whole in an iteration "
                   "(TRT-LLM enable_chunked_context off).")
@click.option("--adp-balance", metavar="WAIT,TIMEOUT", callback=_adp_balance,
              help="Attention-DP balancing of TRT-LLM: hold new contexts until every rank has one plus WAIT "
                   "iterations, at most TIMEOUT iterations (needs --attention-dp; e.g. 3,9).")
@click.option("--elementwise", type=click.Choice(list(ELEMENTWISE)), default="pytorch", show_default=True,
              help="Kernel fusion of the engine for norms, activation quantisation and SwiGLU: pytorch "
                   "(TRT-LLM PyTorch backend), unfused, fused-mlp, fused-norm-quant-mlp (NVIDIA MLPerf "
                   "engines), none.")
@click.option("--max-rate", "max_rate_search", is_flag=True,
              help="Search the highest Poisson rate whose P99 TTFT and P99 TPOT meet --slo-ttft/--slo-tpot "
                   "(MLPerf Server scoring) and report the metrics there.")
@json_option
def serve_sim_cmd(
    system,
    gpus,
    model_name,
    precision,
    tp,
    pp,
    ep,
    attention_dp,
    max_batch,
    max_num_tokens,
    scheduler,
    rate,
    input_tokens,
    output_tokens,
    duration,
    rate_profile,
    offline,
    concurrency,
    prefill_gpus,
    prefill_tp,
    prefill_ep,
    prefill_max_batch,
    prefill_max_num_tokens,
    num_requests,
    trace,
    seed,
    fluid,
    backend,
    slo_ttft,
    slo_tpot,
    no_chunked,
    adp_balance,
    elementwise,
    max_rate_search,
    json_out,
) -> None:
    """Simulate LLM serving: throughput, TTFT, TPOT and end-to-end latency."""
    if not offline and trace is None and rate is None and concurrency is None and not max_rate_search:
        _fail("give --rate (requests/s), --offline, --concurrency or --trace")
    if concurrency is not None and num_requests is None and trace is None:
        _fail("--concurrency needs --num-requests (how many requests the clients send in all)")
    started = time.monotonic()
    last = [started]

    def progress(frac: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 and now - started > 2.0:
            last[0] = now
            click.echo(f"\r  simulating... {frac:5.1%}", err=True, nl=False)

    try:
        result = serve_sim(
            system=system,
            gpus=gpus,
            model=model_name,
            precision=precision,
            tp=tp,
            pp=pp,
            ep=ep,
            attention_dp=attention_dp,
            max_batch=max_batch,
            max_num_tokens=max_num_tokens,
            scheduler=scheduler,
            rate=rate,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            duration_s=duration,
            offline=offline,
            num_requests=num_requests,
            trace=str(trace) if trace else None,
            seed=seed,
            fluid=fluid,
            backend=backend,
            slo_ttft_s=slo_ttft,
            slo_tpot_s=slo_tpot,
            progress=progress,
            prefill_gpus=prefill_gpus,
            concurrency=concurrency,
            rate_profile=rate_profile,
            max_rate_search=max_rate_search,
            chunked_prefill=not no_chunked,
            adp_balance=adp_balance,
            elementwise=elementwise,
            prefill={"tp": prefill_tp, "ep": prefill_ep, "max_batch": prefill_max_batch,
                     "max_num_tokens": prefill_max_num_tokens},
        )
    except (ServingInputError, InputError) as exc:
        _fail(str(exc))
    if time.monotonic() - started > 2.0:
        click.echo("\r" + " " * 30 + "\r", err=True, nl=False)
    if json_out != "-":
        click.echo(_table(result))
    if json_out:
        result = {k: v for k, v in result.items() if k != "activity"} | {"activity": result.get("activity")}
        write_json(result, json_out)


def _fail(msg: str):
    click.echo(f"error: {msg}", err=True)
    sys.exit(2)
