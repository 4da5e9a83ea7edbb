"""The CPU front end: a host-bound case by hand, the engine-loop detokenization, fluid, CLI, catalog cores."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.records import Deployment
from twin.serving.api import simulate
from twin.serving.host import HOST_COSTS, HostPath, frontend_schedule
from twin.serving.specs import ServingInputError
from twin.serving.workload import LengthDist, Workload

DEP = Deployment(tp=1, precision="fp8", max_batch=512, max_num_tokens=8192)
ISL, OSL = 100, 1000


def _job_s() -> float:
    """One request's host work on one core, by hand from the sourced costs."""
    c = {k: v[0] for k, v in HOST_COSTS.items()}
    return c["tokenize_s_per_request"] + ISL * c["tokenize_s_per_token"] + OSL * (
        c["detokenize_s_per_token"] + c["stream_s_per_chunk"])


def test_one_core_per_gpu_makes_the_host_the_limit(specs):
    # Llama-3.1-8B FP8 on one B200 serves far more than one front-end core can tokenize, detokenize and
    # stream: job = 1.2 ms + 100 x 1 us + 1000 x (19.3 + 35) us = 55.6 ms, so one core passes 17.99
    # requests/s. With every request at t=0 the k-th gets the core at k x job.
    m, h = specs("hgx-b200", "llama-3.1-8b")
    job = _job_s()
    assert job == pytest.approx(0.0556, abs=1e-6)
    n = 3000
    wl = Workload(offline=True, num_requests=n, input_len=LengthDist("fixed", (ISL,)),
                  output_len=LengthDist("fixed", (OSL,)))
    gpu_only = simulate(m, h, DEP, wl, 1)
    bound = simulate(m, h, DEP, wl, 1, host=HostPath(cores=1))
    hst = bound["host"]
    assert hst["bound"]
    assert hst["utilisation"] > 0.97
    assert not simulate(m, h, DEP, wl, 1, host=HostPath(cores=14))["host"]["bound"]
    # the GPU alone serves several times faster than the core can feed it
    assert gpu_only["requests_per_s"] > 2.5 * (1 / job)
    # served rate: n requests over (n - 1) jobs, the last one's tokenization and its own decode on the GPU
    last_decode_s = OSL * bound["tpot_s"]["mean"]
    tok = HOST_COSTS["tokenize_s_per_request"][0] + ISL * HOST_COSTS["tokenize_s_per_token"][0]
    span = (n - 1) * job + tok + last_decode_s
    assert bound["requests_per_s"] == pytest.approx(n / span, rel=0.01)
    assert bound["requests_per_s"] == pytest.approx(1 / job, rel=0.03)
    # and the fluid mode agrees on the rate the front end passes
    fl = simulate(m, h, DEP, Workload(rate_per_s=40.0, duration_s=600, input_len=LengthDist("fixed", (ISL,)),
                                       output_len=LengthDist("fixed", (OSL,))), 1, host=HostPath(cores=1),
                  fluid=True)
    assert fl["host"]["bound"]
    assert fl["requests_per_s"] == pytest.approx(1 / job, rel=1e-6)


def test_enough_cores_leave_the_gpu_result_alone(specs):
    m, h = specs("hgx-b200", "llama-3.1-8b")
    wl = Workload(rate_per_s=10.0, duration_s=60, input_len=LengthDist("fixed", (ISL,)),
                  output_len=LengthDist("fixed", (OSL,)))
    plain = simulate(m, h, DEP, wl, 1)
    host = simulate(m, h, DEP, wl, 1, host=HostPath(cores=int(h.host_cores_per_gpu)))
    assert not host["host"]["bound"]
    assert host["output_tokens_per_s"] == pytest.approx(plain["output_tokens_per_s"], rel=0.01)
    # TTFT gains the tokenization of the prompt (no wait for a core at 10 requests/s on 14 cores)
    tok = HOST_COSTS["tokenize_s_per_request"][0] + ISL * HOST_COSTS["tokenize_s_per_token"][0]
    assert host["ttft_s"]["mean"] == pytest.approx(plain["ttft_s"]["mean"] + tok, rel=0.05)


def test_detokenizing_in_the_engine_loop_costs_every_iteration(specs):
    m, h = specs("hgx-b200", "llama-3.1-8b")
    wl = Workload(offline=True, num_requests=1, input_len=LengthDist("fixed", (ISL,)),
                  output_len=LengthDist("fixed", (OSL,)))
    front = simulate(m, h, DEP, wl, 1, host=HostPath(cores=4))
    loop = simulate(m, h, DEP, wl, 1, host=HostPath(cores=4, engine_detokenizes=True))
    # one sequence: each iteration carries its detokenization and streaming, serial with the GPU
    per = HostPath(cores=4).per_output_token_s
    assert loop["tpot_s"]["mean"] == pytest.approx(front["tpot_s"]["mean"] + per, rel=1e-9)


