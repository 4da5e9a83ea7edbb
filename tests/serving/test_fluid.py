"""Fluid mode against the discrete simulation on shared cases (stated tolerances)."""

import time

import numpy as np
import pytest

from twin.serving.discrete import simulate_discrete
from twin.serving.fluid import FluidModel, fluid_point
from twin.serving.metrics import summarize
from twin.serving.perf_model import PerfModel
from twin.serving.specs import Deployment
from twin.serving.workload import LengthDist, Workload

#: stated tolerances (docs/serving.md): throughput and mean TPOT 10 %, mean TTFT 25 % up to 60 % load
TOL_THROUGHPUT, TOL_TPOT, TOL_TTFT = 0.10, 0.10, 0.25


@pytest.fixture(scope="module")
def pm(specs):
    m, h = specs("hgx-h100", "llama-3.1-8b")
    return PerfModel(m, h, Deployment(tp=1, precision="fp8", max_batch=128, max_num_tokens=2048))


def _wl(rate=None, n=None):
    kw = {"input_len": LengthDist("fixed", (1024,)), "output_len": LengthDist("fixed", (256,))}
    if rate is None:
        return Workload(offline=True, num_requests=n, **kw)
    return Workload(rate_per_s=rate, duration_s=300.0, **kw)


@pytest.mark.parametrize("rate", [2.0, 10.0, 20.0])
def test_fluid_matches_discrete_below_saturation(pm, rate):
    wl = _wl(rate)
    d = summarize(simulate_discrete(pm, wl.generate(np.random.default_rng(0)), 1).requests, 1)
    f = fluid_point(pm, wl, 1).to_dict(1)
    # the discrete run's throughput carries Poisson noise in the request count: compare per request
    assert abs(f["tpot_s"]["mean"] / d["tpot_s"]["mean"] - 1) < TOL_TPOT
    assert abs(f["ttft_s"]["mean"] / d["ttft_s"]["mean"] - 1) < TOL_TTFT
    assert abs(f["requests_per_s"] / d["requests_per_s"] - 1) < TOL_THROUGHPUT


@pytest.mark.parametrize("rate", [0.1, 0.4])
def test_fluid_low_load_iterations_carry_a_whole_sequence(pm, rate):
    """Below one running sequence on average (B < 1) a busy iteration still carries one sequence and
    reads the weights in full, and the replica idles the rest of the time: the fluid TPOT is that
    iteration's (not an interpolated fraction of it) and its busy, compute- and memory-bound shares
    are the discrete simulation's (an idle GPU does no work). Round-robin over 16 replicas makes each
    replica's arrivals nearly regular, the case where the busy share is min(B, 1)."""
    n = 16
    wl = Workload(rate_per_s=rate * n, duration_s=1500.0, input_len=LengthDist("fixed", (1024,)),
                  output_len=LengthDist("fixed", (256,)))
    out = simulate_discrete(pm, wl.generate(np.random.default_rng(0)), n)
    d = summarize(out.requests, n)
    res = fluid_point(pm, wl, n)
    f, c = res.to_dict(n), res.curve
    assert c.batch[0] < 1.0
    one = FluidModel(pm).parts(np.array([1.0]), np.array([0.0]), 1024.0, 256.0)[0][0]
    assert c.decode_iteration_s[0] == pytest.approx(one, rel=1e-12)
    assert abs(f["tpot_s"]["mean"] / d["tpot_s"]["mean"] - 1) < TOL_TPOT
    assert abs(f["ttft_s"]["mean"] / d["ttft_s"]["mean"] - 1) < TOL_TTFT
    # Little's law on the time average, and the busy share it implies
    assert c.busy_fraction[0] == pytest.approx(rate * 256 * c.tpot_s[0], rel=1e-9)
    span = n * wl.duration_s
    for fluid, disc in ((c.busy_fraction, out.busy_s), (c.compute_fraction, out.compute_s),
                        (c.memory_fraction, out.memory_s)):
        assert fluid[0] == pytest.approx(disc.sum() / span, rel=0.10)
    assert c.compute_fraction[0] + c.memory_fraction[0] <= c.busy_fraction[0] + 1e-12


def test_fluid_saturated_throughput_matches_offline(pm):
    wl = _wl(n=2000)
    d = summarize(simulate_discrete(pm, wl.generate(np.random.default_rng(0)), 1).requests, 1)
    f = fluid_point(pm, wl, 1).to_dict(1)
    assert abs(f["output_tokens_per_s"] / d["output_tokens_per_s"] - 1) < TOL_THROUGHPUT
    assert abs(f["tpot_s"]["mean"] / d["tpot_s"]["mean"] - 1) < TOL_TPOT


