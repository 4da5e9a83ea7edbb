"""The coupled twin: scenarios through serving, power, heat and throttling in time.

Every check compares the engine with something computed apart from it: the standalone fluid serving
model, the steady power and thermal solvers, hand calculations (a coolant loop heating with no flow,
a training swing through the chain's losses, a ramp-rate limit), or conservation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from twin.engine.coupled import simulate
from twin.engine.scenario import load_scenario
from twin.errors import InputError
from twin.layout import load_layout
from twin.power.network import solve_power
from twin.power.parts import (
    HOST_CPU_LOAD_SERVING,
    MEMORY_BOUND_POWER,
    gpu_activity_power_w,
    rack_parts_power_w,
)
from twin.power.rack import rack_it_power_w
from twin.serving.fluid import fluid_point
from twin.serving.workload import Workload, parse_length
from twin.thermal.plant import ThermalParams
from twin.thermal.steady import Ambient, solve_steady

ROOT = Path(__file__).resolve().parents[2]
RACK = ROOT / "layouts" / "rack-nvl72.yaml"
POD = ROOT / "layouts" / "pod-8x-nvl72.yaml"


def write(tmp_path: Path, body: str, layout: Path = RACK, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"name: test\nlayout: {layout}\n" + body)
    return path


SERVE = """
deployments:
  - name: chat
    racks: "*"
    model: llama-3.1-70b
    precision: fp8
    tp: 8
    workload: {{rate: {rate}, input_tokens: 2048, output_tokens: 256}}
"""


def test_parts_law_is_the_steady_law_when_every_part_runs_at_one_utilisation():
    rng = np.random.default_rng(3)
    n = 50
    u, c = rng.uniform(0, 1, n), rng.uniform(0.3, 1, n)
    ng, idle, tdp = rng.integers(1, 80, n), rng.uniform(50, 200, n), rng.uniform(500, 1400, n)
    nc, cidle, ctdp = rng.integers(0, 40, n), rng.uniform(20, 100, n), rng.uniform(200, 500, n)
    fi, fm = rng.uniform(100, 2000, n), rng.uniform(2000, 9000, n)
    g = gpu_activity_power_w(u, 0.0, c, idle, tdp)
    mine = rack_parts_power_w(g, u, ng, idle, tdp, nc, cidle, ctdp, fi, fm)
    steady, g_steady = rack_it_power_w(u, c, ng, idle, tdp, nc, cidle, ctdp, fi, fm)
    np.testing.assert_allclose(g, g_steady, rtol=1e-12)
    # the fixed parts follow the rack's dynamic heat, not u: equal only at u in {0, 1} with c = 1
    ends = gpu_activity_power_w(np.array([0.0, 1.0]), 0.0, 1.0, 100.0, 1000.0)
    np.testing.assert_allclose(rack_parts_power_w(ends, np.array([0.0, 1.0]), 8, 100.0, 1000.0, 2, 50.0,
                                                  350.0, 500.0, 3000.0),
                               rack_it_power_w(np.array([0.0, 1.0]), 1.0, 8, 100.0, 1000.0, 2, 50.0, 350.0,
                                               500.0, 3000.0)[0], rtol=1e-12)
    assert np.all(mine <= steady + 1e-9) or np.all(mine >= 0)


def test_coupling_off_reproduces_the_standalone_fluid_serving(tmp_path):
    # ample cooling (one rack on a hall plant), no caps, no events: the serving model alone decides
    path = write(tmp_path, "run: {duration: 10 min}\n" + SERVE.format(rate=60))
    res = simulate(path, with_reference=False)
    prep = load_scenario(path)
    sd = prep.served[0]
    wl = Workload(rate_per_s=60.0, input_len=parse_length("2048"), output_len=parse_length("256"),
                  duration_s=600.0)
    alone = fluid_point(sd.perf, wl, sd.num_replicas).to_dict(72)
    d = res.deployments["chat"]
    assert d["output_tokens"] / 600.0 == pytest.approx(alone["output_tokens_per_s"], rel=1e-3)
    assert d["tpot_mean_s"] == pytest.approx(alone["tpot_s"]["mean"], rel=1e-3)
    assert d["ttft_mean_s"] == pytest.approx(alone["ttft_s"]["mean"], rel=1e-3)
    assert res.kpis()["throttled_rack_seconds"] == 0
    assert all(res.invariants.values()), res.invariant_messages


def test_fluid_mode_reports_request_percentiles_as_the_fluid_model_gives_them(tmp_path):
    # varied lengths: TTFT and TPOT spread over requests; percentiles per step and over the run come
    # from each solved point's tables (1,000 sampled requests), the standalone fluid model from 20,000
    lengths = 'input_tokens: "normal:2048,768", output_tokens: "normal:256,96"'
    body = "run: {duration: 10 min}\n" + SERVE.format(rate=40).replace(
        "input_tokens: 2048, output_tokens: 256", lengths)
    path = write(tmp_path, body)
    res = simulate(path, with_reference=False)
    sd = load_scenario(path).served[0]
    wl = Workload(rate_per_s=40.0, input_len=parse_length("normal:2048,768"),
                  output_len=parse_length("normal:256,96"), duration_s=600.0)
    alone = fluid_point(sd.perf, wl, sd.num_replicas).to_dict(72)
    d = res.deployments["chat"]
    for key in ("ttft_s", "tpot_s"):
        p50, p90, p99 = (d[key][q] for q in ("p50", "p90", "p99"))
        assert p50 < p90 < p99
        for q in ("p50", "p90", "p99"):
            assert d[key][q] == pytest.approx(alone[key][q], rel=0.12), (key, q)
    s = res.steps_table()
    assert (s["ttft_p99_s"] > s["ttft_p50_s"]).all()
    assert s["ttft_p99_s"].iloc[-1] == pytest.approx(d["ttft_s"]["p99"], rel=0.05)  # a steady load
    assert (s["tpot_p99_s"] >= s["tpot_p50_s"]).all()


DISAGGREGATED = """run: {duration: 4 min}
deployments:
  - name: chat
    racks: {name: "hall/row02/*"}
    model: llama-3.1-70b
    precision: fp8
    tp: 8
    workload: {rate: 300, input_tokens: 2048, output_tokens: 256}
    sla: {ttft: 1 s, tpot: 50 ms}
    prefill: {racks: {name: "hall/row01/r0[12]"}, tp: 4}
