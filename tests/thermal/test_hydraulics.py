"""Hydraulics: k·Q² drops, pump curves, whether a CDU group's pumps push its racks' design flow."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twin.layout import load_layout
from twin.thermal.plant import ThermalParams
from twin.thermal.pressure import k_from_rating, max_flow_m3_s, parallel_k, pump_head_pa, pump_power_w
from twin.thermal.steady import Ambient, solve_steady

ROOT = Path(__file__).parents[2]
POD = ROOT / "layouts" / "pod-8x-nvl72.yaml"


def test_pressure_laws_by_hand():
    k = float(k_from_rating(150e3, 3.3e-3))
    assert k == pytest.approx(150e3 / 3.3e-3**2)
    # n equal branches in parallel: each takes Q/n, so k / n^2
    assert float(parallel_k([k] * 4)) == pytest.approx(k / 16)
    assert float(pump_head_pa(0.0, 375e3, 300e3, 0.0575)) == 375e3
    assert float(pump_head_pa(0.0575, 375e3, 300e3, 0.0575)) == pytest.approx(300e3)
    # two pumps through k: 375e3 - b (Q/2)^2 = k Q^2
    b = 75e3 / 0.0575**2
    q = float(max_flow_m3_s(3e7, 2, 375e3, 300e3, 0.0575))
    assert 375e3 - b * (q / 2) ** 2 == pytest.approx(3e7 * q * q, rel=1e-9)
    assert float(max_flow_m3_s(3e7, 0, 375e3, 300e3, 0.0575)) == 0.0
    assert float(pump_power_w(0.1, 2e5, 0.7)) == pytest.approx(0.1 * 2e5 / 0.7)


def _one_cdu_per_36(tmp_path):
    """The hall's 36-rack CDU groups on one CDU instead of three: too little pump for the racks."""
    src = (ROOT / "layouts" / "hall-100mw.yaml").read_text().replace(
        "cdu: {model: cdu-2300kw, racks_per_group: 36, cdus_per_group: 3}",
        "cdu: {model: cdu-2300kw, racks_per_group: 36, cdus_per_group: 1}")
    p = tmp_path / "hall-one-cdu.yaml"
    p.write_text(src)
    return p


def test_a_cdu_group_short_of_flow_by_hand(tmp_path):
    """36 GB200 racks (150 kPa at 198 L/min each) on one cdu-2300kw (2 pumps of 3,450 L/min at 300 kPa,
    375 kPa shut-off, 80 kPa inside at 3,450 L/min).

    design  = 36 x 198 = 7,128 L/min = 0.1188 m3/s
    k_sys   = 150e3 / 0.1188^2 + 80e3 / 0.0575^2 = 10.628e6 + 24.197e6 = 34.825e6 Pa/(m3/s)^2
    needs     k_sys x 0.1188^2 = 491.5 kPa at design, above the 375 kPa shut-off
    b       = 75e3 / 0.0575^2 = 22.684e6;  Q = sqrt(375e3 / (34.825e6 + 22.684e6 / 4)) = 0.09623 m3/s
            = 5,774 L/min: every rack gets 5,774 / 7,128 = 81.0 % of its design flow
    """
    f = load_layout(_one_cdu_per_36(tmp_path))
    p = ThermalParams.from_factory(f)
    n = len(f.racks)
    r = solve_steady(p, np.full(n, 120e3), np.full(n, 1200.0), Ambient(30.0, 0.4))
    assert r.group_design_flow_m3_s[0] == pytest.approx(0.1188, rel=1e-9)
    assert r.group_pressure_at_design_pa[0] == pytest.approx(491.5e3, rel=1e-3)
    assert r.group_max_flow_m3_s[0] == pytest.approx(0.09623, rel=1e-3)
    members = p.rack_group == 0
    assert r.rack_flow_m3_s[members] == pytest.approx(3.3e-3 * 0.09623 / 0.1188, rel=1e-3)
    # the CLI says which group, how short and why
    out = subprocess.run([sys.executable, "-m", "twin.cli", "thermal", str(tmp_path / "hall-one-cdu.yaml"),
                          "--no-n-minus-1"], capture_output=True, text=True, cwd=ROOT)
    assert "CDU GROUP SHORT OF FLOW: hall/cdu-group-01 pushes 5,774 of its racks' 7,128 L/min" in out.stdout
    assert "need 491 kPa there, its pumps give 295 kPa" in out.stdout


def test_pump_power_follows_the_system_curve(tmp_path):
    """Speed-controlled pumps at the design flow: P = k_sys Q^3 / eta, eta = 300 kPa x 0.0575 / 25 kW."""
    f = load_layout(ROOT / "layouts" / "hall-100mw.yaml")
    p = ThermalParams.from_factory(f)
    n = len(f.racks)
    r = solve_steady(p, np.full(n, 120e3), np.full(n, 1200.0), Ambient(30.0, 0.4))
    q = 0.1188
    k_sys = 150e3 / q**2 + 80e3 / 0.0575**2 / 9  # three CDUs in parallel
    eta = 300e3 * 0.0575 / 25e3
    assert r.group_pump_w[0] == pytest.approx(k_sys * q**3 / eta, rel=1e-6)
    assert r.group_max_flow_m3_s[0] > q  # three CDUs push more than the racks need
    assert r.group_head_at_design_pa[0] > r.group_pressure_at_design_pa[0]


def test_json_reports_each_groups_hydraulics():
    out = subprocess.run([sys.executable, "-m", "twin.cli", "thermal", str(POD), "--no-n-minus-1",
                          "--json", "-"], capture_output=True, text=True, cwd=ROOT, check=True)
    g = json.loads(out.stdout)["cdu_groups"][0]
    assert g["design_flow_l_min"] == pytest.approx(8 * 198.0)
    assert g["flow_l_min"] == pytest.approx(g["design_flow_l_min"])
    assert g["max_flow_l_min"] > g["design_flow_l_min"]
    assert g["pump_head_at_design_kpa"] > g["pressure_at_design_kpa"] > 150.0
