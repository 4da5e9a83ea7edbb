"""Sweep tests: small sweeps over the shipped pod layout, written into tmp_path."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POD = ROOT / "layouts" / "pod-8x-nvl72.yaml"


def write_sweep(folder: Path, body: str, name: str = "sweep.yaml") -> Path:
    """A sweep file in ``folder`` whose base is the shipped pod (absolute path)."""
    path = folder / name
    path.write_text(body.replace("BASE", str(POD)), encoding="utf-8")
    return path


@pytest.fixture
def pod_sweep(tmp_path):
    def make(body: str, name: str = "sweep.yaml") -> Path:
        return write_sweep(tmp_path, body, name)
    return make