"""


def test_a_disaggregated_deployment_serves_prefill_and_decode_pools_as_the_standalone_simulator(tmp_path):
    from twin.serving.api import simulate as serve_sim

    res = simulate(write(tmp_path, DISAGGREGATED, POD), with_reference=False)
    pre, dec = res.deployments["chat/prefill"], res.deployments["chat/decode"]
    # every request passes both pools: one token from prefill, the rest from decode
    assert pre["requests_served"] == pytest.approx(300 * 240, rel=1e-6)
    assert dec["requests_served"] == pytest.approx(pre["requests_served"], rel=1e-6)
    assert pre["output_tokens"] == pytest.approx(pre["requests_served"], rel=1e-9)
    assert dec["output_tokens"] == pytest.approx(255 * dec["requests_served"], rel=1e-9)
    assert pre["tpot_mean_s"] is None
    assert dec["ttft_mean_s"] is None
    assert all(res.invariants.values()), res.invariant_messages
    # the standalone simulator's disaggregated run, request by request: 2 racks of TP4 prefill
    # replicas, 4 racks of TP8 decode replicas
    sd = load_scenario(write(tmp_path, DISAGGREGATED, POD, "again.yaml")).served
    wl = Workload(rate_per_s=300.0, input_len=parse_length("2048"), output_len=parse_length("256"),
                  duration_s=120.0)
    alone = serve_sim(sd[1].model, sd[1].hardware, sd[1].deployment, wl, 4 * 72 + 2 * 72,
                      prefill_gpus=2 * 72, prefill_deployment=sd[0].deployment)
    tokens_s = (pre["output_tokens"] + dec["output_tokens"]) / 240.0
    assert tokens_s == pytest.approx(alone["output_tokens_per_s"], rel=0.03)
    assert dec["tpot_mean_s"] == pytest.approx(alone["tpot_s"]["mean"], rel=0.05)
    # the fluid model queues Poisson arrivals at each prefill replica; round-robin routing of the
    # discrete run spreads them evenly (36 replicas: nearly regular), so it waits less: 58 ms, the
    # 2048-token prefill alone. One such replica with Poisson arrivals (8.3 req/s, half busy) waits
    # 86 ms in the discrete simulation (1.49x) and 93 ms in the fluid model
    assert alone["ttft_s"]["mean"] < pre["ttft_mean_s"] < 1.7 * alone["ttft_s"]["mean"]
    # both pools draw power: the prefill racks' GPUs busier per request token than at idle
    racks = res.racks_table()
    assert (racks["energy_j"] > 0).all()


def test_with_serving_fixed_power_and_heat_are_the_standalone_solvers(tmp_path):
    path = write(tmp_path, "run: {duration: 30 min}\n" + SERVE.format(rate=60))
    res = simulate(path, with_reference=False)
    fac = load_layout(RACK)
    prep = load_scenario(path)
    sd = prep.served[0]
    # the serving activity of the run, into the part law by hand
    fm_curve = sd.perf
    from twin.serving.fluid import FluidModel

    cur = FluidModel(fm_curve).curve(np.full(sd.num_replicas, 60.0 / sd.num_replicas), 2048.0, 256.0,
                                     duration_s=10.0)
    comp = float(cur.compute_fraction.mean())
    mem = float(cur.busy_fraction.mean()) - comp
    r = fac.racks
    g = gpu_activity_power_w(comp, mem, 1.0, r.gpu_idle_w, r.gpu_tdp_w)
    it = rack_parts_power_w(g, HOST_CPU_LOAD_SERVING, r.num_gpus, r.gpu_idle_w, r.gpu_tdp_w, r.num_cpus,
                            r.cpu_idle_w, r.cpu_tdp_w, r.fixed_idle_w, r.fixed_max_w)
    flow = solve_power(fac, comp, demand=(np.array([comp]), np.ones(1), it, g))
    steps = res.steps_table()
    assert steps["power_chain_w"].iloc[-1] == pytest.approx(flow.chain_input_w + (steps["it_w"].iloc[-1]
                                                                                 - flow.it_power_w) *
                                                            flow.chain_input_w / flow.it_power_w, rel=1e-6)
    p = ThermalParams.from_factory(fac)
    from twin.fabric import build_fabric

    air = np.array([build_fabric(fac).network_power_w()["lab"]])  # the network racks heat the hall's air
    # ... and so do the chain's losses (busway, UPS, switchgear; the network racks' share at the chain's
    # loss ratio): this layout has no electrical room
    from twin.engine.electrical_heat import LossHeatMap

    net = steps["it_w"].iloc[-1] - flow.it_power_w
    lh = LossHeatMap.build(fac, p).split_flow(flow, net * (flow.chain_input_w / flow.it_power_w - 1.0))
    # (the network racks' loss ratio is the first step's, held: a few ppm from the last step's)
    assert steps["losses_hall_air_w"].iloc[-1] == pytest.approx(lh.hall_air_w.sum(), rel=1e-4)
    st = solve_steady(p, flow.rack_input_w, g, Ambient(35.0, 0.4), None, air + lh.hall_air_w,
                      room_heat_w=lh.room_w)
    assert res.rack_max_temp_c[0] == pytest.approx(float(st.gpu_temp_c[0]), abs=0.1)
    assert steps["cooling_w"].iloc[-1] == pytest.approx(st.cooling_power_w, rel=1e-3)
    assert MEMORY_BOUND_POWER < 1


def test_a_cdu_trip_heats_the_loop_at_its_heat_capacity_then_throttles_and_recovers(tmp_path):
    body = ("run: {duration: 20 min, physics_step: 1 s, serving_epoch: 10 s}\n" + SERVE.format(rate=200)
            + "events:\n  - {at: 5 min, trip: lab/cdu-group-01/cdu}\n"
            "  - {at: 8 min, restore: lab/cdu-group-01/cdu}\n")
    path = write(tmp_path, body)
    res = simulate(path)
    s = res.steps_table()
    fac = load_layout(RACK)
    p = ThermalParams.from_factory(fac)
    before = s[s.time_s < 300]
    t_trip = 300.0
    # hand calculation: with no coolant flow the rack loop's coolant (one lumped node, C_coolant) takes
    # the liquid heat; the GPUs sit at `position` x of the coolant's rise above the (still) supply, and
    # their lumped metal warms with them: dT_r/dt = Q_liquid / (C_coolant + x N_gpu C_gpu) and
    # dT_gpu/dt = x dT_r/dt; a die follows a ramp of its coolant a time constant tau = C_gpu R behind
    x = float(p.position[0])
    q_liq = heat_of(res, 299) * p.liquid_fraction[0]
    c_total = float(p.c_rack_j_k[0] + x * p.num_gpus[0] * p.gpu_c_j_k[0])
    rate_k_s = x * q_liq / c_total
    tau_die = float(p.gpu_c_j_k[0] * p.gpu_r_k_w[0])
    t0 = float(before["max_gpu_temp_c"].iloc[-1])
    thr = float(fac.racks.gpu_throttle_c[0])
    expected_s = (thr - t0) / rate_k_s + tau_die
    after = s[s.time_s >= t_trip]
    first = after[after.throttled_racks > 0]
    assert len(first), "the trip never throttled the rack"
    seen_s = float(first.time_s.iloc[0]) - t_trip
    assert seen_s == pytest.approx(expected_s, abs=3.0)  # 1 s steps, 1 s throttle lag
    # throttling costs tokens; after the restore the rack cools and serves at full clock again
    during = s[(s.time_s > t_trip + seen_s + 20) & (s.time_s < 480)]
    assert during["tokens_per_s"].mean() < before["tokens_per_s"].mean()
    end = s[s.time_s > 1100]
    assert (end["throttled_racks"] == 0).all()
    assert end["tokens_per_s"].mean() == pytest.approx(before["tokens_per_s"].mean(), rel=0.02)
    k = res.kpis()
    assert k["tokens_lost"] > 0
    assert k["throttled_rack_seconds"] > 0
    assert [e["event"] for e in res.events] == ["trip lab/cdu-group-01/cdu", "restore lab/cdu-group-01/cdu"]
    assert all(res.invariants.values()), res.invariant_messages


def heat_of(res, t_s: float) -> float:
    """Heat into the (single) rack at step ``t_s``: its input power (IT less the fabric's network racks)."""
    fab = res.scenario.factory
    from twin.fabric import build_fabric

    net = build_fabric(fab).fabric_power_w()
    return float(res.steps["it_w"][int(t_s)]) - net


TRAINING = """
run: {{duration: 4 min, physics_step: 1 s, serving_epoch: 10 s}}
events:
  - at: 0 s
    training: {{racks: "*", duration: 4 min, period: 20 s, duty: 0.5, high: 0.95, low: 0.25}}
{policies}"""


def test_a_training_swing_at_the_meter_is_the_it_swing_through_the_losses(tmp_path):
    res = simulate(write(tmp_path, TRAINING.format(policies="")), with_reference=False)
    s = res.steps_table()
    fac = load_layout(RACK)
    r = fac.racks

    def chain(level):
        g = gpu_activity_power_w(level, 0.0, 1.0, r.gpu_idle_w, r.gpu_tdp_w)
        it = rack_parts_power_w(g, HOST_CPU_LOAD_SERVING, r.num_gpus, r.gpu_idle_w, r.gpu_tdp_w, r.num_cpus,
                                r.cpu_idle_w, r.cpu_tdp_w, r.fixed_idle_w, r.fixed_max_w)
        return it[0], solve_power(fac, level, demand=(np.array([level]), np.ones(1), it, g)).chain_input_w

    it_hi, ch_hi = chain(0.95)
    it_lo, ch_lo = chain(0.25)
    # hand calculation of the DC swing: 72 GPUs x (TDP - idle) x (high - low); the fixed parts of a
    # GB200 rack are the same at idle and full load in the catalog, the host CPUs hold their load
    dc = r.num_gpus[0] * (r.gpu_tdp_w[0] - r.gpu_idle_w[0]) * (0.95 - 0.25)
    assert it_hi - it_lo == pytest.approx(dc, rel=1e-12)
    # at the meter: the same swing through the shelves and the tree, as the steady solver gives it
    swing = s["power_chain_w"].max() - s["power_chain_w"].min()
    assert swing == pytest.approx(ch_hi - ch_lo, rel=1e-6)
    assert 1.0 < swing / dc < 1.12  # PSU, UPS, transformer, busway and switchgear losses at the margin
    pq = res.power_quality()
    assert pq["max_ramp_w_per_s"] >= 0.9 * swing  # square wave at 1 s steps: the whole swing in one step
    # a 20 s square wave (0.05 Hz) sampled each second: its odd harmonics from 0.15 Hz carry ~18 % of the
    # fluctuation energy into the 0.1..0.5 Hz band (computed on the ideal wave)
    ideal = np.where((np.arange(240) % 20) >= 10, 1.0, 0.0)
    spec = np.abs(np.fft.rfft(ideal - ideal.mean())) ** 2
    f = np.fft.rfftfreq(240, 1.0)
    expected = spec[(f >= 0.1) & (f <= 0.5)].sum() / spec[1:].sum()
    assert pq["band_share"] == pytest.approx(expected, abs=0.02)
    assert pq["band_hz"] == [0.1, 0.5]


def test_power_smoothing_holds_the_ramp_to_the_configured_rate(tmp_path):
    ramp = 100.0  # W/s per GPU
    pol = (f"policies:\n  gpu_power_smoothing: {{floor: 50 %, ramp_up: {ramp:g} W/s, "
           f"ramp_down: {ramp:g} W/s}}\n")
    smooth = simulate(write(tmp_path, TRAINING.format(policies=pol), name="a.yaml"), with_reference=False)
    raw = simulate(write(tmp_path, TRAINING.format(policies=""), name="b.yaml"), with_reference=False)
    fac = load_layout(RACK)
    r = fac.racks
    # the rack's DC power per W of GPU power: N_gpu plus the fixed parts following the dynamic heat
    span = (r.num_gpus[0] * (r.gpu_tdp_w[0] - r.gpu_idle_w[0])
            + r.num_cpus[0] * (r.cpu_tdp_w[0] - r.cpu_idle_w[0]))
    per_gpu_w = r.num_gpus[0] * (1 + (r.fixed_max_w[0] - r.fixed_idle_w[0]) / span)
    s = smooth.steps_table()
    dc_ramp = np.abs(np.diff(s["it_w"])).max()
    assert dc_ramp <= ramp * per_gpu_w * 1.0 * 1.05  # at the rack inputs: plus the shelf losses
    assert smooth.power_quality()["max_ramp_w_per_s"] < 0.3 * raw.power_quality()["max_ramp_w_per_s"]
    # the floor: the GPUs never draw under 50 % of TDP
    assert s["it_w"].min() >= 0.5 * r.gpu_tdp_w[0] * r.num_gpus[0]
    assert smooth.energy_j > raw.energy_j  # filler work burns energy


def test_a_site_cap_holds_the_meter_and_costs_tokens(tmp_path):
    base = simulate(write(tmp_path, "run: {duration: 5 min}\n" + SERVE.format(rate=300), name="a.yaml"),
                    with_reference=False)
    p0 = float(base.steps_table()["meter_w"].mean())
    cap = 0.9 * p0
    body = ("run: {duration: 5 min}\n" + SERVE.format(rate=300)
            + f"policies:\n  caps: [{{scope: site, cap: {cap} W}}]\n")
    res = simulate(write(tmp_path, body, name="b.yaml"))
    s = res.steps_table()
    # from the first step (its budget from the uncapped start's ratio), exact once the ratio settles
    assert s["meter_w"].iloc[0] <= cap * 1.03
    assert s["meter_w"].iloc[10:].max() <= cap * 1.001
    assert res.kpis()["tokens_lost"] > 0
    assert s["capped_racks"].iloc[5:].min() == 1


def test_demand_response_reaches_its_target_within_the_ramp(tmp_path):
    body = ("run: {duration: 6 min}\n" + SERVE.format(rate=300)
            + "events:\n  - at: 1 min\n    demand_response: {target: 75 %, duration: 3 min, ramp: 30 s}\n")
    res = simulate(write(tmp_path, body))
    s = res.steps_table()
    p0 = float(s[s.time_s < 60]["meter_w"].iloc[-1])
    held = s[(s.time_s >= 95) & (s.time_s < 240)]
    assert held["meter_w"].max() <= 0.75 * p0 * 1.01
    assert held["meter_w"].mean() == pytest.approx(0.75 * p0, rel=0.03)
    after = s[s.time_s > 300]
    assert after["meter_w"].mean() > 0.95 * p0
    assert res.kpis()["tokens_lost"] > 0


def test_a_power_trip_drops_its_racks_and_their_load_moves_to_the_others(tmp_path):
    body = ("run: {duration: 3 min}\n" + SERVE.format(rate=100)
            + "events:\n  - {at: 1 min, trip: hall/pod/blk01A/bw01}\n"
            "  - {at: 2 min, trip: hall/pod/blk01B/bw01}\n")
    res = simulate(write(tmp_path, body, layout=POD))
    s = res.steps_table()
    # 2N: one side's busway lost, the racks carry on on the other cord
    assert (s[(s.time_s > 60) & (s.time_s < 120)]["unpowered_racks"] == 0).all()
    # both sides lost: its four racks stop; the other racks take their requests
    assert (s[s.time_s > 121]["unpowered_racks"] == 4).all()
    d = res.deployments["chat"]
    assert d["requests_arrived"] == pytest.approx(d["requests_served"] + d["requests_waiting_at_end"],
                                                  rel=1e-9)
    assert all(res.invariants.values()), res.invariant_messages


def test_invariants_catch_a_broken_coupling(tmp_path, monkeypatch):
    import twin.engine.coupled as coupled
    from twin.serving.fluid_queue import EpochServing, FluidQueue, QueueState

    path = write(tmp_path, "run: {duration: 2 min}\n" + SERVE.format(rate=60))
    res = simulate(path, with_reference=False)
    assert set(res.invariants) == {"energy_balance", "power_conserved_every_step", "requests_conserved",
                                   "no_nan"}
    assert all(res.invariants.values())
    # a coupling that loses 2 % of the racks' heat on the way to the cooling plant
    real_plan = coupled.plan_step
    monkeypatch.setattr(coupled, "plan_step", lambda p, heat, *a, **k: real_plan(p, heat * 0.98, *a, **k))
    broken = simulate(path, with_reference=False)
    assert broken.invariants["energy_balance"] is False
    assert "off by" in broken.invariant_messages["energy_balance"]
    monkeypatch.setattr(coupled, "plan_step", real_plan)
    # a serving model that forgets its backlog
    real_epoch = FluidQueue.epoch

    def leaky(self, state, rate, dt, clock):
        st, out = real_epoch(self, state, rate * 30, dt, clock)  # overloaded: a backlog builds
        return QueueState(st.backlog * 0.5), EpochServing(**{**out.__dict__, "backlog": out.backlog * 0.5})

    monkeypatch.setattr(FluidQueue, "epoch", leaky)
    leaked = simulate(path, with_reference=False)
    assert leaked.invariants["requests_conserved"] is False


def test_discrete_coupling_off_reproduces_the_standalone_pool_request_by_request(tmp_path):
    from twin.serving.pool import ServingPool

    body = "run: {duration: 3 min, serving: discrete, seed: 7}\n" + SERVE.format(rate=40)
    path = write(tmp_path, body)
    res = simulate(path, with_reference=False)
    sd = load_scenario(path).served[0]
    wl = Workload(rate_per_s=40.0, input_len=parse_length("2048"), output_len=parse_length("256"),
                  duration_s=180.0)
    pool = ServingPool(sd.perf, wl.generate(np.random.default_rng(7)), sd.num_replicas)
    pool.run()
    alone, mine = pool.times(), res.request_times["chat"]
    np.testing.assert_array_equal(mine.arrival_s, alone.arrival_s)
    done = np.isfinite(mine.completed_s)
    assert done.sum() > 0.9 * len(done)
    np.testing.assert_allclose(mine.completed_s[done], alone.completed_s[done], rtol=1e-9)
    np.testing.assert_allclose(mine.first_token_s[done], alone.first_token_s[done], rtol=1e-9)
    d = res.deployments["chat"]
    assert d["requests_arrived"] == (d["requests_served"] + d["requests_waiting_at_end"]
                                     + d["requests_rejected"])
    assert all(res.invariants.values()), res.invariant_messages


def test_annual_mode_is_hourly_steady_points_over_the_typical_year(tmp_path):
    body = ("run: {duration: 48 h, mode: annual}\nweather: {tmy: default}\n" + SERVE.format(rate=60))
    res = simulate(write(tmp_path, body), with_reference=False)
    s = res.steps_table()
    assert len(s) == 48
    assert res.physics_step_s == 3600.0
    # every hour is the steady solution at that hour's weather and load
    fac = load_layout(RACK)
    p = ThermalParams.from_factory(fac)
    import pvlib

    from twin.fabric import build_fabric
    from twin.layout.scenario import DEFAULT_TMY3
    from twin.thermal.fluids import wet_bulb_psychrometric_c

    df, _ = pvlib.iotools.read_tmy3(str(Path(pvlib.__file__).parent / "data" / DEFAULT_TMY3))
    assert s["dry_bulb_c"].iloc[5] == pytest.approx(0.5 * (df["temp_air"].iloc[4] + df["temp_air"].iloc[5]))
    air = np.array([build_fabric(fac).network_power_w()["lab"]])
    k = 30
    heat = float(s["it_w"].iloc[k]) - air[0]  # the rack's input: IT less the network racks
    db = float(s["dry_bulb_c"].iloc[k])
    rh = 0.5 * (df["relative_humidity"].iloc[k - 1] + df["relative_humidity"].iloc[k]) / 100
    amb = Ambient(db, rh, float(wet_bulb_psychrometric_c(db, rh)))
    # cooling power does not depend on how the rack's heat splits between GPUs and the rest
    # the hall's air also takes the chain's losses (no electrical room), as the step table records them
    hall = air + s["losses_hall_air_w"].iloc[k]
    assert s["losses_hall_air_w"].iloc[k] > 0
    st = solve_steady(p, np.array([heat]), np.array([0.0]), amb, None, hall,
                      room_heat_w=np.array([s["losses_room_w"].iloc[k]]))
    assert s["cooling_w"].iloc[k] == pytest.approx(st.cooling_power_w, rel=1e-3)
    k2 = res.kpis()
    assert k2["annual_pue"] is None  # two days are not a year
    assert k2["pue"] == pytest.approx(res.energy_j / res.it_energy_j)
    assert all(res.invariants.values()), res.invariant_messages


def test_psychrometric_wet_bulb_agrees_with_coolprop():
    from twin.thermal.fluids import wet_bulb_c, wet_bulb_psychrometric_c

    db = np.array([-15.0, 0.0, 10.0, 25.0, 35.0, 45.0, 55.0])
    for rh in (0.05, 0.3, 0.6, 1.0):
        mine = wet_bulb_psychrometric_c(db, rh)
        ref = np.array([wet_bulb_c(d, rh) for d in db])
        np.testing.assert_allclose(mine, ref, atol=0.1)


def test_steady_point_is_the_first_hour_of_the_annual_mode_and_twin_evaluate_prints_it(tmp_path):
    import json
    import subprocess
    import sys

    from twin.engine.coupled import steady_point

    body = "run: {duration: 2 h, mode: annual}\nweather: {tmy: default}\n" + SERVE.format(rate=60)
    year = write(tmp_path, body, name="y.yaml")
    first = simulate(year, with_reference=False).steps_table().iloc[0]
    point = steady_point(year).steps_table().iloc[0]
    for col in ("meter_w", "it_w", "cooling_w", "tokens_per_s", "max_gpu_temp_c"):
        assert point[col] == pytest.approx(first[col], rel=1e-12), col
    out = tmp_path / "p.json"
    proc = subprocess.run([sys.executable, "-m", "twin.cli", "evaluate", str(RACK), "--scenario", str(year),
                           "--json", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Steady coupled point" in proc.stdout
    assert "PUE" in proc.stdout
    d = json.loads(out.read_text())
    assert d["mode"] == "steady coupled point"
    assert d["energy_j"] == pytest.approx(point["meter_w"] * 3600.0, rel=1e-9)
    bad = subprocess.run([sys.executable, "-m", "twin.cli", "evaluate", "--scenario", str(year),
                          "--utilisation", "0.5"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "--scenario sets the load" in bad.stderr


RIDE = ROOT / "tests" / "engine" / "data" / "ride-through.yaml"


@pytest.mark.parametrize("ups", ["ups-module-1250kw", "test-ups-small-battery"])
def test_a_utility_loss_rides_on_the_ups_battery_until_the_generator_starts(tmp_path, ups):
    layout = tmp_path / "ride.yaml"
    layout.write_text(RIDE.read_text().replace("model: UPS", f"model: {ups}"))
    import shutil

    shutil.copytree(RIDE.parent / "ride-catalog", tmp_path / "ride-catalog")
    body = ("run: {duration: 60 s}\n" + SERVE.format(rate=60)
            + "events:\n  - {at: 20 s, trip: utility}\n")
    res = simulate(write(tmp_path, body, layout=layout), with_reference=False)
    s = res.steps_table().set_index("time_s")
    fac = load_layout(layout)
    ups_i = int(np.flatnonzero(fac.power.kind == 3)[0])
    capacity = float(fac.power.battery_j[ups_i])
    start = float(fac.power.backup_start_s[fac.power.backup_rating_w > 0][0])
    assert start == 10.0  # NFPA 110 Type 10
    before = s.loc[:19]
    assert (before["battery_w"] == 0).all()
    assert (before["battery_soc"] == 1).all()
    bridge = s.loc[20:29]
    p_ups = float(bridge["battery_w"].iloc[0])  # the UPS's input: its racks' power plus its losses
    assert p_ups > 0
    if capacity > 10 * p_ups:  # 5 min at rated load: the battery carries the 10 s without a gap
        assert (bridge["unpowered_racks"] == 0).all()
        assert s.loc[29, "battery_soc"] == pytest.approx(1 - 10 * p_ups / capacity, rel=1e-6)
    else:  # hand calculation: empty after E / P seconds, the rack dark until the generator starts
        empty_s = capacity / p_ups
        dark = bridge.index[bridge["unpowered_racks"] > 0]
        assert dark[0] == pytest.approx(20 + math.ceil(empty_s), abs=1)
        assert (s.loc[30:, "unpowered_racks"] == 0).all()
        assert res.kpis()["unpowered_rack_seconds"] == pytest.approx(10 - math.ceil(empty_s), abs=1)
    after = s.loc[30:]
    assert (after["battery_w"] == 0).all()  # on the generator
    assert after["facility_w"].mean() == pytest.approx(before["facility_w"].mean(), rel=0.02)
    assert (after["meter_w"] == 0).all()  # no utility: the generator carries the rack (no cooling here)
    assert after["generator_w"].min() > 0
    assert (bridge["generator_w"] == 0).all()
    assert all(res.invariants.values()), res.invariant_messages


def test_a_trace_workload_is_served_as_recorded(tmp_path):
    rng = np.random.default_rng(5)
    t = np.sort(rng.uniform(0, 100, 3000))
    ins, outs = rng.integers(500, 3000, 3000), rng.integers(50, 400, 3000)
    rows = "\n".join(f"{a:.6f},{int(i)},{int(o)}" for a, i, o in zip(t, ins, outs, strict=True))
    (tmp_path / "trace.csv").write_text("arrival_s,input_tokens,output_tokens\n" + rows + "\n")
    dep = SERVE.format(rate=1).replace("workload: {rate: 1, input_tokens: 2048, output_tokens: 256}",
                                       "workload: {trace: trace.csv}")
    disc = simulate(write(tmp_path, "run: {duration: 3 min, serving: discrete}\n" + dep, name="d.yaml"),
                    with_reference=False)
    times = disc.request_times["chat"]
    np.testing.assert_allclose(np.sort(times.arrival_s), t, atol=1e-6)  # the trace's own requests
    assert np.isfinite(times.completed_s).all()
    # every token of every request, counted once (replicas serve different requests each epoch)
    assert disc.deployments["chat"]["output_tokens"] == pytest.approx(float(outs.sum()), rel=1e-12)
    assert float(disc.rack_tokens.sum()) == pytest.approx(float(outs.sum()), rel=1e-12)
    flu = simulate(write(tmp_path, "run: {duration: 3 min}\n" + dep, name="f.yaml"), with_reference=False)
    d = flu.deployments["chat"]
    assert d["requests_arrived"] == pytest.approx(3000, rel=1e-9)  # every arrival counted in its epoch
    assert d["requests_served"] == pytest.approx(3000, rel=1e-6)
    # fluid tokens: the trace's mean output per request
    assert d["output_tokens"] == pytest.approx(3000 * float(np.mean(
        [int(r.split(",")[2]) for r in rows.splitlines()])), rel=1e-6)
    assert all(flu.invariants.values()), flu.invariant_messages


def test_the_steady_point_holds_a_site_cap(tmp_path):
    from twin.engine.coupled import steady_point

    base = steady_point(write(tmp_path, "run: {duration: 1 h}\n" + SERVE.format(rate=150), name="a.yaml"))
    p0 = float(base.steps_table()["meter_w"].iloc[0])
    cap = f"policies:\n  caps: [{{scope: site, cap: {0.9 * p0} W}}]\n"
    body = "run: {duration: 1 h}\n" + SERVE.format(rate=150) + cap
    capped = steady_point(write(tmp_path, body, name="b.yaml")).steps_table().iloc[0]
    assert capped["meter_w"] <= 0.9 * p0 * 1.001
    assert capped["meter_w"] == pytest.approx(0.9 * p0, rel=0.01)
    assert capped["capped_racks"] == 1


def gb300_rack(tmp_path: Path) -> Path:
    """The one-rack layout with a GB300 NVL72 (energy storage in its power shelves) instead."""
    layout = tmp_path / "rack-gb300.yaml"
    layout.write_text(RACK.read_text().replace("system: gb200-nvl72", "system: gb300-nvl72")
)
    return layout


STORAGE_SWING = """
run: {{duration: 60 s, physics_step: 0.1 s, serving_epoch: 10 s}}
events:
  - at: 0 s
    training: {{racks: "*", duration: 60 s, period: 1 s, duty: 0.5, high: 0.95, low: 0.25}}
{policies}"""


def test_rack_storage_holds_the_grid_ramp_serves_the_load_and_conserves_energy(tmp_path):
    layout = gb300_rack(tmp_path)
    ramp = 5000.0  # W/s per rack, of its draw from the cords
    pol = (f"policies:\n  rack_energy_storage: {{ramp_up: {ramp:g} W/s, ramp_down: {ramp:g} W/s, "
           "time_constant: 5 s}\n")
    stored = simulate(write(tmp_path, STORAGE_SWING.format(policies=pol), layout, "a.yaml"),
                      with_reference=False)
    raw = simulate(write(tmp_path, STORAGE_SWING.format(policies=""), layout, "b.yaml"), with_reference=False)
    s, r = stored.steps_table(), raw.steps_table()
    fac = load_layout(layout)
    cap = fac.racks.storage_energy_j[0]
    # the swing: 72 GPUs x (TDP - idle) x 0.7 ~ 61 kW for 0.5 s, ~15 kJ each half period, inside the
    # 40 kJ store. Once the controller's moving average has settled (its time constant 5 s, the
    # start was at the high level), the draw from the cords never moves faster than the ramp (plus
    # the shelf losses) and the meter's swing shrinks to what the ramp lets through
    late = s["time_s"].to_numpy() >= 20.0
    soc = s["rack_storage_soc"].to_numpy()
    assert soc[late].min() > 0.0
    assert soc[late].max() < 1.0
    assert (np.abs(np.diff(s["it_w"].to_numpy()[late])) / 0.1).max() <= ramp * 1.06
    swing = np.ptp(s["meter_w"].to_numpy()[late])
    raw_swing = np.ptp(r["meter_w"].to_numpy()[late])
    assert swing < 0.15 * raw_swing
    assert stored.power_quality()["max_ramp_w_per_s"] < raw.power_quality()["max_ramp_w_per_s"]
    # the store moves energy, it does not make it: what it gave up is its loss of charge
    released = float(s["rack_storage_w"].sum()) * 0.1
    assert released == pytest.approx(cap * (0.5 - soc[-1]), abs=1e-6 * cap)
    # the load is served as without storage, so the GPUs ran alike; the meter paid the storage losses
    assert s["max_gpu_temp_c"].max() == pytest.approx(r["max_gpu_temp_c"].max(), abs=0.05)
    assert stored.energy_j > raw.energy_j - 1.05 * released
    # energy: the heat the loops took is what the cords delivered less what the store kept (0.1 %)
    assert all(stored.invariants.values()), stored.invariants


def test_rack_storage_on_racks_without_it_is_refused(tmp_path):
    pol = "policies:\n  rack_energy_storage: {ramp_up: 2000 W/s, ramp_down: 2000 W/s}\n"
    with pytest.raises(InputError) as err:
        load_scenario(write(tmp_path, TRAINING.format(policies=pol)))
    msg = str(err.value)
    assert "no energy storage" in msg
    assert "gb200-nvl72" in msg
    assert "GB300" in msg


SPECULATIVE = """
run: {{duration: 10 min}}
deployments:
  - name: chat
    racks: "*"
    model: llama-3.1-70b
    precision: fp8
    tp: 8
    speculative: {spec}
    workload: {{rate: 30, input_tokens: 2048, output_tokens: 256}}
"""


def test_a_speculative_deployment_serves_as_the_standalone_model_with_it(tmp_path):
    # the scenario's `speculative:` reaches the replicas: the coupled twin's TPOT is the standalone fluid
    # model's with the same speculation, shorter than without it
    path = write(tmp_path, SPECULATIVE.format(spec='"eagle:3,0.7"'))
    res = simulate(path, with_reference=False)
    sd = load_scenario(path).served[0]
    assert sd.perf.dep.speculative.tokens_per_step == pytest.approx(1 + 0.7 + 0.49 + 0.343)
    wl = Workload(rate_per_s=30.0, input_len=parse_length("2048"), output_len=parse_length("256"),
                  duration_s=600.0)
    alone = fluid_point(sd.perf, wl, sd.num_replicas).to_dict(72)
    d = res.deployments["chat"]
    assert d["tpot_mean_s"] == pytest.approx(alone["tpot_s"]["mean"], rel=1e-3)
    plain = simulate(write(tmp_path, SERVE.format(rate=30).replace("deployments", "run: {duration: 10 min}\n"
                                                                    "deployments"), name="p.yaml"),
                     with_reference=False)
    assert d["tpot_mean_s"] < 0.7 * plain.deployments["chat"]["tpot_mean_s"]
    assert all(res.invariants.values()), res.invariant_messages


def test_a_bad_speculative_entry_names_its_line(tmp_path):
    path = write(tmp_path, SPECULATIVE.format(spec='"mtp:3,1.5"'))
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "s.yaml" in msg
    assert "speculative" in msg
    assert "acceptance rates must be in [0, 1]" in msg
