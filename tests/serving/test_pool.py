"""The steppable serving pool: many epochs equal one call, epoch records add up and conserve requests."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from twin.serving.discrete import simulate_discrete
from twin.serving.perf_model import PerfModel
from twin.serving.pool import ServingPool
from twin.serving.specs import Deployment
from twin.serving.workload import LengthDist, Requests, Workload


@pytest.fixture(scope="module")
def adp(specs):
    m, h = specs("hgx-b200", "deepseek-r1")
    return PerfModel(m, h, Deployment(tp=4, ep=4, attention_dp=True, precision="fp4", max_batch=256,
                                      max_num_tokens=8192, adp_balance_wait_iters=3,
                                      adp_balance_timeout_iters=9))


def _reqs(rate=6.0, duration=30.0, seed=1):
    wl = Workload(rate_per_s=rate, input_len=LengthDist("lognormal", (1147, 1000)),
                  output_len=LengthDist("lognormal", (211, 200)), duration_s=duration)
    return wl.generate(np.random.default_rng(seed))


def _advance(pool, ends, clocks=None):
    return [pool.advance(t, None if clocks is None else clocks[i]) for i, t in enumerate(ends)]


def _random_ends(rng, lo, hi, horizon=400.0):
    return np.cumsum(rng.uniform(lo, hi, int(horizon / lo) + 1))


def _same_requests(a, b):
    for name in ("first_token_s", "completed_s", "arrival_s"):
        x, y = getattr(a, name), getattr(b, name)
        assert_array_equal(np.isnan(x), np.isnan(y))
        f = np.isfinite(x)
        assert_allclose(x[f], y[f], rtol=1e-9, atol=0)


def _check_conservation(recs, num_requests):
    """requests arrived = completed + rejected + in flight at every epoch, nothing left at the end."""
    arrived = completed = rejected = 0
    for r in recs:
        arrived += r.arrived.sum()
        completed += r.completed.sum()
        rejected += r.rejected.sum()
        assert arrived == completed + rejected + r.in_flight.sum()
        assert (r.queued >= 0).all()
        assert (r.running >= 0).all()
    assert arrived == num_requests
    assert recs[-1].in_flight.sum() == 0


CASES = {
    "trtllm": ({"scheduler": "trtllm", "kv_mem_fraction": 0.02}, {}),
    "vllm-preempting": ({"scheduler": "vllm", "kv_mem_fraction": 0.02}, {}),
    "trtllm-max-util": ({"scheduler": "trtllm-max-util", "kv_mem_fraction": 0.03}, {}),
    "vllm-pp2": ({"scheduler": "vllm", "kv_mem_fraction": 0.01, "pp": 2}, {}),
    "closed-loop": ({"scheduler": "vllm", "kv_mem_fraction": 0.02}, {"concurrency": 9}),
    "decode-only": ({"scheduler": "vllm", "kv_mem_fraction": 0.02}, {"decode_only": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_many_epochs_equal_one_call(llama8b, case):
    """Advanced in ~150 random epochs (0.05-0.5 s) the pool gives every request the times, and the
    run the iterations, preemptions, rejections and activity, of one call; every epoch conserves the
    requests; and its tokens and activity are those of the same epochs stepped iteration by
    iteration (a decode stretch that ran past an epoch's end would put its tokens in the next)."""
    dep_kw, pool_kw = CASES[case]
    pm = llama8b(**dep_kw)
    reqs = _reqs()
    one = ServingPool(pm, reqs, 2, **pool_kw)
    whole = one.run()
    ref = one.result()
    ends = _random_ends(np.random.default_rng(7), 0.05, 0.5)
    pool = ServingPool(pm, reqs, 2, **pool_kw)
    recs = []
    for t in ends:
        recs.append(pool.advance(t))
        if pool.finished:
            break
    assert pool.finished
    assert len(recs) > 100
    got = pool.result()
    _same_requests(got.requests, ref.requests)
    assert (got.num_iterations, got.num_preemptions, got.num_rejected) == \
        (ref.num_iterations, ref.num_preemptions, ref.num_rejected)
    assert got.num_events > ref.num_events        # stretches cut at the epoch ends
    if case == "vllm-preempting":
        assert ref.num_preemptions > 0
    busy = np.sum([r.busy_s for r in recs], axis=0)
    assert_allclose(busy, ref.busy_s.sum(axis=1), rtol=1e-9)
    assert_allclose(busy, whole.busy_s, rtol=1e-9)
    assert_allclose(np.sum([r.compute_s + r.memory_s for r in recs], axis=0),
                    (ref.compute_s + ref.memory_s).sum(axis=1), rtol=1e-9)
    for r in recs:   # a replica's GPUs are busy at most the whole epoch
        assert (r.busy_s <= r.duration_s * (1 + 1e-9) + 1e-12).all()
    _check_conservation(recs, len(reqs))
    out = np.sum([r.output_tokens for r in recs])
    done = np.isfinite(ref.requests.completed_s)
    if pool_kw.get("decode_only"):
        # the first token came with the request; a one-token request still takes one decode iteration
        assert out == np.maximum(reqs.output_tokens[done] - 1, 1).sum()
    else:
        assert out == reqs.output_tokens[done].sum()
    prefill = np.sum([r.prefill_tokens for r in recs])
    if pool_kw.get("decode_only"):
        assert prefill == 0
    elif ref.num_preemptions == 0:
        assert prefill == reqs.input_tokens[done].sum()
    else:
        assert prefill > reqs.input_tokens[done].sum()      # recomputed after preemptions
    # the same epochs stepped one iteration per event
    step = ServingPool(pm, reqs, 2, fast_forward=False, **pool_kw)
    srecs = _advance(step, ends[: len(recs)])
    for a, b in zip(recs, srecs, strict=True):
        for name in ("output_tokens", "prefill_tokens", "completed", "arrived", "rejected", "queued",
                     "running"):
            assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert_allclose(a.busy_s, b.busy_s, rtol=1e-9, atol=1e-12)
        assert_allclose(a.compute_s + a.memory_s, b.compute_s + b.memory_s, rtol=1e-9, atol=1e-12)


def test_attention_dp_balancing_in_epochs(adp):
    """TensorRT-LLM's attention-DP balancing holds contexts for a number of iterations: the same in
    many epochs as in one call."""
    reqs = Workload(rate_per_s=8.0, duration_s=15.0, input_len=LengthDist("lognormal", (800, 600)),
                    output_len=LengthDist("lognormal", (300, 300))).generate(np.random.default_rng(5))
    one = ServingPool(adp, reqs, 1)
    one.run()
    ref = one.result()
    pool = ServingPool(adp, reqs, 1)
    recs = []
    for t in _random_ends(np.random.default_rng(3), 0.02, 0.3):
        recs.append(pool.advance(t))
        if pool.finished:
            break
    got = pool.result()
    _same_requests(got.requests, ref.requests)
    assert got.num_iterations == ref.num_iterations
    _check_conservation(recs, len(reqs))
    # balancing is on: the same run without it differs
    free = PerfModel(adp.model, adp.hw, Deployment(tp=4, ep=4, attention_dp=True, precision="fp4",
                                                   max_batch=256, max_num_tokens=8192))
    other = simulate_discrete(free, reqs, 1).requests
    assert not np.allclose(other.first_token_s, ref.requests.first_token_s)


@pytest.mark.parametrize("scheduler", ["trtllm", "vllm"])
def test_epoch_clock_factors_equal_the_clock_schedule(llama8b, scheduler):
    """Epochs of 1-4 whole seconds, each with its own clock factor per replica, give the request
    times of ``simulate_discrete`` with the same factors as a clock schedule of 1-s steps, closed
    form or stepped one iteration per event; a stretch that ran past an epoch's end at the old clock
    would not."""
    pm = llama8b(scheduler=scheduler, kv_mem_fraction=0.02)
    reqs = _reqs(rate=1.5, duration=60.0)     # few arrivals: long decode stretches
    rng = np.random.default_rng(11)
    lengths = rng.integers(1, 5, 200)
    factors = rng.uniform(0.3, 1.0, (200, 2))
    pool = ServingPool(pm, reqs, 2)
    recs, t, i = [], 0, 0
    while not pool.finished:
        t += int(lengths[i])
        recs.append(pool.advance(float(t), factors[i]))
        i += 1
    schedule = np.repeat(factors[:i], lengths[:i], axis=0).T        # (replicas, 1-s steps)
    ref = simulate_discrete(pm, reqs, 2, clock=schedule, clock_step_s=1.0)
    _same_requests(pool.result().requests, ref.requests)
    # and of the same schedule stepped one iteration per event (no stretch to cut)
    stepped = simulate_discrete(pm, reqs, 2, clock=schedule, clock_step_s=1.0, fast_forward=False)
    _same_requests(stepped.requests, ref.requests)
    assert_allclose(np.sum([r.busy_s for r in recs], axis=0), ref.busy_s.sum(axis=1), rtol=1e-9)
    assert_array_equal(recs[0].clock_factor, factors[0])
    # the clock matters here: at nominal clock the times are different
    fast = simulate_discrete(pm, reqs, 2)
    assert np.nanmean(fast.requests.completed_s - fast.requests.arrival_s) < \
        0.9 * np.nanmean(ref.requests.completed_s - ref.requests.arrival_s)


def test_clock_factor_per_replica(llama8b):
    """A per-replica clock factor slows that replica alone: at 0.4 its compute-bound work takes
    2.5 times and its memory-bound work 1.25 times as long (``clock_scales``), the other replica
    does exactly what it does at nominal clock."""
    reqs = _reqs(rate=1.0, duration=20.0)
    nominal = ServingPool(llama8b(), reqs, 2).advance(15.0)
    slowed = ServingPool(llama8b(), reqs, 2).advance(15.0, np.array([1.0, 0.4]))
    assert slowed.busy_s[0] == nominal.busy_s[0]
    assert slowed.output_tokens[0] == nominal.output_tokens[0]
    assert slowed.busy_s[1] > 1.1 * nominal.busy_s[1]
    assert slowed.compute_s[1] / nominal.compute_s[1] > 2.0
    assert 1.1 < slowed.memory_s[1] / nominal.memory_s[1] < 1.3
    assert_array_equal(slowed.clock_factor, [1.0, 0.4])


def test_advance_edges(llama8b):
    reqs = Requests(np.array([0.0, 0.5]), np.array([100, 200]), np.array([2000, 3000]))
    pool = ServingPool(llama8b(), reqs, 1)
    empty = pool.advance(0.0)
    assert empty.busy_s.sum() == 0
    assert empty.arrived.sum() == 0
    first = pool.advance(0.2)
    assert first.arrived.sum() == 1
    assert first.running.sum() == 1
    assert first.busy_s[0] == pytest.approx(0.2)       # busy from 0 to the end of the epoch
    with pytest.raises(ValueError, match="cannot advance"):
        pool.advance(0.1)
    last = pool.run()
    assert pool.finished
    assert last.completed.sum() == 2
    assert last.in_flight.sum() == 0
    assert last.end_s == pytest.approx(np.nanmax(pool.result().requests.completed_s))
    assert pool.advance(last.end_s + 1.0).busy_s.sum() == 0


def test_rejected_requests_are_counted_in_their_epoch(llama8b):
    """A request that can never fit the KV pool is rejected when it arrives, in the epoch it arrives."""
    pm = llama8b(kv_mem_fraction=0.002, scheduler="vllm")
    reqs = Requests(np.array([0.0, 0.1, 0.2, 2.5]), np.array([10, 100_000, 30, 90_000]),
                    np.array([5, 5, 400, 9]))
    pool = ServingPool(pm, reqs, 1)
    recs = _advance(pool, [0.15, 1.0, 2.0, 3.0])
    recs.append(pool.run())
    assert [int(r.rejected.sum()) for r in recs] == [1, 0, 0, 1, 0]
    _check_conservation(recs, 4)
    assert pool.result().num_rejected == 2


def test_hand_case_at_a_clock_factor(llama8b):
    """One request, 100-token prompt, 3 output tokens, at clock factor 0.6: a prefill iteration then
    two decodes (contexts 101, 102), each priced by the cost law at that clock."""
    pm = llama8b()
    pool = ServingPool(pm, Requests(np.array([0.0]), np.array([100]), np.array([3])), 1)
    rec = pool.run(0.6)
    t = [pm.cost.time_s(100, 1, 0.0, 100 * 50.0, False, 0.6), pm.cost.time_s(1, 1, 101.0, 0.0, True, 0.6),
         pm.cost.time_s(1, 1, 102.0, 0.0, True, 0.6)]
    r = pool.result().requests
    assert r.first_token_s[0] == pytest.approx(t[0], rel=1e-12)
    assert r.completed_s[0] == pytest.approx(sum(t), rel=1e-12)
    assert rec.busy_s[0] == pytest.approx(sum(t), rel=1e-12)
    assert (rec.prefill_tokens[0], rec.output_tokens[0], rec.completed[0]) == (100, 3, 1)
