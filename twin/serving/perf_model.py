"""Iteration-time model: how long one batch iteration of a replica takes, as a breakdown.

One iteration runs every layer once over a batch made of prefill chunks and decode tokens (continuous
batching). Its time is the sum of (vidur's ``ExecutionTime`` idea):

- **GEMMs** (projections, dense MLP, shared experts, LM head): measured latency from
  aiconfigurator-core's TensorRT-LLM kernel tables when the GPU has them (:mod:`twin.serving.kernels`),
  else the roofline ``max(FLOPs / (F eta_c), bytes / (BW eta_m)) + t_launch``.
- **MoE** routed experts: a grouped GEMM over the experts a batch touches,
  ``E_touched = E (1 - (1 - k/E)^T)`` (shared/reference inference-measurements.md (c)), priced as
  one GEMM of ``k_eff = k * E_touched_local`` so the launch floor is paid once.
- **attention**: prefill ``4 n_h d_h sum(c_i (p_i + c_i/2))`` FLOPs (causal) at the attention
  efficiency; decode reads every context token's KV, ``bytes = sum(ctx) * kv_bytes/token``, at the
  decode-attention bandwidth efficiency, plus a per-layer kernel floor.
- **communication**: TP all-reduces (2 per layer), EP all-to-all (dispatch + combine per MoE layer),
  priced by :mod:`twin.serving.comm` on the fabric package's alpha-beta collectives.
- **element-wise**: residual add + RMSNorm, activation quantisation and SwiGLU as HBM traffic, by the
  engine's kernel fusion (:data:`ELEMENTWISE`), memory-bound.
- **overhead**: per-iteration scheduling/launch time.

Each GEMM and attention term is classified compute-bound or memory-bound by the roofline (which of
its FLOP time and byte time is larger), so an iteration reports ``compute_s`` and ``memory_s`` for
the power model, and a clock factor slows them by their own laws (:func:`clock_scales`).

All figures per GPU of one pipeline stage; with ``pp`` stages one iteration of a micro-batch is
``pp`` stages in sequence. The simulators pipeline ``pp`` such micro-batches per replica (virtual
engines, :mod:`twin.serving.pool`). :class:`IterationCost` (``PerfModel.cost``) is the law in typed form,
read by the discrete replicas and the fluid mode.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from twin.serving import comm
from twin.serving.kernels import interp_loglog, load_gemm_table, load_moe_table
from twin.serving.kv_cache import MemoryPlan, kv_bytes_per_token_per_gpu, plan_memory
from twin.serving.shapes import Gemm, gemms_per_gpu
from twin.serving.specs import BYTES_PER_ELEMENT, Deployment, HardwareSpec, ModelSpec, ServingInputError
from twin.serving.speculative import check_speculation, draft_spec, projection_width

#: Efficiency factors of the roofline fallback and of the parts the kernel tables do not cover. Each
#: is a measured ratio, achieved / peak, with its source.
EFFICIENCY: dict[str, tuple[float, str]] = {
    "gemm_compute": (0.70, "H100 BF16 GEMMs reach 69-87 % of 989 TF/s at >=512 tokens (Vidur profile, "
                           "shared/reference inference-measurements.md 1.8); lower end, as FP8/FP4 "
                           "GEMMs reach 43-65 % of peak in aiconfigurator-core's B200/GB200 tables"),
    "gemm_memory": (0.85, "H100 weight-streaming GEMMs at 1 token read at 2.7-3.0 TB/s = 82-90 % of "
                          "3.35 TB/s (Vidur profile, 1.8)"),
    "attention_prefill": (0.45, "TRT-LLM context attention, 64 heads / 8 KV heads / d=128, 4x4096 "
                                "tokens: 0.44-0.46 of BF16 peak on B200/GB200, 0.59-0.64 on H100/H200 "
                                "(aiconfigurator-core 0.12.0 context_attention_perf, trtllm 1.3.0rc20); "
                                "Blackwell value, Hopper below"),
    "attention_prefill_hopper": (0.60, "same table, H100/H200 at 4x4096 tokens"),
    "attention_decode": (0.80, "TRT-LLM generation attention, batch 64 x 4096 context: 0.76-0.87 of "
                               "HBM bandwidth on H100/H200/B200/GB200 (aiconfigurator-core 0.12.0 "
                               "generation_attention_perf)"),
}

#: Fixed times [s]
FLOORS_S: dict[str, tuple[float, str]] = {
    "gemm_launch": (5e-6, "assumption: one kernel launch under CUDA graphs ~5 us (roofline fallback "
                          "only; the kernel tables include it)"),
    "attention_decode_layer": (12e-6, "TRT-LLM generation attention at small batch/context takes "
                                      "~13-15 us per layer on B200/GB200 (aiconfigurator-core 0.12.0)"),
    "iteration_overhead": (0.5e-3, "assumption: scheduling, sampling and launch per iteration "
                                   "'~0.1-1 ms per step; CUDA graphs cut it' (shared/reference (c)); "
                                   "midpoint with CUDA graphs"),
}

#: Element-wise kernels between the GEMMs, by how the engine fuses them: mode -> description (priced
#: in :meth:`PerfModel._elementwise_times`). Bytes per token and layer (hidden ``d``, FFN width per
#: GPU ``f``, weight bytes ``b``):
#: residual add + RMSNorm reads the input and the residual and writes both, ``8 d`` (BF16); activation
#: quantisation reads BF16 and writes ``b`` per element, ``(2 + b) d``; SwiGLU reads gate and up and
#: writes their product, ``6 f``; a fused add + RMSNorm + quantisation writes the low-precision output
#: instead of BF16, ``(6 + b) d``. Two norms and (low-precision GEMMs) two quantisations per layer.
#: MoE layers' activation lives inside the measured grouped-GEMM kernels.
ELEMENTWISE: dict[str, str] = {
    "pytorch": "TensorRT-LLM PyTorch backend: add+RMSNorm x2 and SwiGLU per layer, quantisation inside "
               "the GEMMs (aiconfigurator-core 0.12.0 sdk/models/llama.py op list: add_norm_1, add_norm_2, "
               "act_gate)",
    "unfused": "add+RMSNorm x2, activation quantisation x2 and SwiGLU as separate kernels (TensorRT engines "
               "without norm-quant fusion or SwiGLU plugin)",
    "fused-mlp": "SwiGLU fused into the gate/up GEMM (gemm_swiglu_plugin, FP8 only: TensorRT-LLM "
                 "layers/mlp.py asserts fp8; use_fused_mlp alone only merges the gate and up GEMMs and runs "
                 "SwiGLU after them); add+RMSNorm x2 and quantisation x2 separate",
    "fused-norm-quant-mlp": "add+RMSNorm+quantisation one kernel x2 (norm_quant_fusion) and SwiGLU in the "
                            "GEMM (NVIDIA's MLPerf v5.1 B200 Llama 2 Server/Offline engines)",
    "none": "not priced (GEMM, attention and communication only)",
}
#: Engines whose low-precision GEMMs receive activations already quantised by another kernel (the
#: TensorRT engine modes above). aiconfigurator-core's FP8/NVFP4 GEMM tables time TensorRT-LLM's PyTorch
#: ``Linear.forward`` on a BF16 input (collector/trtllm/collect_gemm.py: ``x = torch.randn((m, k),
#: dtype=bfloat16)``, ``kernel_source = torch_flow``), which quantises the input inside the module; for
#: these engines that quantisation is removed from the table time (:meth:`PerfModel._gemm_times`) and
#: priced where the engine runs it (:meth:`PerfModel._elementwise_times`). In every mode the GEMMs whose
#: producer already quantises their input (``Gemm.prequantised_input``: attention output and down
#: projections of non-MLA models, as aiconfigurator-core models the PyTorch flow) lose it too.
PREQUANTISED_INPUT_MODES = frozenset({"unfused", "fused-mlp", "fused-norm-quant-mlp"})
#: HBM bandwidth share reached by element-wise kernels and fixed time per kernel call
ELEMENTWISE_BW_EFF = (0.8, "aiconfigurator-core 0.12.0 systems/*.yaml mem_bw_empirical_scaling_factor "
                           "(NVIDIA's 'nonofficial correction based on observations')")
ELEMENTWISE_LAUNCH_S = (3e-6, "aiconfigurator-core 0.12.0 systems/*.yaml mem_empirical_constant_latency "
                              "(same caveat)")

#: Bytes of one activation element exchanged in collectives (BF16).
ACTIVATION_BYTES = 2.0


def _eff(name: str) -> float:
    return EFFICIENCY[name][0]


def clock_scales(clock_factor):
    """Time multipliers ``(s_c, s_m)`` of compute-bound and memory-bound work at an SM clock factor.

    ``f`` in (0, 1] is a float, or an array of them (then the multipliers are arrays).

    Notes
    -----
    Compute-bound time scales as ``1/f`` (work per cycle fixed). Memory-bound time is set by the HBM
    clock, which power capping does not lower; it stays flat until the SMs can no longer issue
    enough loads, taken at ``f = 0.5`` (assumption): ``max(1, 0.5/f)``. Communication and overhead are
    not scaled. ``f`` is clipped to ``[1e-3, 1]``. The discrete pool and the fluid mode both read the
    clock through this function (one factor per replica).
    """
    if np.ndim(clock_factor):
        f = np.clip(np.asarray(clock_factor, dtype=float), 1e-3, 1.0)
        return 1.0 / f, np.maximum(1.0, 0.5 / f)
    f = min(max(float(clock_factor), 1e-3), 1.0)
    return 1.0 / f, max(1.0, 0.5 / f)


@dataclass(frozen=True, eq=False)
class IterationCost:
    """The iteration-time law of one replica, split by what the clock does to each part.

    What one batch iteration (one micro-batch through all ``pp`` stages) costs.

    For ``T`` batch tokens in ``S`` sequences, of which some decode with ``X`` context tokens in all,
    and prefill chunks with ``Q = sum c_i (p_i + c_i/2)`` query-key pairs (chunk ``c_i`` after ``p_i``
    tokens)::

        compute = gemm_c[T] + moe_c[T] + head_c[S] + prefill_pair_s Q + draft_c[D]
                  (+ decode_ctx_s X, if compute-bound)
        memory  = gemm_m[T] + moe_m[T] + head_m[S] + decode_floor_s [decoding] + draft_m[D]
                  (+ decode_ctx_s X, else)
        other   = comm[T] + overhead_s + draft_o[D]
        t       = compute s_c + memory s_m + other,   (s_c, s_m) = clock_scales(f)

    With speculative decoding each of the ``D`` decoding sequences puts ``tokens_verified = 1 + d``
    tokens through the target (``T`` and the LM-head rows ``S`` count them) and emits
    ``tokens_per_step`` on average; ``draft_*[D]`` price the ``d`` draft steps.

    ``gemm`` holds the dense GEMMs and the element-wise kernels. Integer counts index the tables
    (clipped to the largest); the fluid mode interpolates them at fractional counts. Built by
    :class:`PerfModel` (:attr:`PerfModel.cost`); read by :meth:`PerfModel.iteration`, the discrete
    replicas (:mod:`twin.serving.replica`) and :class:`twin.serving.fluid.FluidModel`.
    """

    gemm_c: np.ndarray        # by batch tokens [s]
    gemm_m: np.ndarray
    moe_c: np.ndarray
    moe_m: np.ndarray
    comm: np.ndarray
    head_c: np.ndarray        # by sequences [s]
    head_m: np.ndarray
    prefill_pair_s: float     # per query-key pair of prefill attention [s]
    decode_ctx_s: float       # per context token of a decoding sequence [s]
    decode_ctx_compute: bool  # decode attention compute-bound (else memory-bound)
    decode_floor_s: float     # decode-attention kernel floor, once per iteration that decodes [s]
    overhead_s: float         # scheduling, sampling, launch per iteration [s]
    #: speculative decoding: tokens each decoding sequence puts through the target per iteration
    #: (``1 + d``; 1 without speculation) and tokens it emits per iteration on average (``tau``)
    tokens_verified: int = 1
    tokens_per_step: float = 1.0
    #: the ``d`` draft steps of an iteration by decoding sequences [s]: compute-bound, memory-bound,
    #: communication (zeros without speculation; their attention is in ``decode_ctx_s``/``decode_floor_s``);
    #: ``draft_o`` also holds the host time of engine-loop detokenization per decoding sequence
    draft_c: np.ndarray = field(default_factory=lambda: np.zeros(1))
    draft_m: np.ndarray = field(default_factory=lambda: np.zeros(1))
    draft_o: np.ndarray = field(default_factory=lambda: np.zeros(1))
    base_c: np.ndarray = field(init=False, repr=False)   # gemm_c + moe_c
    base_m: np.ndarray = field(init=False, repr=False)
    other: np.ndarray = field(init=False, repr=False)    # comm + overhead_s

    def __post_init__(self) -> None:
        for name in ("gemm_c", "gemm_m", "moe_c", "moe_m", "comm", "head_c", "head_m", "draft_c", "draft_m",
                     "draft_o"):
            a = np.array(getattr(self, name), dtype=float)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        for name, a in (("base_c", self.gemm_c + self.moe_c), ("base_m", self.gemm_m + self.moe_m),
                        ("other", self.comm + self.overhead_s)):
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def max_tokens(self) -> int:
        """Largest batch the token tables cover."""
        return len(self.base_c) - 1

    @property
    def max_seqs(self) -> int:
        """Largest number of sequences the LM-head tables cover."""
        return len(self.head_c) - 1

    @cached_property
    def tables(self) -> tuple[list, list, list, list, list]:
        """``(base_c, base_m, other, head_c, head_m)`` as lists, for the discrete hot loop."""
        return (self.base_c.tolist(), self.base_m.tolist(), self.other.tolist(), self.head_c.tolist(),
                self.head_m.tolist())

    @cached_property
    def draft_tables(self) -> tuple[list, list, list]:
        """``(draft_c, draft_m, draft_o)`` as lists, for the discrete hot loop."""
        return self.draft_c.tolist(), self.draft_m.tolist(), self.draft_o.tolist()

    def split(self, num_tokens: int, num_seqs: int, decode_ctx_tokens: float = 0.0,
              prefill_pairs: float = 0.0, decoding: bool = False, num_decode: int = 0
              ) -> tuple[float, float, float]:
        """``(compute_s, memory_s, other_s)`` of one iteration before clock scaling (integer counts).

        ``num_tokens`` and ``num_seqs`` count what the target runs (``tokens_verified`` per decoding
        sequence); ``num_decode`` decoding sequences price the draft steps.
        """
        bc, bm, ot, hc, hm = self.tables
        T = min(max(int(num_tokens), 0), len(bc) - 1)
        S = min(max(int(num_seqs), 0), len(hc) - 1)
        D = min(max(int(num_decode), 0), len(self.draft_c) - 1)
        cc = bc[T] + hc[S] + self.prefill_pair_s * prefill_pairs + float(self.draft_c[D])
        mm = bm[T] + hm[S] + (self.decode_floor_s if decoding else 0.0) + float(self.draft_m[D])
        if self.decode_ctx_compute:
            cc += self.decode_ctx_s * decode_ctx_tokens
        else:
            mm += self.decode_ctx_s * decode_ctx_tokens
        return cc, mm, ot[T] + float(self.draft_o[D])

    def split_interp(self, num_tokens, num_seqs, decode_ctx_tokens=0.0, prefill_pairs=0.0, decoding=False,
                     num_decode=0.0):
        """:meth:`split` at fractional counts (arrays), interpolating the tables (the fluid mode)."""
        # np.minimum/np.maximum rather than np.clip: the fluid model calls this with scalars, where
        # np.clip's dispatch costs more than the arithmetic
        T = np.minimum(np.maximum(num_tokens, 0), self.max_tokens)
        S = np.minimum(np.maximum(num_seqs, 0), self.max_seqs)
        grid, sgrid = _grid(len(self.base_c)), _grid(len(self.head_c))
        if len(self.draft_c) == 1:  # no draft model: its tables are one constant (zero)
            dc, dm, do = float(self.draft_c[0]), float(self.draft_m[0]), float(self.draft_o[0])
        else:
            D = np.minimum(np.maximum(num_decode, 0), len(self.draft_c) - 1)
            dgrid = _grid(len(self.draft_c))
            dc, dm, do = (np.interp(D, dgrid, x) for x in (self.draft_c, self.draft_m, self.draft_o))
        cc = (np.interp(T, grid, self.base_c) + np.interp(S, sgrid, self.head_c)
              + self.prefill_pair_s * prefill_pairs + dc)
        mm = (np.interp(T, grid, self.base_m) + np.interp(S, sgrid, self.head_m)
              + np.where(decoding, self.decode_floor_s, 0.0) + dm)
        ctx = self.decode_ctx_s * decode_ctx_tokens
        if self.decode_ctx_compute:
            cc = cc + ctx
        else:
            mm = mm + ctx
        return cc, mm, np.interp(T, grid, self.other) + do

    def time_s(self, num_tokens: int, num_seqs: int, decode_ctx_tokens: float = 0.0,
               prefill_pairs: float = 0.0, decoding: bool = False, clock_factor: float = 1.0,
               num_decode: int = 0) -> float:
        """Iteration time [s] at a clock factor."""
        cc, mm, ot = self.split(num_tokens, num_seqs, decode_ctx_tokens, prefill_pairs, decoding, num_decode)
        sc, sm = clock_scales(clock_factor)
        return cc * sc + mm * sm + ot

    def context_growth_s(self, num_decode: int, sc: float, sm: float) -> float:
        """How much longer an iteration gets when each of ``num_decode`` decoders has one more token [s].

        At clock scales ``(sc, sm)``.
        """
        return self.decode_ctx_s * num_decode * self.tokens_per_step * (sc if self.decode_ctx_compute else sm)

    def stretch(self, k: int, compute_s: float, memory_s: float, other_s: float, num_decode: int,
                sc: float, sm: float) -> tuple[float, float, float]:
        """``(duration_s, compute_s, memory_s)`` of ``k`` consecutive decode-only iterations.

        The first is split as given; iteration ``j`` (from 0) has ``j tau`` more context tokens per
        sequence (``tau``: ``tokens_per_step``), so ``k t0 + g k (k-1)/2`` in all (``g``:
        :meth:`context_growth_s`); exact.
        """
        t0 = compute_s * sc + memory_s * sm + other_s
        if k <= 1:
            return t0, compute_s * sc, memory_s * sm
        kk = k * (k - 1) / 2.0
        gsum = self.decode_ctx_s * num_decode * self.tokens_per_step * kk
        comp = (k * compute_s + (gsum if self.decode_ctx_compute else 0.0)) * sc
        mem = (k * memory_s + (0.0 if self.decode_ctx_compute else gsum)) * sm
        return k * t0 + self.context_growth_s(num_decode, sc, sm) * kk, comp, mem


@functools.lru_cache(maxsize=64)
def _grid(n: int) -> np.ndarray:
    """The table abscissae ``0 .. n-1`` (cached: the fluid model asks for them at every step; read only)."""
    g = np.arange(n, dtype=float)
    g.flags.writeable = False
    return g


@dataclass(frozen=True)
class IterationTime:
    """Breakdown of one batch iteration of one replica [s]."""

    gemm_s: float
    attention_s: float
    moe_s: float
    comm_s: float
    overhead_s: float
    compute_s: float
    memory_s: float

    @property
    def total_s(self) -> float:
        """Iteration time [s]."""
        return self.gemm_s + self.attention_s + self.moe_s + self.comm_s + self.overhead_s

    def to_dict(self) -> dict:
        """The breakdown and its total as a plain dict."""
        return dict(self.__dict__) | {"total_s": self.total_s}


def _roofline_gemm(m: np.ndarray, g: Gemm, flops: float, bw: float, bpw: float):
    t_c = 2.0 * m * g.n * g.k / (flops * _eff("gemm_compute"))
    t_m = (g.n * g.k * bpw + m * (g.n + g.k) * ACTIVATION_BYTES) / (bw * _eff("gemm_memory"))
    return np.where(m > 0, np.maximum(t_c, t_m) + FLOORS_S["gemm_launch"][0], 0.0), t_c >= t_m


class PerfModel:
    """Iteration time of one replica for any batch, precomputed over the token counts it can see.

    Parameters
    ----------
    model, hardware, deployment
        What runs where (see :mod:`twin.serving.specs`).
    backend : {"auto", "tables", "roofline"}
        ``auto`` uses the measured GEMM tables when the GPU has them, else the roofline.

    Raises
    ------
    ServingInputError
        Impossible deployments: TP beyond the NVLink domain, parallelism not dividing the model,
        weights that do not fit (see :func:`twin.serving.kv_cache.plan_memory`).
    """

    def __init__(self, model: ModelSpec, hardware: HardwareSpec, deployment: Deployment,
                 backend: str = "auto", host_s_per_decode: float = 0.0) -> None:
        check_deployment(model, hardware, deployment)
        if backend not in ("auto", "tables", "roofline"):
            raise ServingInputError(f"unknown backend {backend!r}; valid: auto, tables, roofline")
        self.model, self.hw, self.dep = model, hardware, deployment
        #: host time per decoding sequence and iteration inside the engine loop (detokenization and
        #: streaming when the engine does them, :mod:`twin.serving.host`) [s]
        self.host_s_per_decode = float(host_s_per_decode)
        self.memory: MemoryPlan = plan_memory(model, hardware, deployment)
        #: the draft's own iteration-time model (one draft step over the decoding sequences), or None
        self.draft: PerfModel | None = None
        sp = deployment.speculative
        if sp is not None:
            ddep = dataclasses.replace(deployment, pp=1, speculative=None,
                                       max_num_tokens=deployment.max_batch, workspace_bytes=0.0,
                                       kv_mem_fraction=1.0,
                                       precision=sp.draft_precision or deployment.precision,
                                       kv_precision=deployment.kv_dtype)
            dm = draft_spec(model, sp)
            if not dm.is_moe:           # a dense draft has no experts to spread
                ddep = dataclasses.replace(ddep, ep=1)
            if sp.method != "draft":    # a layer of the target is published at whatever the draft runs
                dm = dataclasses.replace(dm, precisions=tuple(BYTES_PER_ELEMENT))
            self.draft = PerfModel(dm, hardware, ddep, backend)
        table = None
        if backend != "roofline" and hardware.kernel_device:
            table = load_gemm_table(hardware.kernel_device, deployment.precision)
        if backend == "tables" and table is None:
            raise ServingInputError(f"no aiconfigurator-core GEMM table for {hardware.name} at "
                                    f"{deployment.precision}")
        self.table = table
        self.moe_source = "roofline"
        self.backend = "tables" if table is not None else "roofline"
        self._build()

    # ------------------------------------------------------------------ precomputation
    def _gemm_times(self, m: np.ndarray, g: Gemm, precision: str | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(time, compute-bound mask) of one GEMM for token counts ``m``.

        At the deployment's precision unless ``precision`` says otherwise.
        """
        precision = precision or self.dep.precision
        flops = self.hw.flops(precision)
        bpw = BYTES_PER_ELEMENT[precision]
        t_roof, cbound = _roofline_gemm(m, g, flops, self.hw.hbm_bw_bytes_s, bpw)
        table = self.table if precision == self.dep.precision else (
            load_gemm_table(self.hw.kernel_device, precision) if self.table is not None else None)
        if table is None:
            return t_roof, cbound
        t = table.latency_s(m, g.n, g.k)
        prequantised = self.dep.elementwise in PREQUANTISED_INPUT_MODES or g.prequantised_input
        if prequantised and bpw < ACTIVATION_BYTES:
            # the table's input quantisation (BF16 read, low-precision write, one launch), which these
            # engines run elsewhere; never below the GEMM's own roofline at full peak
            t_quant = self._elementwise_kernels_s(m * g.k * (ACTIVATION_BYTES + bpw), 1)
            bound = np.maximum(2.0 * m * g.n * g.k / flops, g.n * g.k * bpw / self.hw.hbm_bw_bytes_s)
            t = np.where(m > 0, np.maximum(t - t_quant, bound), 0.0)
        return t, cbound

    def _build(self) -> None:
        m, hw, dep = self.model, self.hw, self.dep
        sp = dep.speculative
        nq = sp.tokens_verified if sp is not None else 1     # tokens per decoding sequence through the target
        budget = max(dep.max_num_tokens, dep.max_batch)
        # the tables cover the budget plus every decoder's draft tokens (admission stops at the budget;
        # the draft tokens of decoders already running always run)
        tmax = budget + dep.max_batch * (nq - 1) + 1
        T = np.arange(tmax, dtype=float)
        gc = np.zeros(tmax)
        gm = np.zeros(tmax)
        for g in gemms_per_gpu(m, dep):
            mm = np.ceil(T * g.token_share)
            t, cb = self._gemm_times(mm, g)
            gc += np.where(cb, t, 0.0) * g.count
            gm += np.where(cb, 0.0, t) * g.count
        # LM head over the sequences of the batch (one logit row each), last stage only; kept in BF16
        # by the quantised checkpoints (ModelOpt hf_quant_config exclude_modules: lm_head) and so modelled
        # by aiconfigurator-core (logits_gemm at GEMMQuantMode.bfloat16)
        head = Gemm("lm_head", m.vocab_size // dep.tp, m.hidden_size, 1, 1.0, "head")
        S = np.arange(dep.max_batch * nq + 1, dtype=float)
        th, cbh = self._gemm_times(S, head, "bf16")
        head_c, head_m = np.where(cbh, th, 0.0), np.where(cbh, 0.0, th)
        # routed experts
        mc, mmem = self._moe_times(T)
        # communication per stage
        cm = self._comm_times(T)
        gm += self._elementwise_times(T)
        # attention coefficients, per stage
        L = m.num_layers // dep.pp
        ta = 1 if dep.attention_dp else dep.tp
        heads_local = m.num_heads / ta
        f_bf16 = hw.flops("bf16")
        hopper = hw.peak_flops.get("fp4") is None
        eta_p = _eff("attention_prefill_hopper") if hopper else _eff("attention_prefill")
        if m.is_mla:
            qk = m.qk_nope_head_dim + m.qk_rope_head_dim
            per_pair = 2.0 * heads_local * (qk + m.v_head_dim)      # prefill: q.k and p.v per (query, key)
            dec_flops = 2.0 * heads_local * (2 * m.kv_lora_rank + m.qk_rope_head_dim)  # absorbed MLA
        else:
            per_pair = 4.0 * heads_local * m.head_dim
            dec_flops = 4.0 * heads_local * m.head_dim
        full = m.num_full_attention_layers / m.num_layers
        # prefill: seconds per unit of sum(c_i (p_i + c_i / 2)) (query-key pairs, causal)
        prefill_pair_s = L * full * per_pair / (f_bf16 * eta_p)
        # decode: seconds per context token (bytes of KV per GPU vs FLOPs), classified
        kv_tok = kv_bytes_per_token_per_gpu(m, dep) * dep.pp * (dep.tp if dep.attention_dp else 1)
        kv_tok_stage = kv_tok / dep.pp  # bytes one context token reads on a GPU of a stage
        t_bytes = kv_tok_stage / (hw.hbm_bw_bytes_s * _eff("attention_decode"))
        # a verification pass scores 1 + d queries per sequence against the context read once
        t_flops = nq * L * full * dec_flops / (f_bf16 * eta_p)
        # attention-DP ranks hold whole sequences: a rank reads 1/tp of the batch's context
        ctx_share = 1.0 / dep.tp if dep.attention_dp else 1.0
        # one micro-batch passes the pp stages in sequence (stage-boundary transfers are in the comm
        # arrays); the LM head runs once, on the last stage
        pp = dep.pp
        decode_ctx_s = max(t_bytes, t_flops) * ctx_share * pp
        decode_floor_s = L * FLOORS_S["attention_decode_layer"][0] * pp
        spec = {}
        if sp is not None:
            draft = self._draft_times()
            dc = self.draft.cost
            spec = {"tokens_verified": nq, "tokens_per_step": sp.tokens_per_step, "draft_c": draft[0],
                    "draft_m": draft[1], "draft_o": draft[2]}
            # the draft steps' attention over the context (the draft's own KV), folded into the target's
            decode_ctx_s += sp.num_draft_tokens * dc.decode_ctx_s
            decode_floor_s += sp.num_draft_tokens * dc.decode_floor_s
        if self.host_s_per_decode:
            # host work per emitted token of each decoding sequence (tau of them with speculation) in the
            # engine loop: serial, not clock-scaled
            base = spec.get("draft_o", np.zeros(dep.max_batch + 1))
            for k in ("draft_c", "draft_m"):
                spec.setdefault(k, np.zeros(dep.max_batch + 1))
            tau = sp.tokens_per_step if sp is not None else 1.0
            spec["draft_o"] = base + self.host_s_per_decode * tau * np.arange(dep.max_batch + 1)
        self.cost = IterationCost(
            gemm_c=gc * pp, gemm_m=gm * pp, moe_c=mc * pp, moe_m=mmem * pp, comm=cm * pp,
            head_c=head_c, head_m=head_m, prefill_pair_s=prefill_pair_s * pp,
            decode_ctx_s=decode_ctx_s, decode_ctx_compute=bool(t_flops > t_bytes),
            decode_floor_s=decode_floor_s, overhead_s=FLOORS_S["iteration_overhead"][0], **spec)
        self._tmax = budget

    def _draft_times(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(compute_s, memory_s, comm_s)`` of an iteration's ``d`` draft steps, by decoding sequences.

        Each step runs the draft (:func:`twin.serving.speculative.draft_spec`) over one token per
        decoding sequence, its LM head over as many rows and, for MTP/EAGLE, the projection of the
        target's hidden states into the draft layer; priced by the draft's own :class:`PerfModel`.
        Steps run inside the iteration (CUDA graph), so no iteration overhead is added.
        """
        sp, dc = self.dep.speculative, self.draft.cost
        B = np.arange(self.dep.max_batch + 1)
        c = dc.base_c[B] + dc.head_c[B]
        mm = dc.base_m[B] + dc.head_m[B]
        k = projection_width(self.model, sp)
        if k:
            share = 1.0 / self.dep.tp if self.dep.attention_dp else 1.0
            g = Gemm("draft_proj", self.model.hidden_size, k, 1, share, "attention")
            t, cb = self._gemm_times(np.ceil(B * share).astype(float), g, sp.draft_precision)
            c = c + np.where(cb, t, 0.0)
            mm = mm + np.where(cb, 0.0, t)
        d = sp.num_draft_tokens
        return d * c, d * mm, d * dc.comm[B]

    def _elementwise_times(self, T: np.ndarray) -> np.ndarray:
        """Memory-bound element-wise kernels per GPU of a stage for ``T`` tokens.

        Residual add + RMSNorm, activation quantisation, SwiGLU by the engine's fusion
        (:data:`ELEMENTWISE`): ``L (bytes_per_token x tokens_per_gpu / (BW x eta) + kernels x t_launch)``.
        """
        mode = self.dep.elementwise
        if mode == "none":
            return np.zeros_like(T)
        m, dep = self.model, self.dep
        d = m.hidden_size
        L = m.num_layers // dep.pp
        b = BYTES_PER_ELEMENT[dep.precision] if dep.precision != "bf16" else 0.0
        quantised = b > 0
        norm, quant, fused_norm = 8.0 * d, (2.0 + b) * d, (6.0 + b) * d
        act = 0.0 if m.is_moe else 6.0 * m.intermediate_size / dep.tp
        n_q = 2 if quantised else 0
        per_tok, kernels = {
            "pytorch": (2 * norm + act, 2 + (act > 0)),
            "unfused": (2 * norm + n_q * quant + act, 2 + n_q + (act > 0)),
            "fused-mlp": (2 * norm + n_q * quant, 2 + n_q),
            "fused-norm-quant-mlp": (2 * (fused_norm if quantised else norm), 2),
        }[mode]
        tok = T / dep.tp if dep.attention_dp else T      # norms run on every TP rank for its tokens
        return np.where(T > 0, L * self._elementwise_kernels_s(per_tok * tok, kernels), 0.0)

    def _elementwise_kernels_s(self, num_bytes, kernels: int):
        """Time of ``kernels`` memory-bound element-wise kernels moving ``num_bytes`` in all.

        HBM traffic at :data:`ELEMENTWISE_BW_EFF` of the bandwidth plus :data:`ELEMENTWISE_LAUNCH_S`
        per kernel.
        """
        bw = self.hw.hbm_bw_bytes_s * ELEMENTWISE_BW_EFF[0]
        return num_bytes / bw + kernels * ELEMENTWISE_LAUNCH_S[0]

    def _moe_times(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m, dep = self.model, self.dep
        if not m.is_moe:
            return np.zeros_like(T), np.zeros_like(T)
        E, k = m.num_experts, m.num_active_experts
        ep = dep.ep
        moe_tp = max(dep.tp // ep, 1)
        layers = m.num_moe_layers // dep.pp
        touched = E * (1.0 - (1.0 - k / E) ** T) / ep           # experts touched per GPU
        pairs = T * k / ep                                       # token-expert pairs per GPU
        m_e = np.where(touched > 0, np.ceil(pairs / np.maximum(touched, 1e-9)), 0.0)
        n_touch = np.maximum(np.round(touched), 1.0)
        tc = np.zeros_like(T)
        tm = np.zeros_like(T)
        d, fi = m.hidden_size, m.expert_intermediate_size // moe_tp
        # roofline classification of the routed-expert work: FLOPs vs bytes of the touched experts
        f = self.hw.flops(self.dep.precision) * _eff("gemm_compute")
        bw = self.hw.hbm_bw_bytes_s * _eff("gemm_memory")
        t_flops = 2.0 * 3.0 * d * fi * pairs / f
        t_bytes = touched * 3.0 * d * fi * BYTES_PER_ELEMENT[self.dep.precision] / bw
        cbound = t_flops >= t_bytes
        measured = None
        if self.table is not None and self.hw.kernel_device:
            measured = load_moe_table(self.hw.kernel_device, self.dep.precision, d,
                                      m.expert_intermediate_size, k, E, moe_tp, ep)
        if measured is not None:
            xs, ys, self.moe_source = measured
            t = interp_loglog(T, xs, ys) * layers
            return np.where(cbound, t, 0.0), np.where(cbound, 0.0, t)
        for n, kk in ((2 * fi, d), (d, fi)):
            t = np.zeros_like(T)
            cb = np.zeros(T.shape, dtype=bool)
            # group the touched experts into one GEMM of k_eff = kk * n_touched (rounded to a grid of
            # distinct values to keep the number of table look-ups small)
            for nt in np.unique(n_touch):
                sel = (n_touch == nt) & (T > 0)
                g = Gemm("moe", n, int(kk * nt), 1, 1.0, "moe")
                tt, cc = self._gemm_times(m_e[sel], g)
                t[sel], cb[sel] = tt, cc
            tc += np.where(cb, t, 0.0) * layers
            tm += np.where(cb, 0.0, t) * layers
        return tc, tm

    def _comm_times(self, T: np.ndarray) -> np.ndarray:
        m, hw, dep = self.model, self.hw, self.dep
        L = m.num_layers // dep.pp
        link = hw.nvlink_bw_bytes_s / 2.0  # catalog figure is bidirectional
        msg = T * m.hidden_size * ACTIVATION_BYTES
        out = np.zeros_like(T)
        if dep.tp > 1:
            if dep.attention_dp:
                # dense layers' MLP are tensor-parallel (one all-reduce each); MoE layers all-to-all.
                # A group wider than the NVLink domain (wide EP) crosses the scale-out network.
                domain = hw.nvlink_domain_gpus
                dense = m.num_dense_layers // dep.pp if m.is_moe else L
                if dep.tp > domain:
                    out += dense * comm.scale_out_allreduce_time_s(msg, dep.tp, hw.scale_out_bw_bytes_s)
                else:
                    out += dense * comm.allreduce_time_s(msg, dep.tp, link, hw.kernel_device)
                if m.is_moe:
                    tok_gpu = np.ceil(T / dep.tp)
                    # dispatch in FP8 (1 B) and combine in BF16 (2 B) of k copies of each token
                    vol = tok_gpu * m.num_active_experts * m.hidden_size * (1.0 + ACTIVATION_BYTES)
                    out += (m.num_moe_layers // dep.pp) * comm.alltoall_time_s(
                        vol, dep.ep, link, domain_gpus=domain, scale_out_bw_bytes_s=hw.scale_out_bw_bytes_s)
            else:
                out += 2 * L * comm.allreduce_time_s(msg, dep.tp, link, hw.kernel_device)
        if dep.pp > 1:
            # pp - 1 activation transfers per iteration over the scale-out network, spread per stage
            out += (dep.pp - 1) / dep.pp * comm.transfer_time_s(msg, hw.scale_out_bw_bytes_s)
        return np.where(T > 0, out, 0.0)

    # ------------------------------------------------------------------ evaluation
    @property
    def max_tokens(self) -> int:
        """Largest batch in tokens the model prices (``max(max_num_tokens, max_batch)``)."""
        return self._tmax

    def iteration(self, num_tokens: int, num_seqs: int, decode_ctx_tokens: float = 0.0,
                  prefill_pairs: float = 0.0, num_decode: int = 0,
                  clock_factor: float = 1.0) -> IterationTime:
        """Breakdown of one iteration (the law of :class:`IterationCost`, by kind of work).

        Parameters
        ----------
        num_tokens : int
            Tokens processed: prefill-chunk tokens plus one per decoding sequence.
        num_seqs : int
            Sequences in the batch (LM-head rows).
        decode_ctx_tokens : float
            Sum of the context lengths of the decoding sequences. [tokens]
        prefill_pairs : float
            ``sum(c_i (p_i + c_i/2))`` over the prefill chunks (chunk ``c_i`` after ``p_i`` tokens).
        num_decode : int
            Decoding sequences (attention kernel floor applies when > 0).
        clock_factor : float
            SM clock as a fraction of nominal (power capping, throttling).
        """
        c = self.cost
        T = min(int(num_tokens), c.max_tokens)
        S = min(int(num_seqs), c.max_seqs)
        sc, sm = clock_scales(clock_factor)
        attn_c = prefill_pairs * c.prefill_pair_s
        attn_m = c.decode_floor_s if num_decode > 0 else 0.0
        dec = decode_ctx_tokens * c.decode_ctx_s
        if c.decode_ctx_compute:
            attn_c += dec
        else:
            attn_m += dec
        D = min(int(num_decode), len(c.draft_c) - 1)
        # the per-decoder arrays (draft steps, per-sequence work) with the GEMMs, their host time with comm
        gemm_c = float(c.gemm_c[T] + c.head_c[S] + c.draft_c[D])
        gemm_m = float(c.gemm_m[T] + c.head_m[S] + c.draft_m[D])
        moe_c, moe_m = float(c.moe_c[T]), float(c.moe_m[T])
        return IterationTime(
            gemm_s=(gemm_c * sc + gemm_m * sm), attention_s=attn_c * sc + attn_m * sm,
            moe_s=moe_c * sc + moe_m * sm, comm_s=float(c.comm[T] + c.draft_o[D]), overhead_s=c.overhead_s,
            compute_s=(gemm_c + attn_c + moe_c) * sc, memory_s=(gemm_m + attn_m + moe_m) * sm)

    def roofline_bound_s(self, num_tokens: int, num_seqs: int, decode_ctx_tokens: float = 0.0,
                         prefill_pairs: float = 0.0) -> float:
        """Lower bound of the iteration time: all work at 100 % of peak FLOP/s or HBM bandwidth.

        ``max(FLOPs / F, bytes / BW)`` per GPU, with FLOPs of every weight GEMM (routed experts: only
        the active ones), attention, and bytes of the weights touched plus KV read. A prediction below
        this bound (a throughput above the roofline) is a bug.
        """
        m, hw, dep = self.model, self.hw, self.dep
        from twin.serving.shapes import active_params, param_breakdown

        g = dep.tp * dep.pp
        bpw = BYTES_PER_ELEMENT[dep.precision]
        flops = 2.0 * active_params(m) * num_tokens / g
        # attention FLOPs (bf16), per GPU
        qk = (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim) if m.is_mla else 2 * m.head_dim
        attn = 2.0 * m.num_heads * qk * m.num_full_attention_layers * (prefill_pairs + decode_ctx_tokens) / g
        p = param_breakdown(m)
        if m.is_moe:
            E, k = m.num_experts, m.num_active_experts
            routed = p["routed_experts"] * min(1.0, (1.0 - (1.0 - k / E) ** num_tokens))
            w = (p["attention"] + p["mlp"] + p["shared_experts"] + p["embedding"] / 2 + routed) * bpw / g
        else:
            w = (p["attention"] + p["mlp"] + p["embedding"] / 2) * bpw / g
        kv = decode_ctx_tokens * m.kv_bytes_per_token(dep.kv_dtype) / g
        f = hw.flops(dep.precision)
        return max(flops / f + attn / hw.flops("bf16"), (w + kv) / hw.hbm_bw_bytes_s)


def check_deployment(model: ModelSpec, hw: HardwareSpec, dep: Deployment) -> None:
    """Raise :class:`ServingInputError` for parallelism that cannot be built on this hardware."""
    problems = []
    for name in ("tp", "pp", "ep"):
        if getattr(dep, name) < 1:
            problems.append(f"{name} must be at least 1, got {getattr(dep, name)}")
    if problems:
        raise ServingInputError("; ".join(problems))
    if dep.tp > hw.nvlink_domain_gpus:
        if not (dep.attention_dp and model.is_moe and dep.ep == dep.tp):     # wide EP across domains
            problems.append(f"TP={dep.tp} is larger than the NVLink domain of {hw.name} "
                            f"({hw.nvlink_domain_gpus} GPUs); tensor parallelism needs NVLink, use "
                            "`deployment.pp` (or, for a mixture-of-experts model, wide EP across domains: "
                            "`deployment.attention_dp` with EP = TP)")
        elif dep.tp % hw.nvlink_domain_gpus:
            problems.append(f"wide EP across NVLink domains needs whole domains: TP=EP={dep.tp} is not a "
                            f"multiple of the {hw.nvlink_domain_gpus}-GPU NVLink domain of {hw.name}")
    if dep.precision not in BYTES_PER_ELEMENT:
        problems.append(f"unknown precision {dep.precision!r}; valid: {', '.join(BYTES_PER_ELEMENT)}")
    elif dep.precision not in model.precisions:
        problems.append(f"{model.name} is not published at {dep.precision}; valid: "
                        f"{', '.join(model.precisions)}")
    if model.num_layers % dep.pp:
        problems.append(f"PP={dep.pp} does not divide the {model.num_layers} layers of {model.name}")
    if model.num_heads % dep.tp and not dep.attention_dp:
        problems.append(f"TP={dep.tp} does not divide the {model.num_heads} attention heads of {model.name}")
    if dep.ep > 1 and not model.is_moe:
        problems.append(f"EP={dep.ep} needs a mixture-of-experts model; {model.name} is dense")
    if model.is_moe and (model.num_experts % dep.ep or dep.tp % dep.ep):
        problems.append(f"EP={dep.ep} must divide both TP={dep.tp} and the {model.num_experts} experts")
    if dep.max_batch < 1 or dep.max_num_tokens < 1:
        problems.append("max batch and max tokens per iteration must be at least 1")
    if dep.block_size < 1:
        problems.append("KV block size must be at least 1 token")
    if not 0.0 < dep.kv_mem_fraction <= 1.0:
        problems.append(f"KV memory fraction must be in (0, 1], got {dep.kv_mem_fraction}")
    if dep.workspace_bytes is not None and dep.workspace_bytes < 0:
        problems.append(f"workspace must be >= 0 bytes, got {dep.workspace_bytes}")
    if dep.elementwise not in ELEMENTWISE:
        problems.append(f"unknown element-wise fusion {dep.elementwise!r}; valid: {', '.join(ELEMENTWISE)}")
    if dep.speculative is not None:
        problems += [f"speculative decoding: {p}" for p in check_speculation(dep.speculative)]
    if min(dep.adp_balance_wait_iters, dep.adp_balance_timeout_iters) < 0:
        problems.append("attention-DP balancing iterations must be >= 0")
    elif dep.adp_balance_timeout_iters and not dep.attention_dp:
        problems.append("attention-DP balancing needs `deployment.attention_dp`")
    if problems:
        raise ServingInputError("; ".join(problems))
