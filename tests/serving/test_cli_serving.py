"""``twin serve-sim``: JSON keys, Python API, and bad input -> clear message, exit 2."""

import json

import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.engine.serve import serve_sim
from twin.errors import ServingInputError

BASE = ["serve-sim", "--system", "hgx-h100", "--gpus", "8", "--model", "llama-3.1-8b", "--precision", "fp8"]


def _run(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_json_has_the_documented_keys(tmp_path):
    out = tmp_path / "r.json"
    res = _run([*BASE, "--rate", "20", "--input-tokens", "normal:512,100", "--output-tokens", "64",
                "--duration", "20", "--json", str(out), "--slo-ttft", "0.5", "--slo-tpot", "0.05"])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    for k in ("output_tokens_per_s", "output_tokens_per_s_per_gpu", "requests_per_s"):
        assert d[k] > 0
    for k in ("ttft_s", "tpot_s", "e2e_s"):
        assert set(d[k]) >= {"mean", "p50", "p90", "p99"}
    assert d["num_replicas"] == 8
    assert d["goodput_requests_per_s"] is not None
    assert len(d["activity"]["busy_fraction"]) > 10
    assert "TTFT" in res.output


def test_offline_fluid_and_trace(tmp_path):
    assert _run([*BASE, "--offline", "--num-requests", "200", "--output-tokens", "32"]).exit_code == 0
    res = _run([*BASE, "--rate", "50", "--fluid", "--json", "-"])
    assert res.exit_code == 0
    assert json.loads(res.output)["mode"] == "fluid"
    tr = tmp_path / "t.csv"
    tr.write_text("arrival_s,input_tokens,output_tokens\n0,100,10\n0.5,300,20\n")
    assert _run([*BASE, "--trace", str(tr)]).exit_code == 0


def test_python_api_gives_what_the_cli_prints():
    """``twin.serve_sim`` and ``twin serve-sim`` are one computation: same inputs, same numbers (the CLI's
    defaults are the API's)."""
    import twin

    d = twin.serve_sim(system="hgx-h100", gpus=2, model="llama-3.1-8b", rate=4, input_tokens=256,
                       output_tokens=32, duration_s=10)
    res = _run(["serve-sim", "--system", "hgx-h100", "--gpus", "2", "--model", "llama-3.1-8b", "--rate", "4",
                "--input-tokens", "256", "--output-tokens", "32", "--duration", "10", "--json", "-"])
    cli = json.loads(res.output)
    assert d["num_completed"] == d["num_requests"] == cli["num_completed"] > 0
    for key in ("output_tokens_per_s", "requests_per_s", "max_batch", "max_num_tokens", "precision"):
        assert cli[key] == d[key], key
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        assert cli[key] == d[key], key


def test_attention_dp_limits_are_per_rank():
    """TensorRT-LLM's max_batch_size / max_num_tokens are per attention-DP rank: a config copied from NVIDIA
    must give the replica tp times each, and the output must say which meaning was used."""
    kw = dict(system="hgx-b200", gpus=8, model="deepseek-r1", precision="fp4", tp=8, ep=8, offline=True,
              num_requests=64, input_tokens=256, output_tokens=16)
    adp = serve_sim(attention_dp=True, max_batch=32, max_num_tokens=1024, **kw)
    assert (adp["max_batch"], adp["max_num_tokens"]) == (32 * 8, 1024 * 8)
    assert adp["limits_per"] == "attention-DP rank"
    assert (adp["max_batch_per_rank"], adp["max_num_tokens_per_rank"]) == (32, 1024)
    assert any("per attention-DP rank" in n for n in adp["notes"])
    tp = serve_sim(max_batch=32, max_num_tokens=1024, **kw)
    assert (tp["max_batch"], tp["max_num_tokens"]) == (32, 1024)
    assert tp["limits_per"] == "replica"
    res = _run(["serve-sim", "--system", "hgx-b200", "--gpus", "8", "--model", "deepseek-r1", "--precision",
                "fp4", "--tp", "8", "--ep", "8", "--attention-dp", "--max-batch", "32", "--offline",
                "--num-requests", "16", "--input-tokens", "128", "--output-tokens", "8"])
    assert res.exit_code == 0, res.output
    assert "`max_batch` 32" not in res.output
    assert "--max-batch 32 and --max-num-tokens" in res.output


def test_library_errors_name_the_argument_and_the_cli_its_flag():
    with pytest.raises(ServingInputError) as exc:
        serve_sim(system="hgx-h100", gpus=8, model="llama-3.1-8b", pp=0, rate=1)
    assert exc.value.field == "deployment.pp"
    assert "`deployment.pp`" in str(exc.value)
    res = _run([*BASE, "--pp", "0", "--rate", "1"])
    assert res.exit_code == 2
    assert "--pp must be a whole number >= 1" in res.output


@pytest.mark.parametrize(("args", "msg"), [
    (["--model", "llama-3.1-405b", "--precision", "bf16", "--rate", "1"], "short by"),
    (["--tp", "16", "--rate", "1"], "larger than the NVLink domain"),
    (["--rate", "0"], "greater than zero"),
    (["--model", "llama-9", "--rate", "1"], "unknown llm"),
    (["--system", "dgx-x", "--rate", "1"], "unknown system"),
    ([], "give --rate"),
    (["--rate", "1", "--input-tokens", "lots"], "input tokens"),
    (["--rate", "1", "--scheduler", "fifo"], "valid: trtllm, trtllm-max-util, vllm, sarathi"),
    (["--offline"], "num-requests"),
])
def test_bad_input_exits_2(args, msg):
    base = list(BASE)
    for flag in ("--model", "--system"):
        if flag in args:
            i = base.index(flag)
            del base[i:i + 2]
    res = CliRunner().invoke(main, [*base, *args])
    assert res.exit_code == 2, res.output
    assert msg in res.output
    assert "Traceback" not in res.output


def test_bad_trace_rows_exit_2(tmp_path):
    tr = tmp_path / "bad.csv"
    tr.write_text("arrival_s,input_tokens,output_tokens\n0,100,10\n-1,5,5\n")
    res = CliRunner().invoke(main, [*BASE, "--trace", str(tr)])
    assert res.exit_code == 2
    assert f"{tr}:3: arrival_s" in res.output


def test_disaggregated_and_closed_loop_cli():
    res = _run([*BASE, "--rate", "4", "--duration", "10", "--prefill-gpus", "4", "--json", "-"])
    assert res.exit_code == 0
    dis = json.loads(res.output)["disaggregated"]
    assert (dis["prefill_replicas"], dis["decode_replicas"], dis["prefill_tp"]) == (4, 4, 1)
    res = _run([*BASE, "--concurrency", "4", "--num-requests", "20", "--output-tokens", "16"])
    assert res.exit_code == 0
    bad = CliRunner().invoke(main, [*BASE, "--rate", "4", "--prefill-gpus", "8"])
    assert bad.exit_code == 2
    assert "0 decode replicas" in bad.output


def test_python_api_takes_a_clock_factor(specs):
    from twin.serving.api import simulate
    from twin.serving.specs import Deployment
    from twin.serving.workload import LengthDist, Workload

    m, h = specs("hgx-h100", "llama-3.1-8b")
    wl = Workload(rate_per_s=4.0, duration_s=20.0, input_len=LengthDist("fixed", (2048,)),
                  output_len=LengthDist("fixed", (64,)))
    dep = Deployment(tp=1, precision="fp8")
    full = simulate(m, h, dep, wl, 2)
    slow = simulate(m, h, dep, wl, 2, clock=[[1.0], [0.3]])
    assert slow["ttft_s"]["mean"] > full["ttft_s"]["mean"]
    fl = simulate(m, h, dep, wl, 2, fluid=True, clock=[[0.3], [0.3]])
    assert fl["tpot_s"]["mean"] > simulate(m, h, dep, wl, 2, fluid=True)["tpot_s"]["mean"]


def test_disaggregated_prefill_pool_has_its_own_shape():
    """--prefill-tp/--prefill-max-num-tokens shape only the prefill pool: 16 GPUs of TP4 prefill are 4
    replicas beside 7 TP8 decode replicas (72 GPUs), every request completes, and the prefill shape
    changes TTFT but not the decode pool's TPOT."""
    args = ["serve-sim", "--system", "gb200-nvl72", "--gpus", "72", "--model", "llama-3.1-70b",
            "--precision", "fp8", "--tp", "8", "--rate", "6", "--input-tokens", "4096", "--output-tokens",
            "64", "--duration", "20", "--prefill-gpus", "16", "--json", "-"]
    same = json.loads(_run(args).output)
    res = _run([*args, "--prefill-tp", "4", "--prefill-max-num-tokens", "4096"])
    assert res.exit_code == 0, res.output
    own = json.loads(res.output)
    dis = own["disaggregated"]
    assert (dis["prefill_replicas"], dis["decode_replicas"], dis["prefill_tp"]) == (4, 7, 4)
    assert dis["prefill_max_num_tokens"] == 4096
    assert own["num_gpus"] == 4 * 4 + 7 * 8
    assert own["num_completed"] == own["num_requests"] == same["num_completed"] > 0
    assert own["ttft_s"]["mean"] != pytest.approx(same["ttft_s"]["mean"], rel=0.02)
    assert own["tpot_s"]["mean"] == pytest.approx(same["tpot_s"]["mean"], rel=0.05)


def test_prefill_shape_needs_a_prefill_pool():
    res = CliRunner().invoke(main, [*BASE, "--rate", "4", "--prefill-tp", "2"])
    assert res.exit_code == 2
    assert "give --prefill-gpus" in res.output
    assert "Traceback" not in res.output


def test_gpus_not_a_whole_number_of_replicas_are_noted():
    res = _run(["serve-sim", "--system", "hgx-h100", "--gpus", "12", "--model", "llama-3.1-8b", "--precision",
                "fp8", "--tp", "8", "--rate", "1", "--duration", "5", "--json", "-"])
    assert res.exit_code == 0
    d = json.loads(res.output)
    assert d["num_gpus"] == 8
    assert any("4 GPUs stay idle" in n for n in d["notes"])


@pytest.mark.parametrize(("args", "msg"), [
    (["--prefill-gpus", "0"], "--prefill-gpus must be a whole number >= 1"),
    (["--prefill-gpus", "4", "--prefill-tp", "0"], "the prefill pool's --prefill-tp must be a whole number"),
    (["--prefill-gpus", "4", "--prefill-max-batch", "-1"], "--prefill-max-batch must be a whole number"),
])
def test_prefill_pool_settings_are_checked_and_named(args, msg):
    res = _run([*BASE, "--rate", "1", *args])
    assert res.exit_code == 2
    assert msg in res.output