def test_fluid_is_monotone_in_load_and_vectorised(pm):
    fm = FluidModel(pm)
    rates = np.linspace(0.5, 60, 200)
    c = fm.curve(rates, 1024, 256)
    assert (np.diff(c.completed_per_s) >= -1e-9).all()
    assert (np.diff(c.tpot_s) >= -1e-12).all()
    assert c.saturated[-1]
    assert not c.saturated[0]
    t = time.perf_counter()
    fm.curve(np.random.default_rng(0).uniform(1, 30, 10_000), 1147, 211)
    assert time.perf_counter() - t < 0.5   # benchmark goal is 50 ms; loose here for slow CI


#: stated tolerance (docs/serving.md) of the fluid P50/P90/P99 of TTFT, TPOT and end-to-end latency
TOL_PERCENTILE = 0.30


@pytest.mark.parametrize("lengths", [("fixed", (1024,), "fixed", (256,)),
                                     ("lognormal", (1147, 1000), "lognormal", (211, 200))])
@pytest.mark.parametrize("rate", [2.0, 10.0, 20.0])
def test_fluid_percentiles_match_discrete(pm, lengths, rate):
    """The fluid percentiles (sampled waits, chunks, lengths and mixed iterations) against the
    discrete simulation's, on fixed and on skewed lengths, up to 65 % of the saturation rate."""
    wl = Workload(rate_per_s=rate, duration_s=300.0, input_len=LengthDist(lengths[0], lengths[1]),
                  output_len=LengthDist(lengths[2], lengths[3]))
    sat = FluidModel(pm).curve(np.array([1e9]), wl.input_len.mean, wl.output_len.mean).completed_per_s[0]
    assert rate <= 0.65 * sat
    d = summarize(simulate_discrete(pm, wl.generate(np.random.default_rng(0)), 1).requests, 1)
    f = fluid_point(pm, wl, 1).to_dict(1)
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        for p in ("p50", "p90", "p99"):
            assert f[key][p] == pytest.approx(d[key][p], rel=TOL_PERCENTILE), (key, p)
        assert f[key]["p50"] <= f[key]["p90"] <= f[key]["p99"]


def test_fluid_percentiles_offline_and_deterministic(pm):
    wl = _wl(n=2000)
    a, b = fluid_point(pm, wl, 1).to_dict(1), fluid_point(pm, wl, 1).to_dict(1)
    assert a["ttft_s"] == b["ttft_s"]
    d = summarize(simulate_discrete(pm, wl.generate(np.random.default_rng(0)), 1).requests, 1)
    for p in ("p50", "p90", "p99"):
        assert a["ttft_s"][p] == pytest.approx(d["ttft_s"][p], rel=TOL_PERCENTILE)


def test_fluid_and_discrete_share_the_cost_law_and_clock_convention(pm):
    """The fluid iteration at whole token counts is the discrete one (IterationCost), at the same
    clock scales; a clock factor per replica is the same as each replica alone."""
    from twin.serving.perf_model import clock_scales

    fm = FluidModel(pm)
    n_in, n_out, B = 1000.0, 200.0, 24.0
    for f in (1.0, 0.7, 0.3):
        sc, sm = clock_scales(f)
        t, comp, mem = fm.parts(np.array([B]), np.array([0.0]), n_in, n_out, sc, sm)
        ctx = B * (n_in + n_out / 2.0)
        it = pm.iteration(24, 24, ctx, 0.0, 24, clock_factor=f)
        assert t[0] == pytest.approx(pm.cost.time_s(24, 24, ctx, 0.0, True, clock_factor=f), rel=1e-12)
        assert t[0] == pytest.approx(it.total_s, rel=1e-12)
        assert comp[0] == pytest.approx(it.compute_s, rel=1e-12)
        assert mem[0] == pytest.approx(it.memory_s, rel=1e-12)
    rates, clocks = np.array([3.0, 8.0, 8.0]), np.array([1.0, 0.5, 0.8])
    both = fm.curve(rates, 1024, 256, clock_factor=clocks)
    for i in range(3):
        alone = fm.curve(rates[i:i + 1], 1024, 256, clock_factor=clocks[i])
        assert both.tpot_s[i] == alone.tpot_s[0]
        assert (both.compute_scale[i], both.memory_scale[i]) == clock_scales(clocks[i])
    assert both.tpot_s[1] > both.tpot_s[2]
