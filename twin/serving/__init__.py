"""twin.serving: LLM serving on the twin's racks (see docs/serving.md and docs/architecture.md).

Plain specs in, metrics out: :class:`ModelSpec`, :class:`HardwareSpec` and :class:`Deployment`
describe what runs where (``twin.cli.serving`` builds them from the catalog); :class:`PerfModel`
prices one batch iteration; :func:`simulate_discrete` (simpy, one event per batch iteration) and
:class:`FluidModel` (vectorised queueing) serve a :class:`Workload`; :func:`simulate` does it all.
"""

from twin.serving.api import simulate
from twin.serving.discrete import simulate_disaggregated, simulate_discrete
from twin.serving.fluid import FluidModel, fluid_point
from twin.serving.metrics import summarize
from twin.serving.perf_model import IterationTime, PerfModel
from twin.serving.schedulers import SCHEDULERS
from twin.serving.specs import Deployment, HardwareSpec, ModelSpec, ServingInputError
from twin.serving.workload import LengthDist, Requests, Workload, read_trace

__all__ = [
    "SCHEDULERS",
    "Deployment",
    "FluidModel",
    "HardwareSpec",
    "IterationTime",
    "LengthDist",
    "ModelSpec",
    "PerfModel",
    "Requests",
    "ServingInputError",
    "Workload",
    "fluid_point",
    "read_trace",
    "simulate",
    "simulate_disaggregated",
    "simulate_discrete",
    "summarize",
]
