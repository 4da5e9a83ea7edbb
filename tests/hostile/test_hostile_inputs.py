"""Every hostile input of the corpus (tests/hostile/corpus.py) is refused cleanly, quickly, within memory.

The corpus runs in one child process limited to 4 GiB of address space; each case must end in its
expected exit status within 30 s, print no traceback, say what was wrong and, for a file with lines,
where.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.corpus import CASES

HERE = Path(__file__).resolve().parent
MEMORY_LIMIT = 4 * 2**30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    proc = subprocess.run([sys.executable, str(HERE / "run_corpus.py")], capture_output=True, text=True,
                          timeout=900, preexec_fn=_limit, check=False)
    out = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            out[r["name"]] = r
    assert out, f"the corpus did not run: {proc.stderr[-3000:]}"
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_refused_cleanly(results, case):
    r = results.get(case.name)
    assert r is not None, f"{case.name}: the corpus stopped before it (memory?)"
    assert r["traceback"] is None, f"{case.name}: {r['traceback']}\n{r['output']}"
    assert r["code"] == case.expect, f"{case.name}: exit {r['code']}, expected {case.expect}:\n{r['output']}"
    assert r["seconds"] < 30
    assert "Traceback" not in r["output"]
    if case.expect == 2:
        assert case.says in r["output"], f"{case.name}: {case.says!r} not in:\n{r['output']}"
        longest = max((len(x) for x in r["output"].splitlines()), default=0)
        assert longest < 1000, "a message quotes too much of the input"
    if case.line:
        assert re.search(r"\.(yaml|csv):\d+:", r["output"]), f"{case.name}: no file:line in:\n{r['output']}"
