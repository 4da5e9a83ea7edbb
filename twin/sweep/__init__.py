"""Scenario sweeps: a base layout or scenario, axes over its fields, run on dask.distributed.

``run(spec, out_dir)`` computes every point of a sweep file into a resumable folder and returns the
results table; ``optimise(spec, out_dir)`` searches the axes for the best feasible design with
Optuna on the same cluster (docs/sweeps.md). Dask and Optuna are imported only when a sweep runs.
"""

from __future__ import annotations

from twin.sweep.results import SweepDirError
from twin.sweep.spec import Sweep, load_sweep


def run(spec, out_dir, *, scheduler=None, workers=None, progress=None):
    """Run a sweep into ``out_dir``; see :func:`twin.sweep.runner.run`."""
    from twin.sweep.runner import run as _run

    return _run(spec, out_dir, scheduler=scheduler, workers=workers, progress=progress)


def optimise(spec, out_dir, *, trials=None, scheduler=None, workers=None, progress=None, pareto=None):
    """Search a sweep's axes for its best feasible design; see :func:`twin.sweep.search.optimise`."""
    from twin.sweep.search import optimise as _optimise

    return _optimise(spec, out_dir, trials=trials, scheduler=scheduler, workers=workers, progress=progress,
                     pareto=pareto)


__all__ = ["Sweep", "SweepDirError", "load_sweep", "optimise", "run"]
