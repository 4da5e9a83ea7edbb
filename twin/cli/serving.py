"""``twin serve-sim``: token throughput and latency of an LLM deployment.

Parses flags, calls :func:`twin.engine.serve.serve_sim` (``twin.serve_sim``) and prints; library errors
name their argument (```deployment.pp```) and are shown with this command's flags (``--pp``).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import click

from twin.cli.common import finite, json_option, positive_number, write_json
from twin.engine.serve import serve_sim
from twin.errors import InputError, ServingInputError
from twin.serving.perf_model import ELEMENTWISE
from twin.serving.workload import MAX_REQUESTS

#: Bounds of serve-sim's numbers: what one campus holds (~4x10^5 GPUs), with room.
MAX_GPUS = 1_000_000
#: Largest TP / PP / EP of one replica (an NVLink domain is at most 576 GPUs).
MAX_PARALLEL = 1024
#: Largest batch and tokens per iteration of one replica.
MAX_BATCH, MAX_TOKENS_PER_ITERATION = 100_000, 10_000_000
#: Largest arrival rate [requests/s] (the library bounds the window and the requests it makes).
MAX_RATE = 1e9
#: Most closed-loop clients.
MAX_CONCURRENCY = 10_000_000

#: Python API argument (as :func:`twin.serve_sim` and its errors name it) -> the flag of this command
FLAGS: dict[str, str] = {
    "system": "--system", "gpus": "--gpus", "model": "--model", "precision": "--precision", "tp": "--tp",
    "pp": "--pp", "ep": "--ep", "attention_dp": "--attention-dp", "max_batch": "--max-batch",
    "max_num_tokens": "--max-num-tokens", "scheduler": "--scheduler", "rate": "--rate",
    "rate_per_s": "--rate",
    "input_tokens": "--input-tokens", "output_tokens": "--output-tokens", "duration_s": "--duration",
    "rate_profile": "--rate-profile", "offline": "--offline", "concurrency": "--concurrency",
    "prefill_gpus": "--prefill-gpus", "prefill_*": "--prefill-*", "prefill": "--prefill-*",
    "prefill_tp": "--prefill-tp", "prefill_ep": "--prefill-ep", "prefill_max_batch": "--prefill-max-batch",
    "prefill_max_num_tokens": "--prefill-max-num-tokens",
    "num_requests": "--num-requests", "trace": "--trace", "seed": "--seed", "fluid": "--fluid",
    "backend": "--backend", "slo_ttft_s": "--slo-ttft", "slo_tpot_s": "--slo-tpot",
    "chunked_prefill": "--no-chunked-prefill", "adp_balance": "--adp-balance",
    "adp_balance_wait_iters": "--adp-balance", "adp_balance_timeout_iters": "--adp-balance",
    "elementwise": "--elementwise", "max_rate_search": "--max-rate", "speculative": "--speculative",
    "host_path": "--host-path", "host_cores": "--host-cores", "stream_interval": "--stream-interval",
}


def in_flags(message: str) -> str:
    """A library message with its argument names (```deployment.pp```, ```workload.rate_per_s```) as flags."""
    def flag(m: re.Match) -> str:
        name = m.group(1).rsplit(".", 1)[-1]
        return FLAGS.get(name, m.group(1))

    return re.sub(r"`([A-Za-z_.*]+)`", flag, message)


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
        *([f"  speculative decoding: {sp['method']}"
           + (f" ({sp['draft_model']})" if sp["draft_model"] else "")
           + f", {sp['num_draft_tokens']} draft tokens, {sp['tokens_per_step']:.2f} tokens per step accepted"
           f" on average (draft in {sp['draft_precision']})"] if (sp := d.get("speculative")) else []),
        *_host_lines(d.get("host")),
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


def _host_lines(h: dict | None) -> list[str]:
    if not h:
        return []
    where = "in the engine loop" if h["engine_detokenizes"] else "on the front end"
    lines = [f"  host front end: {h['cores']} cores, {h['utilisation']:.0%} busy; tokenization "
             f"{h['mean_tokenize_s'] * 1e3:.2f} ms per request, {h['per_output_token_s'] * 1e6:.1f} us per "
             f"output token {where}, mean wait for a core {h['mean_wait_s'] * 1e3:.2f} ms"]
    if h["bound"]:
        lines.append("  HOST-BOUND: the front end's CPU cores, not the GPUs, set the throughput; give it "
                     "more cores (--host-cores) or stream fewer chunks (--stream-interval)")
    return lines


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
@click.option("--gpus", type=click.IntRange(max=MAX_GPUS), required=True,
              help="GPUs to use; replicas = gpus // (tp * pp).")
@click.option("--model", "model_name", required=True, help="LLM catalog name (e.g. llama-3.1-70b).")
@click.option("--precision", default="fp8", show_default=True, help="Weight precision: bf16, fp8, fp4.")
@click.option("--tp", type=click.IntRange(max=MAX_PARALLEL), default=1, show_default=True,
              help="Tensor-parallel GPUs per replica.")
@click.option("--pp", type=click.IntRange(max=MAX_PARALLEL), default=1, show_default=True,
              help="Pipeline stages per replica.")
@click.option("--ep", type=click.IntRange(max=MAX_PARALLEL), default=1, show_default=True,
              help="Expert-parallel GPUs (MoE).")
@click.option("--attention-dp", is_flag=True, help="Attention data-parallel over the TP GPUs (MoE).")
@click.option("--max-batch", type=click.IntRange(max=MAX_BATCH), default=256, show_default=True,
              help="Max sequences per iteration, per replica (per attention-DP rank with --attention-dp, as "
                   "TensorRT-LLM's max_batch_size).")
@click.option(
    "--max-num-tokens",
    type=click.IntRange(max=MAX_TOKENS_PER_ITERATION),
    default=8192,
    show_default=True,
    help="Max tokens per iteration (prefill chunk budget), per replica (per attention-DP rank with "
    "--attention-dp, as TensorRT-LLM's max_num_tokens).",
)
@click.option(
    "--scheduler",
    default="trtllm",
    show_default=True,
    help="Batch scheduler: trtllm (reserve KV, no eviction), trtllm-max-util or vllm (KV on demand, "
    "preempt the newest when full).",
)
@click.option("--rate", type=click.FloatRange(max=MAX_RATE), callback=finite,
              help="Poisson arrival rate, all replicas [requests/s].")
@click.option(
    "--input-tokens",
    default="2048",
    show_default=True,
    help="Prompt length: N, or a distribution fixed:N | normal:MEAN,STD[,MAX] | uniform:LO,HI | "
    "lognormal:MEAN,STD[,MAX] | exponential:MEAN[,MAX] (MAX clips the tail).",
)
@click.option("--output-tokens", default="256", show_default=True, help="Output length (same forms).")
@click.option("--duration", type=float, callback=finite,
              default=600.0, show_default=True, help="Arrival window [s].")
@click.option(
    "--rate-profile",
    default="constant",
    show_default=True,
    help="Arrival-rate shape: constant, diurnal:PERIOD_S,AMPLITUDE, bursty:PERIOD_S,DUTY,FACTOR.",
)
@click.option("--offline", is_flag=True, help="Send all requests at time zero (MLPerf Offline).")
@click.option(
    "--concurrency",
    type=click.IntRange(max=MAX_CONCURRENCY),
    help="Closed loop: this many clients, each sending the next "
    "request when its previous one completes (needs --num-requests).",
)
@click.option("--prefill-gpus", type=click.IntRange(max=MAX_GPUS),
              help="Disaggregated: GPUs of the prefill pool (the rest decode).")
@click.option("--prefill-tp", type=click.IntRange(max=MAX_PARALLEL),
              help="Disaggregated: TP of a prefill replica (default: --tp).")
@click.option("--prefill-ep", type=click.IntRange(max=MAX_PARALLEL),
              help="Disaggregated: EP of a prefill replica (default: --ep).")
@click.option("--prefill-max-batch", type=click.IntRange(max=MAX_BATCH),
              help="Disaggregated: prefill batch limit, per replica or per attention-DP rank like "
                   "--max-batch (default: --max-batch).")
@click.option("--prefill-max-num-tokens", type=click.IntRange(max=MAX_TOKENS_PER_ITERATION),
              help="Disaggregated: prefill tokens per iteration, per replica or per attention-DP rank like "
                   "--max-num-tokens (default: --max-num-tokens).")
@click.option("--num-requests", type=click.IntRange(max=MAX_REQUESTS),
              help="Number of requests (offline, or a cap).")
@click.option(
    "--trace", type=click.Path(path_type=Path), help="CSV with arrival_s,input_tokens,output_tokens."
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, help="Random seed.")
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
@click.option("--speculative", metavar="METHOD:D,A",
              help="Speculative decoding: mtp:3,0.7 (MTP drafting 3 tokens, each accepted with probability "
                   "0.7), eagle:3,0.8/0.6/0.4 (per-position acceptance), mtp:3,tau=2.8 (a measured "
                   "acceptance length), draft:MODEL:4,0.6 (a draft model of the catalog); a third field "
                   "sets the draft's precision (mtp:3,0.7,bf16).")
@click.option("--host-path", is_flag=True,
              help="Model the CPU front end (tokenization, detokenization, streaming) on the system's host "
                   "cores (catalog CPU cores per GPU); shows when the host, not the GPU, is the limit.")
@click.option("--host-cores", type=float, callback=positive_number, metavar="PER_GPU",
              help="Host cores per GPU for the front end (implies --host-path), e.g. 1.")
@click.option("--stream-interval", type=click.IntRange(min=1), default=1, show_default=True,
              help="Tokens per streamed chunk (engines' stream_interval), with --host-path.")
@click.option("--engine-detokenizes", is_flag=True,
              help="Detokenize and stream inside the engine's iteration loop (vLLM V0) instead of in "
                   "front-end processes, with --host-path.")
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
    speculative,
    host_path,
    host_cores,
    stream_interval,
    engine_detokenizes,
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
            speculative=speculative,
            host_path=host_path,
            host_cores=host_cores,
            stream_interval=stream_interval,
            engine_detokenizes=engine_detokenizes,
            prefill={"tp": prefill_tp, "ep": prefill_ep, "max_batch": prefill_max_batch,
                     "max_num_tokens": prefill_max_num_tokens},
        )
    except (ServingInputError, InputError) as exc:
        _fail(in_flags(str(exc)))
    if time.monotonic() - started > 2.0:
        click.echo("\r" + " " * 30 + "\r", err=True, nl=False)
    result["notes"] = [in_flags(n) for n in result.get("notes", [])]
    if json_out != "-":
        click.echo(_table(result))
    if json_out:
        result = {k: v for k, v in result.items() if k != "activity"} | {"activity": result.get("activity")}
        write_json(result, json_out)


def _fail(msg: str):
    click.echo(f"error: {msg}", err=True)
    sys.exit(2)
