"""Total cost of ownership: a hand calculation to the cent, and the shipped price list's checks."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from twin.economics.finance import YEAR_S, annual_capital_cost, capital_recovery_factor
from twin.economics.prices import load_prices, stale_prices
from twin.economics.tco import CostInputs, costs

DAY = 86400.0


def test_capital_recovery_factor_is_the_annuity_factor():
    # 8 % over 5 years: 0.08 * 1.08^5 / (1.08^5 - 1) = 0.250456... (any annuity table)
    assert float(capital_recovery_factor(0.08, 5)) == pytest.approx(0.2504564545, abs=1e-10)
    assert float(capital_recovery_factor(0.0, 4)) == pytest.approx(0.25)
    # a residual value is recovered at the end: its present value comes off the sum
    a = float(annual_capital_cost(1000.0, 0.1, 2, residual_share=0.5))
    assert a == pytest.approx((1000.0 - 500.0 / 1.21) * 0.1 * 1.21 / 0.21, abs=1e-9)


def simple_prices():
    """The bundled list with round numbers, so that the test can be done by hand."""
    p = load_prices()
    return dataclasses.replace(
        p, system_usd={"sys": (1_000_000.0, "rack")}, equipment_usd={"switch": 10_000.0},
        facility_usd_per_w={"critical_power_cooling": 6.0, "shell": 2.0, "site": 1.0, "fit_out": 1.0,
                            "back_of_house": 0.0, "office": 0.0},
        energy_usd_per_j=0.08 / 3.6e6, demand_usd_per_w_s=15.0 / 1000.0 / (YEAR_S / 12),
        capacity_usd_per_w_s=300.0 / 1e6 / DAY, water_usd_per_m3=2.0,
        maintenance_share=0.02, it_maintenance_share=0.05, staff_usd_per_w_s=50_000.0 / 1e6 / YEAR_S,
        insurance_share=0.005, property_tax_share=0.01, wacc=0.08,
        life_s={"it": 5 * YEAR_S, "fabric": 5 * YEAR_S, "power_cooling": 15 * YEAR_S,
                "building": 30 * YEAR_S},
        residual_share={c: 0.0 for c in ("it", "fabric", "power_cooling", "building")}, tariff="flat")


def test_a_month_of_a_one_megawatt_hall_costs_what_the_hand_calculation_says():
    # 30 days; 2 racks at $1M, 10 switches at $10k; 1 MW critical; IT 1 MW at PUE 1.2 -> 1.2 MW at the
    # meter all month; 100 m3 of water; 10^12 output tokens
    d = 30 * DAY
    energy = 1.2e6 * d
    inp = CostInputs(system_units={"sys": {"rack": 2, "node": 36}}, fabric_counts={"switch": 10},
                     critical_w=1e6, num_gpus=144, duration_s=d, energy_j=energy,
                     energy_by_hour_j=np.full(24, energy / 24), peak_w=1.2e6, water_m3=100.0,
                     output_tokens=1e12, input_tokens=4e12)
    rep = costs(inp, simple_prices())
    by = {x["item"]: x["usd"] for x in rep.lines}
    share = 30 / 365.25
    crf5, crf15, crf30 = (0.08 * 1.08 ** n / (1.08 ** n - 1) for n in (5, 15, 30))
    hand = {
        "it": 2e6 * crf5 * share,                      # 2,000,000 x 0.2504565 x 30/365.25 = 41,142.74
        "fabric": 1e5 * crf5 * share,
        "power_cooling": 6e6 * crf15 * share,
        "building": 4e6 * crf30 * share,
        "energy (flat)": 1.2e3 * 720 * 0.08,           # 1,200 kW x 720 h x $0.08 = $69,120.00
        "water": 200.0,
        "maintenance": 10e6 * 0.02 * share,
        "IT maintenance": 2.1e6 * 0.05 * share,
        "staff": 50_000.0 * share,
        "insurance": 12.1e6 * 0.005 * share,
        "property tax": 12.1e6 * 0.01 * share,
    }
    assert set(by) == set(hand)
    for item, usd in hand.items():
        assert by[item] == pytest.approx(usd, abs=0.005), item  # to the cent
    assert by["energy (flat)"] == pytest.approx(69_120.00, abs=0.005)
    assert by["it"] == pytest.approx(41_142.74, abs=0.005)
    total = sum(hand.values())
    assert rep.kpis["cost_usd"] == pytest.approx(total, abs=0.01)
    assert rep.kpis["usd_per_gpu_hour"] == pytest.approx(total / 720 / 144, rel=1e-12)
    assert rep.kpis["usd_per_million_tokens"] == pytest.approx(total / 1e6, rel=1e-12)
    assert rep.kpis["usd_per_million_total_tokens"] == pytest.approx(total / 5e6, rel=1e-12)
    assert rep.kpis["tokens_per_kwh"] == pytest.approx(1e12 / (1.2e3 * 720), rel=1e-12)
    assert rep.kpis["tokens_per_mw"] == pytest.approx(1e12 / d / 1.2, rel=1e-12)


def test_a_time_of_use_tariff_bills_by_hour_and_adds_demand_and_capacity_charges():
    d = 30 * DAY
    by_hour = np.zeros(24)
    by_hour[17] = 3.6e9 * 1000  # 1,000 MWh, all at 17:00 (peak) on the list's tariff
    prices = dataclasses.replace(simple_prices(), tariff="time_of_use")
    inp = CostInputs(system_units={"sys": {"rack": 1, "node": 18}}, fabric_counts={}, critical_w=1e6,
                     num_gpus=72, duration_s=d, energy_j=float(by_hour.sum()), energy_by_hour_j=by_hour,
                     peak_w=2e6, water_m3=0.0, output_tokens=1.0, input_tokens=0.0)
    by = {x["item"]: x["usd"] for x in costs(inp, prices).lines}
    assert by["energy (time of use)"] == pytest.approx(1e6 * prices.tou_usd_per_j[17] * 3.6e6, abs=0.005)
    # demand: 2,000 kW x $15/kW-month for 30 of 30.4375 days; capacity: 2 MW x $300/MW-day x 30 days
    assert by["demand charge"] == pytest.approx(2000 * 15 * 30 / (365.25 / 12), abs=0.005)
    assert by["capacity charge"] == pytest.approx(2 * 300 * 30, abs=0.005)
    assert "energy (flat)" not in by


def test_a_system_without_a_price_is_named_with_the_prices_it_has():
    inp = CostInputs(system_units={"mystery-rack": {"rack": 1, "node": 1}}, fabric_counts={}, critical_w=1.0,
                     num_gpus=1, duration_s=1.0, energy_j=0.0, energy_by_hour_j=np.zeros(24), peak_w=0.0,
                     water_m3=0.0, output_tokens=0.0, input_tokens=0.0)
    with pytest.raises(KeyError, match="no price for system 'mystery-rack'"):
        costs(inp, load_prices())


def test_the_bundled_price_list_has_every_system_and_flags_its_old_prices():
    p = load_prices()
    for system in ("gb200-nvl72", "gb300-nvl72", "hgx-b200", "hgx-h200", "hgx-h100"):
        assert p.system_usd[system][0] > 0
        assert system in p.rental_usd_per_gpu_s
    old = stale_prices(p, today=dt.date(2026, 12, 2))
    fields = {w.field for w in old}
    assert "demand_charge" in fields  # the 2017 NREL survey
    assert "systems.gb200-nvl72" not in fields  # 2025-08: within 18 months
    assert all(w.line for w in old)
