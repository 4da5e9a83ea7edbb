"""``serve-sim --no-chunked-prefill`` and ``--adp-balance``: reach the simulator, bad values exit 2."""

import json

import pytest
from click.testing import CliRunner

from twin.cli import main

DSR1 = ["serve-sim", "--system", "hgx-b200", "--gpus", "8", "--model", "deepseek-r1", "--precision", "fp4",
        "--tp", "8", "--ep", "8", "--attention-dp", "--max-batch", "1024", "--max-num-tokens", "8192",
        "--rate", "2", "--input-tokens", "800", "--output-tokens", "400", "--duration", "30", "--json", "-"]


def _ttft(args):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)["ttft_s"]["mean"]


def test_balancing_raises_ttft_through_the_cli():
    plain = _ttft(DSR1)
    held = _ttft([*DSR1, "--adp-balance", "3,9", "--no-chunked-prefill"])
    assert held > 2 * plain


@pytest.mark.parametrize("value", ["3", "a,b", "-1,9", "3,0", "1,2,3"])
def test_bad_balance_values(value):
    res = CliRunner().invoke(main, [*DSR1, "--adp-balance", value])
    assert res.exit_code == 2
    assert "WAIT,TIMEOUT" in res.output
    assert "Traceback" not in res.output


def test_balance_without_attention_dp():
    args = [a for a in DSR1 if a != "--attention-dp"]
    res = CliRunner().invoke(main, [*args, "--adp-balance", "3,9"])
    assert res.exit_code == 2
    assert "needs --attention-dp" in res.output
