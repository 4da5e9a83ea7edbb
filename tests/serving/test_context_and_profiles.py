"""Requests longer than the model's context, bad rate-profile parameters: clear errors before simulating."""

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.layout import load_catalog
from twin.serving.discrete import simulate_disaggregated, simulate_discrete
from twin.serving.fluid import fluid_point
from twin.serving.perf_model import PerfModel
from twin.serving.specs import Deployment, ServingInputError
from twin.serving.workload import RATE_PROFILES, LengthDist, Requests, Workload, parse_length, read_trace

#: config.json max_position_embeddings of every catalog model (huggingface.co)
CONTEXT = {"llama-2-70b": 4096, "llama-3.1-8b": 131072, "llama-3.1-70b": 131072, "llama-3.1-405b": 131072,
           "mixtral-8x7b": 32768, "deepseek-r1": 163840, "gpt-oss-120b": 131072}


def _with_context(spec):
    """The spec, checked to carry the catalog's context (the catalog adapter sets it)."""
    entry = load_catalog().lookup("llm", spec.name)
    assert spec.max_context == int(entry.max_context.si) > 0
    return spec


@pytest.fixture
def llama2(specs):
    return _with_context(specs("hgx-h100", "llama-2-70b")[0])


@pytest.fixture
def small(specs):
    """Llama-3.1-8B on one H100 with its own context cut to 4,096 tokens (a cheap replica to simulate)."""
    m, h = specs("hgx-h100", "llama-3.1-8b")
    return PerfModel(dataclasses.replace(m, max_context=4096), h,
                     Deployment(tp=1, precision="bf16", max_batch=64, max_num_tokens=512))


def _wl(i, o, **kw):
    return Workload(**({"rate_per_s": 2.0, "duration_s": 20.0} | kw), input_len=parse_length(i),
                    output_len=parse_length(o))


# ---- catalog -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CONTEXT))
def test_catalog_context_is_the_published_one(name):
    entry = load_catalog().lookup("llm", name)
    assert entry.max_context.value == CONTEXT[name]
    assert "max_position_embeddings" in entry.max_context.source
    assert "huggingface.co" in entry.max_context.source


def test_adapter_carries_the_context(specs):
    assert specs("hgx-h100", "llama-2-70b")[0].max_context == 4096


# ---- the check -----------------------------------------------------------------------------------


def test_fixed_lengths_over_the_context_name_model_context_and_request(llama2):
    with pytest.raises(ServingInputError) as e:
        _wl("4000", "256").check_context(llama2)
    msg = str(e.value)
    for part in ("llama-2-70b", "4,096", "4,000 input", "256 output", "4,256"):
        assert part in msg
    _wl("4000", "96").check_context(llama2)          # exactly the context fits


@pytest.mark.parametrize(("i", "o", "largest"), [
    ("uniform:100,4000", "200", "4,200"),
    ("lognormal:294,294,3000", "lognormal:287,250,1200", "4,200"),
    ("normal:500,100,4000", "exponential:50,500", "4,500"),
])
def test_bounded_distributions_are_judged_by_their_largest_value(llama2, i, o, largest):
    wl = _wl(i, o)
    with pytest.raises(ServingInputError, match=largest):
        wl.check_context(llama2)
    # the drawn requests carry their distributions: the verdict does not depend on what was drawn
    for seed in range(3):
        with pytest.raises(ServingInputError, match=largest):
            wl.generate(np.random.default_rng(seed)).check_context(llama2)


def test_validation_workloads_fit(specs, llama2):
    # MLPerf llama2-70b: input <= 1024, output <= 1024 on a 4,096 context
    mlperf = Workload(offline=True, num_requests=2000, input_len=LengthDist("lognormal", (300, 300), 1024),
                      output_len=LengthDist("lognormal", (290, 250), 1024))
    mlperf.check_context(llama2)
    mlperf.generate(np.random.default_rng(0)).check_context(llama2)
    l70 = _with_context(specs("hgx-h100", "llama-3.1-70b")[0])
    _wl("32768", "1024").check_context(l70)          # trtllm-bench long-context case
    _wl("5000", "500").check_context(l70)            # NIM benchmark
    _wl("131071", "1").check_context(_with_context(specs("hgx-h100", "llama-3.1-8b")[0]))


