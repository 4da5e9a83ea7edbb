"""Wall power of one server under inference (twin.engine.server_power), checked by hand.

The parts are recomputed here from the catalog figures and the returned activity shares with the
equations written out (not through twin.power), the PSU loss from the efficiency points.
"""

from __future__ import annotations

from functools import cache

import pytest

from twin.engine.server_power import server_wall_power
from twin.errors import ArgumentError, ServingInputError
from twin.layout.catalog_io import load_catalog
from twin.power.parts import HOST_CPU_LOAD_SERVING, MEMORY_BOUND_POWER

#: Llama-3.1-8B FP8 on one H100 per replica, 1,000-token prompts, 200-token outputs
SETUP = {"tp": 1, "precision": "fp8", "input_tokens": 1000, "output_tokens": 200}


@cache
def _cat():
    return load_catalog()


@cache
def _offline(limit: float | None = None) -> dict:
    return server_wall_power("hgx-h100", "llama-3.1-8b", offline=True, gpu_power_limit_w=limit,
                             catalog=_cat(), **SETUP)


def _psu_loss_per_unit(x: float) -> float:
    """Loss per unit rating of the 3.3 kW Titanium PSU, by hand from its four efficiency points."""
    pts = [(0.1, 0.90), (0.2, 0.94), (0.5, 0.96), (1.0, 0.91)]
    ls = [(f, f * (1.0 / e - 1.0)) for f, e in pts]
    for (x0, l0), (x1, l1) in zip(ls, ls[1:], strict=False):
        if x0 <= x <= x1:
            return l0 + (l1 - l0) * (x - x0) / (x1 - x0)
    raise AssertionError(f"load fraction {x} outside the test's range")


def test_parts_add_up_by_hand():
    out = _offline()
    e = _cat().entries["hgx-h100"]
    idle, tdp = e.gpu.idle_power.si, e.gpu.tdp.si
    a = out["activity"]
    # the busy time that is not compute-bound (memory-bound kernels, collectives, launch overhead)
    # is priced at memory-bound power, as in the coupled engine: a_m = busy - a_c, nothing left over
    a_c = a["compute"]
    a_m = a["busy"] - a_c
    assert 0.0 < a_c < a["busy"] <= 1.0
    assert a["memory"] == pytest.approx(a_m, rel=1e-12)
    assert a["other"] == 0.0
    # GPU: P = P_idle + (P_TDP - P_idle) min(1, a_c + beta a_m) c^3 at full clock
    gpu = idle + (tdp - idle) * min(1.0, a_c + MEMORY_BOUND_POWER * a_m)
    assert out["clock_factor"] == 1.0
    assert out["gpu_w"] == pytest.approx(gpu, rel=1e-12)
    # CPUs linear in load; fixed parts linear in the node's dynamic share x
    cpu = e.cpu.idle_power.si + (e.cpu.tdp.si - e.cpu.idle_power.si) * HOST_CPU_LOAD_SERVING
    x = (8 * (gpu - idle) + 2 * (cpu - e.cpu.idle_power.si)) / (
        8 * (tdp - idle) + 2 * (e.cpu.tdp.si - e.cpu.idle_power.si))
    f_idle = sum(c.count.si * c.idle_power.si for c in e.components)
    f_max = sum(c.count.si * c.power.si for c in e.components)
    fixed = f_idle + (f_max - f_idle) * x
    it = 8 * gpu + 2 * cpu + fixed
    assert out["cpu_w"] == pytest.approx(cpu)
    assert out["fixed_w"] == pytest.approx(fixed)
    assert out["fixed_share"] == pytest.approx(x)
    assert out["it_w"] == pytest.approx(it)
    # six 3.3 kW PSUs share the DC load equally
    load = it / (6 * 3300.0)
    assert out["psu_load_fraction"] == pytest.approx(load)
    assert out["wall_w"] == pytest.approx(it + 6 * 3300.0 * _psu_loss_per_unit(load))


def test_power_limit_lowers_the_clock_to_meet_it():
    free = _offline()
    demand = free["gpu_w"]
    capped = _offline(limit=round(0.8 * demand))
    assert capped["limit_met"]
    assert capped["clock_factor"] < 1.0
    assert capped["gpu_w"] <= capped["gpu_power_limit_w"] + 1e-9
    assert capped["gpu_w"] == pytest.approx(capped["gpu_power_limit_w"], abs=0.01)
    assert capped["gpu_demand_w_full_clock"] == pytest.approx(demand)
    # the lower clock slows compute-bound work: fewer tokens, a larger compute-bound share
    assert capped["serving"]["output_tokens_per_s"] < free["serving"]["output_tokens_per_s"]
    assert capped["activity"]["compute"] > free["activity"]["compute"]
    assert capped["wall_w"] < free["wall_w"]
    # a limit above the demand changes nothing
    loose = _offline(limit=demand + 50.0)
    assert loose["clock_factor"] == 1.0
    assert loose["wall_w"] == pytest.approx(free["wall_w"])


def test_unreachable_limit_runs_at_the_lowest_clock_and_says_so():
    out = _offline(limit=_cat().entries["hgx-h100"].gpu.idle_power.si + 1.0)
    assert not out["limit_met"]
    assert out["clock_factor"] == pytest.approx(_cat().entries["hgx-h100"].gpu.min_clock_factor.si)
    assert out["gpu_w"] > out["gpu_power_limit_w"]


def test_gpus_outside_a_replica_idle():
    # PP3 on 8 GPUs: two replicas on six GPUs, two GPUs idle
    out = server_wall_power("hgx-b200", "llama-3.1-405b", tp=1, pp=3, precision="fp4", rate=0.5,
                            input_tokens=1000, output_tokens=200, catalog=_cat())
    assert out["num_gpus_serving"] == 6
    assert out["serving"]["replicas"] == 2
    assert out["gpus_w"] == pytest.approx(6 * out["gpu_w"] + 2 * out["gpu_idle_w"])


def test_server_rate_below_capacity_is_served_and_draws_less_than_offline():
    srv = server_wall_power("hgx-h100", "llama-3.1-8b", rate=8 * 2.0, catalog=_cat(), **SETUP)
    assert srv["serving"]["saturated_replicas"] == 0
    assert srv["serving"]["output_tokens_per_s"] == pytest.approx(8 * 2.0 * 200, rel=0.02)
    assert srv["wall_w"] < _offline()["wall_w"]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"system": "gb200-nvl72"}, "system"),
    ({"rate": 1.0}, "rate"),                        # with offline=True: both given
    ({"offline": False}, "rate"),                   # neither given
    ({"gpu_power_limit_w": 10.0}, "gpu_power_limit_w"),
    ({"cpu_load": 1.5}, "cpu_load"),
])
def test_bad_arguments_name_their_field(kwargs, field):
    base = {"system": "hgx-h100", "model": "llama-3.1-8b", "offline": True, "catalog": _cat()}
    args = base | SETUP | kwargs
    with pytest.raises(ArgumentError) as err:
        server_wall_power(**args)
    assert err.value.field == field


def test_unknown_names_are_serving_input_errors():
    with pytest.raises(ServingInputError):
        server_wall_power("hgx-h100", "no-such-model", offline=True, catalog=_cat(), **SETUP)
