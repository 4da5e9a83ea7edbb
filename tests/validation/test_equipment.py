"""Power and cooling equipment against published datasheet and standard figures.

Each case is one published figure (a datasheet point, a standard's limit, a survey median) and what
the twin computes for the catalog entry that claims it: the loss law of :mod:`twin.power.losses`
on the entry's curve, the ε-NTU dry cooler of :mod:`twin.thermal.rejection` at the entry's rated
flows, the chiller COP law at the standard's conditions. Several entries were built from the very
figure they are checked against (a curve through a datasheet's points, a re-rating to a survey's
median); those cases check that the model reproduces its data, and say so (``built_from``). The
others are independent. ``python -m tests.validation.test_equipment`` prints the table of
docs/validation.md ("Power and cooling equipment").

Sources:

- ``OCP2019`` = H. Keyhani (Facebook), S. Harris (Microsoft), "Overview of OCP Open Rack Standard V3
  Power System", OCP Engineering Workshop, 10 July 2019 (transcripts on pdf4pro.com and
  fdocuments.in): ORv3 48 V rectifier "Efficiency (incl. fan): Peak: 97.5 %, Full-load: 96.5 %".
- ``GVX`` = Schneider Electric, Galaxy VX Operation manual 990-5452, "Operation Modes"
  (productinfo.schneider-electric.com): eConversion "permits to reduce the electricity absorbed by
  the UPS by a factor three compared with double conversion".
- ``E9395`` = Eaton 9395XR 1935 kVA figures as quoted by a third-party UPS model (github, firmus,
  Feb 2026): double conversion 97.0 / 97.3 / 97.0 / 96.4 %, ESS 98.4 / 99.0 / 99.2 / 99.2 % at
  25 / 50 / 75 / 100 % load (not checked against Eaton's datasheet).
- ``DOE`` = US DOE 10 CFR 431.196 (eCFR mirror MichalOpoka/ecfr, section-431.196.md): three-phase
  liquid-immersed distribution transformers, test load 50 % of nameplate; 2016 tier 99.53 % at
  2,500 kVA (the tier stops there); 2029 tier 99.55 % at 2,500 kVA, 99.54 % at 3,750 kVA, 99.53 %
  at 5,000 kVA.
- ``EU548`` = EU Ecodesign Regulation 548/2014 Annex I Table I.1, Tier 2 (from July 2021),
  liquid-immersed, as tabulated in a public transformer catalogue: 3,150 kVA P0 <= 1,980 W,
  Pk <= 23,000 W.
- ``SURVEY`` = M. Hoffmann et al., "Free Cooling for Saving Energy: Technical Market Analysis of
  Dry, Wet, and Hybrid Cooling Based on Manufacturer Data", Energies 16 (2023) 3661: median
  approach of dry coolers 10 K to ambient dry bulb (6,730 models, 27 manufacturers).
- ``A901`` = ASHRAE 90.1-2019 Table 6.8.1-3 (via NREL openstudio-standards
  ashrae_90_1_2019.chillers.json), air-cooled chillers >= 150 tons, Path A full load 10.1 EER
  (COP 2.96) at AHRI 550/590 conditions: 44 degF (6.67 degC) leaving chilled water, 95 degF (35 degC)
  entering air; water-cooled centrifugal >= 600 tons, Path A full load 0.560 kW/ton, IPLV 0.500
  kW/ton (COP 7.03). IPLV = 0.01 A + 0.42 B + 0.45 C + 0.12 D (COPs) at 100 / 75 / 50 / 25 % load
  with 85 / 75 / 65 / 65 degF entering condenser water (AHRI 550/590).
- ``A901T`` = ASHRAE 90.1-2019 Table 6.8.1-7 (via openstudio-standards heat_rejection.json): open
  axial-fan towers >= 40.2 gpm/hp at 95/85/75 degF, i.e. fan power <= 1.27 % of the heat rejected.
- ``EPLUS`` = EnergyPlus Engineering Reference, "Cooling Towers and Evaporative Fluid Coolers",
  make-up water: the empirical evaporation loss factor, default 0.2 % of the circulating water per K
  of range (at the CTI rating, 35 / 29.44 degC water, 25.56 degC wet bulb, 35 degC dry bulb).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pytest

from twin.layout.catalog_io import load_catalog
from twin.power.losses import curve_table, per_unit_loss
from twin.thermal.hx import ua_from_design
from twin.thermal.rejection import chiller_cop, dry_cooler_heat_w, part_load_factor
from twin.thermal.tower import saturation_specific_heat_j_kg_k, tower_water_kg_s


@dataclass(frozen=True)
class Case:
    """One published figure and how to compute the twin's value for it."""

    name: str
    source: str
    measured: float
    unit: str
    tolerance: float  # absolute, in ``unit``
    predict: object  # callable(catalog) -> float
    built_from: bool = False  # the catalog entry was derived from this figure
    floor: bool = False  # the figure is a minimum the model must meet (error = how far above)


