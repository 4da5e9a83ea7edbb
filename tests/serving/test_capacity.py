"""Capacity at a latency SLA (MLPerf Server scoring): the search, the Python API and ``--max-rate``."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.serving import Deployment, LengthDist, Workload, max_rate, max_rate_at_slo, simulate
from twin.serving.capacity import meets_slo
from twin.serving.specs import ServingInputError

BASE = ["serve-sim", "--system", "hgx-h100", "--gpus", "8", "--model", "llama-3.1-8b", "--precision", "fp8"]


def _summary(p99_ttft, p99_tpot, done=100, n=100):
    return {"num_requests": n, "num_completed": done, "mean_output_tokens": 10.0,
            "ttft_s": {"p99": p99_ttft}, "tpot_s": {"p99": p99_tpot}}


def _queue(limit_rate):
    """A fake system whose P99 TTFT diverges at ``limit_rate`` (M/M/1-like)."""
    calls = []

    def run(rate):
        calls.append(rate)
        ttft = 0.1 / max(1.0 - rate / limit_rate, 1e-9)
        return _summary(ttft, 0.01)

    return run, calls


@pytest.mark.parametrize("start", [0.3, 7.0, 40.0, 1000.0])
def test_search_finds_the_limit_rate_from_any_start(start):
    # P99 TTFT <= 1 s  <=>  rate <= 0.9 * 10
    run, calls = _queue(10.0)
    res = max_rate_at_slo(run, start, p99_ttft_s=1.0, p99_tpot_s=None, rel_tol=0.01)
    assert res.rate_per_s == pytest.approx(9.0, rel=0.011)
    assert res.rate_per_s <= 9.0 + 1e-9           # the answer passed
    assert len(res.probes) == len(calls) <= 40
    assert all(p["ok"] == (p["rate_per_s"] <= 9.0 + 1e-12) for p in res.probes)
    assert res.output_tokens_per_s == pytest.approx(res.rate_per_s * 10.0)


def test_unfinished_requests_or_a_missed_limit_fail():
    assert meets_slo(_summary(0.5, 0.05), 1.0, 0.1)
    assert not meets_slo(_summary(0.5, 0.05, done=99), 1.0, 0.1)
    assert not meets_slo(_summary(1.5, 0.05), 1.0, 0.1)
    assert not meets_slo(_summary(0.5, 0.15), 1.0, 0.1)
    assert meets_slo(_summary(0.5, None), 1.0, 0.1)       # single-token outputs have no TPOT


def test_no_passing_rate_stops_at_the_floor():
    res = max_rate_at_slo(lambda r: _summary(5.0, 0.01), 8.0, p99_ttft_s=1.0, p99_tpot_s=None,
                          min_rate_per_s=1.0)
    assert res.rate_per_s is None
    assert res.summary is None
    assert min(p["rate_per_s"] for p in res.probes) >= 1.0


@pytest.mark.parametrize("kw", [{"p99_ttft_s": None, "p99_tpot_s": None},
                                {"p99_ttft_s": 0.0, "p99_tpot_s": None},
                                {"p99_ttft_s": 1.0, "p99_tpot_s": None, "rel_tol": 0.0}])
def test_bad_search_arguments(kw):
    with pytest.raises(ServingInputError):
        max_rate_at_slo(lambda r: _summary(0.1, 0.01), 1.0, **kw)


def test_api_capacity_is_where_the_limit_binds(specs):
    """At the found rate P99 TPOT is within the limit; 10 % above it, a run misses it."""
    m, h = specs("hgx-h100", "llama-3.1-8b")
    dep = Deployment(tp=1, precision="fp8", max_batch=128, max_num_tokens=2048)
    w = Workload(rate_per_s=1.0, duration_s=60.0, input_len=LengthDist("fixed", (512,)),
                 output_len=LengthDist("fixed", (64,)))
    res = max_rate(m, h, dep, w, 2, p99_ttft_s=None, p99_tpot_s=0.015, rel_tol=0.02)
    cap = res["capacity"]
    r = cap["max_rate_per_s"]
    assert r > 0
    assert res["tpot_s"]["p99"] <= 0.015
    assert cap["output_tokens_per_s"] == pytest.approx(r * 64)
    assert cap["output_tokens_per_s_per_gpu"] == pytest.approx(r * 64 / 2)
    above = simulate(m, h, dep, Workload(rate_per_s=1.1 * r, duration_s=60.0, input_len=w.input_len,
                                         output_len=w.output_len), 2)
    assert above["tpot_s"]["p99"] > 0.015 or above["num_completed"] < above["num_requests"]
    # the probes are sorted out correctly: every passing probe is below every failing one
    ok = [p["rate_per_s"] for p in cap["probes"] if p["ok"]]
    bad = [p["rate_per_s"] for p in cap["probes"] if not p["ok"]]
    assert max(ok) == r
    assert (not bad or min(bad) > r)
    assert np.isclose(min(bad) / r, 1.0, atol=0.021)


def test_cli_max_rate_end_to_end(tmp_path):
    out = tmp_path / "cap.json"
    res = CliRunner().invoke(main, [*BASE, "--input-tokens", "512", "--output-tokens", "64", "--duration",
                                    "60", "--max-rate", "--slo-ttft", "0.5", "--slo-tpot", "0.02",
                                    "--rate", "3", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "highest rate with P99 TTFT <= 500 ms and P99 TPOT <= 20 ms" in res.output
    assert "--rate is ignored" in res.output
    d = json.loads(out.read_text())
    assert d["capacity"]["max_rate_per_s"] > 0
    assert d["ttft_s"]["p99"] <= 0.5
    assert d["tpot_s"]["p99"] <= 0.02


def test_cli_max_rate_when_nothing_passes():
    res = CliRunner().invoke(main, [*BASE, "--duration", "60", "--max-rate", "--slo-tpot", "0.0001"])
    assert res.exit_code == 0, res.output
    assert "no rate meets P99 TPOT <= 0.1 ms" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize(("extra", "msg"), [
    ([], "--max-rate needs the P99 limits"),
    (["--slo-tpot", "0.1", "--offline", "--num-requests", "10"], "drop --offline"),
    (["--slo-tpot", "0.1", "--fluid"], "drop --offline"),
    (["--slo-tpot", "0.1", "--prefill-tp", "2"], "--prefill-*"),
])
def test_cli_max_rate_bad_combinations(extra, msg):
    res = CliRunner().invoke(main, [*BASE, "--max-rate", *extra])
    assert res.exit_code == 2
    assert msg in res.output
    assert "Traceback" not in res.output


def test_a_probe_stops_only_when_its_p99_ttft_verdict_is_certain():
    """The stop rule's claim: with ``need`` completed requests above the limit, P99 (numpy's linear
    percentile) is above it for any number of completed requests up to n; with one fewer it may not be."""
    from types import SimpleNamespace

    from twin.serving.api import _ttft_verdict
    from twin.serving.metrics import RequestTimes

    rng = np.random.default_rng(3)
    for n in (20, 99, 100, 101, 1234, 10_000):
        stop = _ttft_verdict(1.0, n)
        need = n - int(np.floor(0.99 * (n - 1)))
        for late in (need - 1, need):
            ttft = np.concatenate([rng.uniform(0.0, 1.0, n - late), rng.uniform(1.0001, 5.0, late)])
            pool = SimpleNamespace(times=lambda t=ttft, n=n: RequestTimes(np.zeros(n), t, t + 1.0, np.ones(n),
                                                                          np.ones(n)))
            assert stop(pool) == (late >= need)
            if late >= need:
                assert np.percentile(ttft, 99) > 1.0
                for m in (need, n // 2 + need, n - 1):      # fewer completed by the end: still above
                    sub = np.concatenate([ttft[: max(m - late, 0)], ttft[n - late:]])
                    assert np.percentile(sub, 99) > 1.0
    # one late request fewer and the P99 can still pass: of 100 requests 2 late are needed; 1 late -> 0.02 s
    assert 100 - int(np.floor(0.99 * 99)) == 2
    assert np.percentile(np.concatenate([np.zeros(99), [2.0]]), 99) < 1.0


def test_stopping_overloaded_probes_keeps_the_answer(specs, monkeypatch):
    """A capacity search whose overloaded probes stop early gives the full search's answer, metrics and
    verdicts; stopped probes say when they stopped."""
    import twin.serving.api as api

    m, h = specs("hgx-h100", "llama-3.1-8b")
    dep = Deployment(tp=1, precision="fp8", max_batch=32, max_num_tokens=2048)
    w = Workload(rate_per_s=1.0, duration_s=60.0, input_len=LengthDist("fixed", (1024,)),
                 output_len=LengthDist("fixed", (64,)))
    fast = max_rate(m, h, dep, w, 1, p99_ttft_s=0.5, p99_tpot_s=None)
    monkeypatch.setattr(api, "_ttft_verdict", lambda *a: (lambda pool: False))
    full = max_rate(m, h, dep, w, 1, p99_ttft_s=0.5, p99_tpot_s=None)
    fc, uc = fast["capacity"], full["capacity"]
    assert fc["max_rate_per_s"] == uc["max_rate_per_s"] is not None
    assert fast["ttft_s"] == full["ttft_s"]
    assert [p["ok"] for p in fc["probes"]] == [p["ok"] for p in uc["probes"]]
    stopped = [p for p in fc["probes"] if "stopped_at_s" in p]
    assert stopped, "no probe was overloaded enough to stop"
    assert not any(p["ok"] for p in stopped)
    assert all(p["completed"] < p["requests"] for p in stopped)
    assert not any("stopped_at_s" in p for p in uc["probes"])
