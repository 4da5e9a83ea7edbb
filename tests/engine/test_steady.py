"""The engine's coupling of power, fabric and cooling at steady state: conservation across domains.

Checks here are computed independently of the engine's own sums (per-rack and per-node tables, the
physics of heat rejection, a broken model's invariants), so a wrong coupling fails them.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from twin.engine.invariants import INVARIANTS, check
from twin.engine.steady import evaluate

SHIPPED = ["rack-nvl72", "pod-8x-nvl72", "hall-100mw", "campus-1gw"]


@pytest.mark.parametrize("name", SHIPPED)
def test_invariants_hold_on_every_shipped_layout(shipped, name):
    res = evaluate(shipped(name), 0.9, with_n_minus_1=False, with_cooling_n_minus_1=False)
    assert res.invariant_messages == dict.fromkeys(INVARIANTS), res.invariant_messages
    assert res.to_dict()["invariants"] == dict.fromkeys(INVARIANTS, True)


@pytest.mark.parametrize("name", ["pod-8x-nvl72", "hall-100mw"])
def test_power_fabric_and_cooling_close(shipped, name):
    res = evaluate(shipped(name), 0.9, with_n_minus_1=False)
    racks, nodes = res.racks(), res.power_nodes()
    # IT = what the compute racks draw at their cords (per-rack table) + the fabric's BOM power
    bom_w = sum(r["power_w"] for r in res.fabric.bom if not r["in_compute_rack"])
    assert res.it_power_w == pytest.approx(racks["rack_input_w"].sum() + bom_w, rel=1e-12)
    assert bom_w > 0
    # every watt of IT becomes heat removed by liquid or air, rack by rack and in the network racks
    heat_racks = racks["heat_to_liquid_w"] + racks["heat_to_air_w"]
    np.testing.assert_allclose(heat_racks, racks["rack_input_w"], rtol=1e-12)
    assert res.cooling.network_heat_to_air_w == pytest.approx(bom_w, rel=1e-12)
    # the network racks' share of chain losses is at the tree's loss ratio (per-node table)
    tree_losses = nodes.loc[nodes["alive"], "loss_w"].sum()
    assert res.losses_w["network_share"] == pytest.approx(bom_w * tree_losses / racks["rack_input_w"].sum())
    # heat rejected = IT heat + all cooling electrical power + the chain's losses the plant cools
    # (busways, and UPS and switchgear: this layout has no electrical room, so its hall air takes them)
    lh = res.cooling.loss_heat
    cooled = float(lh.hall_air_w.sum() + lh.room_w.sum())
    non_shelf = sum(w for k, w in res.losses_w.items() if k != "power_shelf")
    assert cooled + lh.outdoor_w == pytest.approx(non_shelf, rel=1e-12)
    assert cooled > 0
    share = 1 + res.losses_w["network_share"] / tree_losses
    assert lh.outdoor_w == pytest.approx(res.losses_w["transformer"] * share)
    total = res.it_power_w + res.cooling_power_w + cooled
    assert res.cooling.heat_rejected_w == pytest.approx(total, rel=1e-9)
    # ... and everything the site draws leaves as heat
    assert res.cooling.heat_to_ambient_w == pytest.approx(res.facility_power_w, rel=1e-9)
    assert res.pue > res.pue_electrical > 1.0


def test_losses_by_stage_account_for_the_whole_meter(shipped):
    """Facility power = IT + every reported loss + cooling; before, the network share of the chain losses
    (225 kW on the 100 MW hall) was in the chain's input but in no stage."""
    res = evaluate(shipped("hall-100mw"), 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False)
    d = res.to_dict()
    gap = d["facility_power_w"] - d["it_power_w"] - d["losses_total_w"] - d["cooling_power_w"]
    assert abs(gap) < 1e-3
    assert 200e3 < d["losses_w"]["network_share"] < 250e3


def test_fabric_power_inside_compute_racks_is_heat_in_those_racks(shipped):
    """With ``fabric.nic_power_in_system: false`` the NICs' power is IT power in the compute racks, so it
    must also be heat in those racks (it was missing from the cooling model: 989.7 kW of IT power but
    972.4 kW of heat on the 8-rack pod)."""
    f = shipped("pod-8x-nvl72")
    nic_w = f.fabric.nic["gb200-nvl72"].power_w
    g = dataclasses.replace(f, fabric=dataclasses.replace(f.fabric, nic_power_in_system=False))
    base, res = (evaluate(x, 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False) for x in (f, g))
    per_rack = 72 * f.fabric.nics_per_gpu * nic_w
    assert res.it_power_w == pytest.approx(base.it_power_w + 8 * per_rack, rel=1e-12)
    heat = res.racks()["heat_to_liquid_w"] + res.racks()["heat_to_air_w"]
    np.testing.assert_allclose(heat, res.flow.rack_input_w + per_rack, rtol=1e-12)
    c = res.cooling
    assert c.heat_to_liquid_w + c.heat_to_air_w == pytest.approx(res.it_power_w, rel=1e-12)
    assert res.invariants["it_power_becomes_heat"]