def _efficiency(entry, x: float, eco: bool = False) -> float:
    """Efficiency of a PSU/UPS entry at load fraction ``x`` through the twin's loss law."""
    curve = entry.eco_efficiency if eco else entry.efficiency
    tx, tl = curve_table([p[0] for p in curve.points], [p[1] for p in curve.points])
    loss = float(per_unit_loss(x, tx, tl))
    return x / (x + loss)


def _peak(entry) -> float:
    xs = np.linspace(0.05, 1.0, 951)
    return max(_efficiency(entry, float(x)) for x in xs)


def _transformer_eff(entry, kva_fraction: float) -> float:
    """Efficiency at a share of nameplate kVA at unity power factor (DOE test conditions)."""
    kva = entry.rating.si / 0.95  # the catalog's rating is kVA x 0.95 (see its entry)
    p = kva_fraction * kva
    loss = entry.no_load_loss.si + entry.load_loss.si * kva_fraction**2
    return p / (p + loss)


def _dry_cooler_approach_k(entry) -> float:
    """Leaving water minus entering air at the rated capacity and flows (the ε-NTU model). [K]"""
    rho_w, cp_w, rho_a, cp_a = 990.0, 4180.0, 1.16, 1006.0
    c_w = entry.rated_water_flow.si * rho_w * cp_w
    c_a = entry.rated_air_flow.si * rho_a * cp_a
    cap, itd = entry.capacity.si, entry.rated_itd.si
    ua = ua_from_design(cap, itd, 0.0, c_w, c_a)
    # at the rated point the water enters ITD above the air; what leaves:
    air = 35.0
    q = float(dry_cooler_heat_w(air + itd, air, c_w, c_a, ua, 1.0))
    return air + itd - q / c_w - air


def _chiller_cop_ahri(entry, condenser_c: float = 35.0, plr: float = 1.0) -> float:
    """COP at AHRI 550/590 chilled water (6.67 degC) and a condenser temperature and part load."""
    cop = float(chiller_cop(6.67, condenser_c, entry.rated_cop.si, entry.rated_chilled_water_temp.si,
                            entry.rated_ambient_temp.si, entry.condenser_approach.si))
    coeffs = entry.part_load.coefficients if entry.part_load is not None else (0.0, 1.0, 0.0)
    return cop * float(part_load_factor(plr, coeffs))


def _iplv_cop(entry) -> float:
    """AHRI 550/590 IPLV of a water-cooled chiller through the twin's temperature and part-load laws."""
    points = ((1.0, 29.44), (0.75, 23.89), (0.5, 18.33), (0.25, 18.33))  # 85/75/65/65 degF condenser
    cops = [_chiller_cop_ahri(entry, t, x) for x, t in points]
    return float(np.dot((0.01, 0.42, 0.45, 0.12), cops))


