"""Discrete simulation: closed-form decode stretches equal stepping, conservation, KV policies."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.serving.discrete import simulate_discrete
from twin.serving.metrics import summarize
from twin.serving.perf_model import PerfModel
from twin.serving.specs import Deployment
from twin.serving.workload import LengthDist, Requests, Workload


def _reqs(rate=6.0, duration=60.0, seed=1):
    wl = Workload(rate_per_s=rate, input_len=LengthDist("lognormal", (1147, 1000)),
                  output_len=LengthDist("lognormal", (211, 200)), duration_s=duration)
    return wl.generate(np.random.default_rng(seed))


@pytest.mark.parametrize(("scheduler", "pp"), [("trtllm", 1), ("vllm", 1), ("vllm", 2)])
def test_closed_form_stretches_equal_stepping(llama8b, scheduler, pp):
    # a KV pool of ~280 blocks forces vLLM preemptions and TRT-LLM admission waits
    pm = llama8b(scheduler=scheduler, kv_mem_fraction=0.02 / pp, pp=pp)
    reqs = _reqs()
    clock = np.array([1.0, 0.7, 0.4, 1.0])
    a = simulate_discrete(pm, reqs, 2, clock=clock, clock_step_s=15.0)
    b = simulate_discrete(pm, reqs, 2, clock=clock, clock_step_s=15.0, fast_forward=False)
    assert a.num_iterations == b.num_iterations
    assert a.num_events < b.num_events / 5
    assert a.num_preemptions == b.num_preemptions
    if scheduler == "vllm":
        assert a.num_preemptions > 0
    assert_allclose(a.requests.completed_s, b.requests.completed_s, rtol=0, atol=1e-9)
    assert_allclose(a.requests.first_token_s, b.requests.first_token_s, rtol=0, atol=1e-9)
    assert_allclose(a.busy_s.sum(), b.busy_s.sum(), rtol=1e-9)
    assert_allclose(a.compute_s.sum() + a.memory_s.sum(), b.compute_s.sum() + b.memory_s.sum(), rtol=1e-9)


def test_every_request_finishes_once_and_in_order_of_its_own_events(llama8b):
    reqs = _reqs(rate=10.0)
    r = simulate_discrete(llama8b(), reqs, 3)
    t = r.requests
    assert np.isfinite(t.completed_s).all()
    assert r.num_rejected == 0
    assert (t.first_token_s > t.arrival_s).all()
    assert (t.completed_s >= t.first_token_s).all()
    # one-token requests complete with their first token
    one = t.output_tokens == 1
    assert_allclose(t.completed_s[one], t.first_token_s[one])
    # GPU activity: busy time equals the sum of iteration times and never exceeds wall time
    assert (r.busy_s <= r.activity_step_s + 1e-9).all()
    assert (r.compute_s + r.memory_s <= r.busy_s + 1e-9).all()


def test_hand_case_single_request(llama8b):
    pm = llama8b()
    reqs = Requests(np.array([0.0]), np.array([100]), np.array([3]))
    r = simulate_discrete(pm, reqs, 1)
    t_pre = pm.iteration(100, 1, 0.0, 100 * 50.0, 0).total_s
    t1 = pm.iteration(1, 1, 101, 0, 1).total_s
    t2 = pm.iteration(1, 1, 102, 0, 1).total_s
    assert_allclose(r.requests.first_token_s[0], t_pre, rtol=1e-12)
    assert_allclose(r.requests.completed_s[0], t_pre + t1 + t2, rtol=1e-12)
    assert r.num_iterations == 3


def test_clock_factor_slows_the_replica(llama8b):
    reqs = _reqs(rate=4.0, duration=30.0)
    fast = simulate_discrete(llama8b(), reqs, 1)
    slow = simulate_discrete(llama8b(), reqs, 1, clock=np.array([0.3]))
    assert np.nanmean(slow.requests.completed_s - slow.requests.arrival_s) > \
        1.2 * np.nanmean(fast.requests.completed_s - fast.requests.arrival_s)


def test_request_that_can_never_fit_is_rejected(llama8b):
    pm = llama8b(kv_mem_fraction=0.002)
    reqs = Requests(np.array([0.0, 0.1]), np.array([10, 100_000]), np.array([5, 5]))
    r = simulate_discrete(pm, reqs, 1)
    assert r.num_rejected == 1
    assert np.isfinite(r.requests.completed_s[0])


def test_offline_fills_the_batch(llama8b):
    pm = llama8b(max_batch=32, max_num_tokens=4096)
    reqs = Workload(offline=True, num_requests=256, input_len=LengthDist("fixed", (256,)),
                    output_len=LengthDist("fixed", (64,))).generate(np.random.default_rng(0))
    r = simulate_discrete(pm, reqs, 1)
    s = summarize(r.requests, 1)
    assert s["num_completed"] == 256
    # at most 32 in flight: 256 requests take at least 8 waves of 64 decode iterations
    assert r.num_iterations >= 8 * 63


def test_disaggregated_pools(llama8b):
    from twin.serving.discrete import simulate_disaggregated

    pm = llama8b(max_num_tokens=4096)
    reqs = Workload(rate_per_s=4.0, duration_s=30.0, input_len=LengthDist("fixed", (2000,)),
                    output_len=LengthDist("fixed", (100,))).generate(np.random.default_rng(2))
    agg = simulate_discrete(pm, reqs, 2)
    dis, dec = simulate_disaggregated(pm, pm, reqs, 1, 1)
    t = dis.requests
    assert np.isfinite(t.completed_s).all()
    # KV transfer (2000 tokens x 128 KiB over 50 GB/s) separates first token and decode start
    assert (t.completed_s - t.first_token_s > 99 * 0.004).all()
    # decode without prefill interference: TPOT below the aggregated one
    tpot = lambda r: np.mean((r.completed_s - r.first_token_s) / (r.output_tokens - 1))  # noqa: E731
    assert tpot(t) < tpot(agg.requests)
    assert dis.busy_s.shape[0] == 2
    assert dec.num_iterations > 0


def test_closed_loop_keeps_concurrency(llama8b):
    reqs = Workload(offline=True, num_requests=60, input_len=LengthDist("fixed", (500,)),
                    output_len=LengthDist("fixed", (50,))).generate(np.random.default_rng(0))
    r = simulate_discrete(llama8b(), reqs, 1, concurrency=5).requests
    # at any time at most 5 requests are in flight, and each later request starts at a completion
    starts, ends = r.arrival_s, r.completed_s
    for t in np.linspace(0, ends.max(), 50):
        assert ((starts <= t) & (ends > t)).sum() <= 5
    assert np.isin(np.round(starts[5:], 12), np.round(ends, 12)).all()


@pytest.fixture(scope="module")
def adp(specs):
    """An attention-DP MoE replica (4 ranks) with and without TensorRT-LLM's balancing."""
    m, h = specs("hgx-b200", "deepseek-r1")

    def make(**kw):
        return PerfModel(m, h, Deployment(**({"tp": 4, "ep": 4, "attention_dp": True, "precision": "fp4",
                                              "max_batch": 256, "max_num_tokens": 8192} | kw)))
    return make


