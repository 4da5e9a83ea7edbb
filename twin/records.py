"""Plain SI records of what is built and what runs on it: systems, LLMs and serving deployments.

A foundation module: it imports nothing of the twin but :mod:`twin.errors`. :mod:`twin.layout`
builds these records from the catalog (``models/systems/*.yaml``, ``models/llms/*.yaml``,
:mod:`twin.layout.records`); the physics (fabric, serving) and the engine read only them. All
figures SI: bytes, FLOP/s, bytes/s, seconds, watts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.errors import ServingInputError

#: Bytes per weight/KV element by precision name. NVFP4 stores 4-bit (E2M1) values plus one FP8 (E4M3)
#: scale per block of 16 values: 0.5 + 1/16 = 0.5625 B (NVIDIA, "Introducing NVFP4 for Efficient and
#: Accurate Low-Precision Inference", NVIDIA Technical Blog, 2025).
BYTES_PER_ELEMENT: dict[str, float] = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5625}


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of a decoder-only LLM (from a published config.json)."""

    name: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    num_params: float
    precisions: tuple[str, ...] = ("bf16", "fp8", "fp4")
    num_experts: int = 0
    num_active_experts: int = 0
    num_shared_experts: int = 0
    expert_intermediate_size: int = 0
    num_dense_layers: int = 0
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    qk_nope_head_dim: int = 0
    v_head_dim: int = 0
    sliding_window: int = 0
    sliding_window_layer_fraction: float = 0.0
    #: longest sequence the model takes, prompt plus output [tokens] (config.json
    #: ``max_position_embeddings``); 0: not known, workloads are not checked against it
    max_context: int = 0

    @property
    def is_moe(self) -> bool:
        """Whether the model is a mixture of experts (it lists routed experts)."""
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        """Whether attention is multi-head latent attention (a KV compressed to ``kv_lora_rank``)."""
        return self.kv_lora_rank > 0

    @property
    def num_moe_layers(self) -> int:
        """Layers with MoE feed-forward: all but the dense layers of an MoE model; 0 for a dense model."""
        return self.num_layers - self.num_dense_layers if self.is_moe else 0

    @property
    def num_full_attention_layers(self) -> int:
        """Layers that attend over the whole context (the others use a sliding window)."""
        return self.num_layers - round(self.num_layers * self.sliding_window_layer_fraction)

    def kv_elements_per_token_layer(self) -> int:
        """KV-cache elements one token stores in one attention layer (whole model, no sharding).

        GQA/MHA: K and V of every KV head, ``2 * n_kv * d_h``. MLA: the compressed latent plus the
        decoupled RoPE key, ``kv_lora_rank + qk_rope_head_dim`` (DeepSeek-V2, arXiv:2405.04434, 3.1).
        """
        if self.is_mla:
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.num_kv_heads * self.head_dim

    def kv_bytes_per_token(self, kv_precision: str) -> float:
        """KV-cache bytes one context token holds in the full-attention layers (whole model).

        Sliding-window layers hold at most ``sliding_window`` tokens per sequence; that bounded part
        is left out of the per-token figure.
        """
        return (self.num_full_attention_layers * self.kv_elements_per_token_layer()
                * BYTES_PER_ELEMENT[kv_precision])


@dataclass(frozen=True)
class HardwareSpec:
    """One GPU type and the NVLink domain it sits in."""

    name: str
    peak_flops: dict[str, float]
    hbm_bytes: float
    hbm_bw_bytes_s: float
    nvlink_bw_bytes_s: float
    nvlink_domain_gpus: int
    #: per-GPU scale-out (Ethernet/InfiniBand) bandwidth, one direction [bytes/s]
    scale_out_bw_bytes_s: float = 50e9
    #: directory name of this GPU in aiconfigurator-core's kernel tables (None: roofline only)
    kernel_device: str | None = None
    #: host CPU cores per GPU of the system (the serving front end's cores); 0: not known
    host_cores_per_gpu: float = 0.0

    def flops(self, precision: str) -> float:
        """Peak dense FLOP/s at a GEMM precision (falls back to the next wider one listed)."""
        for p in {"fp4": ("fp4", "fp8", "bf16"), "fp8": ("fp8", "bf16"), "bf16": ("bf16",)}[precision]:
            if p in self.peak_flops:
                return self.peak_flops[p]
        raise ServingInputError(f"{self.name} lists no peak FLOP/s for {precision}")


