"""Iteration-time model: bounds, monotonicity, clock factor, impossible deployments."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.serving.perf_model import PerfModel, clock_scales
from twin.serving.specs import Deployment, ServingInputError

SETUPS = [
    ("hgx-h100", "llama-3.1-70b", Deployment(tp=2, precision="fp8")),
    ("hgx-h200", "llama-2-70b", Deployment(tp=1, precision="fp8")),
    ("hgx-b200", "llama-2-70b", Deployment(tp=1, precision="fp4", max_batch=2048)),
    ("gb200-nvl72", "llama-3.1-405b", Deployment(tp=8, precision="fp4")),
    ("hgx-h100", "mixtral-8x7b", Deployment(tp=2, precision="fp8")),
    ("hgx-b200", "deepseek-r1", Deployment(tp=8, ep=8, precision="fp4", attention_dp=True)),
    ("hgx-b200", "gpt-oss-120b", Deployment(tp=1, precision="fp4")),
    ("hgx-h100", "llama-3.1-8b", Deployment(tp=1, precision="bf16")),
]


@pytest.fixture(scope="module")
def models(specs):
    out = []
    for system, model, dep in SETUPS:
        m, h = specs(system, model)
        out.append(PerfModel(m, h, dep))
    return out


@pytest.mark.parametrize("batch", [1, 16, 256])
@pytest.mark.parametrize("ctx", [128, 4096])
def test_never_faster_than_the_roofline(models, batch, ctx):
    for pm in models:
        b = min(batch, pm.dep.max_batch)
        it = pm.iteration(b, b, b * ctx, 0.0, b)
        assert it.total_s >= pm.roofline_bound_s(b, b, b * ctx), (pm.model.name, pm.hw.name)
        pre = min(2048, pm.max_tokens)
        it = pm.iteration(pre, 1, 0.0, pre * pre / 2, 0)
        assert it.total_s >= pm.roofline_bound_s(pre, 1, 0.0, pre * pre / 2)


def test_time_grows_with_tokens_and_context(models):
    for pm in models:
        ts = [pm.iteration(t, 1, 0, t * t / 2, 0).total_s for t in (1, 64, 512, min(4096, pm.max_tokens))]
        assert all(b >= a * 0.98 for a, b in zip(ts, ts[1:], strict=False)), pm.model.name
        assert pm.iteration(8, 8, 8 * 8000, 0, 8).total_s > pm.iteration(8, 8, 8 * 100, 0, 8).total_s


@pytest.mark.parametrize("pp", [1, 2])
def test_iterations_by_hand(specs, pp):
    """Llama-3.1-8B BF16 on H100, roofline backend, no element-wise kernels: every GEMM of a layer
    (qkv 6144x4096, attn_out 4096x4096, gate_up 28672x4096, down 4096x14336; 32 layers) at
    ``max(2 m n k / (0.7 F), (2 n k + 2 m (n + k)) / (0.85 BW)) + 5 us``, the BF16 LM head (128256 x
    4096) once per sequence, 0.5 ms overhead, and with PP2 one activation transfer between the two
    stages. Decode of one sequence at 1,000 tokens of context reads 131,072 B of KV per token at 0.8
    BW plus a 12 us floor per layer; a 2,048-token prefill does 4 x 32 x 128 FLOPs per layer and
    query-key pair (2048^2 / 2 pairs) at 0.6 of the BF16 peak (Hopper)."""
    from twin.serving import comm

    m, h = specs("hgx-h100", "llama-3.1-8b")
    pm = PerfModel(m, h, Deployment(tp=1, pp=pp, precision="bf16", elementwise="none"), backend="roofline")
    F, BW = h.flops("bf16"), h.hbm_bw_bytes_s

    def gemm(t, n, k):
        return max(2 * t * n * k / (F * 0.7), (2 * n * k + 2 * t * (n + k)) / (BW * 0.85)) + 5e-6

    def layers(t):
        return 32 * (gemm(t, 6144, 4096) + gemm(t, 4096, 4096) + gemm(t, 28672, 4096) + gemm(t, 4096, 14336))

    def stage_send(t):
        return (pp - 1) * float(comm.transfer_time_s(np.array([t * 4096 * 2.0]), h.scale_out_bw_bytes_s)[0])

    head = gemm(1, 128256, 4096)
    decode = layers(1) + head + 1000 * 131072 / (BW * 0.8) + 32 * 12e-6 + 5e-4 + stage_send(1)
    assert pm.iteration(1, 1, 1000.0, 0.0, 1).total_s == pytest.approx(decode, rel=1e-12)
    attention = 4 * 32 * 128 * 32 * (2048 * 2048 / 2) / (F * 0.6)
    prefill = layers(2048) + head + attention + 5e-4 + stage_send(2048)
    assert pm.iteration(2048, 1, 0.0, 2048 * 2048 / 2, 0).total_s == pytest.approx(prefill, rel=1e-12)
    # the typed law gives the same times, and its split is what the clock scales
    assert pm.cost.time_s(1, 1, 1000.0, 0.0, True) == pytest.approx(decode, rel=1e-12)
    cc, mm, other = pm.cost.split(2048, 1, 0.0, 2048 * 2048 / 2)
    assert pm.cost.time_s(2048, 1, 0.0, 2048 * 2048 / 2, clock_factor=0.25) == pytest.approx(
        4 * cc + 2 * mm + other, rel=1e-12)


def test_iteration_cost_law_is_one_law(models):
    """The breakdown, the scalar split, the interpolated split of the fluid mode (at integer counts)
    and the closed-form decode stretch all price the same iterations alike, and the stretch equals
    its iterations one by one."""
    for pm in models:
        c = pm.cost
        b = min(40, pm.dep.max_batch)
        T, ctx, pairs = b + 260, b * 1000.0, 260 * 130.0
        it = pm.iteration(T, b + 1, ctx, pairs, b, clock_factor=0.4)
        cc, mm, other = c.split(T, b + 1, ctx, pairs, True)
        sc, sm = clock_scales(0.4)
        assert it.total_s == pytest.approx(cc * sc + mm * sm + other, rel=1e-12)
        assert it.compute_s == pytest.approx(cc * sc, rel=1e-12)
        assert it.memory_s == pytest.approx(mm * sm, rel=1e-12)
        vi = c.split_interp(np.array([float(T)]), np.array([b + 1.0]), np.array([ctx]), np.array([pairs]),
                            np.array([True]))
        assert_allclose([x[0] for x in vi], [cc, mm, other], rtol=1e-12)
        # k decode-only iterations of b sequences, one more context token each time
        cd, md, od = c.split(b, b, ctx, 0.0, True)
        dur, comp, mem = c.stretch(7, cd, md, od, b, sc, sm)
        steps = [pm.iteration(b, b, ctx + j * b, 0.0, b, clock_factor=0.4) for j in range(7)]
        assert dur == pytest.approx(sum(s.total_s for s in steps), rel=1e-12)
        assert comp == pytest.approx(sum(s.compute_s for s in steps), rel=1e-12)
        assert mem == pytest.approx(sum(s.memory_s for s in steps), rel=1e-12)


def test_clock_scales_of_arrays_match_scalars():
    f = np.array([0.0, 0.2, 0.5, 0.8, 1.0, 1.7])
    sc, sm = clock_scales(f)
    for x, a, b in zip(f, sc, sm, strict=True):
        assert (a, b) == clock_scales(float(x))
    assert clock_scales(0.2) == (5.0, 2.5)


def test_moe_uses_measured_tables_and_dense_has_no_moe_time(models):
    ds = models[5]
    assert ds.iteration(512, 512, 512 * 1000, 0, 512).moe_s > 0
    assert models[0].iteration(512, 512, 512 * 1000, 0, 512).moe_s == 0.0


def test_clock_factor_slows_compute_and_memory_by_their_own_laws(models):
    pm = models[0]
    full = pm.iteration(4096, 1, 0, 4096 * 2048, 0)
    half = pm.iteration(4096, 1, 0, 4096 * 2048, 0, clock_factor=0.5)
    assert_allclose(half.compute_s, 2 * full.compute_s, rtol=1e-12)
    assert_allclose(half.memory_s, full.memory_s, rtol=1e-12)     # HBM-bound work holds until f = 0.5
    assert half.comm_s == full.comm_s
    assert half.overhead_s == full.overhead_s
    assert clock_scales(0.25) == (4.0, 2.0)
    assert clock_scales(1.0) == (1.0, 1.0)


def test_roofline_backend_close_to_tables_for_large_gemms(specs):
    m, h = specs("hgx-h100", "llama-3.1-70b")
    dep = Deployment(tp=2, precision="fp8")
    tab, roof = PerfModel(m, h, dep), PerfModel(m, h, dep, backend="roofline")
    assert tab.backend == "tables"
    assert roof.backend == "roofline"
    a, b = tab.iteration(4096, 1, 0, 0, 0).gemm_s, roof.iteration(4096, 1, 0, 0, 0).gemm_s
    assert 0.6 < a / b < 1.6


def test_model_that_does_not_fit_says_by_how_much(specs):
    m, h = specs("hgx-h100", "llama-3.1-405b")
    with pytest.raises(ServingInputError, match=r"short by \d+\.\d GB"):
        PerfModel(m, h, Deployment(tp=1, precision="bf16"))


def test_tp_beyond_nvlink_domain(specs):
    m, h = specs("hgx-h100", "llama-3.1-70b")
    with pytest.raises(ServingInputError, match="larger than the NVLink domain"):
        PerfModel(m, h, Deployment(tp=16, precision="fp8"))


@pytest.mark.parametrize(("kw", "msg"), [
    ({"ep": 2}, "needs a mixture-of-experts"),
    ({"pp": 3}, "does not divide the 80 layers"),
    ({"precision": "int4"}, "unknown precision"),
    ({"tp": 0}, "at least 1"),
])
def test_bad_parallelism(specs, kw, msg):
    m, h = specs("hgx-h100", "llama-3.1-70b")
    with pytest.raises(ServingInputError, match=msg):
        PerfModel(m, h, Deployment(**({"tp": 2, "precision": "fp8"} | kw)))


def test_elementwise_kernels_by_engine_fusion(specs):
    """Llama 2 70B FP4 on B200, 1,000 tokens: hand-counted bytes per token and layer (d = 8192,
    f = 28672, b = 0.5625) at 0.8 of 8 TB/s plus 3 us per kernel, 80 layers; more fusion is never
    slower."""
    m, h = specs("hgx-b200", "llama-2-70b")
    d, f, b, L, T = 8192, 28672, 0.5625, 80, 1000
    bw = h.hbm_bw_bytes_s * 0.8
    expected = {
        "none": (0.0, 0),
        "fused-norm-quant-mlp": (2 * (6 + b) * d, 2),
        "fused-mlp": (2 * 8 * d + 2 * (2 + b) * d, 4),
        "pytorch": (2 * 8 * d + 6 * f, 3),
        "unfused": (2 * 8 * d + 2 * (2 + b) * d + 6 * f, 5),
    }
    times = {}
    for mode, (per_tok, kernels) in expected.items():
        pm = PerfModel(m, h, Deployment(tp=1, precision="fp4", elementwise=mode))
        t = float(pm._elementwise_times(np.array([float(T)]))[0])
        assert t == pytest.approx(L * (per_tok * T / bw + kernels * 3e-6) if kernels else 0.0, rel=1e-12)
        times[mode] = t
    assert times["none"] < times["fused-norm-quant-mlp"] < times["fused-mlp"] < times["unfused"]
    assert times["pytorch"] < times["unfused"]
    with pytest.raises(ServingInputError, match="unknown element-wise fusion"):
        PerfModel(m, h, Deployment(tp=1, precision="fp4", elementwise="magic"))


def test_prequantised_gemm_input_removed_from_table(specs):
    """aiconfigurator's FP8/FP4 GEMM tables time TRT-LLM's PyTorch ``Linear`` on a BF16 input, which
    quantises it inside; a TensorRT engine (the non-PyTorch fusion modes) hands the GEMM a quantised
    input, so the quantisation (2 + b bytes per input element at 0.8 BW, one 3 us launch) comes off —
    never below the GEMM's own roofline at full peak; BF16 GEMMs and the PyTorch mode are untouched."""
    from twin.serving.shapes import Gemm

    m, h = specs("hgx-b200", "llama-2-70b")
    down = Gemm("down", 8192, 28672, 1, 1.0, "mlp")
    ms = np.array([1.0, 64.0, 2048.0, 8192.0])
    t_pt = PerfModel(m, h, Deployment(tp=1, precision="fp4"))._gemm_times(ms, down)[0]
    for mode in ("unfused", "fused-mlp", "fused-norm-quant-mlp"):
        t = PerfModel(m, h, Deployment(tp=1, precision="fp4", elementwise=mode))._gemm_times(ms, down)[0]
        quant = ms * 28672 * (2 + 0.5625) / (h.hbm_bw_bytes_s * 0.8) + 3e-6
        bound = np.maximum(2 * ms * 8192 * 28672 / h.flops("fp4"), 8192 * 28672 * 0.5625 / h.hbm_bw_bytes_s)
        assert_allclose(t, np.maximum(t_pt - quant, bound), rtol=1e-12)
        assert (t < t_pt).all()
        assert (t >= bound).all()
    m16, h16 = specs("hgx-h100", "llama-3.1-8b")
    g = Gemm("up", 28672, 4096, 1, 1.0, "mlp")
    a = PerfModel(m16, h16, Deployment(tp=1, precision="bf16"))._gemm_times(ms, g)[0]
    b = PerfModel(m16, h16, Deployment(tp=1, precision="bf16", elementwise="unfused"))._gemm_times(ms, g)[0]
    assert_allclose(a, b, rtol=0)


