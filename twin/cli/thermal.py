"""``twin thermal``: the cooling plant per hall loop, cooling N-1 and the ambient limit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from twin.cli.common import (
    ambient_option,
    fail_input,
    json_option,
    parse_ambient,
    utilisation_option,
    write_json,
)
from twin.engine.steady import evaluate
from twin.errors import InputError
from twin.layout import load_layout
from twin.units import format_si


def _c(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:6.1f}"


def cooling_summary(d: dict, top: int = 10) -> list[str]:
    """Human-readable lines for the ``cooling`` section of an evaluation dict."""
    lines = [
        f"Cooling at {d['ambient_dry_bulb_c']:.1f} degC dry bulb, {d['ambient_relative_humidity']:.0%} RH",
        f"  hottest GPU                 {_c(d['max_gpu_temp_c'])} degC   "
        f"(margin to throttle {_c(d['min_throttle_margin_k'])} K; racks throttled: {d['racks_throttled']})",
        f"  heat to liquid / to air     {format_si(d['heat_to_liquid_w'], 'W', 4)} / "
        f"{format_si(d['heat_to_air_w'], 'W', 4)}",
        f"  heat rejected to ambient    {format_si(d['heat_rejected_w'], 'W', 4)}",
        f"  cooling power               {format_si(d['cooling_power_w'], 'W', 4)}   "
        + ", ".join(f"{k} {format_si(v, 'W')}" for k, v in d["cooling_power_by_kind_w"].items() if v > 0),
        f"  power-chain losses (heat)   {format_si(d.get('losses_to_electrical_rooms_w', 0.0), 'W', 4)} "
        f"in electrical rooms, {format_si(d.get('losses_to_hall_air_w', 0.0), 'W', 4)} in the halls' air, "
        f"{format_si(d.get('losses_outdoors_w', 0.0), 'W', 4)} outdoors (transformers)",
        f"  water drawn                 {d['water_use_m3_h']:.1f} m3/h   "
        f"(evaporated {d.get('water_evaporated_m3_h', 0.0):.1f} m3/h; "
        f"WUE {d.get('wue_l_per_kwh', 0.0):.2f} L/kWh)",
        "  highest ambient with no GPU throttling: "
        + (
            "none (throttles even at -20 degC)"
            if d["max_ambient_c"] is None
            else f">= {d['max_ambient_c']:.0f} degC"
            if d["max_ambient_c"] >= 60
            else f"{d['max_ambient_c']:.1f} degC"
        ),
        "",
        f"  {'hall loop':<16} {'racks':>5} {'liquid':>9} {'air':>9} {'GPU max':>7} {'rack sup':>8} "
        f"{'CDU load':>8} {'FW sup':>6} {'FW ret':>6} {'fans':>5} {'air sup':>7}",
    ]
    for lp in d["loops"]:
        cdu = "-" if lp["cdu_loading_max"] is None else f"{lp['cdu_loading_max']:.0%}"
        lines.append(
            f"  {lp['name']:<16} {lp['racks']:>5} {format_si(lp['heat_to_liquid_w'], 'W'):>9} "
            f"{format_si(lp['heat_to_air_w'], 'W'):>9} {_c(lp['max_gpu_temp_c']):>7} "
            f"{_c(lp['rack_supply_c_max']):>8} {cdu:>8} {_c(lp['facility_supply_c']):>6} "
            f"{_c(lp['facility_return_c']):>6} {lp['rejection_fan_speed']:>5.0%} {_c(lp['air_supply_c']):>7}"
        )
        if lp["no_steady_state"]:
            lines.append(
                "    NO STEADY STATE: some racks' coolant has no flow or would boil; their GPUs heat without "
                "bound (see cooling N-1 for how fast)"
            )
        fw = lp["facility_supply_c"]
        if fw is None or fw > lp["facility_setpoint_c"] + 0.05:
            lines.append(
                f"    FACILITY WATER above its {lp['facility_setpoint_c']:.1f} degC setpoint: heat rejection "
                "(dry coolers and trim chillers) is short at this ambient"
            )
        rs = lp["rack_supply_c_max"]
        if rs is not None and rs > lp["rack_setpoint_c"] + 0.05:
            lines.append(
                f"    RACK SUPPLY above its {lp['rack_setpoint_c']:.1f} degC setpoint: CDUs cannot reach it"
            )
        if lp["air_unmet_w"] > 0:
            lines.append(
                f"    AIR SIDE SHORT by {format_si(lp['air_unmet_w'], 'W')}: CRAHs or chillers too small"
                + ("" if lp.get("electrical_room_supply_c") is not None or not lp.get("losses_to_hall_air_w")
                   else f" (it also takes {format_si(lp['losses_to_hall_air_w'], 'W')} of power-chain "
                        "losses: the hall has no 'electrical_room:')")
            )
        if lp.get("electrical_room_unmet_w", 0.0) > 0:
            lines.append(
                f"    ELECTRICAL ROOM SHORT by {format_si(lp['electrical_room_unmet_w'], 'W')}: its CRAHs or "
                "chillers are too small for the UPS and switchgear losses"
            )
    short = [g for g in d.get("cdu_groups", []) if g.get("max_flow_l_min") is not None
             and g["max_flow_l_min"] < g["design_flow_l_min"] * (1 - 1e-9)]
    for g in short[:top]:
        lines.append(
            f"  CDU GROUP SHORT OF FLOW: {g['name']} pushes {g['max_flow_l_min']:,.0f} of its racks' "
            f"{g['design_flow_l_min']:,.0f} L/min design flow: racks and CDUs need "
            f"{g['pressure_at_design_kpa']:,.0f} kPa there, its pumps give "
            + (f"{g['pump_head_at_design_kpa']:,.0f} kPa" if g["pump_head_at_design_kpa"] is not None
               else "nothing") + " (more CDUs or pumps per group, or racks with a lower drop)")
    if len(short) > top:
        lines.append(f"  ... and {len(short) - top} more CDU groups short of flow")
    over = [g for g in d.get("cdu_groups", []) if g["loading"] is not None and g["loading"] > 1.0]
    for g in over[:top]:
        lines.append(
            f"  CDU GROUP OVERLOADED: {g['name']} carries {format_si(g['heat_w'], 'W')} on "
            f"{format_si(g['capacity_w'], 'W')} of rated capacity ({g['loading']:.0%})"
        )
    if "n_minus_1" in d:
        bad = [c for c in d["n_minus_1"] if not c["survives"]]
        lines.append("")
        if not bad:
            lines.append(
                f"Cooling N-1: the design survives every single failure ({len(d['n_minus_1'])} cases: no GPU "
                "throttles, no electrical room falls short)."
            )
        else:
            gpu_bad = [c for c in bad if not c.get("room_unmet_w")]
            room_bad = [c for c in bad if c.get("room_unmet_w")]
            lines.append(f"Cooling N-1: {len(bad)} of {len(d['n_minus_1'])} single failures are not survived"
                         f" ({len(gpu_bad)} throttle GPUs, {len(room_bad)} leave an electrical room short):")
            for c in room_bad[:top]:
                lines.append(f"  {c['failed']:<60} leaves {format_si(c['room_unmet_w'], 'W')} of UPS and "
                             "switchgear heat unmet")
            for c in gpu_bad[:top]:
                when = (
                    "at once"
                    if c["seconds_to_first_throttle"] == 0
                    else f"after {c['seconds_to_first_throttle']:.0f} s"
                    if c["seconds_to_first_throttle"]
                    else "at the new steady state"
                )
                lines.append(f"  {c['failed']:<60} {c['racks_throttled']} racks throttle, first {when}")
    return lines


@click.command(name="thermal")
@click.argument("file", type=click.Path(path_type=Path))
@ambient_option
@utilisation_option
@click.option("--no-n-minus-1", is_flag=True, help="Skip the cooling N-1 analysis.")
@json_option
def thermal(
    file: Path, ambient: str | None, utilisation: float, no_n_minus_1: bool, json_out: str | None
) -> None:
    """Cooling of FILE: GPU temperatures, CDUs, facility water, heat rejection, PUE, cooling N-1."""
    amb = parse_ambient(ambient)
    try:
        factory = load_layout(file)
    except InputError as exc:
        fail_input(exc)
    if factory.cooling is None:
        click.echo(f"{file}: no hall has a 'cooling:' design; nothing to evaluate", err=True)
        sys.exit(2)
    if not no_n_minus_1:
        click.echo("cooling N-1: simulating each failure ...", err=True)
    ev = evaluate(
        factory, utilisation, ambient_c=amb, with_n_minus_1=False, with_cooling_n_minus_1=not no_n_minus_1
    )
    d = ev.to_dict()
    cool = d["cooling"]
    out = {
        "layout": d["layout"],
        "max_gpu_temp_c": cool["max_gpu_temp_c"],
        "min_throttle_margin_k": cool["min_throttle_margin_k"],
        "it_power_w": d["it_power_w"],
        "heat_to_liquid_w": cool["heat_to_liquid_w"],
        "heat_to_air_w": cool["heat_to_air_w"],
        "heat_rejected_w": cool["heat_rejected_w"],
        "cooling_power_w": cool["cooling_power_w"],
        "facility_power_w": d["facility_power_w"],
        "pue": d["pue"],
        "max_ambient_c": cool["max_ambient_c"],
    } | {k: v for k, v in cool.items() if k not in ("max_gpu_temp_c", "min_throttle_margin_k")}
    if json_out != "-":
        click.echo(
            f"Layout {d['layout']!r}: IT {format_si(d['it_power_w'], 'W', 4)}, facility "
            f"{format_si(d['facility_power_w'], 'W', 4)}, PUE {d['pue']:.3f}"
        )
        click.echo("\n".join(cooling_summary(cool)))
    if json_out:
        write_json(out, json_out)