def test_invariants_catch_a_broken_model(shipped):
    """Each invariant fails when the figure it guards is wrong (they are not true by construction)."""
    res = evaluate(shipped("pod-8x-nvl72"), 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False)
    flow = res.flow
    lossy = flow.node_loss_w.copy()
    lossy[3] += 10.0
    broken = {
        "power_conserved_at_every_node": dataclasses.replace(res, flow=dataclasses.replace(
            flow, node_loss_w=lossy)),
        "rack_power_balances": dataclasses.replace(res, flow=dataclasses.replace(
            flow, shelf_loss_w=flow.shelf_loss_w * 1.01)),
        "facility_is_it_plus_losses_plus_cooling": dataclasses.replace(
            res, losses_w=res.losses_w | {"network_share": 0.0}),
        "it_power_becomes_heat": dataclasses.replace(res, it_power_w=res.it_power_w + 17e3),
        "figures_finite": dataclasses.replace(res, cooling_power_w=float("nan")),
    }
    for name, bad in broken.items():
        msgs = check(bad)
        assert msgs[name] is not None, name
    gpu = flow.gpu_w.copy()
    gpu[0] = np.inf
    assert check(dataclasses.replace(res, flow=dataclasses.replace(flow, gpu_w=gpu)))["figures_finite"]


def test_layout_without_fabric_or_cooling(one_rack):
    res = evaluate(one_rack, 1.0, with_n_minus_1=False)
    d = res.to_dict()
    assert d["fabric_power_w"] == 0.0
    assert d["pue"] is None
    assert "no 'cooling:' design" in d["pue_note"]
    # the meter sees the tree's input: rack input plus every node's loss (per-node table)
    nodes = res.power_nodes()
    assert d["facility_power_w"] == pytest.approx(res.flow.rack_input_w.sum() + nodes["loss_w"].sum())
    assert all(d["invariants"].values())


def test_lower_utilisation_lowers_everything(shipped):
    f = shipped("pod-8x-nvl72")
    hi = evaluate(f, 1.0, with_n_minus_1=False).to_dict()
    lo = evaluate(f, 0.3, with_n_minus_1=False).to_dict()
    for key in ("it_power_w", "facility_power_w", "cooling_power_w"):
        assert lo[key] < hi[key]
    assert lo["cooling"]["max_gpu_temp_c"] < hi["cooling"]["max_gpu_temp_c"]


def test_tables_and_parquet(shipped, tmp_path):
    pd = pytest.importorskip("pandas")
    res = evaluate(shipped("pod-8x-nvl72"), 0.8, with_n_minus_1=False, with_cooling_n_minus_1=False)
    paths = res.to_parquet(tmp_path)
    assert sorted(p.stem for p in paths) == ["cdu_groups", "loops", "power_nodes", "racks"]
    racks = pd.read_parquet(tmp_path / "racks.parquet")
    assert len(racks) == 8
    assert racks["rack_input_w"].sum() == pytest.approx(res.it_power_racks_w)
    assert racks["gpu_temp_c"].max() == pytest.approx(res.cooling.max_gpu_temp_c)
    nodes = pd.read_parquet(tmp_path / "power_nodes.parquet")
    assert len(nodes) == len(res.factory.power)
    assert len(pd.read_parquet(tmp_path / "loops.parquet")) == 1


def test_bad_arguments_are_errors_naming_the_argument(shipped):
    from twin.errors import ArgumentError

    f = shipped("rack-nvl72")
    with pytest.raises(ArgumentError, match="below the GPU idle power 200 W") as exc:
        evaluate(f, 1.0, gpu_cap_w=100.0, with_n_minus_1=False)
    assert exc.value.field == "gpu_cap_w"
    with pytest.raises(ArgumentError) as exc:
        evaluate(f, 1.5, with_n_minus_1=False)
    assert exc.value.field == "utilisation"


def test_a_hall_without_cooling_still_turns_its_power_into_heat(tmp_path):
    """A second hall with no 'cooling:' design: its compute and network racks' heat is counted (the IT =
    heat invariant holds) and the PUE says it leaves that hall's cooling out."""
    from twin.layout import load_layout

    src = (Path(__file__).resolve().parents[2] / "layouts" / "pod-8x-nvl72.yaml").read_text()
    hall = src[src.index("halls:\n") + len("halls:\n"):src.index("\nfabric:")]
    bare = hall[:hall.index("    cooling:")].replace("- name: hall", "- name: hall-b")
    path = tmp_path / "two-halls.yaml"
    text = src.replace(hall, hall + "\n" + bare.rstrip("\n"))
    path.write_text(text.replace("rating: 2.5 MW", "rating: 5 MW"))
    res = evaluate(load_layout(path), 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False)
    assert res.factory.num_racks == 16
    assert all(res.invariants.values()), res.invariant_messages
    hall_b = [r for r in res.fabric.bom if r["location"] == "hall-b" and not r["in_compute_rack"]]
    assert res.cooling.network_heat_outside_loops_w == pytest.approx(sum(r["power_w"] for r in hall_b))
    assert "'hall-b' (no 'cooling:' design)" in res.to_dict()["pue_note"]
