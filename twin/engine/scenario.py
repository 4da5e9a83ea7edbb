"""A scenario made ready to run: each deployment's serving model, replicas placed on racks, workload parsed.

:func:`load_scenario` reads the file (:func:`twin.layout.scenario.load_scenario_records`, which checks
everything the layout can tell) and then makes the checks only the serving model can: the model and
system exist, the deployment fits in GPU memory and in the NVLink domain, its GPUs are a whole
number of replicas placed rack by rack, request lengths and rate profiles are readable. Every
problem is reported with the scenario file's line, together, as :class:`~twin.errors.InputError`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin.errors import InputError, Problem, ServingInputError
from twin.layout.catalog_io import Catalog
from twin.layout.records import lookup_specs
from twin.layout.scenario import load_scenario_records
from twin.records import Deployment, HardwareSpec, ModelSpec
from twin.scenario import DeploymentPlan, Scenario
from twin.serving.perf_model import PerfModel
from twin.serving.workload import LengthDist, Workload, parse_length


@dataclass(frozen=True)
class ServedDeployment:
    """A deployment with its serving model and where its replicas sit.

    Replica ``r`` occupies the racks ``pair_rack[pair_replica == r]``; ``pair_weight`` is the share
    of each of those racks' GPUs the replica holds (``1/m`` when ``m`` replicas share a rack, 1 when
    a replica spans whole racks).
    """

    plan: DeploymentPlan
    model: ModelSpec
    hardware: HardwareSpec
    deployment: Deployment
    perf: PerfModel
    input_len: LengthDist
    output_len: LengthDist
    num_replicas: int
    pair_replica: np.ndarray
    pair_rack: np.ndarray
    pair_weight: np.ndarray

    def rack_mean(self, per_replica: np.ndarray, num_racks: int) -> np.ndarray:
        """Per-rack mean of a per-replica quantity, weighted by GPUs (zero on racks it does not use)."""
        return np.bincount(self.pair_rack, weights=per_replica[self.pair_replica] * self.pair_weight,
                           minlength=num_racks)

    def replica_min(self, per_rack: np.ndarray) -> np.ndarray:
        """Per-replica minimum of a per-rack quantity over the racks it spans.

        A replica runs at its slowest.
        """
        out = np.full(self.num_replicas, np.inf)
        np.minimum.at(out, self.pair_replica, per_rack[self.pair_rack])
        return out


@dataclass(frozen=True)
class Prepared:
    """A scenario and its served deployments, ready for :func:`twin.engine.coupled.simulate`."""

    scenario: Scenario
    served: tuple[ServedDeployment, ...]
    catalog: Catalog


def load_scenario(path: str | Path) -> Prepared:
    """Read, check and prepare a scenario file (see the module notes).

    Raises
    ------
    InputError
        Every problem found, with the scenario's file:line.
    """
    scenario, catalog = load_scenario_records(path)
    return prepare(scenario, catalog)


def prepare(scenario: Scenario, catalog: Catalog | None = None) -> Prepared:
    """Serving models and replica placement of every deployment of ``scenario``.

    Raises InputError listing problems.
    """
    problems: list[Problem] = []
    served = []
    for i, plan in enumerate(scenario.deployments):
        where = plan.where
        file, line = (where.file, where.line) if where else (scenario.source_file, None)
        base = where.field if where else f"deployments[{i}]"

        def add(field: str, message: str, line=line, base=base, file=file) -> None:
            problems.append(Problem(file, line, f"{base}.{field}" if field else base, message))

        try:
            served.append(_serve(scenario, plan, catalog))
        except _Bad as exc:
            add(exc.field, exc.message)
        except ServingInputError as exc:
            add(_field_of(exc), str(exc))
    if problems:
        raise InputError(problems)
    return Prepared(scenario, tuple(served), catalog)


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _field_of(exc: ServingInputError) -> str:
    f = exc.field or ""
    return {"system": "racks", "model": "model", "gpus": "tp"}.get(f, f.removeprefix("deployment.")
                                                                   .replace("workload.", "workload."))


def _serve(scenario: Scenario, plan: DeploymentPlan, catalog: Catalog | None) -> ServedDeployment:
    mspec, hspec = lookup_specs(plan.system, plan.model, catalog)
    ranks = plan.tp if plan.attention_dp else 1
    dep = Deployment(tp=plan.tp, pp=plan.pp, ep=plan.ep, precision=plan.precision,
                     attention_dp=plan.attention_dp, max_batch=plan.max_batch * ranks,
                     max_num_tokens=plan.max_num_tokens * ranks)
    try:
        lin = parse_length(plan.workload.input_tokens, "input")
    except ServingInputError as exc:
        raise _Bad("workload.input_tokens", str(exc)) from None
    try:
        lout = parse_length(plan.workload.output_tokens, "output")
    except ServingInputError as exc:
        raise _Bad("workload.output_tokens", str(exc)) from None
    try:
        Workload(rate_per_s=plan.workload.rate_per_s, rate_profile=plan.workload.profile,
                 duration_s=max(scenario.run.duration_s, 1.0), input_len=lin, output_len=lout)._profile()
    except ServingInputError as exc:
        raise _Bad("workload.profile", str(exc)) from None
    wl = Workload(rate_per_s=plan.workload.rate_per_s, input_len=lin, output_len=lout)
    try:
        wl.check_context(mspec)
    except ServingInputError as exc:
        raise _Bad("workload", str(exc)) from None
    perf = PerfModel(mspec, hspec, dep)
    racks = scenario.factory.racks
    g = int(racks.num_gpus[plan.racks[0]])
    n = dep.num_gpus
    k = len(plan.racks)
    if g % n == 0:
        m = g // n
        reps = k * m
        pair_replica = np.arange(reps)
        pair_rack = np.repeat(plan.racks, m)
        weight = np.full(reps, 1.0 / m)
    elif n % g == 0 and k % (n // g) == 0:
        span = n // g
        reps = k // span
        pair_replica = np.repeat(np.arange(reps), span)
        pair_rack = np.asarray(plan.racks)
        weight = np.ones(k)
    else:
        raise _Bad("tp", f"a replica of TP{dep.tp} x PP{dep.pp} = {n} GPUs does not fill its racks of "
                   f"{g} GPUs ({k} racks, {k * g} GPUs) with whole replicas: choose a replica size "
                   f"that divides {g}, or a multiple of {g} that divides {k * g}")
    return ServedDeployment(plan, mspec, hspec, dep, perf, lin, lout, reps, pair_replica, pair_rack, weight)


def reference(prepared: Prepared) -> Prepared:
    """The same scenario without its events and policies (caps, smoothing).

    The baseline for ``tokens_lost``.
    """
    sc = prepared.scenario
    pol = dataclasses.replace(sc.policies, caps=(), smoothing=None)
    return dataclasses.replace(prepared, scenario=sc.replace(events=(), policies=pol))