def test_frontend_is_first_come_first_served():
    hp = HostPath(cores=2, tokenize_s_per_request=0.0, tokenize_s_per_token=1e-3, detokenize_s_per_token=0.0,
                  stream_s_per_chunk=0.0)
    fe = frontend_schedule(np.array([0.0, 0.0, 0.0, 5.0]), np.array([1000, 2000, 500, 100]), np.zeros(4), hp)
    # cores free at 1.0 and 2.0: the third request starts at 1.0; the fourth arrives to a free core
    assert fe.start_s.tolist() == [0.0, 0.0, 1.0, 5.0]
    assert fe.ready_s.tolist() == pytest.approx([1.0, 2.0, 1.5, 5.1])
    assert fe.busy_core_s == pytest.approx(3.6)


@pytest.mark.parametrize(("kw", "why"), [({"cores": 0}, "at least one core"),
                                         ({"cores": 2, "stream_interval": 0}, "stream_interval")])
def test_bad_host_settings(kw, why):
    with pytest.raises(ServingInputError, match=why):
        HostPath(**kw).check()


def test_catalog_systems_list_their_host_cores(specs):
    # DGX B200 / H100: 2 x 56 cores for 8 GPUs; GB200 tray: 2 Grace x 72 cores for 4 GPUs; the RTX PRO
    # server as submitted to MLPerf v6.0: 2 x 64-core EPYC 9575F for 8 GPUs
    for system, per_gpu in (("hgx-b200", 14), ("hgx-h100", 14), ("hgx-h200", 14), ("gb200-nvl72", 36),
                            ("gb300-nvl72", 36), ("rtx-pro-6000-server", 16)):
        assert specs(system, "llama-3.1-8b")[1].host_cores_per_gpu == per_gpu


ARGS = ["serve-sim", "--system", "hgx-b200", "--gpus", "1", "--model", "llama-3.1-8b", "--precision", "fp8",
        "--max-batch", "512", "--offline", "--num-requests", "600", "--input-tokens", "100",
        "--output-tokens", "1000"]


def test_cli_shows_a_host_bound_run():
    res = CliRunner().invoke(main, [*ARGS, "--host-cores", "1"])
    assert res.exit_code == 0, res.output
    assert "HOST-BOUND" in res.output
    ok = CliRunner().invoke(main, [*ARGS, "--host-path", "--json", "-"])
    assert ok.exit_code == 0, ok.output
    d = json.loads(ok.output)
    assert d["host"]["cores"] == 14
    assert not d["host"]["bound"]
    chunked = CliRunner().invoke(main, [*ARGS, "--host-cores", "1", "--stream-interval", "10", "--json", "-"])
    assert json.loads(chunked.output)["host"]["per_output_token_s"] < d["host"]["per_output_token_s"]
    bad = CliRunner().invoke(main, [*ARGS, "--host-cores", "0"])
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output
    closed = CliRunner().invoke(main, [*ARGS[:-6], "--concurrency", "4", "--num-requests", "8",
                                       "--host-path"])
    assert closed.exit_code == 2
    assert "closed-loop" in closed.output


def test_engine_loop_detokenization_counts_every_accepted_token(specs):
    # with speculation a sequence emits tau tokens per iteration, each detokenized and streamed
    from twin.records import Speculation

    m, h = specs("hgx-b200", "llama-3.1-8b")
    dep = Deployment(tp=1, precision="fp8", max_batch=512, max_num_tokens=8192,
                     speculative=Speculation("eagle", 3, (0.8,)))
    wl = Workload(offline=True, num_requests=1, input_len=LengthDist("fixed", (ISL,)),
                  output_len=LengthDist("fixed", (OSL,)))
    front = simulate(m, h, dep, wl, 1, host=HostPath(cores=4))
    loop = simulate(m, h, dep, wl, 1, host=HostPath(cores=4, engine_detokenizes=True))
    per, tau = HostPath(cores=4).per_output_token_s, dep.speculative.tokens_per_step
    iters = np.ceil((OSL - 1) / tau - 1e-9)
    assert loop["tpot_s"]["mean"] - front["tpot_s"]["mean"] == pytest.approx(per * tau * iters / (OSL - 1),
                                                                              rel=1e-6)


def test_a_lone_traced_request_does_not_make_the_fluid_front_end_bound(specs, tmp_path):
    from twin.serving.workload import read_trace

    m, h = specs("hgx-b200", "llama-3.1-8b")
    path = tmp_path / "t.csv"
    path.write_text("arrival_s,input_tokens,output_tokens\n0.0,100,50\n")
    res = simulate(m, h, DEP, Workload(trace=read_trace(str(path))), 1, host=HostPath(cores=1), fluid=True)
    assert not res["host"]["bound"]
