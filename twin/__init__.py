"""AI Factory Twin: a digital twin of rack-scale AI factories.

Public API::

    import twin
    factory = twin.load_layout("layouts/pod-8x-nvl72.yaml")
    results = twin.evaluate(factory, utilisation=0.8)
    results.facility_power_w, results.pue
    results.racks()            # pandas table, one row per rack

    twin.serve_sim(system="gb200-nvl72", gpus=72, model="llama-3.1-70b", tp=8, rate=50)

    run = twin.simulate("scenarios/pod-design-day.yaml")   # the coupled twin over time
    run.kpis()["output_tokens"], run.steps_table()

Names are imported on first use (PEP 562), so ``import twin`` is cheap and a command pays only for
the physics it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> module it lives in
_EXPORTS: dict[str, str] = {
    "ConsistencyError": "twin.errors",
    "InputError": "twin.errors",
    "TwinError": "twin.errors",
    "UnitError": "twin.errors",
    "Factory": "twin.factory",
    "load_catalog": "twin.layout",
    "load_layout": "twin.layout",
    "Results": "twin.engine.results",
    "evaluate": "twin.engine.steady",
    "serve_sim": "twin.engine.serve",
    "simulate": "twin.engine.coupled",
    "SimResults": "twin.engine.timeseries",
    "load_scenario": "twin.engine.scenario",
}

__all__ = [
    "ConsistencyError",
    "Factory",
    "InputError",
    "Results",
    "TwinError",
    "UnitError",
    "evaluate",
    "load_catalog",
    "load_layout",
    "serve_sim",
    "SimResults",
    "load_scenario",
    "simulate",
]

if TYPE_CHECKING:  # pragma: no cover
    from twin.engine.coupled import simulate
    from twin.engine.results import Results
    from twin.engine.scenario import load_scenario
    from twin.engine.serve import serve_sim
    from twin.engine.steady import evaluate
    from twin.engine.timeseries import SimResults
    from twin.errors import ConsistencyError, InputError, TwinError, UnitError
    from twin.factory import Factory
    from twin.layout import load_catalog, load_layout


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'twin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
