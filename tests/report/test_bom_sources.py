"""The report's bill of materials counts the model; its assumptions list the catalog's provenance."""

from __future__ import annotations

import pytest

from tests.report.conftest import POD
from twin.engine.steady import evaluate
from twin.layout import load_layout_and_catalog, parse_layout
from twin.report.bom import bill_of_materials, bom_totals
from twin.report.sources import assumption_rows, used_entries


def test_pod_bom_counts_match_the_power_tree_and_plant(pod):
    results, layout, _ = pod
    rows = bill_of_materials(results, layout)
    totals = bom_totals(rows)
    nodes = results.power_nodes()
    tree = results.factory.power
    ups = (nodes["kind"] == "ups").to_numpy()
    assert totals[("power", "UPS systems")] == ups.sum() == 2
    assert totals[("power", "UPS modules")] == int(tree.num_modules[ups].sum())
    assert totals[("power", "switchgear line-ups")] == (nodes["kind"] == "switchgear").sum()
    assert totals[("power", "utility feeds")] == (nodes["kind"] == "feed").sum()
    assert totals[("power", "busways")] == 4  # 2 rows x 4 racks, 4 racks per busway, 2N
    assert totals[("compute", "power-shelf PSUs")] == 8 * 8 * 6  # 8 racks x 8 shelves x 6 PSUs
    assert totals[("cooling", "CDUs")] == 2
    assert totals[("cooling", "dry coolers")] == 2
    assert ("power", "standby generators") not in totals  # the pod has none
    ups_row = next(r for r in rows if r["item"] == "UPS modules")
    assert ups_row["model"] == "ups-module-1250kw"
    assert ups_row["unit_rating_w"] == pytest.approx(1.25e6)
    fabric = {(r["item"], r["note"].split(";")[0]): r["count"] for r in rows if r["category"] == "fabric"}
    assert fabric[("leaf switches", "compute network")] == results.fabric.summary()["num_leaf_switches"]


def test_generators_are_counted_per_switchgear_lineup(tmp_path):
    text = POD.read_text().replace("        transformer: transformer-3000kva\n",
                                   "        generator: {model: generator-3mw, count: 3}\n"
                                   "        transformer: transformer-3000kva\n")
    path = tmp_path / "pod-gen.yaml"
    path.write_text(text)
    factory, _ = load_layout_and_catalog(path)
    results = evaluate(factory, 1.0, with_n_minus_1=False)
    rows = [r for r in bill_of_materials(results, parse_layout(path)[0]) if r["item"] == "standby generators"]
    # 3 sets on each of the line-up's 2 switchgear line-ups (one per utility feed)
    assert [(r["model"], r["count"]) for r in rows] == [("generator-3mw", 6)]
    assert rows[0]["unit_rating_w"] == pytest.approx(3e6)
    assert bill_of_materials(results) == [r for r in bill_of_materials(results, parse_layout(path)[0])
                                          if r["item"] != "standby generators"]


def test_assumptions_list_every_used_entry_with_its_text(pod):
    results, layout, catalog = pod
    names = used_entries(results, layout)
    rows = assumption_rows(catalog, names)
    entries = {r["entry"] for r in rows}
    assert {"gb200-nvl72", "psu-5.5kw-orv3", "ups-module-1250kw", "transformer-3000kva", "cdu-2300kw",
            "sn5600", "connectx-7"} <= entries
    assert entries <= set(catalog.entries)
    assert all(r["basis"] in ("source", "assumption") and r["text"].strip() for r in rows)
    ups = {r["field"]: r for r in rows if r["entry"] == "ups-module-1250kw"}
    assert ups["module_rating"]["value"] == "1250 kW"
    assert ups["module_rating"]["basis"] == "assumption"
    assert ups["module_rating"]["text"].startswith("round module size in the large-UPS class")
    assert ups["module_rating"]["file"] == "models/equipment/ups-module-1250kw.yaml"
    assert ups["efficiency"]["value"].startswith("0.1: 0.927")
    tdp = next(r for r in rows if r["entry"] == "gb200-nvl72" and r["field"] == "gpu.tdp")
    assert tdp["basis"] == "source"
    assert "DPS" in tdp["text"]
