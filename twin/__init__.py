"""AI Factory Twin: a digital twin of rack-scale AI factories.

Public API::

    from twin import load_layout, evaluate
    factory = load_layout("layouts/pod-8x-nvl72.yaml")
    result = evaluate(factory, utilisation=0.8)
    result.to_dict()["facility_power_w"]
"""

from twin.engine.steady import Evaluation, evaluate
from twin.errors import ConsistencyError, InputError, TwinError, UnitError
from twin.factory import Factory
from twin.layout import load_catalog, load_layout

__all__ = [
    "ConsistencyError",
    "Evaluation",
    "Factory",
    "InputError",
    "TwinError",
    "UnitError",
    "evaluate",
    "load_catalog",
    "load_layout",
]