def test_attention_dp_balancing_holds_a_lone_context(adp):
    """Eight long requests decode on four ranks; one more arrives: with balancing (wait 3, timeout 9)
    its prefill waits ~9 iterations (only one rank has a context), without it it starts at once."""
    arr = np.r_[np.zeros(8), 1.0]
    reqs = Requests(arr, np.full(9, 200), np.r_[np.full(8, 2000), 50])
    plain = simulate_discrete(adp(), reqs, 1).requests
    held = simulate_discrete(adp(adp_balance_wait_iters=3, adp_balance_timeout_iters=9), reqs, 1).requests
    pm = adp()
    t_dec = pm.iteration(8, 8, 8 * 400.0, 0.0, 8).total_s
    extra = (held.first_token_s[8] - plain.first_token_s[8]) / t_dec
    assert 8.0 <= extra <= 10.0
    # the eight earlier requests are not held (no rank was decoding when they arrived)
    assert_allclose(held.first_token_s[:8], plain.first_token_s[:8])
    # stepping every iteration gives the same times as the closed-form stretches
    step = simulate_discrete(adp(adp_balance_wait_iters=3, adp_balance_timeout_iters=9), reqs, 1,
                             fast_forward=False).requests
    assert_allclose(step.first_token_s, held.first_token_s, rtol=0, atol=1e-9)
    assert_allclose(step.completed_s, held.completed_s, rtol=0, atol=1e-9)