def test_pytorch_flow_prequantised_gemms_and_bf16_head(specs):
    """In the PyTorch flow the attention output and SwiGLU kernels hand the o-proj and down GEMMs a
    quantised input (aiconfigurator-core ``low_precision_input``), so only those two lose the table's
    quantisation; MLA models' GEMMs keep it. The LM head runs in BF16 (checkpoints exclude it)."""
    from twin.serving.shapes import gemms_per_gpu

    m, h = specs("hgx-b200", "llama-2-70b")
    dep = Deployment(tp=1, precision="fp4")
    flags = {g.name: g.prequantised_input for g in gemms_per_gpu(m, dep)}
    assert flags == {"qkv": False, "attn_out": True, "mlp_gate_up": False, "mlp_down": True}
    ds, _ = specs("hgx-b200", "deepseek-r1")
    assert not any(g.prequantised_input for g in gemms_per_gpu(ds, Deployment(tp=8, ep=8, precision="fp4")))
    pm = PerfModel(m, h, dep)
    ms = np.array([256.0, 4096.0])
    for g in gemms_per_gpu(m, dep):
        t = pm._gemm_times(ms, g)[0]
        raw = pm.table.latency_s(ms, g.n, g.k)
        assert ((t < raw) if g.prequantised_input else (t == raw)).all()
    from twin.serving.kernels import load_gemm_table
    bf16 = load_gemm_table(h.kernel_device, "bf16")
    S = np.array([1.0, 64.0, 256.0])
    assert_allclose(pm.cost.head_m[S.astype(int)] + pm.cost.head_c[S.astype(int)],
                    bf16.latency_s(S, m.vocab_size, m.hidden_size), rtol=1e-12)


