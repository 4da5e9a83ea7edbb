"""By-name serving API: catalog names in, the serving simulator's result dict out.

``twin.serve_sim`` is what ``twin serve-sim`` runs, for scripts, tests and benchmarks::

    import twin
    result = twin.serve_sim(system="gb200-nvl72", gpus=72, model="llama-3.1-70b", precision="fp8", tp=8,
                            rate=50, input_tokens=2048, output_tokens=256, duration_s=600)
    result["output_tokens_per_s"]

It sits in the engine layer because it joins the catalog (:mod:`twin.layout.records`) to the serving
physics (:mod:`twin.serving`); the CLI only parses flags and prints.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from twin.errors import ServingInputError
from twin.layout.catalog_io import Catalog
from twin.layout.records import lookup_specs
from twin.records import Deployment
from twin.serving.api import max_rate, simulate
from twin.serving.host import host_path_for
from twin.serving.speculative import parse_speculative
from twin.serving.workload import LengthDist, Workload, parse_length, read_trace

__all__ = ["serve_sim"]


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
    speculative: str | None = None,
    host_path: bool = False,
    host_cores: float | None = None,
    stream_interval: int = 1,
    engine_detokenizes: bool = False,
) -> dict:
    """Serve an LLM on catalog hardware by name (what ``twin serve-sim`` runs); returns the result dict.

    ``system`` and ``model`` are catalog names; the other arguments mirror the CLI flags (see
    ``twin serve-sim --help``). ``max_batch`` and ``max_num_tokens`` are per replica, or per
    attention-DP rank when ``attention_dp`` is on (TensorRT-LLM's ``max_batch_size`` /
    ``max_num_tokens`` meaning): the replica then takes ``tp`` times each; ``limits_per`` in the
    result says which was used. Bad input raises :class:`~twin.errors.ServingInputError` whose
    ``field`` names the argument (``deployment.pp``, ``workload.num_requests``...).

    With ``max_rate_search`` the arrival rate is searched instead of given: the result is the highest
    Poisson rate whose P99 TTFT and P99 TPOT stay within ``slo_ttft_s`` / ``slo_tpot_s`` (MLPerf
    Server scoring, :func:`twin.serving.api.max_rate`), with the metrics at that rate. ``prefill``
    (with ``prefill_gpus``) overrides the prefill pool's shape: any of ``tp``, ``ep``, ``max_batch``,
    ``max_num_tokens``, ``attention_dp``. ``speculative`` turns on speculative decoding, in the syntax of
    :func:`twin.serving.speculative.parse_speculative` (``"mtp:3,0.7"``, ``"eagle:3,tau=2.6"``,
    ``"draft:llama-3.1-8b:4,0.6"``; a third field sets the draft's precision, ``"mtp:3,0.7,bf16"``).
    ``host_path`` puts the CPU front end in front of the engine (:mod:`twin.serving.host`): tokenization,
    detokenization and streaming on ``host_cores`` cores per GPU (default: the system's, from its
    catalog entry), ``stream_interval`` tokens per streamed chunk, ``engine_detokenizes`` for engines
    that detokenize inside their iteration loop (vLLM V0); ``host_cores`` alone turns it on.
    """
    prefill = {k: v for k, v in (prefill or {}).items() if v is not None}
    unknown = set(prefill) - {"tp", "ep", "max_batch", "max_num_tokens", "attention_dp"}
    if unknown:
        raise ServingInputError(f"unknown prefill-pool setting(s) {', '.join(sorted(unknown))}; "
                                "valid: tp, ep, max_batch, max_num_tokens, attention_dp", field="prefill")
    for name, value in prefill.items():
        if name != "attention_dp":
            _whole_number(value, f"prefill.{name}", f"the prefill pool's `prefill_{name}`")
    if prefill_gpus is not None:
        _whole_number(prefill_gpus, "prefill_gpus", "`prefill_gpus`")
    if max_rate_search:
        if offline or trace or concurrency is not None or fluid or prefill_gpus or prefill:
            raise ServingInputError("`max_rate_search` searches the Poisson arrival rate of an aggregated "
                                    "discrete run: drop `offline`, `trace`, `concurrency`, `fluid` and "
                                    "`prefill_*`",
                                    field="max_rate_search")
        if slo_ttft_s is None and slo_tpot_s is None:
            raise ServingInputError("`max_rate_search` needs the P99 limits to meet: `slo_ttft_s` and/or "
                                    "`slo_tpot_s`", field="max_rate_search")
    mspec, hspec = lookup_specs(system, model, catalog)
    for name, value in (("tp", tp), ("pp", pp), ("ep", ep), ("max_batch", max_batch),
                        ("max_num_tokens", max_num_tokens)):
        _whole_number(value, f"deployment.{name}", f"`deployment.{name}`")
    # TensorRT-LLM's max_batch_size / max_num_tokens are per attention-DP rank: the replica's limits are
    # tp times those
    ranks = tp if attention_dp else 1
    spec = None
    if speculative:
        spec = parse_speculative(speculative, lambda name: lookup_specs(system, name, catalog)[0])
    dep = Deployment(
        speculative=spec,
        tp=tp,
        pp=pp,
        ep=ep,
        precision=precision,
        attention_dp=attention_dp,
        max_batch=max_batch * ranks,
        max_num_tokens=max_num_tokens * ranks,
        scheduler=scheduler,
        chunked_prefill=chunked_prefill,
        adp_balance_wait_iters=adp_balance[0] if adp_balance else 0,
        adp_balance_timeout_iters=adp_balance[1] if adp_balance else 0,
        elementwise=elementwise,
    )
    prefill_dep = None
    if prefill:
        p_tp = prefill.get("tp", tp)
        p_ranks = p_tp if prefill.get("attention_dp", attention_dp) else 1
        prefill_dep = dataclasses.replace(
            dep, **{k: v for k, v in prefill.items() if k not in ("max_batch", "max_num_tokens")},
            max_batch=prefill.get("max_batch", max_batch) * p_ranks,
            max_num_tokens=prefill.get("max_num_tokens", max_num_tokens) * p_ranks)
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
        raise ServingInputError(f"`concurrency` must be at least 1, got {concurrency}", field="concurrency")
    host = None
    if not (host_path or host_cores is not None) and (engine_detokenizes or stream_interval != 1):
        raise ServingInputError("`stream_interval` and `engine_detokenizes` describe the host front end: add "
                                "`host_path` (or `host_cores`)", field="host_path")
    if host_path or host_cores is not None:
        per_gpu = hspec.host_cores_per_gpu if host_cores is None else host_cores
        if host_cores is not None and not host_cores > 0:
            raise ServingInputError(f"`host_cores` must be > 0 cores per GPU, got {host_cores}",
                                    field="host_cores")
        if not per_gpu:
            raise ServingInputError(f"the catalog entry of {system} lists no CPU cores: give `host_cores` "
                                    "(host cores per GPU)", field="host_cores")
        if not isinstance(stream_interval, int | np.integer) or stream_interval < 1:
            raise ServingInputError(f"`stream_interval` must be a whole number >= 1, got {stream_interval!r}",
                                    field="stream_interval")
        used = (gpus // dep.num_gpus) * dep.num_gpus if not prefill_gpus else gpus
        host = host_path_for(per_gpu, used, stream_interval=stream_interval,
                             engine_detokenizes=engine_detokenizes)
        if host.cores < 1:
            raise ServingInputError(f"{per_gpu} host cores per GPU on {used} GPUs is less than one core",
                                    field="host_cores")
    if fluid and (prefill_gpus or concurrency):
        raise ServingInputError(
            "`fluid` covers aggregated open-loop serving only (no `prefill_gpus`, no `concurrency`)",
            field="fluid",
        )
    notes = []
    limits = {"limits_per": "attention-DP rank" if attention_dp else "replica",
              "max_batch_per_rank": max_batch, "max_num_tokens_per_rank": max_num_tokens}
    if precision not in hspec.peak_flops:
        wider = next(p for p in ("fp8", "bf16") if p in hspec.peak_flops)
        notes.append(
            f"{system} has no {precision} tensor-core rate: {precision} weights compute at the "
            f"{wider} rate (memory traffic stays {precision})"
        )
    if offline and rate is not None:
        notes.append("`offline` sends every request at time zero: `rate` is ignored")
    if attention_dp:
        notes.append(f"`max_batch` {max_batch} and `max_num_tokens` {max_num_tokens} are per attention-DP "
                     f"rank (TensorRT-LLM's meaning): {dep.max_batch} sequences and {dep.max_num_tokens} "
                     f"tokens per iteration over the replica's {tp} ranks")
    if not prefill_gpus and gpus >= dep.num_gpus and gpus % dep.num_gpus:
        notes.append(f"{gpus} GPUs are not a whole number of {dep.num_gpus}-GPU replicas (TP{tp} x PP{pp}): "
                     f"{gpus % dep.num_gpus} GPUs stay idle and are not counted per GPU")
    if max_rate_search and host is not None:
        raise ServingInputError("`max_rate_search` does not model the host front end yet: drop `host_path` / "
                                "`host_cores`", field="host_path")
    if max_rate_search:
        if rate is not None:
            notes.append("`max_rate_search` searches the arrival rate: `rate` is ignored")
        result = max_rate(mspec, hspec, dep, workload, gpus, p99_ttft_s=slo_ttft_s, p99_tpot_s=slo_tpot_s,
                          backend=backend, seed=seed, progress=progress)
        return result | limits | {"notes": notes}
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
        host=host,
    )
    return result | limits | {"notes": notes}


def _whole_number(value, field: str, label: str) -> None:
    """Raise :class:`ServingInputError` naming ``field`` unless ``value`` is a whole number >= 1."""
    if not isinstance(value, int | np.integer) or value < 1:
        raise ServingInputError(f"{label} must be a whole number >= 1, got {value!r}", field=field)


def _dist(v: str | int | LengthDist, what: str) -> LengthDist:
    return v if isinstance(v, LengthDist) else parse_length(str(v), what)
