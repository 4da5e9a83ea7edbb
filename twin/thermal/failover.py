"""N-1 for cooling: fail each CDU, CDU pump, facility pump, dry cooler, chiller and CRAH once.

Each failure is simulated with the transient model from the healthy steady state, on the hall
loop it belongs to (hall loops do not exchange heat), for ``horizon_s`` or until temperatures
settle. A rack *throttles* when any of its GPUs passes its throttle temperature; the case reports
how many racks throttle and after how many seconds the first one does. Identical CDU groups (same
racks, heat and CDUs) and identical hall copies are simulated once and reported together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.thermal.plant import Failures, ThermalParams, select_loop
from twin.thermal.steady import Ambient, ThermalResult, room_side, solve_steady
from twin.thermal.transient import initial_state, step

#: Temperatures are taken as settled when no node moved more than this in one step. [K]
SETTLED_K = 1e-4

#: Every failure is simulated at least this long before it may count as settled. [s]
MIN_SIMULATED_S = 60.0


@dataclass(frozen=True)
class CoolingCase:
    """Outcome of one cooling failure."""

    failed: str
    kind: str
    survives: bool
    racks_throttled: int
    seconds_to_first_throttle: float | None
    peak_gpu_temp_c: float
    alike: int = 1  # identical components this case stands for
    #: electrical-room cases: the UPS and switchgear heat the room's CRAHs and chillers leave unmet [W]
    room_unmet_w: float = 0.0


def _signature(p: ThermalParams, loop: int, heat: np.ndarray, air: np.ndarray) -> tuple:
    lp = p.loops[loop]
    fields = tuple(v for k, v in vars(lp).items() if k != "name")
    return (
        repr(fields),
        round(float(heat[p.rack_loop == loop].sum())),
        int((p.rack_loop == loop).sum()),
        round(float(air[loop])),
    )


def _simulate(
    p: ThermalParams,
    heat: np.ndarray,
    gpu_w: np.ndarray,
    amb: Ambient,
    f: Failures,
    base: ThermalResult,
    horizon_s: float,
    dt_s: float,
    air_w: np.ndarray | None = None,
) -> tuple[np.ndarray, float | None, float]:
    """Throttled mask per rack, first throttle time, peak junction temperature."""
    state = initial_state(p, base)
    throttled = np.zeros(len(heat), dtype=bool)
    first = None
    peak = float(np.nanmax(base.gpu_temp_c)) if np.isfinite(base.gpu_temp_c).any() else float("nan")
    prev = state
    t = 0.0
    while t < horizon_s:
        state, out = step(p, state, heat, amb, dt_s, gpu_power_w=gpu_w, failures=f, loop_air_heat_w=air_w)
        t += dt_s
        over = out.throttle_margin_k < 0
        if over.any() and first is None:
            first = t
        throttled |= over
        peak = max(peak, float(np.nanmax(out.gpu_temp_c)))
        if throttled[np.isfinite(p.gpu_throttle_c)].all():
            break  # every rack throttles; past this point the GPUs would slow (not modelled here)
        moved = max(
            float(np.nanmax(np.abs(a - b), initial=0.0))
            for a, b in (
                (state.gpu_c, prev.gpu_c),
                (state.rack_c, prev.rack_c),
                (state.group_c, prev.group_c),
                (state.fw_c, prev.fw_c),
            )
        )
        if t >= MIN_SIMULATED_S and moved < SETTLED_K:
            break
        prev = state
    # a failure with no steady state (lost flow) keeps heating past the horizon
    after = solve_steady(p, heat, gpu_w, amb, f, air_w)
    throttled |= ~(after.throttle_margin_k >= 0) & np.isfinite(p.gpu_throttle_c)
    return throttled, first, peak


def cooling_n_minus_1(
    p: ThermalParams,
    rack_heat_w: np.ndarray,
    gpu_power_w: np.ndarray,
    ambient: Ambient,
    *,
    horizon_s: float = 900.0,
    dt_s: float = 2.0,
    progress: Callable[[int, int], None] | None = None,
    loop_air_heat_w: np.ndarray | None = None,
    room_heat_w: np.ndarray | None = None,
) -> list[CoolingCase]:
    """Every single cooling failure, with racks throttled and seconds to the first throttle.

    ``loop_air_heat_w`` is heat into each hall's air outside the racks (network racks, the chain's
    losses there). [W] ``room_heat_w`` is the power chain's losses in each hall's electrical room: a
    failed room CRAH or chiller survives when the rest still carry them (steady; GPUs are not
    affected, so no transient is simulated). [W]
    """
    air = np.zeros(p.num_loops) if loop_air_heat_w is None else np.asarray(loop_air_heat_w, dtype=float)
    heat = np.asarray(rack_heat_w, dtype=float)
    gpu = np.broadcast_to(np.asarray(gpu_power_w, dtype=float), heat.shape)
    plan: list[tuple[int, str, str, dict, int]] = []  # (loop, name, kind, failures on the loop, alike)
    seen_loops: dict[tuple, int] = {}
    loop_alike: dict[int, int] = {}
    for lidx in range(len(p.loops)):
        sig = _signature(p, lidx, heat, air)
        if sig in seen_loops:
            loop_alike[seen_loops[sig]] += 1
            continue
        seen_loops[sig] = lidx
        loop_alike[lidx] = 1
    for lidx in loop_alike:
        lp = p.loops[lidx]
        groups = np.flatnonzero(p.group_loop == lidx)
        gsig: dict[tuple, list[int]] = {}
        for g in groups:
            members = p.rack_group == g
            key = (int(members.sum()), round(float(heat[members].sum())), int(p.group_cdus[g]))
            gsig.setdefault(key, []).append(int(g))
        for gs in gsig.values():
            g0 = gs[0]
            local = int(np.flatnonzero(groups == g0)[0])
            label = str(p.group_name[g0]) + (f" (and {len(gs) - 1} alike)" if len(gs) > 1 else "")
            plan.append((lidx, f"one CDU of {label}", "cdu", {"cdus": local}, len(gs)))
            plan.append((lidx, f"one pump in a CDU of {label}", "cdu_pump", {"cdu_pumps": local}, len(gs)))
        for key, kind, what, count in [
            ("fw_pumps", "facility_pump", "facility-water pump", lp.num_pumps),
            ("rejection_units", lp.rejection.kind, lp.rejection.kind.replace("_", " "), lp.num_rejection),
            ("trim_chillers", "trim_chiller", "trim chiller", lp.num_trim_chillers),
            ("crahs", "crah", "CRAH", lp.num_crahs),
            ("air_chillers", "air_chiller", "air-side chiller", lp.num_air_chillers),
        ]:
            if count > 0:
                plan.append((lidx, f"one {what} of {lp.name}", kind, {key: 0}, 1))
    cases: list[CoolingCase] = []
    sub_cache: dict[int, tuple] = {}
    for i, (lidx, name, kind, fail, alike) in enumerate(plan):
        if lidx not in sub_cache:
            sp, racks, _ = select_loop(p, lidx)
            base = solve_steady(sp, heat[racks], gpu[racks], ambient, None, air[[lidx]])
            sub_cache[lidx] = (sp, racks, base)
        sp, racks, base = sub_cache[lidx]
        f0 = Failures.none(sp)
        arrays = {}
        for key, idx in fail.items():
            arr = getattr(f0, key).copy()
            arr[idx] += 1
            arrays[key] = arr
        f = f0.with_(**arrays)
        if not np.isfinite(base.gpu_temp_c[np.isfinite(sp.gpu_throttle_c)]).all():
            throttled, first, peak = np.ones(len(racks), bool), 0.0, float("inf")
        else:
            throttled, first, peak = _simulate(
                sp, heat[racks], gpu[racks], ambient, f, base, horizon_s, dt_s, air[[lidx]]
            )
        n_thr = int(throttled.sum()) * loop_alike[lidx]
        if loop_alike[lidx] > 1:
            name += f" [and the same in {loop_alike[lidx] - 1} identical halls]"
        cases.append(CoolingCase(name, kind, n_thr == 0, n_thr, first, peak, alike * loop_alike[lidx]))
        if progress is not None:
            progress(i + 1, len(plan))
    cases += _room_cases(p, ambient, room_heat_w, loop_alike)
    return cases


def _room_cases(p: ThermalParams, ambient: Ambient, room_heat_w,
                loop_alike: dict[int, int]) -> list[CoolingCase]:
    """One electrical-room CRAH, and one room chiller, of each hall out: is the room's heat still removed?"""
    if room_heat_w is None:
        return []
    q = np.asarray(room_heat_w, dtype=float)
    out = []
    for lidx, alike in loop_alike.items():
        room = p.loops[lidx].room
        if room is None:
            continue
        for key, kind, what, count in (("room_crahs", "room_crah", "electrical-room CRAH", room.num_crahs),
                                       ("room_chillers", "room_chiller", "electrical-room chiller",
                                        room.num_chillers)):
            if count == 0:
                continue
            f0 = Failures.none(p)
            arr = getattr(f0, key).copy()
            arr[lidx] += 1
            unmet = float(room_side(p, q, ambient, f0.with_(**{key: arr})).unmet_w[lidx])
            name = f"one {what} of {p.loops[lidx].name}"
            if alike > 1:
                name += f" [and the same in {alike - 1} identical halls]"
            out.append(CoolingCase(name, kind, unmet <= 0.0, 0, None, float("nan"), alike, unmet))
    return out


