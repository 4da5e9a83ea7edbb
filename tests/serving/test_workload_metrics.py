"""Workload generators, trace reading and metric definitions."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.serving.metrics import RequestTimes, summarize
from twin.serving.specs import ServingInputError
from twin.serving.workload import LengthDist, Workload, parse_length, read_trace


def test_poisson_rate_and_seed():
    wl = Workload(rate_per_s=20.0, duration_s=500.0)
    a = wl.generate(np.random.default_rng(7))
    b = wl.generate(np.random.default_rng(7))
    assert_allclose(a.arrival_s, b.arrival_s)
    assert abs(len(a) / 10_000 - 1) < 0.05
    gaps = np.diff(a.arrival_s)
    assert abs(gaps.std() / gaps.mean() - 1) < 0.05     # exponential gaps: CV = 1


@pytest.mark.parametrize("profile", ["diurnal:100,0.8", "bursty:50,0.2,4"])
def test_rate_profiles_keep_the_mean(profile):
    wl = Workload(rate_per_s=20.0, duration_s=1000.0, rate_profile=profile)
    r = wl.generate(np.random.default_rng(0))
    assert abs(len(r) / 20_000 - 1) < 0.05
    counts = np.histogram(r.arrival_s, bins=100, range=(0, 1000))[0]
    assert counts.std() / counts.mean() > 0.3            # visibly modulated


def test_length_distributions():
    rng = np.random.default_rng(0)
    x = parse_length("lognormal:1147,1000").sample(50_000, rng)
    assert abs(x.mean() / 1147 - 1) < 0.03
    assert x.min() >= 1
    assert (parse_length("uniform:5,9").sample(1000, rng) <= 9).all()
    assert parse_length("64") == LengthDist("fixed", (64,))


@pytest.mark.parametrize("text", ["0", "abc", "normal:1", "gamma:1,2", "uniform:9,5", "1.5"])
def test_bad_lengths(text):
    with pytest.raises(ServingInputError):
        parse_length(text)


@pytest.mark.parametrize("kw", [{"rate_per_s": 0.0}, {"rate_per_s": -1.0}, {"rate_per_s": None},
                                {"offline": True}, {"rate_per_s": 1.0, "rate_profile": "weird"}])
def test_bad_workloads(kw):
    with pytest.raises(ServingInputError):
        Workload(**kw).check()


def test_trace_reading_and_bad_rows(tmp_path):
    good = tmp_path / "t.csv"
    good.write_text("arrival_s,input_tokens,output_tokens\n0.5,100,10\n0.1,200,20\n")
    r = read_trace(good)
    assert_allclose(r.arrival_s, [0.1, 0.5]) and list(r.input_tokens) == [200, 100]
    bad = tmp_path / "b.csv"
    bad.write_text("arrival_s,input_tokens,output_tokens\n0.5,100,10\nx,1,1\n1.0,0,5\n")
    with pytest.raises(ServingInputError) as e:
        read_trace(bad)
    assert f"{bad}:3:" in str(e.value)
    assert f"{bad}:4: input_tokens" in str(e.value)
    hdr = tmp_path / "h.csv"
    hdr.write_text("t,in,out\n1,2,3\n")
    with pytest.raises(ServingInputError, match=":1: header"):
        read_trace(hdr)


def test_metrics_by_hand():
    # two requests: a=0, first token 0.2, done 1.2 with 11 tokens -> TPOT 0.1; a=1, f=1.5, d=1.5 (1 token)
    t = RequestTimes(np.array([0.0, 1.0]), np.array([0.2, 1.5]), np.array([1.2, 1.5]),
                     np.array([10, 20]), np.array([11, 1]))
    s = summarize(t, num_gpus=2, slo_ttft_s=0.3, slo_tpot_s=0.2)
    assert_allclose(s["ttft_s"]["mean"], 0.35)
    assert_allclose(s["tpot_s"]["mean"], 0.1)        # one-token requests have no TPOT
    assert_allclose(s["e2e_s"]["p50"], 0.85)
    assert_allclose(s["output_tokens_per_s"], 12 / 1.5)
    assert_allclose(s["output_tokens_per_s_per_gpu"], 6 / 1.5)
    assert_allclose(s["goodput_requests_per_s"], 1 / 1.5)
