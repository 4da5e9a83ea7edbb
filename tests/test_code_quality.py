"""The suite also enforces style (ruff) and the dependency directions of DESIGN.md (import-linter)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_clean():
    res = _run([sys.executable, "-m", "ruff", "check", "."])
    assert res.returncode == 0, res.stdout + res.stderr


def test_import_contracts_kept():
    exe = Path(sys.executable).parent / "lint-imports"
    res = _run([str(exe) if exe.exists() else "lint-imports"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout
