"""The CPU path in front of the GPUs: tokenization, detokenization and streaming on the host's cores.

A request's text is tokenized on a host core before the engine can schedule it, and every token it
emits is detokenized and streamed to the client on a host core. Serving benchmarks (MLPerf's LoadGen,
trtllm-bench) feed token IDs and leave this out, which is why the validation cases run without it;
production front ends (an OpenAI-compatible HTTP server) do not. With few cores per GPU the front end,
not the GPU, sets the throughput.

Model (:func:`frontend_schedule`): the deployment's front end has ``c`` cores (the system's host
cores per GPU times the GPUs, :attr:`twin.records.HardwareSpec.host_cores_per_gpu`). Requests take a
core in arrival order (first come, first served, ``c`` servers) for their whole host work::

    job = t_req + n_in t_tok + n_out (t_detok + t_stream / interval)

and reach the engine when their tokenization is done, ``t_req + n_in t_tok`` after they got a core.
Holding the core for the detokenization and streaming that really happen later, as tokens come,
keeps the host's core-seconds exact (so its capacity ``c / job``) at the cost of some latency
detail: a later request may wait for a core that is in truth free between tokens. With
``engine_detokenizes`` (vLLM V0: output processing inside the engine loop) detokenization and
streaming are host time of every iteration per decoding sequence and emitted token instead
(``PerfModel(host_s_per_decode=...)``, folded into the per-decoder arrays of
:class:`twin.serving.perf_model.IterationCost`), serial with the GPU, and the front end only tokenizes.

Per-token costs (:data:`HOST_COSTS`) are measured figures, each with its source.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from twin.errors import ServingInputError

#: Host CPU time per unit of work on one core [s], each a measurement with its source.
HOST_COSTS: dict[str, tuple[float, str]] = {
    "tokenize_s_per_token": (1.0e-6, "ai-dynamo/dynamo PR #1868: 'On a single core ... tokenizer: 2ms for 8k "
                                     "sequence, so about 3.8 MiB/s' (HF tokenizers crate, Rust): ~1 us per "
                                     "token; "
                                     "tiktoken's README chart reads ~0.6 us/token, TokenDagger's tiktoken "
                                     "bench ~0.3 us/token"),
    "tokenize_s_per_request": (1.2e-3, "tenstorrent/tt-inference-server issue #2173: 'tokenizer encode: 131 "
                                       "tokens, 1.319402 ms total' (chat template included): 1.32 ms less "
                                       "131 x 1 us per token; derived"),
    "detokenize_s_per_token": (1.93e-5, "vllm-project/vllm issue #5206: 'detokenize_incrementally cost "
                                        "1.9311904907226562e-05 seconds' per call (one token of one "
                                        "sequence, Python incremental detokenizer); vLLM PR #54050: each "
                                        "Python->Rust decode call ~5-20 us"),
    "stream_s_per_chunk": (3.5e-5, "tenstorrent/tt-inference-server PR #1961: Python HTTP streaming server, "
                                   "'mean_interval_us=34.14 ... overhead_us=36.81' per streamed token on one "
                                   "process (C++: 2-11 us)"),
}


def _cost(name: str) -> float:
    return HOST_COSTS[name][0]


@dataclass(frozen=True)
class HostPath:
    """The host work of a deployment's front end and the cores it runs on.

    ``cores`` is the whole deployment's front end (all replicas share it, dispatching round-robin
    after tokenization). ``stream_interval`` tokens go out per streamed chunk (vLLM/TensorRT-LLM
    ``stream_interval``). ``engine_detokenizes``: detokenization and streaming run inside the engine's
    iteration loop (vLLM V0) rather than in front-end processes.
    """

    cores: int
    tokenize_s_per_token: float = _cost("tokenize_s_per_token")
    tokenize_s_per_request: float = _cost("tokenize_s_per_request")
    detokenize_s_per_token: float = _cost("detokenize_s_per_token")
    stream_s_per_chunk: float = _cost("stream_s_per_chunk")
    stream_interval: int = 1
    engine_detokenizes: bool = False

    def check(self) -> None:
        """Raise :class:`ServingInputError` for impossible settings."""
        if self.cores < 1:
            raise ServingInputError(f"the host front end needs at least one core, got {self.cores}: give "
                                    "`host_cores` (cores per GPU) or a system whose catalog entry lists its "
                                    "CPU cores", field="host_cores")
        if self.stream_interval < 1:
            raise ServingInputError(f"`stream_interval` must be at least 1 token, got {self.stream_interval}",
                                    field="stream_interval")
        for name in ("tokenize_s_per_token", "tokenize_s_per_request", "detokenize_s_per_token",
                     "stream_s_per_chunk"):
            if getattr(self, name) < 0:
                raise ServingInputError(f"host cost `{name}` must be >= 0", field=name)

    @property
    def per_output_token_s(self) -> float:
        """Host time per emitted token: detokenization plus its share of a streamed chunk [s]."""
        return self.detokenize_s_per_token + self.stream_s_per_chunk / self.stream_interval

    def tokenize_s(self, input_tokens):
        """Tokenization time of prompts of ``input_tokens`` tokens on one core [s]."""
        return self.tokenize_s_per_request + np.asarray(input_tokens, dtype=float) * self.tokenize_s_per_token

    def job_s(self, input_tokens, output_tokens):
        """A request's host work on the front end's cores [s] (no detokenization if the engine does it)."""
        out = 0.0 if self.engine_detokenizes else self.per_output_token_s
        return self.tokenize_s(input_tokens) + np.asarray(output_tokens, dtype=float) * out


def host_path_for(cores_per_gpu: float, num_gpus: int, **costs) -> HostPath:
    """A :class:`HostPath` of ``floor(cores_per_gpu x num_gpus)`` cores, given costs or the defaults."""
    return HostPath(cores=int(math.floor(cores_per_gpu * num_gpus + 1e-9)), **costs)


@dataclass(frozen=True)
class FrontendSchedule:
    """When each request (arrival order) got a core and reached the engine, and the cores' busy time."""

    start_s: np.ndarray
    ready_s: np.ndarray
    busy_core_s: float
    cores: int

    def utilisation(self, span_s: float) -> float:
        """Share of the cores' time busy over ``span_s`` seconds."""
        return self.busy_core_s / (self.cores * span_s) if span_s > 0 else 0.0


