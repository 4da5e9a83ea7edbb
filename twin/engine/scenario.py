"""A scenario made ready to run: each deployment's serving model, replicas placed on racks, workload parsed.

:func:`load_scenario` reads the file (:func:`twin.layout.scenario.load_scenario_records`, which checks
everything the layout can tell) and then makes the checks only the serving model can: the model and
system exist, the deployment fits in GPU memory and in the NVLink domain, its GPUs are a whole
number of replicas placed rack by rack, request lengths and rate profiles are readable. Every
problem is reported with the scenario file's line, together, as :class:`~twin.errors.InputError`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin.errors import InputError, Problem, ServingInputError
from twin.layout.catalog_io import Catalog
from twin.layout.records import lookup_specs
from twin.layout.scenario import resolve_scenario
from twin.layout.yamlio import line_of, load_yaml
from twin.records import Deployment, HardwareSpec, ModelSpec
from twin.scenario import DeploymentPlan, Scenario
from twin.serving.fluid_queue import alike
from twin.serving.perf_model import PerfModel
from twin.serving.speculative import parse_speculative
from twin.serving.workload import LengthDist, Requests, Workload, parse_length, read_trace


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
    trace: Requests | None = None  # the workload's requests when it is a trace
    #: "both" (aggregated), or a disaggregated deployment's "prefill" / "decode" pool
    role: str = "both"
    #: a decode pool's prefill pool (index into Prepared.served): its completions are the arrivals here
    upstream: int | None = None
    #: index of its deployment in the scenario (a disaggregated deployment has two pools)
    plan_index: int = 0

    def rack_mean(self, per_replica: np.ndarray, num_racks: int) -> np.ndarray:
        """Per-rack mean of a per-replica quantity, weighted by GPUs (zero on racks it does not use)."""
        v = np.asarray(per_replica, dtype=float)
        if v.size and alike(v):  # every replica alike: the value times each rack's share
            return v[0] * self._rack_weight(num_racks)
        return np.bincount(self.pair_rack, weights=v[self.pair_replica] * self.pair_weight,
                           minlength=num_racks)

    def rack_tokens(self, per_replica: np.ndarray, num_racks: int) -> np.ndarray:
        """A per-replica count (tokens) split evenly over the racks each replica spans, summed per rack."""
        share = self.__dict__.get("_share")
        if share is None:
            share = 1.0 / np.bincount(self.pair_replica)[self.pair_replica]
            object.__setattr__(self, "_share", share)
        v = np.asarray(per_replica, dtype=float)
        if v.size and alike(v):  # alike replicas: the value times each rack's share of replicas
            w = self.__dict__.get("_token_weight")
            if w is None or len(w) != num_racks:
                w = np.bincount(self.pair_rack, weights=share, minlength=num_racks)
                object.__setattr__(self, "_token_weight", w)
            return v[0] * w
        return np.bincount(self.pair_rack, weights=v[self.pair_replica] * share, minlength=num_racks)

    def _rack_weight(self, num_racks: int) -> np.ndarray:
        w = self.__dict__.get("_weight")
        if w is None or len(w) != num_racks:
            w = np.bincount(self.pair_rack, weights=self.pair_weight, minlength=num_racks)
            object.__setattr__(self, "_weight", w)
        return w

    def replica_min(self, per_rack: np.ndarray) -> np.ndarray:
        """Per-replica minimum of a per-rack quantity over the racks it spans.

        A replica runs at its slowest.
        """
        v = np.asarray(per_rack, dtype=float)
        on = v[self.pair_rack]
        if alike(on):  # every rack of the deployment alike (the common case)
            return np.broadcast_to(on[:1], (self.num_replicas,))
        out = np.full(self.num_replicas, np.inf)
        np.minimum.at(out, self.pair_replica, on)
        return out


@dataclass(frozen=True)
class Prepared:
    """A scenario and its served deployments, ready for :func:`twin.engine.coupled.simulate`."""

    scenario: Scenario
    served: tuple[ServedDeployment, ...]
    catalog: Catalog


def load_scenario(path: str | Path, layout: str | Path | None = None) -> Prepared:
    """Read, check and prepare a scenario file (see the module notes).

    ``layout`` resolves the scenario against another layout file than the one it names (its rack
    selectors, components and names must exist there).

    Raises
    ------
    InputError
        Every problem found, with the scenario's file:line.
    """
    scenario, catalog, problems = resolve_scenario(path, layout)
    try:
        prepared = prepare(scenario, catalog)
    except InputError as exc:
        problems = [*problems, *exc.problems]
    if problems:
        # the scenario file's problems top to bottom, then those of the files it names
        raise InputError(sorted(problems, key=lambda p: (p.file != scenario.source_file, p.line or 0)))
    return prepared


def prepare(scenario: Scenario, catalog: Catalog | None = None) -> Prepared:
    """Serving models and replica placement of every deployment of ``scenario``.

    Raises InputError listing problems.
    """
    problems: list[Problem] = []
    served = []
    lines = _Lines()
    for i, plan in enumerate(scenario.deployments):
        where = plan.where
        file, line = (where.file, where.line) if where else (scenario.source_file, None)
        base = where.field if where else f"deployments[{i}]"
        for pool, role, prefix in _pools(plan):
            def add(field: str, message: str, line=line, base=base, file=file, prefix=prefix) -> None:
                path = ".".join(x for x in (base, prefix if field not in _SHARED else "", field) if x)
                problems.append(Problem(file, lines.of(file, path) or line, path, message))

            try:
                sd = _serve(scenario, pool, catalog)
            except _Bad as exc:
                add(exc.field, exc.message)
                continue
            except ServingInputError as exc:
                for field, message in _split(exc):
                    add(field, message)
                continue
            sd = dataclasses.replace(sd, plan_index=i)
            if role == "decode":
                if sd.output_len.mean <= 1.0:
                    add("workload.output_tokens", "a disaggregated deployment's decode pool serves the "
                        "tokens after the first: its requests need more than one output token on average")
                    continue
                sd = dataclasses.replace(sd, role=role, upstream=len(served) - 1)
            elif role == "prefill":
                sd = dataclasses.replace(sd, role=role)
            served.append(sd)
    if problems:
        raise InputError(problems)
    return Prepared(scenario, tuple(served), catalog)


#: Fields of a deployment that its prefill pool shares (a problem with them is the deployment's).
_SHARED = ("model", "precision", "workload", "workload.input_tokens", "workload.output_tokens",
           "workload.trace", "workload.profile", "")


def _pools(plan: DeploymentPlan) -> list[tuple[DeploymentPlan, str, str]]:
    """(plan, role, field prefix) of each pool a deployment runs: itself, or its prefill and decode pools.

    The prefill pool serves every request to its first token (output length 1) on its own racks
    and shape; the decode pool, the deployment's racks and shape, serves the rest.
    """
    pf = plan.prefill
    if pf is None:
        return [(plan, "both", "")]
    wl = dataclasses.replace(plan.workload, output_tokens="1")
    pre = dataclasses.replace(plan, name=f"{plan.name}/prefill", racks=pf.racks, system=pf.system, tp=pf.tp,
                              pp=pf.pp, ep=pf.ep, attention_dp=pf.attention_dp, max_batch=pf.max_batch,
                              max_num_tokens=pf.max_num_tokens, workload=wl, slo_tpot_s=None, prefill=None,
                              speculative=None)
    dec = dataclasses.replace(plan, name=f"{plan.name}/decode", slo_ttft_s=None, prefill=None)
    return [(pre, "prefill", "prefill"), (dec, "decode", "")]


class _Lines:
    """Lines of fields of the scenario file, read again only when there is a problem to place."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def of(self, file: str, path: str) -> int | None:
        if file not in self.data:
            try:
                self.data[file] = load_yaml(Path(file))
            except InputError:
                self.data[file] = None
        loc = [int(x) if x.isdigit() else x for x in re.findall(r"[^.\[\]]+", path)]
        return line_of(self.data[file], loc) if self.data[file] is not None else None