def test_attention_dp_balancing_releases_when_every_rank_has_a_context(adp):
    """Four contexts waiting on four ranks: released after `wait` iterations, before the timeout."""
    arr = np.r_[np.zeros(4), np.full(4, 1.0)]
    reqs = Requests(arr, np.full(8, 200), np.r_[np.full(4, 2000), np.full(4, 50)])
    pm_w = adp(adp_balance_wait_iters=2, adp_balance_timeout_iters=50)
    held = simulate_discrete(pm_w, reqs, 1).requests
    plain = simulate_discrete(adp(), reqs, 1).requests
    t_dec = adp().iteration(4, 4, 4 * 400.0, 0.0, 4).total_s
    extra = (held.first_token_s[4:] - plain.first_token_s[4:]) / t_dec
    assert (extra > 1.0).all()
    assert (extra < 4.0).all()


def test_without_chunked_prefill_a_prompt_waits_for_a_whole_budget(llama8b):
    """Budget 512 tokens: with chunking the first iteration carries the 300-token prompt and 212 tokens
    of the 400-token one; without it the 400-token prompt waits and runs whole in the second."""
    reqs = Requests(np.zeros(2), np.array([300, 400]), np.array([5, 5]))
    pm, pw = llama8b(), llama8b(chunked_prefill=False)
    ch = simulate_discrete(pm, reqs, 1).requests
    whole = simulate_discrete(pw, reqs, 1).requests
    t1_whole = pw.iteration(300, 1, 0.0, 300 * 150.0, 0).total_s
    t1_chunk = pm.iteration(512, 2, 0.0, 300 * 150.0 + 212 * 106.0, 0).total_s
    assert_allclose(whole.first_token_s[0], t1_whole, rtol=1e-12)
    assert_allclose(ch.first_token_s[0], t1_chunk, rtol=1e-12)
    t2_whole = pw.iteration(401, 2, 301.0, 400 * 200.0, 1).total_s
    assert_allclose(whole.first_token_s[1], t1_whole + t2_whole, rtol=1e-12)


def test_balancing_needs_attention_dp(llama8b):
    from twin.serving.specs import ServingInputError
    with pytest.raises(ServingInputError, match="attention-DP balancing needs"):
        llama8b(adp_balance_timeout_iters=9)


def test_pipeline_parallel_replicas_are_pipelined(specs):
    """PP2 runs two virtual engines (micro-batches) per replica: per GPU it serves about what PP1 does
    (each engine's iteration passes both stages, the stages overlap the engines), not half of it; the
    replica's GPUs are busy at most all the time, and the fluid mode agrees."""
    from twin.serving.fluid import fluid_point

    m, h = specs("hgx-h100", "llama-3.1-8b")
    wl = Workload(offline=True, num_requests=4000, input_len=LengthDist("fixed", (512,)),
                  output_len=LengthDist("fixed", (128,)))
    reqs = wl.generate(np.random.default_rng(3))
    per_gpu = {}
    for pp in (1, 2):
        pm = PerfModel(m, h, Deployment(tp=1, pp=pp, precision="fp8", max_batch=128, max_num_tokens=2048))
        r = simulate_discrete(pm, reqs, 2)
        s = summarize(r.requests, 2 * pp)
        per_gpu[pp] = s["output_tokens_per_s_per_gpu"]
        assert (r.busy_s <= r.activity_step_s + 1e-9).all()
        assert r.busy_s[:, 1:-2].mean() > 0.95 * r.activity_step_s       # a full pipeline
        fl = fluid_point(pm, wl, 2).to_dict(2 * pp)
        assert fl["output_tokens_per_s"] == pytest.approx(s["output_tokens_per_s"], rel=0.15)
    assert per_gpu[2] == pytest.approx(per_gpu[1], rel=0.15)