def test_unbounded_tail_is_checked_per_drawn_request(llama2):
    wl = Workload(offline=True, num_requests=20000, input_len=parse_length("lognormal:294,294"),
                  output_len=parse_length("lognormal:287,250"))
    wl.check_context(llama2)                         # the mean request fits (the fluid mode's check)
    with pytest.raises(ServingInputError) as e:
        wl.generate(np.random.default_rng(0)).check_context(llama2)
    msg = str(e.value)
    for part in ("of 20,000 requests need more", "no upper bound", "MAX"):
        assert part in msg
    # the mean request too long: caught before drawing
    with pytest.raises(ServingInputError, match="mean request asks 5,000 input"):
        _wl("lognormal:5000,100", "10").check_context(llama2)


def test_trace_names_the_first_offending_row(tmp_path, llama2):
    trace = tmp_path / "t.csv"
    # rows 3 and 5 are too long; row 5 arrives first, but row 3 comes first in the file
    trace.write_text("arrival_s,input_tokens,output_tokens\n0.0,100,10\n2.0,4000,200\n"
                     "3.0,50,5\n1.0,9000,100\n")
    with pytest.raises(ServingInputError) as e:
        Workload(trace=read_trace(trace)).check_context(llama2)
    msg = str(e.value)
    assert f"{trace}:3 with 4,000 input + 200 output = 4,200 tokens" in msg
    for part in ("2 of 4 requests", "9,100", "llama-2-70b"):
        assert part in msg


def test_unknown_context_is_not_checked(specs):
    m = dataclasses.replace(specs("hgx-h100", "llama-2-70b")[0], max_context=0)
    _wl("100000", "100").check_context(m)


def test_simulations_refuse_before_running(small):
    wl = _wl("4000", "200")
    reqs = wl.generate(np.random.default_rng(0))
    for run in (lambda: simulate_discrete(small, reqs, 1),
                lambda: simulate_disaggregated(small, small, reqs, 1, 1),
                lambda: fluid_point(small, wl, 1)):
        with pytest.raises(ServingInputError, match="4,096 tokens per request"):
            run()
    given = Requests(np.array([0.0, 1.0]), np.array([100, 4000]), np.array([10, 200]))
    with pytest.raises(ServingInputError, match="1 of 2 requests need more"):
        simulate_discrete(small, given, 1)
    ok = simulate_discrete(small, _wl("3000", "96").generate(np.random.default_rng(0)), 1)
    assert np.isfinite(ok.requests.completed_s).all()


def test_capacity_search_refuses_before_probing(specs, llama2):
    from twin.serving.api import max_rate

    hw = specs("hgx-h100", "llama-2-70b")[1]
    with pytest.raises(ServingInputError, match="4,256 tokens"):
        max_rate(llama2, hw, Deployment(tp=4), _wl("4000", "256"), 8, p99_ttft_s=2.0, p99_tpot_s=0.2)


def test_clip_max_for_unbounded_distributions():
    d = parse_length("lognormal:294,294,1024")
    assert d == LengthDist("lognormal", (294.0, 294.0), 1024)
    assert d.upper == 1024
    assert str(d) == "lognormal:294,294,1024"
    assert d.sample(20000, np.random.default_rng(0)).max() == 1024
    assert parse_length("exponential:100,500").upper == 500
    assert parse_length("uniform:5,9").upper == 9
    assert parse_length("77").upper == 77
    assert parse_length("normal:100,10").upper is None
    for bad in ("uniform:1,5,9", "fixed:5,9", "lognormal:1,1,1.5", "normal:1,1,2,3"):
        with pytest.raises(ServingInputError):
            parse_length(bad)


# ---- through the CLI -----------------------------------------------------------------------------


CLI = ["serve-sim", "--system", "hgx-h100", "--gpus", "8", "--model", "llama-2-70b", "--tp", "4",
       "--duration", "10", "--rate", "1"]


