"""Speculative decoding: acceptance, the cost of draft and verification, the limits the issue sets.

- acceptance 0 equals no speculative decoding except for the draft and verification cost;
- perfect acceptance stays under the roofline of the verification step;
- discrete and fluid agree; memory counts the draft; the CLI takes ``--speculative``.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.records import Deployment, Speculation
from twin.serving.discrete import simulate_discrete
from twin.serving.fluid import fluid_point
from twin.serving.metrics import summarize
from twin.serving.perf_model import PerfModel
from twin.serving.specs import ServingInputError
from twin.serving.speculative import (
    acceptance_for_length,
    draft_spec,
    draft_weight_bytes_per_gpu,
    parse_speculative,
)
from twin.serving.workload import LengthDist, Workload


def test_tokens_per_step_is_leviathans_equation_one():
    # (1 - a^(d+1)) / (1 - a), Leviathan et al. 2023 eq. (1)
    for a, d in ((0.7, 3), (0.5, 1), (0.9, 5)):
        sp = Speculation("mtp", d, (a,))
        assert sp.tokens_per_step == pytest.approx((1 - a ** (d + 1)) / (1 - a))
        assert sum(sp.accepted_pmf()) == pytest.approx(1.0)
    assert Speculation("mtp", 3, (0.0,)).tokens_per_step == 1.0
    assert Speculation("mtp", 3, (1.0,)).tokens_per_step == 4.0
    # per position: 1 + a1 + a1 a2 + a1 a2 a3
    assert Speculation("eagle", 3, (0.9, 0.5, 0.2)).tokens_per_step == pytest.approx(1 + 0.9 + 0.45 + 0.09)


def test_acceptance_for_a_measured_length_round_trips():
    for d, tau in ((1, 1.92), (3, 2.82), (5, 3.01)):
        a = acceptance_for_length(d, tau)
        assert Speculation("mtp", d, (a,)).tokens_per_step == pytest.approx(tau, abs=1e-9)
    with pytest.raises(ServingInputError, match="impossible"):
        acceptance_for_length(2, 3.5)


@pytest.mark.parametrize(("text", "why"), [
    ("medusa:3,0.7", "unknown method"), ("mtp:3", "separated by a comma"), ("mtp:x,0.7", "whole number"),
    ("mtp:3,1.5", "in \\[0, 1\\]"), ("mtp:3,0.9/0.5", "2 acceptance rates for 3"),
    ("mtp:0,0.5", "at least 1"),
    ("draft:3,0.7", "draft:MODEL:D,A"), ("mtp:3,tau=5", "impossible"), ("mtp:3,0.7,fp2", "draft precision"),
])
def test_bad_speculation_says_what_was_expected(text, why):
    with pytest.raises(ServingInputError, match=why) as exc:
        parse_speculative(text, lambda name: None)
    assert exc.value.field == "speculative"
    assert "expected METHOD:D,A" in str(exc.value)


def _run(pm, n=48, isl=512, osl=256, conc=None):
    reqs = Workload(offline=True, num_requests=n, input_len=LengthDist("fixed", (isl,)),
                    output_len=LengthDist("fixed", (osl,))).generate(np.random.default_rng(0))
    return simulate_discrete(pm, reqs, 1, concurrency=conc).requests


def test_acceptance_zero_is_plain_decoding_plus_the_draft_and_verification_cost(specs):
    m, h = specs("hgx-h100", "llama-3.1-8b")
    base = Deployment(tp=1, precision="bf16", max_batch=64, max_num_tokens=4096)
    pb = PerfModel(m, h, base)
    ps = PerfModel(m, h, Deployment(**{**base.__dict__, "speculative": Speculation("eagle", 3, (0.0,))}))
    osl, isl = 200, 300
    rb, rs = _run(pb, n=4, isl=isl, osl=osl, conc=1), _run(ps, n=4, isl=isl, osl=osl, conc=1)
    # the same tokens, one per iteration
    assert (rb.output_tokens == rs.output_tokens).all()
    tpot_b = (rb.completed_s - rb.first_token_s) / (osl - 1)
    tpot_s = (rs.completed_s - rs.first_token_s) / (osl - 1)
    # decode attention is linear in the context: price both at the mean context of the decode steps
    ctx = isl + 1 + (osl - 2) / 2
    cb, cs = pb.cost, ps.cost
    surplus = (cs.time_s(4, 4, ctx, decoding=True, num_decode=1) - cb.time_s(1, 1, ctx, decoding=True))
    assert surplus > 0
    assert tpot_s == pytest.approx(tpot_b + surplus, rel=1e-9)


def test_perfect_acceptance_stays_under_the_verification_roofline(specs):
    m, h = specs("hgx-b200", "llama-3.1-70b")
    dep = Deployment(tp=1, precision="fp4", max_batch=64, max_num_tokens=8192,
                     speculative=Speculation("eagle", 3, (1.0,)))
    pm = PerfModel(m, h, dep)
    plain = PerfModel(m, h, Deployment(tp=1, precision="fp4", max_batch=64, max_num_tokens=8192))
    isl, osl = 256, 1024
    s = summarize(_run(pm, n=64, isl=isl, osl=osl), 1)
    s0 = summarize(_run(plain, n=64, isl=isl, osl=osl), 1)
    b, nq = 64, 4
    # every step verifies b x 4 tokens at the shortest context: the roofline of that step bounds the rate
    bound = b * nq / pm.roofline_bound_s(b * nq, b * nq, b * isl, 0.0)
    assert s["output_tokens_per_s"] < bound
    # and four tokens per step cannot buy four times the throughput (the verification costs more)
    assert s0["output_tokens_per_s"] < s["output_tokens_per_s"] < 4 * s0["output_tokens_per_s"]


def test_speculation_with_preemption_conserves_tokens(specs):
    # blocks on demand with a small pool: preemptions happen; every request still gets its tokens
    m, h = specs("hgx-h100", "llama-3.1-8b")
    dep = Deployment(tp=1, precision="bf16", max_batch=128, max_num_tokens=4096, scheduler="vllm",
                     kv_mem_fraction=0.03, speculative=Speculation("eagle", 2, (0.8, 0.6)))
    pm = PerfModel(m, h, dep)
    from twin.serving.pool import ServingPool

    reqs = Workload(offline=True, num_requests=200, input_len=LengthDist("fixed", (1000,)),
                    output_len=LengthDist("uniform", (50, 800))).generate(np.random.default_rng(1))
    pool = ServingPool(pm, reqs, 1)
    ea = pool.run()
    assert sum(st.preemptions for st in pool._states) > 0
    assert pool.finished
    assert ea.output_tokens.sum() == pytest.approx(float(reqs.output_tokens.sum()), rel=1e-9)


def test_fluid_follows_the_discrete_simulation_with_speculation(specs):
    m, h = specs("hgx-b200", "llama-3.1-70b")
    pm = PerfModel(m, h, Deployment(tp=1, precision="fp4", max_batch=256, max_num_tokens=8192,
                                    speculative=Speculation("eagle", 3, (0.7,))))
    for rate in (2.0, 5.0):
        wl = Workload(rate_per_s=rate, duration_s=300, input_len=LengthDist("fixed", (1000,)),
                      output_len=LengthDist("fixed", (1000,)))
        fl = fluid_point(pm, wl, 1).to_dict(1)
        ds = summarize(simulate_discrete(pm, wl.generate(np.random.default_rng(0)), 1).requests, 1)
        assert fl["tpot_s"]["mean"] == pytest.approx(ds["tpot_s"]["mean"], rel=0.10)
        assert fl["output_tokens_per_s"] == pytest.approx(ds["output_tokens_per_s"], rel=0.10)


def test_the_draft_takes_memory(specs):
    m, h = specs("hgx-b200", "deepseek-r1")
    base = dict(tp=8, ep=8, precision="fp4", max_batch=64, max_num_tokens=8192)
    plain = PerfModel(m, h, Deployment(**base)).memory
    sp = Speculation("mtp", 3, (0.7,), draft_precision="bf16")
    spec = PerfModel(m, h, Deployment(**base, speculative=sp))
    mem = spec.memory
    assert mem.weights_bytes_per_gpu > plain.weights_bytes_per_gpu
    assert mem.kv_capacity_tokens < plain.kv_capacity_tokens
    # DeepSeek-V3's MTP module: "11.5B unique parameters, excluding the shared 0.9B Embedding and 0.9B output
    # Head" (deepseek-ai/DeepSeek-V3 README_WEIGHTS.md); ours: one MoE layer and the 2d -> d projection
    params = draft_weight_bytes_per_gpu(m, spec.dep) * 8 / 2.0
    assert params == pytest.approx(11.5e9, rel=0.05)
    assert draft_spec(m, spec.dep.speculative).num_layers == 1


def test_cli_speculative_flag_end_to_end():
    args = ["serve-sim", "--system", "hgx-h100", "--gpus", "1", "--model", "llama-3.1-8b", "--precision",
            "bf16", "--concurrency", "1", "--num-requests", "3", "--input-tokens", "200",
            "--output-tokens", "200"]
    plain = CliRunner().invoke(main, [*args, "--json", "-"])
    spec = CliRunner().invoke(main, [*args, "--speculative", "eagle:3,tau=2.5", "--json", "-"])
    assert plain.exit_code == 0, plain.output
    assert spec.exit_code == 0, spec.output
    p, s = json.loads(plain.output), json.loads(spec.output)
    assert s["speculative"]["tokens_per_step"] == pytest.approx(2.5)
    assert s["tpot_s"]["mean"] < p["tpot_s"]["mean"]
    table = CliRunner().invoke(main, [*args, "--speculative", "draft:llama-3.1-8b:2,0.6"])
    assert "speculative decoding: draft (llama-3.1-8b), 2 draft tokens" in table.output
    bad = CliRunner().invoke(main, [*args, "--speculative", "mtp:3,2"])
    assert bad.exit_code == 2
    assert "acceptance rates must be in [0, 1]" in bad.output
    assert "Traceback" not in bad.output


def test_no_acceptance_with_blocks_on_demand_never_overdraws_the_pool(specs, monkeypatch):
    # acceptance 0 (tau = 1) still takes the draft tokens' KV slots: preemption must make room for them
    from twin.serving.kv_cache import BlockAllocator
    from twin.serving.pool import ServingPool

    grow = BlockAllocator.grow

    def checked(self, seqs, ctx_base, offset):
        grow(self, seqs, ctx_base, offset)
        assert self.num_free >= 0 or len(seqs) <= 1, (self.num_free, len(seqs))

    monkeypatch.setattr(BlockAllocator, "grow", checked)
    m, h = specs("hgx-h100", "llama-3.1-8b")
    for sp in (Speculation("eagle", 3, (0.0,)), Speculation("eagle", 3, (0.8,))):
        pm = PerfModel(m, h, Deployment(tp=1, precision="bf16", max_batch=64, max_num_tokens=4096,
                                        scheduler="vllm", kv_mem_fraction=0.0105, speculative=sp))
        reqs = Workload(offline=True, num_requests=64, input_len=LengthDist("fixed", (512,)),
                        output_len=LengthDist("fixed", (256,))).generate(np.random.default_rng(0))
        pool = ServingPool(pm, reqs, 1)
        ea = pool.run()
        assert sum(st.preemptions for st in pool._states) > 0
        assert ea.output_tokens.sum() == pytest.approx(64 * 256)


def test_a_decode_pool_verifies_the_draft_tokens_of_arriving_requests(specs):
    from twin.serving.pool import ServingPool

    m, h = specs("hgx-h100", "llama-3.1-8b")
    pm = PerfModel(m, h, Deployment(tp=1, precision="bf16", max_batch=64, max_num_tokens=4096,
                                    speculative=Speculation("eagle", 3, (0.7,))))
    reqs = Workload(offline=True, num_requests=90, input_len=LengthDist("fixed", (512,)),
                    output_len=LengthDist("fixed", (64,))).generate(np.random.default_rng(0))
    ea = ServingPool(pm, reqs, 1, decode_only=True).run()
    assert ea.prefill_tokens.sum() == 0
    assert ea.output_tokens.sum() == pytest.approx(90 * 63)     # the first token came from prefill


def test_drafts_on_an_mla_expert_parallel_target(specs):
    # EAGLE and a dense draft model on DeepSeek-R1 with EP8: the dense draft runs without expert
    # parallelism, and its KV is split over TP by its own (GQA) heads, not replicated like MLA
    from twin.serving.kv_cache import kv_bytes_per_token_per_gpu

    m, h = specs("hgx-b200", "deepseek-r1")
    base = dict(tp=8, ep=8, precision="fp4", max_batch=64, max_num_tokens=8192)
    plain = PerfModel(m, h, Deployment(**base)).memory
    eagle = PerfModel(m, h, Deployment(**base, speculative=Speculation("eagle", 3, (0.7,))))
    draft_m = specs("hgx-b200", "llama-3.1-8b")[0]
    dm = PerfModel(m, h, Deployment(**base, speculative=Speculation("draft", 3, (0.7,), draft_m)))
    added = dm.memory.kv_bytes_per_token_per_gpu - plain.kv_bytes_per_token_per_gpu
    assert added == pytest.approx(kv_bytes_per_token_per_gpu(draft_m, Deployment(tp=8, precision="fp4")))
    assert eagle.draft.dep.ep == 1
    assert dm.cost.tokens_per_step > 2.0
