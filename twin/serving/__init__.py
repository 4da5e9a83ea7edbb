"""twin.serving: LLM serving on the twin's racks (see docs/serving.md and docs/architecture.md).

Plain records in, metrics out: :class:`ModelSpec`, :class:`HardwareSpec` and :class:`Deployment`
(:mod:`twin.records`) describe what runs where (:mod:`twin.layout.records` builds them from the
catalog; :func:`twin.serve_sim` runs by catalog names); :class:`PerfModel` prices one batch iteration
with one typed law (:class:`IterationCost`); :class:`ServingPool` is the steppable discrete simulation
(``advance(until_s, clock_factor)`` per epoch → :class:`EpochActivity`) under
:func:`simulate_discrete` (simpy, one event per batch iteration) and
:class:`FluidModel` (vectorised queueing) serve a :class:`Workload`; :func:`simulate` does it all;
:func:`max_rate` finds the highest arrival rate that meets P99 TTFT/TPOT limits (MLPerf Server scoring).
"""

from twin.serving.api import max_rate, simulate
from twin.serving.capacity import RateSearch, max_rate_at_slo
from twin.serving.discrete import simulate_disaggregated, simulate_discrete
from twin.serving.fluid import FluidModel, fluid_point
from twin.serving.metrics import summarize
from twin.serving.perf_model import IterationCost, IterationTime, PerfModel
from twin.serving.pool import EpochActivity, ServingPool
from twin.serving.schedulers import SCHEDULERS
from twin.serving.specs import Deployment, HardwareSpec, ModelSpec, ServingInputError
from twin.serving.workload import LengthDist, Requests, Workload, read_trace

__all__ = [
    "SCHEDULERS",
    "Deployment",
    "EpochActivity",
    "FluidModel",
    "HardwareSpec",
    "IterationCost",
    "IterationTime",
    "LengthDist",
    "ModelSpec",
    "PerfModel",
    "RateSearch",
    "Requests",
    "ServingInputError",
    "ServingPool",
    "Workload",
    "fluid_point",
    "max_rate",
    "max_rate_at_slo",
    "read_trace",
    "simulate",
    "simulate_disaggregated",
    "simulate_discrete",
    "summarize",
]