#: Ambient dry bulbs :func:`max_ambient_c` searches between by default. [°C]
MAX_AMBIENT_SEARCH_C = (-20.0, 60.0)


def max_ambient_c(
    p: ThermalParams,
    rack_heat_w: np.ndarray,
    gpu_power_w: np.ndarray,
    relative_humidity: float,
    low_c: float = MAX_AMBIENT_SEARCH_C[0],
    high_c: float = MAX_AMBIENT_SEARCH_C[1],
    tol_k: float = 0.05,
    loop_air_heat_w: np.ndarray | None = None,
) -> float | None:
    """Highest ambient dry bulb (at the design humidity) at which no GPU reaches throttle. [°C]

    Bisection: a hotter ambient never cools a GPU (tested), so the feasible set is an interval.
    Returns None when even ``low_c`` throttles, and ``high_c`` when ``high_c`` does not.
    """

    def ok(t: float) -> bool:
        r = solve_steady(p, rack_heat_w, gpu_power_w, Ambient(t, relative_humidity), None, loop_air_heat_w)
        m = r.throttle_margin_k[np.isfinite(p.gpu_throttle_c) & (p.rack_loop >= 0)]
        return bool(np.all(m >= 0))

    if not ok(low_c):
        return None
    if ok(high_c):
        return high_c
    lo, hi = low_c, high_c
    while hi - lo > tol_k:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo
