"""Total cost of ownership of a factory over a run, and what each token costs.

Pure functions over :class:`CostInputs` (counts, energies, tokens: what a layout and a run give,
gathered by :mod:`twin.engine.costs`) and a :class:`~twin.economics.prices.Prices` list.

**Capex** by asset class: ``it`` (each system's units times its price), ``fabric`` (the scale-out
fabric's switches, transceivers and cables from its bill of materials times their unit prices),
``power_cooling`` (critical power and cooling per MW of critical IT load) and ``building`` (shell,
site, fit-out, back of house, office per MW). Each class is recovered over its own life at the
WACC (:func:`twin.economics.finance.annual_capital_cost`), so a run of length ``D`` carries
``A · D / year`` of it.

**Opex** over the run: energy at the meter (flat price, or the hour-of-day tariff), with a
time-of-use tariff also the demand charge (the run's peak × $/kW-month, prorated to the run) and
the capacity charge (peak × $/MW-day, prorated); water (m³ × price); maintenance as a share of
power/cooling and building capex per year; IT maintenance as a share of IT and fabric capex;
staff per MW of critical load; insurance and property tax as shares of all capex.

**Per token**: ``tokens_per_dollar = output tokens / cost``; ``usd_per_million_tokens`` puts all
cost on the output tokens (the figure API prices are compared with), ``usd_per_million_total_tokens``
on input and output tokens; ``usd_per_gpu_hour = cost per hour / GPUs``; ``tokens_per_mw`` is output
tokens per second per MW of mean power at the meter; ``tokens_per_kwh`` output tokens per kWh at the
meter. The cost of lost tokens is their number times a value per token (a published API price).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.economics.finance import HOUR_S, YEAR_S, annual_capital_cost
from twin.economics.prices import ASSET_CLASSES, Prices


@dataclass(frozen=True)
class CostInputs:
    """What a layout and a run give the economics (SI units)."""

    system_units: dict[str, dict[str, float]]  # system -> {"rack": racks, "node": nodes}
    fabric_counts: dict[str, float]  # price-list equipment name -> count
    critical_w: float  # design critical IT load (racks' nameplate and the network)
    num_gpus: float
    duration_s: float
    energy_j: float  # at the meter (what the utility bills)
    energy_by_hour_j: np.ndarray  # the same energy by hour of the day 0-23 (local)
    peak_w: float  # at the meter
    water_m3: float
    output_tokens: float
    input_tokens: float
    gpus_by_system: dict[str, float] = field(default_factory=dict)
    nameplate_by_system_w: dict[str, float] = field(default_factory=dict)  # racks' nameplate IT power
    lost_output_tokens: float = 0.0
    token_value_usd: float = 0.0  # value of one lost output token
    reference_energy_j: float | None = None  # the same run without its events and policies
    energy_by_run_hour_j: np.ndarray | None = None  # the energy by hour from the run's start


@dataclass(frozen=True)
class CostReport:
    """Costs of one run: ``lines`` (one per item), ``capex_usd`` by class, ``kpis``."""

    lines: tuple[dict, ...]
    capex_usd: dict[str, float]
    kpis: dict[str, float | None]
    prices: str
    unpriced: tuple[str, ...] = ()
    rental_band: dict[str, dict] = field(default_factory=dict)

    def table(self):
        """The cost lines as a pandas DataFrame (category, item, usd, usd_per_hour, usd_per_year)."""
        import pandas as pd

        return pd.DataFrame(list(self.lines))

    def to_dict(self) -> dict:
        """Plain JSON-ready form."""
        return {"prices": self.prices, "kpis": self.kpis, "capex_usd": self.capex_usd,
                "lines": list(self.lines), "unpriced": list(self.unpriced), "rental_band": self.rental_band}


def capex_usd(inputs: CostInputs, prices: Prices) -> dict[str, float]:
    """Capital cost of each asset class. [USD]

    Raises
    ------
    KeyError
        A system of the layout has no price in the list (the message names it and the list).
    """
    it = 0.0
    for system, units in inputs.system_units.items():
        if system not in prices.system_usd:
            raise KeyError(f"price list {prices.name!r} has no price for system {system!r}; it prices "
                           f"{', '.join(sorted(prices.system_usd))}: add it (systems: {system}: ...)")
        usd, per = prices.system_usd[system]
        it += usd * units[per]
    fabric = sum(n * prices.equipment_usd[k] for k, n in inputs.fabric_counts.items()
                 if k in prices.equipment_usd)
    mw = inputs.critical_w
    f = prices.facility_usd_per_w
    power_cooling = f["critical_power_cooling"] * mw
    building = (f["shell"] + f["site"] + f["fit_out"] + f["back_of_house"] + f["office"]) * mw
    return {"it": it, "fabric": fabric, "power_cooling": power_cooling, "building": building}


def cost_lines(inputs: CostInputs, prices: Prices) -> tuple[dict[str, float], list[dict]]:
    """Capex by class and the cost lines of the run (see the module notes)."""
    capex = capex_usd(inputs, prices)
    d = inputs.duration_s
    share = d / YEAR_S  # of a year
    lines: list[dict] = []

    def add(category: str, item: str, usd: float) -> None:
        lines.append({"category": category, "item": item, "usd": float(usd),
                      "usd_per_hour": float(usd) / d * HOUR_S if d > 0 else 0.0,
                      "usd_per_year": float(usd) / d * YEAR_S if d > 0 else 0.0})

    life_y = {c: prices.life_s[c] / YEAR_S for c in ASSET_CLASSES}
    for c in ASSET_CLASSES:
        a = float(annual_capital_cost(capex[c], prices.wacc, life_y[c], prices.residual_share[c]))
        add("capex", c, a * share)
    tou = prices.tariff == "time_of_use" and prices.tou_usd_per_j is not None
    series = prices.hourly_usd_per_j
    if series is not None:
        e = inputs.energy_by_run_hour_j
        e = np.array([inputs.energy_j]) if e is None else e
        if len(series) < len(e):
            raise ValueError(f"the hourly price series has {len(series)} prices; the run needs {len(e)}")
        add("energy", "energy (hourly prices)", float(np.dot(e, np.asarray(series[:len(e)]))))
    elif tou:
        add("energy", "energy (time of use)", float(np.dot(inputs.energy_by_hour_j, prices.tou_usd_per_j)))
    else:
        add("energy", "energy (flat)", inputs.energy_j * prices.energy_usd_per_j)
    if prices.dr_payment_usd_per_j is not None and inputs.reference_energy_j is not None:
        # a credit: the energy the events and policies took off the meter, at the programme's price
        cut = max(inputs.reference_energy_j - inputs.energy_j, 0.0)
        add("energy", "demand-response payment", -cut * prices.dr_payment_usd_per_j)
    if tou or prices.charges_demand:
        add("energy", "demand charge", inputs.peak_w * prices.demand_usd_per_w_s * d)
        add("energy", "capacity charge", inputs.peak_w * prices.capacity_usd_per_w_s * d)
    add("water", "water", inputs.water_m3 * prices.water_usd_per_m3)
    facility = capex["power_cooling"] + capex["building"]
    add("operations", "maintenance", facility * prices.maintenance_share * share)
    add("operations", "IT maintenance", (capex["it"] + capex["fabric"]) * prices.it_maintenance_share * share)
    add("operations", "staff", inputs.critical_w * prices.staff_usd_per_w_s * d)
    total_capex = sum(capex.values())
    add("operations", "insurance", total_capex * prices.insurance_share * share)
    add("operations", "property tax", total_capex * prices.property_tax_share * share)
    return capex, lines


def gpu_hour_by_system(inputs: CostInputs, prices: Prices, capex: dict[str, float], lines: list[dict]
                       ) -> dict[str, float]:
    """Cost per GPU-hour of each system of the layout. [USD/h]

    A system carries its own purchase (its share of the IT capex line and of IT maintenance, by
    purchase price) and a share of every other line (fabric, facility, energy, water, staff...) by
    its racks' share of the nameplate IT power.
    """
    d = inputs.duration_s
    if d <= 0:
        return {}
    own = {s: prices.system_usd[s][0] * u[prices.system_usd[s][1]] for s, u in inputs.system_units.items()}
    it_total = sum(own.values()) or 1.0
    np_total = sum(inputs.nameplate_by_system_w.values()) or 1.0
    it_lines = sum(x["usd"] for x in lines if x["item"] in ("it", "IT maintenance"))
    fabric_maint = capex["fabric"] * prices.it_maintenance_share * d / YEAR_S  # in "IT maintenance"
    it_only = it_lines - fabric_maint
    shared = sum(x["usd"] for x in lines) - it_only
    out = {}
    for s, gpus in inputs.gpus_by_system.items():
        if not gpus:
            continue
        usd = it_only * own[s] / it_total + shared * inputs.nameplate_by_system_w.get(s, 0.0) / np_total
        out[s] = usd / d * HOUR_S / gpus
    return out


def costs(inputs: CostInputs, prices: Prices) -> CostReport:
    """Cost lines, capex and the per-token figures of a run (see the module notes)."""
    if prices.uptime != 1.0:  # downtime the run does not simulate: fewer tokens, the same costs
        import dataclasses as dc

        inputs = dc.replace(inputs, output_tokens=inputs.output_tokens * prices.uptime,
                            input_tokens=inputs.input_tokens * prices.uptime)
    capex, lines = cost_lines(inputs, prices)
    d = inputs.duration_s
    total = sum(x["usd"] for x in lines)
    per_hour = total / d * HOUR_S if d > 0 else None
    out_t, all_t = inputs.output_tokens, inputs.output_tokens + inputs.input_tokens
    mean_mw = inputs.energy_j / d / 1e6 if d > 0 else 0.0
    energy_usd = sum(x["usd"] for x in lines if x["category"] == "energy" and x["usd"] > 0)
    kpis: dict[str, float | None] = {
        "cost_usd": total,
        "usd_per_hour": per_hour,
        "usd_per_year": total / d * YEAR_S if d > 0 else None,
        "capex_usd": sum(capex.values()),
        "usd_per_gpu_hour": per_hour / inputs.num_gpus if per_hour is not None and inputs.num_gpus else None,
        "tokens_per_dollar": out_t / total if total > 0 else None,
        "usd_per_million_tokens": total / out_t * 1e6 if out_t > 0 else None,
        "usd_per_million_total_tokens": total / all_t * 1e6 if all_t > 0 else None,
        "tokens_per_mw": out_t / d / mean_mw if d > 0 and mean_mw > 0 else None,
        "tokens_per_kwh": out_t / (inputs.energy_j / 3.6e6) if inputs.energy_j > 0 else None,
        "energy_usd": energy_usd,
        "lost_tokens_usd": inputs.lost_output_tokens * inputs.token_value_usd,
    }
    if inputs.reference_energy_j is not None:
        # the events' and policies' effect on the energy bill at the run's mean price
        price = energy_usd / inputs.energy_j if inputs.energy_j > 0 else prices.energy_usd_per_j
        kpis["energy_saved_usd"] = (inputs.reference_energy_j - inputs.energy_j) * price
    band = {}
    if per_hour is not None:
        for system, mine in gpu_hour_by_system(inputs, prices, capex, lines).items():
            ref = prices.rental_usd_per_gpu_s.get(system)
            if ref is None:
                continue
            lo, hi = ref[0] * HOUR_S, ref[1] * HOUR_S
            band[system] = {"usd_per_gpu_hour": mine, "published_low": lo, "published_high": hi,
                            "verdict": "below" if mine < lo else "above" if mine > hi else "within"}
    unpriced = tuple(f"{k} x {n:,.0f}" for k, n in sorted(inputs.fabric_counts.items())
                     if k not in prices.equipment_usd)
    return CostReport(tuple(lines), capex, kpis, prices.name, unpriced, band)


#: Default ranges of the tornado: (name, what it scales, low, high). Each is an assumption on how far
#: the input is uncertain at planning time, stated so that a user can replace it.
TORNADO_RANGES: tuple[tuple[str, str, float, float], ...] = (
    ("system prices -20 % / +20 %", "system_price", 0.8, 1.2),
    ("fabric prices -30 % / +30 %", "fabric_price", 0.7, 1.3),
    ("facility capex per MW -20 % / +20 %", "facility_price", 0.8, 1.2),
    ("energy price -30 % / +30 %", "energy_price", 0.7, 1.3),
    ("WACC 6 % / 10 %", "wacc", 0.06, 0.10),
    ("IT and fabric life 4 / 7 years", "it_life", 4.0, 7.0),
    ("IT maintenance 2 % / 10 % a year", "it_maintenance", 0.02, 0.10),
    ("tokens served -20 % / +20 % (utilisation)", "tokens", 0.8, 1.2),
    ("energy used -10 % / +10 % (PUE, load)", "energy_used", 0.9, 1.1),
)


def _varied(inputs: CostInputs, prices: Prices, what: str, x: float) -> tuple[CostInputs, Prices]:
    import dataclasses as dc

    if what == "system_price":
        systems = {k: (v * x, per) for k, (v, per) in prices.system_usd.items()}
        return inputs, dc.replace(prices, system_usd=systems)
    if what == "fabric_price":
        return inputs, dc.replace(prices, equipment_usd={k: v * x for k, v in prices.equipment_usd.items()})
    if what == "facility_price":
        facility = {k: v * x for k, v in prices.facility_usd_per_w.items()}
        return inputs, dc.replace(prices, facility_usd_per_w=facility)
    if what == "energy_price":
        tou = None if prices.tou_usd_per_j is None else tuple(v * x for v in prices.tou_usd_per_j)
        return inputs, dc.replace(prices, energy_usd_per_j=prices.energy_usd_per_j * x, tou_usd_per_j=tou)
    if what == "wacc":
        return inputs, dc.replace(prices, wacc=x)
    if what == "it_life":
        return inputs, dc.replace(prices, life_s={**prices.life_s, "it": x * YEAR_S, "fabric": x * YEAR_S})
    if what == "it_maintenance":
        return inputs, dc.replace(prices, it_maintenance_share=x)
    if what == "tokens":
        return dc.replace(inputs, output_tokens=inputs.output_tokens * x,
                          input_tokens=inputs.input_tokens * x), prices
    if what == "energy_used":
        return dc.replace(inputs, energy_j=inputs.energy_j * x, energy_by_hour_j=inputs.energy_by_hour_j * x,
                          peak_w=inputs.peak_w * x), prices
    raise ValueError(f"unknown tornado input {what!r}")


def tornado(inputs: CostInputs, prices: Prices, ranges=TORNADO_RANGES, kpi: str = "usd_per_million_tokens"
            ) -> list[dict]:
    """How far each input moves a KPI (default $ per million output tokens), largest swing first.

    Each input is set to the low and the high end of its range (:data:`TORNADO_RANGES`), the others
    held; rows ``{input, low, high, base, swing}`` give the KPI at each end.
    """
    base = costs(inputs, prices).kpis[kpi]
    rows = []
    for name, what, lo, hi in ranges:
        vals = [costs(*_varied(inputs, prices, what, x)).kpis[kpi] for x in (lo, hi)]
        rows.append({"input": name, "low": vals[0], "high": vals[1], "base": base,
                     "swing": abs(vals[1] - vals[0]) if None not in vals else 0.0})
    return sorted(rows, key=lambda r: -r["swing"])


def usd_per_million_tokens(usd_per_hour: float, tokens_per_s) -> np.ndarray:
    """Cost of a million tokens when ``usd_per_hour`` buys ``tokens_per_s``. [USD]

    .. math:: c = \\frac{C_h}{3600\\,r} \\cdot 10^6
    """
    r = np.asarray(tokens_per_s, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(r > 0, usd_per_hour / (HOUR_S * r) * 1e6, np.inf)