#: speculative-decoding methods: multi-token-prediction modules (DeepSeek-V3), EAGLE-style draft heads,
#: separate draft models
SPECULATIVE_METHODS = ("mtp", "eagle", "draft")


@dataclass(frozen=True)
class Speculation:
    """Speculative decoding of a deployment: who drafts, how many tokens, how many are accepted.

    Each decode iteration drafts ``num_draft_tokens`` tokens per sequence (``d`` sequential steps of the
    draft), then the target model verifies them and its own next token in one pass over ``1 + d``
    tokens per sequence. ``acceptance`` holds the conditional acceptance rate of each draft position
    (position ``i`` is accepted only if every earlier one was): one value is the same rate for every
    position (i.i.d. acceptance, Leviathan et al. 2023); ``d`` values are per position, as engines
    report them. ``draft_model`` is the separate draft model of ``method="draft"`` (MTP and EAGLE
    drafts are one decoder layer of the target's shape, derived from it).
    """

    method: str = "mtp"
    num_draft_tokens: int = 1
    acceptance: tuple[float, ...] = (0.0,)
    draft_model: ModelSpec | None = None
    #: precision of the draft's weights (None: the deployment's), e.g. TensorRT-LLM keeps DeepSeek's MTP
    #: layer in BF16 in an FP4 checkpoint
    draft_precision: str | None = None

    def position_rates(self) -> tuple[float, ...]:
        """Conditional acceptance rate of each of the ``d`` draft positions."""
        a = tuple(float(x) for x in self.acceptance)
        return a * self.num_draft_tokens if len(a) == 1 else a

    def accepted_pmf(self) -> tuple[float, ...]:
        """Probability that ``j = 0..d`` draft tokens are accepted in one step.

        ``P(j) = prod_{i<=j} a_i (1 - a_{j+1})`` with ``a_{d+1} = 0`` (the first rejection ends the step).
        """
        out, reach = [], 1.0
        rates = self.position_rates()
        for a in rates:
            out.append(reach * (1.0 - a))
            reach *= a
        out.append(reach)
        return tuple(out)

    @property
    def tokens_per_step(self) -> float:
        """Mean tokens a decoding sequence emits per iteration (accepted drafts plus the target's own).

        ``tau = 1 + sum_{j=1..d} prod_{i<=j} a_i``; for i.i.d. acceptance ``a`` this is
        ``(1 - a^(d+1)) / (1 - a)``, Leviathan, Kalman and Matias, "Fast Inference from Transformers via
        Speculative Decoding", ICML 2023, eq. (1).
        """
        return float(sum(j * p for j, p in enumerate(self.accepted_pmf()))) + 1.0

    @property
    def tokens_verified(self) -> int:
        """Tokens per decoding sequence the target model runs in a verification pass, ``1 + d``."""
        return 1 + self.num_draft_tokens