def _cli(args):
    res = CliRunner().invoke(main, args)
    assert "Traceback" not in res.output, res.output
    assert isinstance(res.exception, SystemExit | None), res.exception
    return res


@pytest.mark.parametrize("mode", [[], ["--fluid"], ["--prefill-gpus", "4"]])
def test_cli_rejects_requests_over_the_context(mode):
    res = _cli([*CLI, *mode, "--input-tokens", "4000", "--output-tokens", "256"])
    assert res.exit_code == 2, res.output
    assert "error: llama-2-70b takes at most 4,096 tokens per request" in res.output
    assert "4,256 tokens" in res.output


def test_cli_names_the_trace_row(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("arrival_s,input_tokens,output_tokens\n0.0,100,10\n0.5,4000,200\n")
    res = _cli([*CLI[:-2], "--trace", str(trace)])
    assert res.exit_code == 2, res.output
    assert f"{trace}:3 with 4,000 input" in res.output


def test_cli_accepts_a_clipped_tail():
    res = _cli([*CLI, "--input-tokens", "lognormal:294,294,1024",
                "--output-tokens", "lognormal:287,250,1024"])
    assert res.exit_code == 0, res.output


# ---- rate profiles -------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "expect"), [
    ("constant:5", "constant takes no parameters; got 1"),
    ("diurnal:0,0.5", "diurnal: PERIOD_S must be > 0 s (a finite number), got 0"),
    ("diurnal:-60,0.5", "PERIOD_S must be > 0 s (a finite number), got -60"),
    ("diurnal:inf,0.5", "PERIOD_S must be > 0 s (a finite number), got inf"),
    ("diurnal:100,2", "diurnal: AMPLITUDE must be from 0 to 1"),
    ("diurnal:100,-0.1", "got -0.1"),
    ("diurnal:100,abc", "AMPLITUDE must be from 0 to 1 (the rate swings between (1 - A) and (1 + A) times "
                        "the mean), got abc"),
    ("diurnal:0,2", "PERIOD_S must be > 0 s (a finite number), got 0; AMPLITUDE must be from 0 to 1"),
    ("diurnal:100", "diurnal takes 2 numbers, diurnal:PERIOD_S,AMPLITUDE; got 1 ('100')"),
    ("bursty:0,0.2,4", "bursty: PERIOD_S must be > 0 s (a finite number), got 0"),
    ("bursty:50,0,4", "bursty: DUTY must be a fraction of the period strictly between 0 and 1, got 0"),
    ("bursty:50,1,4", "DUTY must be a fraction of the period strictly between 0 and 1, got 1"),
    ("bursty:50,0.2,0.5", "bursty: FACTOR must be a burst rate >= 1 times the mean, got 0.5"),
    ("bursty:50,0.5,4", "bursty: DUTY x FACTOR must be <= 1"),
    ("bursty:50,0.2", "bursty takes 3 numbers, bursty:PERIOD_S,DUTY,FACTOR; got 2"),
    ("weekly:7", "unknown rate profile 'weekly' in 'weekly:7'; valid: constant, diurnal:PERIOD_S,AMPLITUDE, "
                 "bursty:PERIOD_S,DUTY,FACTOR"),
])
def test_bad_rate_profile_names_profile_parameter_and_value(profile, expect):
    with pytest.raises(ServingInputError) as e:
        Workload(rate_per_s=1.0, rate_profile=profile).check()
    assert expect in str(e.value)
    assert f"{profile!r}" in str(e.value)


def test_every_profile_kind_is_covered_and_good_ones_pass():
    assert set(RATE_PROFILES) == {"constant", "diurnal", "bursty"}
    for good in ("constant", "diurnal:86400,0.5", "diurnal:100,0", "diurnal:100,1", "bursty:60,0.25,4",
                 " bursty : 60 , 0.5 , 2 "):
        Workload(rate_per_s=1.0, rate_profile=good).check()


def test_cli_bad_rate_profile_exits_2():
    res = _cli([*CLI, "--rate-profile", "diurnal:0,2"])
    assert res.exit_code == 2
    assert "error: rate profile 'diurnal:0,2': diurnal: PERIOD_S must be > 0 s" in res.output
    assert "got 2" in res.output