def _tower_rating(entry):
    """Water and air flows and entering water of a tower at its rated point."""
    m_w = entry.capacity.si / (4180.0 * entry.rated_range.si)
    wb = entry.rated_wet_bulb.si
    return m_w, m_w * entry.air_to_water_ratio.si, wb, wb + entry.rated_approach.si + entry.rated_range.si


def _tower_approach_k(entry) -> float:
    """Leaving water minus wet bulb at the rated capacity and flows (Braun's ε-NTU model). [K]"""
    m_w, m_a, wb, t_in = _tower_rating(entry)
    c_w = m_w * 4180.0
    c_a = m_a * float(saturation_specific_heat_j_kg_k(t_in, wb))
    ua = ua_from_design(entry.capacity.si, t_in, wb, c_w, c_a)
    q = float(dry_cooler_heat_w(t_in, wb, c_w, c_a, ua, 1.0))
    return t_in - q / c_w - wb


def _tower_evaporation_per_k(entry) -> float:
    """Evaporation at the CTI rating (35 degC dry bulb) over circulating water, per K of range. [%/K]"""
    from scipy.optimize import brentq

    from twin.thermal.fluids import wet_bulb_psychrometric_c

    m_w, m_a, wb, _ = _tower_rating(entry)
    rh = brentq(lambda r: float(wet_bulb_psychrometric_c(35.0, r)) - wb, 0.05, 1.0)
    ev, _, _ = tower_water_kg_s(entry.capacity.si, m_a, 35.0, rh)
    return 100.0 * float(ev) / m_w / entry.rated_range.si