#: The deployment field each of the serving model's parallelism complaints is about, by how it starts.
_COMPLAINTS = (("TP=", "tp"), ("wide EP", "tp"), ("PP=", "pp"), ("EP=", "ep"),
               ("unknown precision", "precision"), ("max batch", "max_batch"),
               ("attention-DP", "attention_dp"))


def _split(exc: ServingInputError) -> list[tuple[str, str]]:
    """(field, message) of each complaint in ``exc`` (the serving model joins several with '; ')."""
    if exc.field:
        return [(_field_of(exc), str(exc).replace("`deployment.", "`"))]
    starts = "|".join(re.escape(k) for k, _ in _COMPLAINTS) + r"|\S+ is not published at "
    out = []
    for part in re.split(rf"; (?={starts})", str(exc)):
        field = next((f for k, f in _COMPLAINTS if part.startswith(k)),
                     "precision" if " is not published at " in part else "")
        out.append((field, part.replace("`deployment.", "`")))  # the scenario's keys are 'tp', 'pp'
    return out


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _field_of(exc: ServingInputError) -> str:
    f = exc.field or ""
    return {"system": "racks", "model": "model", "gpus": "tp"}.get(f, f.removeprefix("deployment.")
                                                                   .replace("workload.", "workload."))


def deployment_of(shape, catalog: Catalog | None) -> Deployment:
    """The :class:`Deployment` of a replica shape on its system (a scenario's deployment, a grid site).

    ``shape`` has ``system``, ``tp``, ``pp``, ``ep``, ``precision``, ``attention_dp``, ``max_batch``,
    ``max_num_tokens`` (per attention-DP rank with ``attention_dp``: the replica takes ``tp`` times
    each, TensorRT-LLM's meaning) and ``speculative`` (the ``--speculative`` syntax, its draft model
    looked up in the catalog). Raises :class:`ServingInputError` (field ``speculative``) for a bad
    speculation; the deployment itself is checked by :class:`PerfModel`.
    """
    ranks = shape.tp if shape.attention_dp else 1
    spec = None
    if shape.speculative:
        spec = parse_speculative(shape.speculative, lambda name: lookup_specs(shape.system, name, catalog)[0])
    return Deployment(tp=shape.tp, pp=shape.pp, ep=shape.ep, precision=shape.precision,
                      attention_dp=shape.attention_dp, max_batch=shape.max_batch * ranks,
                      max_num_tokens=shape.max_num_tokens * ranks, speculative=spec)


