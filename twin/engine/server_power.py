"""Wall power of one 8-GPU server while it serves an LLM, by catalog names.

The serving model (fluid mode, :func:`twin.serving.fluid.fluid_point`) gives each GPU's share of time
in compute-bound kernels and in the rest of its busy time (memory-bound kernels, collectives, launch
overhead: priced at memory-bound power, as in the coupled engine) for the workload; the per-part law of
:mod:`twin.power.parts` turns those shares, the clock and the host load into the server's DC power;
the catalog PSU curve (:mod:`twin.power.losses`) gives the AC input, the figure an MLPerf Power
analyser measures at the server's cords::

    from twin.engine.server_power import server_wall_power
    out = server_wall_power("hgx-h200", "llama-2-70b", tp=1, precision="fp8", max_batch=806,
                            input_tokens="lognormal:294,294,1024", output_tokens="lognormal:287,250,1024",
                            offline=True, gpu_power_limit_w=500)
    out["wall_w"], out["gpu_w"], out["clock_factor"]

Nothing here is fitted to a measurement: every figure comes from the catalog entry of the system
(GPU TDP and idle power, CPUs, the node's components, its PSUs), the model and deployment, and the
constants of :mod:`twin.power.parts` (``MEMORY_BOUND_POWER``, ``HOST_CPU_LOAD_SERVING``) and
:mod:`twin.power.gpu` (the cubic clock law). tests/validation/test_power_mlperf.py compares the result
with MLPerf Power measurements (docs/validation.md, "System power under inference").
"""

from __future__ import annotations

import numpy as np

from twin.errors import ArgumentError
from twin.factory import LossModel
from twin.layout.catalog_io import Catalog, load_catalog
from twin.layout.records import lookup_specs
from twin.power.gpu import cpu_power_w
from twin.power.losses import LossCurves
from twin.power.parts import (
    HOST_CPU_LOAD_SERVING,
    MEMORY_BOUND_POWER,
    gpu_activity_power_w,
    rack_parts_power_w,
)
from twin.power.rack import shelf_input_w
from twin.records import Deployment
from twin.serving.api import num_replicas
from twin.serving.fluid import FluidResult, fluid_point
from twin.serving.perf_model import PerfModel
from twin.serving.workload import LengthDist, Workload, parse_length

__all__ = ["server_wall_power"]

#: bisection steps on the clock factor under a GPU power limit (2^-30 of the clock range)
_CLOCK_ITERATIONS = 30


