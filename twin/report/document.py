"""The layout report as data: sections of text, tables and figures, built from the engine's results.

:func:`build_report` is a pure function of :class:`twin.Results` (plus, optionally, the steady coupled
point of a scenario, :class:`twin.engine.timeseries.SimResults`); :mod:`twin.report.html`,
:mod:`twin.report.xlsx` and :mod:`twin.report.pdf` write the same :class:`Document`. Table cells keep
numbers as numbers (units in the column names), so the workbook's totals are the engine's figures;
the HTML formats them. Plotly is imported where a figure is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Titles of the sections, in report order ("Serving and economics" only with a scenario, "Annual
#: figures" only with an annual run).
SECTION_TITLES = ("Summary", "Floor plan", "Power", "Cooling", "Fabric", "Bill of materials",
                  "Power and cooling budgets, N-1", "Serving and economics", "Annual figures",
                  "Assumptions and sources")


@dataclass(frozen=True)
class Table:
    """A titled table: rows of ``column -> value`` (str, int, float, bool or None), all rows alike."""

    title: str
    rows: list[dict]
    note: str = ""

    @property
    def columns(self) -> list[str]:
        """Column names, in the order of the first row that has them."""
        return list(dict.fromkeys(k for r in self.rows for k in r))


@dataclass(frozen=True)
class Section:
    """A report section: its title, paragraphs, tables and Plotly figures (titles for the workbook)."""

    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple = ()

    @property
    def key(self) -> str:
        """A short identifier of the section (HTML anchor), from its title."""
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


@dataclass(frozen=True)
class Document:
    """A whole report: title, a line under it and its sections."""

    title: str
    subtitle: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def section(self, title: str) -> Section:
        """The section titled ``title`` (``KeyError`` if the report has none)."""
        for s in self.sections:
            if s.title == title:
                return s
        raise KeyError(title)


def _mw(w: float | None) -> float | None:
    return None if w is None else float(w) / 1e6


def _kw(w: float | None) -> float | None:
    return None if w is None else float(w) / 1e3


def _verdict(ok: bool | None) -> str:
    return "not analysed" if ok is None else ("holds" if ok else "FAILS")


def summary_rows(results) -> list[dict]:
    """The headline figures (numbers unrounded, unit in its own column): what the workbook totals."""
    f = results.factory
    cool = results.cooling
    rows = [
        ("layout", f.name, ""), ("layout file", f.source_file, ""), ("halls", len(f.halls), ""),
        ("racks", f.num_racks, ""), ("GPUs", f.num_gpus, ""), ("utilisation", results.utilisation, ""),
        ("IT power", _mw(results.it_power_w), "MW"),
        ("IT power, compute racks", _mw(results.it_power_racks_w), "MW"),
        ("IT power, network", _mw(results.network_power_w), "MW"),
        ("power chain input", _mw(results.power_chain_w), "MW"),
        ("power-chain losses", _mw(results.losses_total_w), "MW"),
        ("cooling power", _mw(results.cooling_power_w) if cool is not None else None, "MW"),
        ("facility power at the meter", _mw(results.facility_power_w), "MW"),
        ("PUE", results.pue, ""), ("PUE, electrical losses only", results.pue_electrical, ""),
    ]
    if cool is not None:
        rows += [("ambient dry bulb", cool.ambient.dry_bulb_c, "degC"),
                 ("hottest GPU", cool.max_gpu_temp_c, "degC"),
                 ("racks throttled", cool.racks_throttled, "")]
    rows += [("power N-1", _verdict(results.n_minus_1_survives), ""),
             ("cooling N-1", _verdict(cool.n_minus_1_survives if cool is not None else None), ""),
             ("components overloaded in normal operation", len(results.baseline_overloads), ""),
             ("model invariants", "all hold" if all(results.invariants.values()) else "VIOLATED", "")]
    return [{"figure": a, "value": v, "unit": u} for a, v, u in rows]


def _summary(results, scenario_results) -> Section:
    systems = [{"system": s["system"], "racks": s["num_racks"], "GPUs": s["num_gpus"],
                "largest rack input [kW]": _kw(s["rack_input_w_max"]), "GPU power [W]": s["gpu_power_w"],
                "lowest clock factor": s["clock_factor_min"]} for s in results.system_rows()]
    paras = [f"Steady evaluation of layout {results.factory.name!r} at utilisation {results.utilisation:.0%}"
             " with the power and cooling single-failure (N-1) analyses."]
    if scenario_results is None:
        paras.append("No scenario was given: serving and economics are not in this report "
                     "(twin report FILE --scenario S adds them).")
    broken = {k: v for k, v in results.invariant_messages.items() if v is not None}
    if broken:
        paras.append("MODEL INVARIANTS VIOLATED, the figures are not to be trusted: "
                     + "; ".join(f"{k}: {v}" for k, v in broken.items()))
    return Section("Summary", tuple(paras), (Table("Headline figures", summary_rows(results)),
                                             Table("Systems", systems)))


def _floor_plan(results) -> Section:
    from twin.report.figures import floor_plan_figure

    return Section("Floor plan", ("Halls side by side, rows top to bottom, coloured by rack input power.",),
                   figures=(floor_plan_figure(results),))


def _power(results) -> Section:
    from twin.report.figures import STAGES, loading_figure, one_line_figure, power_flows, power_sankey

    flows = [{"from": a, "to": b, "power [MW]": _mw(w)} for a, b, w in power_flows(results)]
    losses = [{"stage": STAGES.get(k, k.replace("_", " ")), "loss [MW]": _mw(w),
               "share of IT power": w / results.it_power_w if results.it_power_w else None}
              for k, w in results.losses_w.items()]
    top = [{"component": c["name"], "kind": c["kind"], "load [kW]": _kw(c["load_w"]),
            "rating [kW]": _kw(c["rating_w"]), "loading": c["loading"], "loss [kW]": _kw(c["loss_w"])}
           for c in results.component_rows()]
    figs = [power_sankey(results), one_line_figure(results), loading_figure(results)]
    over = [{"component": o.name, "kind": o.kind, "loading": o.loading} for o in results.baseline_overloads]
    tables = [Table("Power flows", flows, "the meter's outflows sum to the facility power, IT's to IT power"),
              Table("Losses by stage", losses, "power-shelf losses lie inside IT power"),
              Table("Power components, most loaded first", top)]
    if over:
        tables.append(Table("Overloaded in normal operation", over))
    return Section("Power", (f"{_mw(results.facility_power_w):,.3f} MW at the meter for "
                             f"{_mw(results.it_power_w):,.3f} MW of IT power.",), tuple(tables), tuple(figs))


#: Most hall loops the report draws a schematic of (one figure each; every loop is in the tables).
MAX_LOOP_SCHEMATICS = 4


def _cooling(results) -> Section:
    from twin.report.figures import cdu_loading_figure, loop_schematic_figure
    from twin.report.tables import loop_rows

    cool = results.cooling
    if cool is None:
        return Section("Cooling", ("The layout has no 'cooling:' design: PUE counts electrical losses "
                                   "only.",))
    figures_ = [
        ("heat to liquid", _mw(cool.heat_to_liquid_w), "MW"),
        ("heat to air", _mw(cool.heat_to_air_w), "MW"),
        ("heat rejected", _mw(cool.heat_rejected_w), "MW"),
        ("cooling power", _mw(cool.cooling_power_w), "MW"),
        ("water use", cool.water_use_m3_h, "m3/h"), ("hottest GPU", cool.max_gpu_temp_c, "degC"),
        ("least margin to throttling", cool.min_throttle_margin_k, "K"),
        ("highest ambient without throttling", cool.max_ambient_c, "degC"),
    ]
    by_kind = [{"plant": k.replace("_", " "), "power [kW]": _kw(w)}
               for k, w in cool.result.cooling_power_by_kind().items()]
    groups = [{"CDU group": g["name"], "CDUs": g["cdus"], "heat [kW]": _kw(g["heat_w"]),
               "capacity [kW]": _kw(g["capacity_w"]), "loading": g["loading"], "supply [degC]": g["supply_c"],
               "return [degC]": g["return_c"], "approach [K]": g["approach_k"],
               "pump power [kW]": _kw(g["pump_power_w"])} for g in cool.group_rows()]
    uncooled = cool.network_heat_outside_loops_w
    paras = [f"Ambient {cool.ambient.dry_bulb_c:.1f} degC dry bulb, "
             f"{cool.ambient.relative_humidity:.0%} relative humidity."]
    if uncooled > 0:
        paras.append(f"{uncooled / 1e3:,.0f} kW of network racks lie outside the hall loops: counted as IT "
                     "power, cooled by no modelled plant.")
    glance = [{"figure": a, "value": v, "unit": u} for a, v, u in figures_]
    return Section("Cooling", tuple(paras),
                   (Table("Cooling at a glance", glance),
                    Table("Hall loops", loop_rows(results)), Table("CDU groups", groups),
                    Table("Cooling power by plant", by_kind)),
                   (*(loop_schematic_figure(results, i) for i in range(min(len(cool.params.loops),
                                                                            MAX_LOOP_SCHEMATICS))),
                    cdu_loading_figure(results)))


#: Most scale-out clusters whose topology the report draws (one figure each).
MAX_TOPOLOGY_FIGURES = 4


def _fabric(results) -> Section:
    from twin.report.fabric import (
        bandwidth_rows,
        bom_table_rows,
        cluster_names,
        fabric_glance_rows,
        topology_figure,
    )

    fab = results.fabric
    names = cluster_names(fab)
    tables = [Table("Fabric at a glance", fabric_glance_rows(fab))]
    bandwidth = bandwidth_rows(fab)
    if bandwidth:
        tables.append(Table("Bandwidth per cluster (per direction, all planes)", bandwidth))
    tables.append(Table("Fabric bill of materials (summed over locations)", bom_table_rows(fab)))
    paras = [] if names else ["No scale-out fabric (the layout has no 'fabric:' section): NVLink domains "
                              "only."]
    if len(names) > MAX_TOPOLOGY_FIGURES:
        paras.append(f"Topology drawn for the first {MAX_TOPOLOGY_FIGURES} of {len(names)} clusters.")
    figs = tuple(topology_figure(fab, i) for i in range(min(len(names), MAX_TOPOLOGY_FIGURES)))
    return Section("Fabric", tuple(paras), tuple(tables), figs)


def _bom(results, layout) -> Section:
    from twin.report.bom import bill_of_materials

    rows = [{"category": r["category"], "item": r["item"], "model": r["model"], "location": r["location"],
             "count": r["count"], "unit rating [kW]": _kw(r["unit_rating_w"]), "note": r["note"]}
            for r in bill_of_materials(results, layout)]
    totals: dict[tuple, int] = {}
    for r in rows:
        totals[(r["category"], r["item"])] = totals.get((r["category"], r["item"]), 0) + r["count"]
    summed = [{"category": c, "item": i, "count": n} for (c, i), n in totals.items()]
    paras = ("Counted from the expanded layout: racks and PSUs from the rack arrays, power equipment from "
             "the power tree, cooling equipment from the hall loops, fabric parts from the fabric's BOM."
             + ("" if layout is not None else " Standby generators need the layout file and are left out."),)
    return Section("Bill of materials", paras, (Table("Totals by item", summed),
                                                Table("Bill of materials", rows)))


def power_budget_rows(results) -> list[dict]:
    """Per power-node kind: units, rating and load in total, the most loaded unit, its N-1 verdict."""
    nodes = results.power_nodes()
    cases = results.power_cases
    rows = []
    for kind in dict.fromkeys(nodes["kind"]):
        k = nodes[nodes["kind"] == kind]
        worst = k.sort_values("loading", ascending=False).iloc[0]
        mine = [c for c in cases or [] if c.kind == kind or c.kind.startswith(f"{kind}_")]
        rows.append({"kind": kind, "units": len(k), "rating [MW]": _mw(k["rating_w"].sum()),
                     "load [MW]": _mw(k["load_w"].sum()), "most loaded": str(worst["name"]),
                     "its loading": float(worst["loading"]),
                     "N-1 cases": len(mine) if cases is not None else None,
                     "N-1 not survived": sum(not c.survives for c in mine) if cases is not None else None})
    shelf = [c for c in cases or [] if c.kind == "power_shelf"]
    if shelf:
        rows.append({"kind": "power_shelf", "units": None, "rating [MW]": None, "load [MW]": None,
                     "most loaded": "", "its loading": None, "N-1 cases": len(shelf),
                     "N-1 not survived": sum(not c.survives for c in shelf)})
    return rows


#: Cooling equipment of a hall loop in the budget: (label, loop attribute, count attribute, heat it carries).
COOLING_UNITS = (("CDUs", "cdu", None, "liquid"),
                 ("heat rejection", "rejection", "num_rejection", "liquid"),
                 ("trim chillers", "trim_chiller", "num_trim_chillers", "liquid"),
                 ("CRAHs", "crah", "num_crahs", "air"),
                 ("air-side chillers", "air_chiller", "num_air_chillers", "air"))


def cooling_budget_rows(results) -> list[dict]:
    """Per hall loop and equipment: rated capacity installed and with one unit out, against the heat.

    Rated capacities (the dry coolers' at their rated temperature difference); whether the plant
    holds a failure at the ambient is the cooling N-1 simulation's verdict.
    """
    plant = results.factory.cooling
    if plant is None:
        return []
    loops = {r["name"]: r for r in results.cooling.loop_rows()}
    rows = []
    for li, lp in enumerate(plant.loops):
        loop = loops[lp.name]
        heat = {"liquid": loop["heat_to_liquid_w"], "air": loop["heat_to_air_w"]}
        for label, attr, count, carries in COOLING_UNITS:
            eq = getattr(lp, attr)
            n = int(plant.group_cdus[plant.group_loop == li].sum()) if count is None else getattr(lp, count)
            if eq is None or n == 0:
                continue
            unit = eq.values["capacity"]
            load = heat[carries]
            rows.append({"hall": lp.name, "equipment": label, "model": eq.name, "units": n,
                         "unit capacity [kW]": _kw(unit), "installed [kW]": _kw(n * unit),
                         "one out [kW]": _kw((n - 1) * unit), "heat [kW]": _kw(load),
                         "loading": load / (n * unit) if unit else None,
                         "loading, one out": load / ((n - 1) * unit) if unit and n > 1 else None})
    return rows


def _budgets(results) -> Section:
    from twin.engine.capacity import capacity
    from twin.report.tables import capacity_table, first_limit_text, n_minus_1_rows

    cool = results.cooling
    feeds = results.power_nodes()
    feeds = feeds[feeds["kind"] == "feed"]
    feed_rows = [{"feed": r["name"], "rating [MW]": _mw(r["rating_w"]), "load [MW]": _mw(r["load_w"]),
                  "loading": r["loading"]} for _, r in feeds.iterrows()]
    power_cases = n_minus_1_rows(results)
    power_cases.sort(key=lambda r: r["survives"] == "yes")
    cap = capacity(results)
    tables = [Table("Capacity: maximum, planned, remaining", capacity_table(cap), first_limit_text(cap)),
              Table("Utility feeds", feed_rows),
              Table("Power budget by component kind", power_budget_rows(results)),
              Table("Power N-1: every single failure", power_cases, "not survived first")]
    paras = [first_limit_text(cap),
             f"Power N-1: {_verdict(results.n_minus_1_survives)} "
             f"({len(results.power_cases or [])} single failures tried)."]
    if cool is not None:
        paras.append(f"Cooling N-1: {_verdict(cool.n_minus_1_survives)} ({len(cool.cases or [])} single "
                     f"failures simulated at {cool.ambient.dry_bulb_c:.1f} degC).")
        tables.append(Table("Cooling budget at rated capacity", cooling_budget_rows(results),
                            "rated capacities; the cooling N-1 below simulates each failure at the ambient"))
        tables.append(Table("Cooling N-1: every single failure", [
            {"failed": c.failed, "kind": c.kind, "survives": "yes" if c.survives else "NO",
             "racks throttled": c.racks_throttled, "seconds to first throttle": c.seconds_to_first_throttle,
             "peak GPU [degC]": c.peak_gpu_temp_c, "identical components": c.alike}
            for c in sorted(cool.cases or [], key=lambda c: c.survives)]))
    return Section("Power and cooling budgets, N-1", tuple(paras), tuple(tables))


def _sim(scenario_results):
    """The :class:`SimResults` of ``scenario_results`` (itself, or a :class:`SteadyMoney`'s ``results``)."""
    return getattr(scenario_results, "results", scenario_results)


def _point_rows(res) -> list[dict]:
    sc = res.scenario
    st = res.steps_table().iloc[0]
    point = [("scenario", sc.name, ""), ("scenario file", sc.source_file, ""),
             ("hour of the day", sc.run.start_hour, "h"), ("dry bulb", float(st["dry_bulb_c"]), "degC"),
             ("facility power at the meter", _mw(st["meter_w"]), "MW"), ("IT power", _mw(st["it_w"]), "MW"),
             ("cooling power", _mw(st["cooling_w"]), "MW"), ("PUE", float(st["pue"]), ""),
             ("output tokens per second", float(st["tokens_per_s"]), "tokens/s"),
             ("hottest GPU", float(st["max_gpu_temp_c"]), "degC"),
             ("racks throttled", int(st["throttled_racks"]), ""),
             ("racks capped", int(st["capped_racks"]), "")]
    return [{"figure": a, "value": v, "unit": u} for a, v, u in point]


def _sim_tables(res) -> list[Table]:
    """Deployments and costs of a priced :class:`SimResults` (without the money module's extras)."""
    deps = []
    for name, d in res.deployments.items():
        deps.append({"deployment": name, "output tokens/s": d["output_tokens"] / res.duration_s,
                     "requests served/s": d["requests_served"] / res.duration_s,
                     "TTFT mean [ms]": (d["ttft_mean_s"] or 0) * 1e3,
                     "TTFT p99 [ms]": ((d.get("ttft_s") or {}).get("p99") or 0) * 1e3,
                     "TPOT mean [ms]": (d["tpot_mean_s"] or 0) * 1e3,
                     "TPOT p99 [ms]": ((d.get("tpot_s") or {}).get("p99") or 0) * 1e3,
                     "SLO met": d.get("slo_met_share")})
    tables = [Table("Deployments", deps)]
    if res.costs is not None:
        kpis = [{"figure": key.replace("_", " "), "value": v} for key, v in res.costs.kpis.items()]
        lines = [{"category": ln["category"], "item": ln["item"], "USD per hour": ln["usd_per_hour"],
                  "USD per year": ln["usd_per_year"]} for ln in res.costs.lines]
        tables += [Table(f"Economics ({res.costs.prices})", kpis), Table("Cost lines", lines)]
    return tables


def _money_parts(money) -> tuple[list[Table], list]:
    """Tables and figures of a :class:`twin.report.money.SteadyMoney` (tornado and cost curve included)."""
    from twin.report import money as m

    tables = [Table("Deployments", m.deployment_rows(money))]
    figs = []
    if money.results.costs is not None:
        tables += [Table("Economics at a glance", m.money_kpi_rows(money)),
                   Table("Cost lines", m.cost_rows(money), "capex annualised at the list's WACC and lives")]
        figs.append(m.cost_breakdown_figure(money))
        if money.tornado:
            tables.append(Table("Tornado: $ per million output tokens over each input's range",
                                m.tornado_rows(money)))
            figs.append(m.tornado_figure(money))
        if money.curve:
            figs.append(m.throughput_interactivity_figure(money))
    return tables, figs


def _serving(scenario_results) -> Section:
    res = _sim(scenario_results)
    sc = res.scenario
    if hasattr(scenario_results, "tornado"):
        tables, figs = _money_parts(scenario_results)
    else:
        tables, figs = _sim_tables(res), []
    paras = ("The steady coupled point of the scenario (as twin evaluate FILE --scenario S): its deployments "
             "serve their rate at the scenario's start, power and cooling at its weather, throttling solved "
             "with them. Costs are per hour of that point and per year at it.",
             "An annual scenario's year is in the annual figures; for a time-domain scenario, twin simulate "
             f"{sc.source_file} gives energy, PUE and tokens over the whole run (not run for this report).")
    if res.costs is not None and res.costs.unpriced:
        paras += (f"Not priced (no price in the list): {', '.join(res.costs.unpriced)}.",)
    return Section("Serving and economics", paras, (Table("Steady coupled point", _point_rows(res)), *tables),
                   tuple(figs))


def _assumptions(results, scenario_results, catalog, layout) -> Section:
    from twin.report.sources import assumption_rows, used_entries

    names = used_entries(results, layout)
    sim = _sim(scenario_results) if scenario_results is not None else None
    if sim is not None:
        names += [d.model for d in sim.scenario.deployments]
    rows = assumption_rows(catalog, list(dict.fromkeys(names)))
    n_src = sum(r["basis"] == "source" for r in rows)
    n_entries = len({r["entry"] for r in rows})
    paras = (f"Every catalog figure of the {n_entries} catalog entries the layout uses: {n_src} with a "
             f"source, {len(rows) - n_src} assumptions. An entry that extends another shows the figures it "
             "inherits under its own file. Design choices (counts, setpoints, ratings of the utility feeds) "
             "are the layout's own, in its file.",)
    if sim is not None and sim.costs is not None:
        paras += (f"Prices: list {sim.costs.prices!r}; each price's source and date are in its file "
                  "(twin prices shows them).",)
    return Section("Assumptions and sources", paras, (Table("Catalog figures", rows),))


def _annual(run) -> Section:
    from twin.report.timeseries import annual_figure, kpi_rows, monthly_rows

    sc = run.scenario
    paras = (f"The scenario {sc.name!r} over its weather year ({run.duration_s / 3600.0:,.0f} h, hour by "
             "hour: serving, power, cooling and throttling solved each hour at that hour's weather), as "
             f"twin simulate {sc.source_file} runs it.",)
    return Section("Annual figures", paras, (Table("Over the year", kpi_rows(run)),
                                             Table("By month", monthly_rows(run))), (annual_figure(run),))


def build_report(results, *, scenario_results=None, catalog=None, layout=None, annual=None) -> Document:
    """The layout report of ``results`` as a :class:`Document` (sections in :data:`SECTION_TITLES` order).

    Parameters
    ----------
    results : twin.Results
        A steady evaluation (:func:`twin.engine.steady.evaluate`), best with its N-1 analyses.
    scenario_results : SteadyMoney or SimResults, optional
        A scenario on the same layout: :func:`twin.report.money.steady_money`'s priced steady point
        with its tornado and cost curve, or a priced :class:`SimResults`
        (:func:`twin.engine.coupled.steady_point` then :func:`~twin.engine.coupled.with_costs`). Adds
        the serving and economics section.
    catalog : twin.layout.Catalog, optional
        The catalog the layout was expanded with (for the assumptions and their sources).
    layout : twin.layout.Layout, optional
        The parsed layout (for the standby generators of the bill of materials). When ``catalog``
        or ``layout`` is not given both are read again from ``results.factory.source_file``.
    annual : SimResults, optional
        An annual run of the scenario (``run: {mode: annual}`` with a weather year, from
        :func:`twin.engine.coupled.simulate`): adds the annual figures (the year's KPIs, PUE and
        throttled hours by month).

    Raises
    ------
    InputError
        The layout file had to be read again and has problems.
    """
    if catalog is None or layout is None:
        from twin.report.sources import load_sources

        read_layout, read_catalog = load_sources(results.factory.source_file)
        layout = read_layout if layout is None else layout
        catalog = read_catalog if catalog is None else catalog
    f = results.factory
    sections = [_summary(results, scenario_results), _floor_plan(results), _power(results), _cooling(results),
                _fabric(results), _bom(results, layout), _budgets(results)]
    if scenario_results is not None:
        sections.append(_serving(scenario_results))
    if annual is not None:
        sections.append(_annual(annual))
    sections.append(_assumptions(results, scenario_results, catalog, layout))
    subtitle = (f"{f.num_racks:,} racks, {f.num_gpus:,} GPUs in {len(f.halls)} hall(s); "
                f"{results.it_power_w / 1e6:,.2f} MW IT, {results.facility_power_w / 1e6:,.2f} MW at the "
                "meter"
                + (f", PUE {results.pue:.3f}" if results.pue is not None else ""))
    return Document(f"Layout report: {f.name}", subtitle, tuple(sections))
