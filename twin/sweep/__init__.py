"""Scenario sweeps: a base layout or scenario, axes over its fields, run on dask.distributed.

``run(spec, out_dir)`` computes every point of a sweep file into a resumable folder and returns the
results table (docs/sweeps.md). Dask is imported only when a sweep runs.
"""

from __future__ import annotations

from twin.sweep.results import SweepDirError
from twin.sweep.spec import Sweep, load_sweep


def run(spec, out_dir, *, scheduler=None, workers=None, progress=None):
    """Run a sweep into ``out_dir``; see :func:`twin.sweep.runner.run`."""
    from twin.sweep.runner import run as _run

    return _run(spec, out_dir, scheduler=scheduler, workers=workers, progress=progress)


__all__ = ["Sweep", "SweepDirError", "load_sweep", "run"]