def server_wall_power(
    system: str,
    model: str,
    *,
    input_tokens: str | int | LengthDist = 2048,
    output_tokens: str | int | LengthDist = 256,
    rate: float | None = None,
    offline: bool = False,
    num_requests: int = 24576,
    duration_s: float = 600.0,
    gpu_power_limit_w: float | None = None,
    cpu_load: float = HOST_CPU_LOAD_SERVING,
    memory_power: float = MEMORY_BOUND_POWER,
    backend: str = "auto",
    catalog: Catalog | None = None,
    **deployment,
) -> dict:
    """Predicted AC wall power of one server node of ``system`` serving ``model``, and its parts.

    Every GPU of the node runs a replica of the deployment (``gpus_per_node // (tp * pp)``
    replicas, the requests spread evenly; GPUs left over idle). Per GPU, from the fluid serving
    model at clock factor ``c``:

    .. math::
        P_g = P_{idle} + (P_{TDP} - P_{idle}) \\, \\min(1, a_c + \\beta a_m) \\, c^{3}

    with ``a_c``, ``a_m`` the shares of time in compute- and memory-bound work
    (:func:`twin.power.parts.gpu_activity_power_w`, ``beta`` = ``memory_power``). Under a GPU power
    limit ``L`` the clock is the highest ``c`` in ``[c_min, 1]`` with ``P_g(c) <= L``, the shares
    recomputed at each ``c`` (a lower clock stretches compute-bound work as ``1/c``,
    :func:`twin.serving.perf_model.clock_scales`), found by bisection — the fixed point of the
    serving model and :func:`twin.power.capping.clock_factor_for_cap`. The node's DC power is
    :func:`twin.power.parts.rack_parts_power_w` for one node:

    .. math::
        P_{IT} = N_g \\bar P_g + N_c P_c(u_c) + P_{f,idle} + (P_{f,max} - P_{f,idle})\\,x

    (``x`` the node's share of its dynamic GPU and CPU range in use, ``u_c`` = ``cpu_load``), and
    the wall power is that plus the loss of the node's PSUs sharing it equally
    (:func:`twin.power.rack.shelf_input_w`): ``P_wall = P_IT + N_psu l(P_IT / (N_psu P_rated))``.

    Parameters
    ----------
    system, model : str
        Catalog names; ``system`` must be a server (``form_factor: server``: HGX/DGX-class).
    input_tokens, output_tokens : str, int or LengthDist
        Prompt and output lengths, as ``twin serve-sim`` takes them (``"lognormal:294,294,1024"``).
    rate : float, optional
        Poisson arrival rate over the whole node [requests/s] (MLPerf Server: the measured
        throughput over the mean output length). Give this or ``offline``.
    offline : bool
        Every request present at once (MLPerf Offline): the replicas run saturated.
    num_requests, duration_s : int, float
        Offline request count and Server arrival window; they set the latency figures of the
        serving result only, not the steady activity shares.
    gpu_power_limit_w : float, optional
        Per-GPU power limit (``nvidia-smi -pl``, MLPerf MaxQ ``power_limit``) [W]; None: TDP.
    cpu_load : float
        Host CPU load as a share of its dynamic range [-]; default
        :data:`twin.power.parts.HOST_CPU_LOAD_SERVING`.
    memory_power : float
        ``beta``; default :data:`twin.power.parts.MEMORY_BOUND_POWER`.
    backend : str
        Serving-model kernel backend (``auto``: the system's measured tables where it has them).
    catalog : Catalog, optional
        Default: the bundled catalog.
    **deployment
        Fields of :class:`twin.records.Deployment` (``tp``, ``pp``, ``ep``, ``precision``,
        ``max_batch``, ``max_num_tokens``, ``kv_mem_fraction``, ``scheduler``, ``elementwise``...);
        the limits are per replica, as in the record.

    Returns
    -------
    dict
        ``wall_w`` (AC input) [W], ``it_w`` (DC behind the PSUs), ``psu_loss_w``,
        ``psu_load_fraction``, ``gpu_w`` (one serving GPU), ``gpus_w`` (all GPUs), ``cpu_w`` (one
        CPU), ``cpus_w``, ``fixed_w`` (NICs, drives, memory, baseboard, fans), ``fixed_share`` (``x``),
        ``clock_factor``, ``gpu_demand_w_full_clock`` (a serving GPU at ``c = 1``), ``limit_met``,
        ``activity`` (``compute``, ``memory``, ``busy``, ``other``: shares at the clock used),
        ``serving`` (throughput and batch at that clock, and at full clock), the node's counts and
        the constants used.

    Raises
    ------
    ServingInputError
        Unknown names, a deployment that does not fit the node, a bad workload.
    ArgumentError
        A rack-scale system, neither or both of ``rate`` / ``offline``, a limit below idle power,
        ``cpu_load`` outside [0, 1].
    """
    cat = catalog or load_catalog()
    mspec, hspec = lookup_specs(system, model, cat)
    entry = cat.entries[system]
    if entry.form_factor != "server":
        raise ArgumentError(f"{system!r} is a {entry.form_factor}-scale system; server_wall_power models one "
                            "server node (form_factor: server)", field="system")
    if offline == (rate is not None):
        raise ArgumentError("give either `rate` (Poisson arrivals, requests/s over the node) or `offline`",
                            field="rate")
    if not 0.0 <= cpu_load <= 1.0:
        raise ArgumentError(f"`cpu_load` must be in [0, 1], got {cpu_load}", field="cpu_load")
    g, cpu = entry.gpu, entry.cpu
    gpu_idle, gpu_tdp, c_min = g.idle_power.si, g.tdp.si, g.min_clock_factor.si
    if gpu_power_limit_w is not None and not gpu_power_limit_w >= gpu_idle:
        raise ArgumentError(f"`gpu_power_limit_w` {gpu_power_limit_w} W is below the GPU's idle power "
                            f"{gpu_idle:g} W", field="gpu_power_limit_w")
    n_gpu, n_cpu = int(entry.gpus_per_node.si), int(entry.cpus_per_node.si)
    node_parts = [c for c in entry.components if c.per == "node"]
    fixed_max = sum(c.count.si * c.power.si for c in node_parts)
    fixed_idle = sum(c.count.si * (c.idle_power.si if c.idle_power is not None else c.power.si)
                     for c in node_parts)
    ps = entry.power_supply
    psu = cat.lookup("psu", ps.psu)
    n_psu = ps.shelves.si * ps.psus_per_shelf.si / (entry.nodes_per_rack.si if ps.scope == "rack" else 1.0)
    pts = psu.efficiency.points
    curves = LossCurves.from_models([LossModel(psu.name, psu.kind, psu.rating.si, tuple(p[0] for p in pts),
                                               tuple(p[1] for p in pts))])

    dep = Deployment(**deployment)
    perf = PerfModel(mspec, hspec, dep, backend=backend)
    replicas = num_replicas(n_gpu, dep)
    n_active = replicas * dep.num_gpus
    wl = Workload(rate_per_s=rate, input_len=_dist(input_tokens, "input"),
                  output_len=_dist(output_tokens, "output"), duration_s=duration_s,
                  num_requests=num_requests if offline else None, offline=offline)

    def run(c: float) -> tuple[FluidResult, float, float, float]:
        res = fluid_point(perf, wl, replicas, clock_factor=c)
        cv = res.curve
        # as the coupled engine does (twin.serving.fluid_queue): the busy time that is not
        # compute-bound (memory-bound kernels, collectives, launch overhead) at memory-bound power
        a_c = float(np.mean(cv.compute_fraction))
        a_m = float(np.mean(cv.busy_fraction)) - a_c
        p = float(gpu_activity_power_w(a_c, a_m, c, gpu_idle, gpu_tdp, memory_power=memory_power))
        return res, a_c, a_m, p

    full = run(1.0)
    clock, point, met = 1.0, full, True
    if gpu_power_limit_w is not None and full[3] > gpu_power_limit_w:
        low = run(c_min)
        if low[3] > gpu_power_limit_w:
            clock, point, met = c_min, low, False
        else:
            lo, hi, best = c_min, 1.0, low
            for _ in range(_CLOCK_ITERATIONS):
                mid = 0.5 * (lo + hi)
                trial = run(mid)
                if trial[3] <= gpu_power_limit_w:
                    lo, best = mid, trial
                else:
                    hi = mid
            clock, point = lo, best
    res, a_c, a_m, p_gpu = point
    # GPUs outside a whole replica idle; the law is linear in one GPU's power, so their mean is exact
    p_mean = (n_active * p_gpu + (n_gpu - n_active) * gpu_idle) / n_gpu
    it_w = float(rack_parts_power_w(p_mean, cpu_load, n_gpu, gpu_idle, gpu_tdp, n_cpu, cpu.idle_power.si,
                                    cpu.tdp.si, fixed_idle, fixed_max))
    p_cpu = float(cpu_power_w(cpu_load, cpu.idle_power.si, cpu.tdp.si))
    fixed_w = it_w - n_gpu * p_mean - n_cpu * p_cpu
    wall, frac = shelf_input_w(it_w, n_psu, psu.rating.si, 0, curves)
    wall = float(wall)
    busy = float(np.mean(res.curve.busy_fraction))
    return {
        "system": system, "model": model, "wall_w": wall, "it_w": it_w, "psu_loss_w": wall - it_w,
        "psu_load_fraction": float(frac), "num_psus": n_psu, "psu": psu.name,
        "gpu_w": p_gpu, "gpus_w": n_gpu * p_mean, "num_gpus": n_gpu, "num_gpus_serving": n_active,
        "cpu_w": p_cpu, "cpus_w": n_cpu * p_cpu, "num_cpus": n_cpu,
        "fixed_w": fixed_w, "fixed_idle_w": fixed_idle, "fixed_max_w": fixed_max,
        "fixed_share": (fixed_w - fixed_idle) / (fixed_max - fixed_idle) if fixed_max > fixed_idle else 0.0,
        "clock_factor": clock, "gpu_power_limit_w": gpu_power_limit_w, "limit_met": met,
        "gpu_demand_w_full_clock": full[3], "gpu_idle_w": gpu_idle, "gpu_tdp_w": gpu_tdp,
        "activity": {"compute": a_c, "memory": a_m, "busy": busy, "other": max(busy - a_c - a_m, 0.0)},
        "serving": {**_serving(res, n_active), "replicas": replicas,
                    "full_clock": _serving(full[0], n_active)},
        "constants": {"memory_power": memory_power, "cpu_load": cpu_load},
    }


def _serving(res: FluidResult, gpus: int) -> dict:
    d = res.to_dict(gpus)
    return {"output_tokens_per_s": d["output_tokens_per_s"], "output_tokens_per_s_per_gpu":
            d["output_tokens_per_s_per_gpu"], "saturated_replicas": d["saturated_replicas"],
            "mean_batch": d["mean_batch"], "tpot_s": d["tpot_s"]["mean"]}


def _dist(v: str | int | LengthDist, what: str) -> LengthDist:
    return v if isinstance(v, LengthDist) else parse_length(str(v), what)