def _serve(scenario: Scenario, plan: DeploymentPlan, catalog: Catalog | None) -> ServedDeployment:
    mspec, hspec = lookup_specs(plan.system, plan.model, catalog)
    try:
        dep = deployment_of(plan, catalog)
    except ServingInputError as exc:
        raise _Bad("speculative", str(exc)) from None
    try:
        lin = parse_length(plan.workload.input_tokens, "input")
    except ServingInputError as exc:
        raise _Bad("workload.input_tokens", str(exc)) from None
    try:
        lout = parse_length(plan.workload.output_tokens, "output")
    except ServingInputError as exc:
        raise _Bad("workload.output_tokens", str(exc)) from None
    trace = None
    if plan.workload.trace is not None:
        try:
            trace = read_trace(plan.workload.trace)
            trace.check_context(mspec)
        except ServingInputError as exc:
            raise _Bad("workload.trace", str(exc)) from None
        if not len(trace) or float(trace.arrival_s.min()) >= scenario.run.duration_s:
            raise _Bad("workload.trace", f"no request of {plan.workload.trace} arrives within the run "
                       f"(0 to {scenario.run.duration_s:g} s)")
    else:
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
        word = "racks" if k > 1 else "rack"
        raise _Bad("tp", f"a replica of TP{dep.tp} x PP{dep.pp} = {n} GPUs does not fill its {word} of "
                   f"{g} GPUs ({k} {word}, {k * g} GPUs) with whole replicas: choose a replica size "
                   f"that divides {g}"
                   + (f", or a multiple of {g} that divides {k * g}" if k > 1 else ""))
    return ServedDeployment(plan, mspec, hspec, dep, perf, lin, lout, reps, pair_replica, pair_rack, weight,
                            trace)


def has_extras(scenario: Scenario) -> bool:
    """Whether a scenario has events or policies (caps, smoothing, rack storage) to measure against."""
    pol = scenario.policies
    return bool(scenario.events or pol.caps or pol.smoothing or pol.storage)


def reference(prepared: Prepared) -> Prepared:
    """The same scenario without its events and policies (caps, smoothing, rack storage).

    The baseline for ``tokens_lost``.
    """
    sc = prepared.scenario
    pol = dataclasses.replace(sc.policies, caps=(), smoothing=None, storage=None)
    return dataclasses.replace(prepared, scenario=sc.replace(events=(), policies=pol))
