"""Power-chain losses as heat (hall air, electrical rooms, outdoors), UPS modes, fans that stop."""

from pathlib import Path

import numpy as np
import pytest

from twin.engine.electrical_heat import HALL_AIR, OUTDOOR, ROOM, LossHeatMap
from twin.engine.steady import evaluate
from twin.errors import InputError
from twin.factory import NODE_KINDS
from twin.layout import load_layout
from twin.thermal.plant import ThermalParams
from twin.thermal.rejection import fan_duty
from twin.thermal.steady import Ambient, solve_steady

ROOM_BLOCK = """
      electrical_room:
        supply_temp: 27 degC
        crahs: {model: crah-250kw, count: 2}
        chillers: {model: chiller-1mw-aircooled, count: 1}
        transformers: TRANSFORMERS"""


POD = Path(__file__).parents[2] / "layouts" / "pod-8x-nvl72.yaml"


def _pod(tmp_path, room: str | None = None, ups: str = "{model: ups-module-1250kw, modules: 1}",
         catalog=None, edit=None):
    """The shipped pod with another UPS line, an electrical room, or an edit of its text."""
    src = POD.read_text().replace("ups: {model: ups-module-1250kw, modules: 1}", f"ups: {ups}")
    if room is not None:
        src = src.replace("        chillers: {model: chiller-1mw-aircooled, count: 2}",
                          "        chillers: {model: chiller-1mw-aircooled, count: 2}"
                          + ROOM_BLOCK.replace("TRANSFORMERS", room), 1)
    if edit is not None:
        src = edit(src)
    p = tmp_path / "pod.yaml"
    p.write_text(src)
    return load_layout(p) if catalog is None else load_layout(p, catalog=catalog)


def test_losses_go_where_the_equipment_stands(tmp_path):
    """Busways heat the hall; UPS and switchgear the electrical room (or the hall without one);
    transformers stand outdoors unless the room says indoor. Every loss is routed once."""
    for room in (None, "outdoor", "indoor"):
        f = _pod(tmp_path, room)
        p = ThermalParams.from_factory(f)
        m = LossHeatMap.build(f, p)
        kind = np.asarray(NODE_KINDS, dtype=object)[f.power.kind]
        assert set(m.node_dest[kind == "busway"]) == {HALL_AIR}
        ups_dest = {ROOM} if room else {HALL_AIR}
        assert set(m.node_dest[kind == "ups"]) == ups_dest
        assert set(m.node_dest[kind == "switchgear"]) == ups_dest
        assert set(m.node_dest[kind == "transformer"]) == ({ROOM} if room == "indoor" else {OUTDOOR})
        res = evaluate(f, 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False)
        lh = res.cooling.loss_heat
        non_shelf = sum(w for k, w in res.losses_w.items() if k != "power_shelf")
        assert lh.total_w == pytest.approx(non_shelf, rel=1e-12)
        # energy in = heat out, with the room's cooling in the balance
        assert res.invariants["facility_power_becomes_heat"] is True
        assert res.cooling.heat_to_ambient_w == pytest.approx(res.facility_power_w, rel=1e-9)
        if room is None:
            assert lh.room_w.sum() == 0
            assert res.cooling.result.room_chiller_w.sum() == 0
        else:
            # the room's chillers carry the UPS and switchgear losses at their COP
            r = res.cooling.result
            assert r.room_heat_w.sum() == pytest.approx(lh.room_w.sum())
            assert r.room_chiller_w.sum() > r.room_heat_w.sum() / 10
            expected = res.losses_w["ups"] + res.losses_w["switchgear"] + (
                res.losses_w["transformer"] if room == "indoor" else 0.0)
            share = 1 + res.losses_w["network_share"] / (non_shelf - res.losses_w["network_share"])
            assert lh.room_w.sum() == pytest.approx(expected * share, rel=1e-9)


def test_room_cooling_power_hand_calculated():
    """Room CRAH fans follow the cube law, chillers the Carnot-scaled COP at the ambient.

    crah-250kw x 2 (5 kW fans), 300 kW of losses: fan = 2 x 5 kW x (300/500)^3 = 2.16 kW;
    chiller-1mw-aircooled at its rated 35 degC: COP 4.5, chiller = (300 + 2.16) / 4.5 = 67.15 kW.
    """
    from twin.factory import ElectricalRoomPlant, Equipment
    from twin.thermal.steady import room_side

    f = load_layout("layouts/pod-8x-nvl72.yaml")
    p = ThermalParams.from_factory(f)
    loop = p.loops[0]
    crah = loop.crah
    chiller = loop.air_chiller
    room = ElectricalRoomPlant(27.0, crah, 2, chiller, 1, False)
    from dataclasses import replace

    p2 = replace(p, loops=(replace(loop, room=room),))
    side = room_side(p2, np.array([300e3]), Ambient(35.0, 0.4))
    assert side.crah_fan_w[0] == pytest.approx(2 * 5e3 * 0.6**3)
    assert side.chiller_w[0] == pytest.approx((300e3 + 2 * 5e3 * 0.6**3) / 4.5)
    assert side.unmet_w[0] == 0
    assert side.supply_c[0] == 27.0
    # beyond the chiller's 1 MW the rest is unmet and heats the room's air
    big = room_side(p2, np.array([1.2e6]), Ambient(35.0, 0.4))
    assert big.unmet_w[0] > 0
    assert big.supply_c[0] > 27.0
    assert isinstance(crah, Equipment)


