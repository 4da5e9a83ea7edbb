"""``twin fabric``: bill of materials and bandwidth table of a layout's fabric."""

from __future__ import annotations

from pathlib import Path

import click

from twin.cli.common import fail_input, json_option, write_json
from twin.errors import InputError
from twin.fabric import build_fabric
from twin.layout import load_layout
from twin.units import format_si


def _bits(bytes_s: float) -> str:
    bits = bytes_s * 8
    return f"{bits / 1e15:.3g} Pbit/s" if bits >= 1e15 else format_si(bits, "bit/s")


def _report(d: dict) -> str:
    lines = [
        f"Fabric of {d['layout']!r}: {d['num_racks']} racks, {d['num_gpus']} GPUs",
        f"  NVLink: {d['num_nvlink_domains']} domains of {'/'.join(map(str, d['nvlink_domain_gpus']))} GPUs, "
        f"{format_si(d['nvlink_bw_per_gpu_bytes_s'], 'B/s')} per GPU each way, "
        f"{d['num_nvlink_switch_trays']} NVLink switch trays",
    ]
    if not d["scale_out"]:
        lines.append("  No scale-out fabric (the layout has no 'fabric:' section).")
        return "\n".join(lines)
    lines += [
        f"  Spectrum-X: {d['num_planes']} plane(s), {_bits(d['scale_out_bw_per_gpu_bytes_s'])} per GPU, "
        f"bisection {_bits(d['bisection_bandwidth_bytes_s'])}, oversubscription "
        f"{d['oversubscription']:.2f}:1, up to {d['max_switch_hops']} switch hops",
        "",
        "Clusters (counts for all planes)",
        f"  {'cluster':<28} {'GPUs':>8} {'tiers':>5} {'link':>12} {'leaf':>6} {'spine':>6} {'super':>6} "
        f"{'bisection':>14} {'oversub':>8}",
    ]
    for c in d["clusters"]:
        lines.append(
            f"  {c['name']:<28} {c['num_gpus']:>8} {c['num_tiers']:>5} {_bits(c['link_bw_bytes_s']):>12} "
            f"{c['num_leaf_switches']:>6} {c['num_spine_switches']:>6} {c['num_superspine_switches']:>6} "
            f"{_bits(c['bisection_bandwidth_bytes_s']):>14} {c['oversubscription']:>8.2f}"
        )
    lines += [
        "",
        "Bill of materials (summed over locations)",
        f"  {'network':<9} {'item':<22} {'model':<44} {'count':>9} {'power':>10}",
    ]
    agg: dict[tuple, list] = {}
    for r in d["bom"]:
        key = (r["network"], r["item"], r["model"], r["in_compute_rack"])
        agg.setdefault(key, [0, 0.0])
        agg[key][0] += r["count"]
        agg[key][1] += r["power_w"]
    for (net, item, model, in_rack), (n, w) in agg.items():
        note = "  (in rack power)" if in_rack else ""
        lines.append(f"  {net:<9} {item:<22} {model[:44]:<44} {n:>9} {format_si(w, 'W'):>10}{note}")
    lines += [
        "",
        f"  switches: {d['num_leaf_switches']} leaf, {d['num_spine_switches']} spine, "
        f"{d['num_superspine_switches']} super-spine, {d['num_frontend_switches']} front-end; "
        f"{d['num_compute_nics']} compute NICs, {d['num_transceivers']} transceivers, "
        f"{d['num_cables']} cables",
        f"  fabric power added to IT power: {format_si(d['fabric_power_w'], 'W', 4)} "
        f"(NICs and NVLink trays already in the system entries: "
        f"{format_si(d['power_already_in_system_entries_w'], 'W', 4)})",
    ]
    for loc, w in d["network_power_by_location_w"].items():
        lines.append(f"    {loc:<26} {format_si(w, 'W', 4)}")
    return "\n".join(lines)


@click.command("fabric")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
def fabric_cmd(file: Path, json_out: str | None) -> None:
    """Print the fabric's bill of materials and bandwidth table for a layout FILE."""
    try:
        fab = build_fabric(load_layout(file))
    except InputError as exc:
        fail_input(exc)
    d = fab.summary()
    if json_out != "-":
        click.echo(_report(d))
    if json_out:
        write_json(d, json_out)