def test_wide_ep_across_nvlink_domains(specs):
    """DeepSeek-R1 attention-DP with EP = TP = 32 on 8-GPU HGX domains: the MoE all-to-all sends 24/32 of
    its traffic through the NIC (hand-computed) and the replica communicates far longer than the same
    deployment inside one GB200 NVL72 domain; TP beyond a domain stays an error otherwise."""
    from twin.serving import comm

    m, hgx = specs("hgx-b200", "deepseek-r1")
    _, nvl = specs("gb200-nvl72", "deepseek-r1")
    dep = Deployment(tp=32, ep=32, attention_dp=True, precision="fp4", max_batch=8192, max_num_tokens=65536)
    T = 32 * 128
    wide, one = PerfModel(m, hgx, dep), PerfModel(m, nvl, dep)
    assert wide.iteration(T, T).comm_s > 3 * one.iteration(T, T).comm_s
    vol = 128 * m.num_active_experts * m.hidden_size * 3.0
    link = hgx.nvlink_bw_bytes_s / 2
    intra = 7 * 1e-6 + vol * 7 / 32 / (link * 0.8)
    inter = 3 * 5e-6 + vol * 24 / 32 / (hgx.scale_out_bw_bytes_s * 0.9)
    got = comm.alltoall_time_s(vol, 32, link, domain_gpus=8, scale_out_bw_bytes_s=hgx.scale_out_bw_bytes_s)
    assert float(got) == pytest.approx(max(intra, inter), rel=1e-12)
    with pytest.raises(ServingInputError, match="larger than the NVLink domain"):
        PerfModel(m, hgx, Deployment(tp=32, ep=32, precision="fp4"))
    with pytest.raises(ServingInputError, match="multiple of the 8-GPU"):
        PerfModel(m, hgx, Deployment(tp=12, ep=12, attention_dp=True, precision="fp4"))
    dense, h = specs("hgx-h100", "llama-3.1-70b")
    with pytest.raises(ServingInputError, match="larger than the NVLink domain"):
        PerfModel(dense, h, Deployment(tp=16, attention_dp=True, precision="fp8"))
