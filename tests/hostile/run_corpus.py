"""Run the hostile-input corpus in this process and print one JSON line per case.

Run by ``tests/hostile/test_hostile_inputs.py`` in a child process with a memory limit; usable
alone: ``python tests/hostile/run_corpus.py [NAME-SUBSTRING]``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from click.testing import CliRunner  # noqa: E402
from corpus import CASES  # noqa: E402

from twin.cli import main  # noqa: E402

#: Longest a case may run. [s]
CASE_TIMEOUT_S = 30


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Timeout


def run(case, base: Path) -> dict:
    folder = base / f"case{abs(hash(case.name)) % 10**8}"
    folder.mkdir()
    for rel, body in case.files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if body == "FIFO":
            os.mkfifo(p)
        elif isinstance(body, bytes):
            p.write_bytes(body)
        else:
            p.write_text(body)
    args = [a.replace("{dir}", str(folder)) for a in case.args]
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIMEOUT_S)
    t0 = time.perf_counter()
    try:
        res = CliRunner().invoke(main, args, catch_exceptions=True)
        code, out = res.exit_code, res.output
        exc = res.exception
        trace = None if exc is None or isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"[:500]
    except _Timeout:
        code, out, trace = None, "", f"timed out after {CASE_TIMEOUT_S} s"
    finally:
        signal.alarm(0)
    return {"name": case.name, "code": code, "output": out[-2000:], "seconds": time.perf_counter() - t0,
            "traceback": trace, "dir": str(folder)}


def main_() -> None:
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if only in case.name:
                sys.stdout.write(json.dumps(run(case, Path(tmp))) + "\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main_()