def frontend_schedule(arrival_s, input_tokens, output_tokens, host: HostPath) -> FrontendSchedule:
    """First-come first-served over ``host.cores`` cores: each request's start and engine-ready time.

    ``start = max(arrival, earliest free core)``; the core is then busy for :meth:`HostPath.job_s`;
    the request reaches the engine at ``start + tokenize_s``. Arrivals must be sorted.
    """
    host.check()
    arr = np.asarray(arrival_s, dtype=float)
    job = np.broadcast_to(host.job_s(input_tokens, output_tokens), arr.shape)
    tok = np.broadcast_to(host.tokenize_s(input_tokens), arr.shape)
    free = [0.0] * min(host.cores, max(len(arr), 1))
    heapq.heapify(free)
    start = np.empty_like(arr)
    for i, (a, j) in enumerate(zip(arr.tolist(), job.tolist(), strict=True)):
        f = heapq.heappop(free)
        s = a if a > f else f
        start[i] = s
        heapq.heappush(free, s + j)
    return FrontendSchedule(start, start + tok, float(job.sum()), host.cores)


def frontend_fluid(rate_per_s: float, mean_input: float, mean_output: float, host: HostPath,
                   duration_s: float = math.inf) -> dict:
    """Steady state of the front end under Poisson arrivals (M/D/c, Sakasegawa's approximation).

    Returns the rate it passes to the engine (``min(rate, c / job)``), its utilisation, the mean wait
    for a core and the tokenization time; an overloaded front end waits the mean backlog of the
    arrival window, ``(1 - mu/rate) D / 2``, as the fluid serving model does for a saturated replica.
    """
    host.check()
    job = float(host.job_s(mean_input, mean_output))
    c = host.cores
    mu = c / job if job > 0 else math.inf
    rho = rate_per_s / mu if mu < math.inf else 0.0
    if rho >= 1.0:
        wait = (1.0 - 1.0 / rho) * duration_s / 2.0 if math.isfinite(duration_s) else math.inf
    else:
        wait = rho ** (math.sqrt(2.0 * (c + 1.0)) - 1.0) / (c * (1.0 - rho)) * job / 2.0
    return {"passed_per_s": min(rate_per_s, mu), "capacity_per_s": mu, "utilisation": min(rho, 1.0),
            "bound": rho >= 1.0, "wait_s": wait, "tokenize_s": float(host.tokenize_s(mean_input)),
            "job_s": job}