def test_eco_mode_cuts_ups_loss_by_the_catalog_curve(tmp_path):
    dc = evaluate(_pod(tmp_path), 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False)
    eco = evaluate(_pod(tmp_path, ups="{model: ups-module-1250kw, modules: 1, mode: eco}"), 1.0,
                   with_n_minus_1=False, with_cooling_n_minus_1=False)
    # Galaxy VX: eConversion takes a third of the double-conversion loss (the catalog's eco curve)
    assert eco.losses_w["ups"] == pytest.approx(dc.losses_w["ups"] / 3, rel=0.03)
    assert eco.facility_power_w < dc.facility_power_w


def test_eco_mode_without_a_curve_is_a_clear_error(tmp_path):
    from twin.layout.catalog_io import BUNDLED_CATALOG, load_catalog

    extra = tmp_path / "cat"
    extra.mkdir()
    (extra / "ups.yaml").write_text(
        "kind: ups\nname: ups-no-eco\ndescription: a UPS without an eco mode\n"
        "module_rating: {value: 1000 kW, assumption: test}\n"
        "efficiency: {points: [[0.25, 0.95], [0.5, 0.96], [1.0, 0.96]], assumption: test}\n")
    cat = load_catalog([BUNDLED_CATALOG, extra])
    with pytest.raises(InputError) as exc:
        _pod(tmp_path, ups="{model: ups-no-eco, modules: 1, mode: eco}", catalog=cat)
    msg = str(exc.value)
    assert "ups.mode" in msg
    assert "no eco mode" in msg
    assert "ups-module-1250kw" in msg
    assert "line" in msg or ":" in msg


def test_fans_stop_when_they_can_do_no_work(tmp_path):
    """Less heat than the minimum speed rejects: the fans cycle, mean power = P(s_min) x Q / Q(s_min).
    Water colder than the air (no pads): nothing can be rejected, the fans stand still."""
    assert fan_duty(0.0, 5e5) == 0.0
    assert fan_duty(2e5, 5e5) == pytest.approx(0.4)
    assert fan_duty(6e5, 5e5) == 1.0
    f = load_layout(POD)
    p = ThermalParams.from_factory(f)
    n = len(f.racks)
    cold = solve_steady(p, np.full(n, 20e3), np.full(n, 400.0), Ambient(-10.0, 0.5))
    at_min = 2 * 18e3 * 0.2**3  # two dry coolers at their 20 % minimum
    assert 0 < cold.rejection_fan_w[0] < at_min
    assert cold.fan_speed[0] == pytest.approx(0.2)
    # water at 40 degC onto 45 degC air (no pads): whatever is asked, the dry coolers reject nothing
    from twin.thermal.plant import Failures
    from twin.thermal.steady import hydraulics, rejection_power

    fl = Failures.none(p)
    h = hydraulics(p, fl, np.full(p.num_groups, 100e3))
    air = np.array([45.0])
    rej = rejection_power(p, fl, h, np.array([500e3]), np.array([40.0]), np.array([35.0]), air,
                          Ambient(45.0, 0.2))
    assert rej.heat_rejection_units_w[0] == 0.0
    assert rej.rejection_fan_w[0] == 0.0
    assert rej.fan_speed[0] == 0.0
    assert rej.water_kg_s[0] == 0.0
    assert rej.heat_trim_w[0] == pytest.approx(500e3)  # the trim chillers (if any) are left with it


def test_electrical_room_units_are_in_the_cooling_n_minus_1(tmp_path):
    """A room whose chillers have no spare: losing one leaves UPS heat unmet, reported as a case not
    survived, with how much (the rest of the room at its chillers' capacity)."""
    f = _pod(tmp_path, room="outdoor")  # two room CRAHs, one room chiller
    res = evaluate(f, 1.0, with_n_minus_1=False, with_cooling_n_minus_1=True)
    room = [c for c in res.cooling.cases if c.kind.startswith("room_")]
    assert {c.kind for c in room} == {"room_crah", "room_chiller"}
    chiller = next(c for c in room if c.kind == "room_chiller")
    assert not chiller.survives
    # with the only chiller gone, everything the room's CRAHs move is unmet
    lh = res.cooling.loss_heat
    assert chiller.room_unmet_w > lh.room_w.sum()
    crah = next(c for c in room if c.kind == "room_crah")
    assert crah.survives  # one 250 kW CRAH carries the pod's ~40 kW of UPS and switchgear losses
    assert res.cooling.n_minus_1_survives is False
    from twin.layout.scenario import component_names

    names = component_names(f)
    assert names["hall/room-chiller"] == ("room_chiller", 0)
    assert names["hall/room-crah"] == ("room_crah", 0)
