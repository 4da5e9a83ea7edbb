"""``twin validate`` and ``twin evaluate``: layout checks and the steady power chain with N-1."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from twin.cli.common import (
    ambient_option,
    fail_input,
    json_option,
    parse_ambient,
    parse_power,
    utilisation_option,
    write_json,
)
from twin.cli.thermal import cooling_summary
from twin.engine.steady import evaluate
from twin.errors import ArgumentError, InputError
from twin.layout import BUNDLED_CATALOG, check_file, load_layout
from twin.power.failover import num_cases
from twin.units import format_si

#: Layout run by ``twin evaluate`` when no file is given.
DEFAULT_LAYOUT = BUNDLED_CATALOG.parent / "layouts" / "pod-8x-nvl72.yaml"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
def validate(files: tuple[Path, ...], json_out: str | None) -> None:
    """Check layout or catalog FILES; print every problem with file:line and field."""
    results, ok = [], True
    for path in files:
        entry = {"file": str(path), "valid": True, "problems": []}
        try:
            info = check_file(path)
            entry |= {k: v for k, v in info.items() if k != "name"}
            if info["type"] == "catalog":
                msg = (f"OK  {path}: catalog file, valid with the bundled catalog "
                       f"({info['num_entries']} entries)")
            else:
                msg = (
                    f"OK  {path}: layout {info['name']!r}, {info['num_racks']} racks, "
                    f"{info['num_gpus']} GPUs, {info['num_power_nodes']} power components"
                )
            if json_out != "-":
                click.echo(msg)
        except InputError as exc:
            ok = False
            entry["valid"] = False
            entry["problems"] = [p.__dict__ for p in exc.problems]
            click.echo(str(exc), err=True)
        results.append(entry)
    if json_out:
        write_json({"valid": ok, "files": results}, json_out)
    if not ok:
        sys.exit(2)


def _summary(d: dict, top: int) -> str:
    """Human-readable summary of an evaluation dict (``Results.to_dict()``)."""
    lines = [
        f"Layout {d['layout']!r} ({d['source_file']})",
        f"  {d['num_halls']} hall(s), {d['num_racks']} racks, {d['num_gpus']} GPUs, "
        f"utilisation {d['utilisation']:.0%}",
    ]
    for s in d["systems"]:
        lines.append(
            f"  {s['system']:<16} {s['num_racks']:>6} racks {s['num_gpus']:>8} GPUs  "
            f"rack input {format_si(s['rack_input_w_max'], 'W')}  GPU {s['gpu_power_w']:.0f} W"
            + (f"  (capped, clock {s['clock_factor_min']:.2f})" if s["clock_factor_min"] < 1 else "")
        )
    lines += [
        "",
        "Power",
        f"  IT power (racks + network)  {format_si(d['it_power_w'], 'W', 4)}   "
        f"(racks {format_si(d['it_power_racks_w'], 'W', 4)}, "
        f"network {format_si(d['fabric_power_w'], 'W', 4)})",
        f"  Power chain (electrical)    {format_si(d['power_chain_w'], 'W', 4)}",
        *(
            [f"  Cooling power               {format_si(d['cooling_power_w'], 'W', 4)}"]
            if d.get("cooling")
            else []
        ),
        f"  Facility power (at meter)   {format_si(d['facility_power_w'], 'W', 4)}",
        (
            f"  PUE                         {d['pue']:.3f}   "
            f"(electrical losses only: {d['pue_electrical']:.3f})"
            if d["pue"] is not None
            else f"  PUE, electrical only        {d['pue_electrical']:.3f}   "
            "(no cooling design in the layout)"
        ),
        "",
        "Losses by stage",
    ]
    notes = {"power_shelf": "  (inside IT power)",
             "network_share": "  (network racks, at the chain's average loss ratio)"}
    for stage, w in d["losses_w"].items():
        note = notes.get(stage, "")
        share = w / d["it_power_w"] if d["it_power_w"] else 0
        lines.append(f"  {stage:<14} {format_si(w, 'W'):>10}  {share:6.2%} of IT{note}")
    fab = d.get("fabric")
    if fab and fab.get("num_compute_nics"):
        lines += [
            "",
            f"Fabric: {fab['num_nvlink_domains']} NVLink domains, {fab['num_compute_nics']} compute NICs, "
            f"{fab['num_leaf_switches']} leaf / {fab['num_spine_switches']} spine switches, "
            f"{fab['num_transceivers']} transceivers, {format_si(fab['fabric_power_w'], 'W')} "
            "(details: twin fabric FILE)",
        ]
    lines += [
        "",
        f"Most loaded components (top {top})",
        f"  {'component':<44} {'kind':<12} {'load':>10} {'rating':>10} {'loading':>8}",
    ]
    for c in d["components"][:top]:
        loading = f"{c['loading']:.0%}" if c["loading"] is not None else "-"
        lines.append(
            f"  {c['name']:<44} {c['kind']:<12} {format_si(c['load_w'], 'W'):>10} "
            f"{format_si(c['rating_w'], 'W'):>10} {loading:>8}"
        )
    broken = d.get("invariant_violations", {})
    if broken:
        lines += ["", f"MODEL INVARIANTS VIOLATED ({len(broken)}): the figures above are not to be trusted"]
        lines += [f"  {name}: {msg}" for name, msg in broken.items()]
    if d["baseline_overloads"]:
        lines += ["", f"OVERLOADED IN NORMAL OPERATION: {len(d['baseline_overloads'])} component(s)"]
        for o in d["baseline_overloads"][:top]:
            lines.append(f"  {o['name']:<44} {o['kind']:<12} {o['loading']:.0%} of rating")
    if "n_minus_1" in d:
        cases = d["n_minus_1"]
        bad = [c for c in cases if not c["survives"]]
        lines.append("")
        if not bad:
            lines.append(f"N-1: the design survives every single failure ({len(cases)} cases).")
        else:
            lines.append(f"N-1: {len(bad)} of {len(cases)} single failures are NOT survived:")
            for c in bad[:top]:
                what = []
                if c["racks_dropped"]:
                    what.append(
                        f"{c['racks_dropped']} racks dropped ({format_si(c['power_dropped_w'], 'W')})"
                    )
                if c["overloaded"]:
                    worst = c["overloaded"][0]
                    what.append(
                        f"{len(c['overloaded'])} overloaded, worst {worst['name']} at {worst['loading']:.0%}"
                    )
                lines.append(f"  {c['failed']:<44} " + "; ".join(what))
            if len(bad) > top:
                lines.append(f"  ... and {len(bad) - top} more (see --json)")
    if d.get("cooling"):
        lines += ["", *cooling_summary(d["cooling"], top)]
    return "\n".join(lines)


def _evaluate(factory, utilisation: float, cap: float | None, amb: float | None, no_n_minus_1: bool):
    """Run the evaluation with N-1 progress on a terminal (a bar) or a line for large layouts."""
    n = len(factory.power)
    if not no_n_minus_1 and n > 200 and sys.stderr.isatty():
        label = f"N-1 analysis, {num_cases(factory)} cases"
        with click.progressbar(length=n, label=label, file=sys.stderr) as bar:
            return evaluate(factory, utilisation, gpu_cap_w=cap, ambient_c=amb,
                            progress=lambda done, total: bar.update(done - bar.pos))
    if not no_n_minus_1 and n > 200:
        click.echo(f"N-1 analysis: {num_cases(factory)} single failures ({n} power components, UPS "
                   "modules and power shelves) ...", err=True)
    return evaluate(factory, utilisation, gpu_cap_w=cap, ambient_c=amb, with_n_minus_1=not no_n_minus_1)


@click.command(name="evaluate")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@utilisation_option
@click.option("--gpu-power-cap", metavar="POWER", help="Cap every GPU, e.g. '1000 W'.")
@ambient_option
@click.option("--no-n-minus-1", is_flag=True, help="Skip the N-1 failure analyses (power and cooling).")
@click.option(
    "--top",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Rows in the 'most loaded' and failure tables.",
)
@click.option("--scenario", "scenario", type=click.Path(dir_okay=False, path_type=Path),
              help="The steady coupled point of a scenario on FILE: its deployments serve their rate at the "
                   "scenario's start, power and cooling at its weather, throttling solved with them.")
@click.option("--tornado", is_flag=True, help="With --scenario: which prices and inputs move $ per million "
              "tokens most, each over a stated range.")
@click.option("--cost-curve", is_flag=True, help="With --scenario: $ per million tokens along each "
              "deployment's throughput-latency curve (tokens/s per GPU vs per user).")
@json_option
@click.pass_context
def evaluate_cmd(
    ctx: click.Context,
    file: Path | None,
    utilisation: float,
    gpu_power_cap: str | None,
    ambient: str | None,
    no_n_minus_1: bool,
    top: int,
    scenario: Path | None,
    tornado: bool,
    cost_curve: bool,
    json_out: str | None,
) -> None:
    """Power, fabric and cooling of FILE (default: the bundled 8-rack GB200 pod), with N-1 analyses."""
    if scenario is not None:
        given = [f"--{n.replace('_', '-')}" for n in ("utilisation", "gpu_power_cap", "ambient")
                 if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(f"--scenario sets the load, caps and weather: drop {', '.join(given)}")
        _evaluate_scenario(scenario, file, json_out, tornado, cost_curve)
        return
    if tornado or cost_curve:
        raise click.UsageError("--tornado and --cost-curve price a scenario's steady point: add --scenario")
    path = file or DEFAULT_LAYOUT
    cap = parse_power(gpu_power_cap)
    amb = parse_ambient(ambient)
    try:
        factory = load_layout(path)
    except InputError as exc:
        fail_input(exc)
    try:
        ev = _evaluate(factory, utilisation, cap, amb, no_n_minus_1)
    except ArgumentError as exc:
        flag = {"gpu_cap_w": "--gpu-power-cap", "utilisation": "--utilisation"}.get(exc.field or "", None)
        raise click.BadParameter(str(exc), param_hint=f"'{flag}'" if flag else None) from None
    d = ev.to_dict()
    if json_out != "-":
        click.echo(_summary(d, top))
    if json_out:
        write_json(d, json_out)


def _evaluate_scenario(scenario: Path, layout: Path | None, json_out: str | None, tornado: bool = False,
                       cost_curve: bool = False) -> None:
    """``twin evaluate [FILE] --scenario S``: print the steady coupled point."""
    from twin.cli.economics import print_costs, warn_stale
    from twin.engine.costs import scenario_prices
    from twin.engine.coupled import steady_point, with_costs
    from twin.engine.scenario import load_scenario

    try:
        prepared = load_scenario(scenario, layout)
        prices = scenario_prices(prepared.scenario)
    except InputError as exc:
        fail_input(exc)
    warn_stale(prices)
    res = with_costs(steady_point(prepared), prepared, prices)
    d = {"mode": "steady coupled point"} | res.to_dict()
    extra = []
    if tornado:
        from twin.economics.tco import tornado as tornado_rows
        from twin.engine.costs import cost_inputs

        d["tornado"] = tornado_rows(cost_inputs(res, prepared.catalog), prices)
        extra.append(_tornado_text(d["tornado"]))
    if cost_curve:
        from twin.engine.costs import cost_curve as curve_rows

        d["cost_curve"] = curve_rows(prepared, res, prices)
        extra.append(_curve_text(d["cost_curve"]))
    if json_out != "-":
        st = res.steps_table().iloc[0]
        sc = prepared.scenario
        lines = [f"Steady coupled point of {sc.name!r} on {sc.factory.name!r} at {sc.run.start_hour:g} h, "
                 f"{st['dry_bulb_c']:.1f} degC dry bulb",
                 f"  facility power (at meter)  {st['meter_w'] / 1e6:10.3f} MW",
                 f"  IT power                   {st['it_w'] / 1e6:10.3f} MW",
                 f"  cooling power              {st['cooling_w'] / 1e6:10.3f} MW",
                 f"  PUE                        {st['pue']:10.3f}",
                 f"  output tokens/s            {st['tokens_per_s']:10.4g}",
                 f"  hottest GPU                {st['max_gpu_temp_c']:10.1f} degC",
                 f"  racks throttled / capped   {int(st['throttled_racks'])} / {int(st['capped_racks'])}"]
        for name, dep in res.deployments.items():
            lines.append(f"  {name}: mean TTFT {(dep['ttft_mean_s'] or 0) * 1e3:.0f} ms, mean TPOT "
                         f"{(dep['tpot_mean_s'] or 0) * 1e3:.1f} ms")
        failed = [n for n, ok in res.invariants.items() if not ok]
        click.echo("\n".join(lines))
        print_costs(res.costs)
        click.echo("  invariants: " + ("all hold" if not failed else "FAILED " + ", ".join(failed)))
        for text in extra:
            click.echo(text)
    if json_out:
        write_json(d, json_out)


def _tornado_text(rows: list[dict]) -> str:
    base = rows[0]["base"] if rows else 0.0
    out = [f"Tornado: $ per million output tokens (base ${base:.3f}), each input over its range"]
    width = max((r["swing"] for r in rows), default=0.0) or 1.0
    for r in rows:
        bar = "#" * max(1, round(30 * r["swing"] / width))
        out.append(f"  {r['input']:<44} ${r['low']:8.3f} .. ${r['high']:8.3f}  {bar}")
    return "\n".join(out)


def _curve_text(rows: list[dict]) -> str:
    out = ["$ per million output tokens along the throughput-latency curve",
           "  deployment     load   tokens/s/GPU  tokens/s/user   TTFT [ms]  TPOT [ms]   $/GPU-h"
           "    $/M tokens"]
    for r in rows:
        out.append(f"  {r['deployment']:<12} {r['share_of_saturation']:6.0%} "
                   f"{r['tokens_per_s_per_gpu']:13.1f} {r['tokens_per_s_per_user']:14.1f} "
                   f"{r['ttft_s'] * 1e3:11.0f} {r['tpot_s'] * 1e3:10.1f} "
                   f"{r['usd_per_gpu_hour']:9.3f} {r['usd_per_million_tokens']:13.3f}")
    return "\n".join(out)