CASES: list[Case] = [
    Case("ORv3 rectifier peak efficiency", "OCP2019", 97.5, "%", 0.1,
         lambda c: 100 * _peak(c.entries["psu-5.5kw-orv3"]), built_from=True),
    Case("ORv3 rectifier full-load efficiency", "OCP2019", 96.5, "%", 0.1,
         lambda c: 100 * _efficiency(c.entries["psu-5.5kw-orv3"], 1.0), built_from=True),
    Case("ups-module-1250kw eco loss / double-conversion loss at 50 %", "GVX", 1 / 3, "ratio", 0.01,
         lambda c: ((1 / _efficiency(c.entries["ups-module-1250kw"], 0.5, eco=True) - 1)
                    / (1 / _efficiency(c.entries["ups-module-1250kw"], 0.5) - 1)), built_from=True),
    *[Case(f"9395XR-class double conversion at {int(x * 100)} %", "E9395", eta, "%", 0.05,
           lambda c, x=x: 100 * _efficiency(c.entries["ups-frame-1875kw"], x), built_from=True)
      for x, eta in ((0.25, 97.0), (0.5, 97.3), (0.75, 97.0), (1.0, 96.4))],
    *[Case(f"9395XR-class ESS (eco) at {int(x * 100)} %", "E9395", eta, "%", 0.05,
           lambda c, x=x: 100 * _efficiency(c.entries["ups-frame-1875kw"], x, eco=True), built_from=True)
      for x, eta in ((0.25, 98.4), (0.5, 99.0), (0.75, 99.2), (1.0, 99.2))],
    Case("transformer-3000kva at the DOE test load (2029 tier, interpolated)", "DOE", 99.546, "%", 0.005,
         lambda c: 100 * _transformer_eff(c.entries["transformer-3000kva"], 0.5), built_from=True),
    Case("transformer-3000kva vs the DOE 2016 tier's largest size (2,500 kVA)", "DOE", 99.53, "%", 0.0,
         lambda c: 100 * _transformer_eff(c.entries["transformer-3000kva"], 0.5), floor=True),
    Case("transformer-4000kva at the DOE test load (2029 tier, interpolated)", "DOE", 99.538, "%", 0.005,
         lambda c: 100 * _transformer_eff(c.entries["transformer-4000kva"], 0.5), built_from=True),
    Case("transformer-3000kva no-load loss vs EU Tier 2 limit (3,150 kVA)", "EU548", -1980.0, "-W", 0.0,
         lambda c: -c.entries["transformer-3000kva"].no_load_loss.si, floor=True),
    Case("transformer-3000kva load loss vs EU Tier 2 limit (3,150 kVA)", "EU548", -23000.0, "-W", 0.0,
         lambda c: -c.entries["transformer-3000kva"].load_loss.si, floor=True),
    *[Case(f"{name} approach at rated duty", "SURVEY", 10.0, "K", 0.5,
           lambda c, name=name: _dry_cooler_approach_k(c.entries[name]), built_from=True)
      for name in ("dry-cooler-500kw", "dry-cooler-1mw", "dry-cooler-1500kw")],
    Case("chiller-1mw-aircooled COP at AHRI 550/590 air-cooled full load", "A901", 2.96, "COP", 0.0,
         lambda c: _chiller_cop_ahri(c.entries["chiller-1mw-aircooled"]), floor=True),
    Case("chiller-2mw-watercooled COP at AHRI 550/590 water-cooled full load", "A901", 6.28, "COP", 0.005,
         lambda c: _chiller_cop_ahri(c.entries["chiller-2mw-watercooled"], 29.44), built_from=True),
    Case("chiller-2mw-watercooled IPLV (COP) vs the 90.1 limit 0.500 kW/ton", "A901", 7.03, "COP", 0.0,
         lambda c: _iplv_cop(c.entries["chiller-2mw-watercooled"]), floor=True),
    Case("tower-open-2mw approach at rated duty", "SURVEY", 5.0, "K", 0.3,
         lambda c: _tower_approach_k(c.entries["tower-open-2mw"]), built_from=True),
    Case("tower-closed-1mw approach at rated duty", "SURVEY", 6.5, "K", 0.3,
         lambda c: _tower_approach_k(c.entries["tower-closed-1mw"]), built_from=True),
    Case("tower-open-2mw fan power vs the 90.1 limit (share of heat)", "A901T", -1.27, "-%", 0.0,
         lambda c: -100 * c.entries["tower-open-2mw"].fan_power.si / c.entries["tower-open-2mw"].capacity.si,
         floor=True),
    Case("tower-open-2mw evaporation at the CTI rating, per K of range", "EPLUS", 0.2, "%/K", 0.03,
         lambda c: _tower_evaporation_per_k(c.entries["tower-open-2mw"])),
]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def evaluate(case: Case, catalog) -> tuple[float, float, bool]:
    """(predicted, error, within): error = predicted − measured (for floors: how far above)."""
    pred = float(case.predict(catalog))
    err = pred - case.measured
    ok = err >= -1e-12 if case.floor else abs(err) <= case.tolerance + 1e-12
    return pred, err, ok


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_equipment_figure(case, catalog):
    pred, err, ok = evaluate(case, catalog)
    assert ok, f"{case.name}: twin {pred:.6g} {case.unit}, published {case.measured:.6g} ({case.source})"


def test_cases_cover_every_source():
    """Every source listed in the module docstring has a case."""
    sources = {c.source for c in CASES}
    assert sources == {"OCP2019", "GVX", "E9395", "DOE", "EU548", "SURVEY", "A901", "A901T", "EPLUS"}


def table() -> str:
    """The markdown table of docs/validation.md ("Power and cooling equipment")."""
    cat = load_catalog()
    rows = ["| case | source | published | twin | error | within | kind |", "|---|---|---|---|---|---|---|"]
    for c in CASES:
        pred, err, ok = evaluate(c, cat)
        unit = c.unit.lstrip("-")
        sign = -1 if c.unit.startswith("-") else 1
        kind = "limit to meet" if c.floor else "built from it" if c.built_from else "independent"
        rows.append(f"| {c.name} | {c.source} | {sign * c.measured:.6g} {unit} | {sign * pred:.6g} {unit} | "
                    f"{sign * err:+.3g} {unit} | {'yes' if ok else 'NO'} | {kind} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