@dataclass(frozen=True)
class Deployment:
    """A replica: the model on ``tp * pp`` GPUs, its precision and batch limits.

    ``max_batch`` and ``max_num_tokens`` are the limits of the whole replica. With ``attention_dp``
    TensorRT-LLM's ``max_batch_size`` and ``max_num_tokens`` are per attention-DP rank: the replica's
    limits are ``tp`` times those (the by-name API :func:`twin.engine.serve.serve_sim` takes them per
    rank and converts; see :meth:`per_rank_limits`).

    ``ep`` splits the routed experts of MoE layers over ``ep`` of the ``tp`` GPUs of a stage (the
    rest of the MoE parallelism is expert-tensor-parallel). ``attention_dp`` runs attention
    data-parallel over the ``tp`` GPUs (each GPU owns whole sequences, attention weights are
    replicated), as TRT-LLM's attention-DP for DeepSeek.
    """

    tp: int = 1
    pp: int = 1
    ep: int = 1
    precision: str = "fp8"
    kv_precision: str | None = None
    attention_dp: bool = False
    max_batch: int = 256
    max_num_tokens: int = 8192
    block_size: int = 32
    #: fraction of the HBM left after weights and workspace that the KV cache may take
    kv_mem_fraction: float = 0.95
    #: per-GPU memory kept for activations, NCCL buffers and the CUDA context [bytes]; None: estimated
    #: from the model and the token budget (:func:`twin.serving.kv_cache.workspace_bytes_per_gpu`)
    workspace_bytes: float | None = None
    #: the ``scheduler`` name (see :data:`twin.serving.schedulers.SCHEDULERS`)
    scheduler: str = "trtllm"
    #: split long prompts over iterations (chunked prefill / TRT-LLM ``enable_chunked_context``); off:
    #: a prompt is admitted only when it fits whole in the iteration's token budget
    chunked_prefill: bool = True
    #: TensorRT-LLM attention-DP balancing (``attention_dp_config``: ``batching_wait_iters``,
    #: ``timeout_iters``), attention-DP only; 0 = off. New context requests are held while every rank
    #: decodes until every rank has one (then ``wait`` more iterations) or ``timeout`` iterations passed
    adp_balance_wait_iters: int = 0
    adp_balance_timeout_iters: int = 0
    #: element-wise kernels between the GEMMs by the engine's fusion (see
    #: :data:`twin.serving.perf_model.ELEMENTWISE`); default TensorRT-LLM's PyTorch backend
    elementwise: str = "pytorch"
    #: speculative decoding (None: one token per sequence per iteration)
    speculative: Speculation | None = None
    extra: dict = field(default_factory=dict)

    @property
    def num_gpus(self) -> int:
        """GPUs of one replica: ``tp * pp``."""
        return self.tp * self.pp

    @property
    def num_ranks(self) -> int:
        """Attention-DP ranks of a replica (each owns whole sequences): ``tp`` with attention-DP, else 1."""
        return self.tp if self.attention_dp else 1

    def per_rank_limits(self) -> tuple[int, int]:
        """``(max_batch, max_num_tokens)`` of one attention-DP rank (of the replica without attention-DP)."""
        return self.max_batch // self.num_ranks, self.max_num_tokens // self.num_ranks

    @property
    def kv_dtype(self) -> str:
        """KV-cache precision: as given, else FP8 for FP8/FP4 weights (MLPerf setups), else BF16."""
        if self.kv_precision:
            return self.kv_precision
        return "fp8" if self.precision in ("fp8", "fp4") else "bf16"


@dataclass(frozen=True)
class SystemSpec:
    """One catalog system as the physics needs it: node shape, NVLink domain, its GPU (``hardware``).

    ``nvlink_switch_trays`` counts the rack's NVLink switch trays (components with
    ``role: nvlink-switch-tray``; 0 for HGX servers, whose NVLink switches sit on the baseboard).
    """

    name: str
    form_factor: str  # "rack" (NVL72) or "server" (HGX)
    gpus_per_node: int
    nvlink_domain_gpus: int
    nvlink_switch_trays: int
    hardware: HardwareSpec
    rack_width_m: float = 0.6  # the catalog's rack width (NVL72 600 mm, HGX 800 mm) [m]
    rack_depth_m: float = 1.2  # the catalog's rack depth [m]

    @property
    def nvlink_bw_per_direction_bytes_s(self) -> float:
        """NVLink bandwidth of one GPU in one direction (the catalog's figure is bidirectional). [bytes/s]"""
        return self.hardware.nvlink_bw_bytes_s / 2.0


@dataclass(frozen=True)
class NetworkPart:
    """A network catalog model (switch, NIC, transceiver or cable) as plain SI figures.

    ``ports`` and ``port_speed_bytes_s`` (per port, per direction) apply to switches and NICs;
    ``copper`` to cables (passive or active copper: no transceiver at either end).
    """

    name: str
    kind: str
    power_w: float
    ports: int = 0
    port_speed_bytes_s: float = 0.0
    copper: bool = False


@dataclass(frozen=True)
class FrontendDesign:
    """The front-end network of a layout's ``fabric.frontend`` section."""

    switch: NetworkPart
    nic: NetworkPart
    nics_per_node: int
    oversubscription: float
    transceiver: NetworkPart
    cable: NetworkPart


@dataclass(frozen=True)
class FabricDesign:
    """The scale-out fabric a layout asks for (its ``fabric:`` section), with its parts resolved.

    ``nic`` maps every system name of the layout to its compute NIC. See
    :class:`twin.layout.schema_fabric.FabricSpec` for the meaning of each field.
    """

    switch: NetworkPart
    nic: dict[str, NetworkPart]
    nics_per_gpu: int
    oversubscription: float
    planes: int
    scope: str  # "hall" or "site"
    transceiver: NetworkPart
    cable: NetworkPart
    trunk_cable: NetworkPart
    nic_power_in_system: bool
    frontend: FrontendDesign | None = None
