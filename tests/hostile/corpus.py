# ruff: noqa: E501 - a table of cases, one per line
"""The hostile-input corpus: files and command lines a careless user or an attacker may send.

Each :class:`Case` is a command line (``twin ...``) with the files it needs, written under a
folder at run time (``{dir}`` in the arguments and file bodies is that folder). ``expect`` is the
exit status (2: refused with a clear message; 0: valid input that must be accepted) and ``says``
a piece of the message. Generated here rather than kept as hundreds of files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RACK = (ROOT / "layouts" / "rack-nvl72.yaml").read_text()


@dataclass
class Case:
    name: str
    args: list[str]
    files: dict[str, bytes | str] = field(default_factory=dict)
    expect: int = 2
    says: str = ""
    line: bool = False  # the message must name a line of the file


def rack(old: str, new: str) -> str:
    """The one-rack layout with one edit (the edit must apply)."""
    assert old in RACK, old
    return RACK.replace(old, new, 1)


def layout_case(name: str, body: str | bytes, says: str = "", line: bool = True, expect: int = 2,
                cmd: str = "validate") -> Case:
    return Case(name, [cmd, "{dir}/layout.yaml"], {"layout.yaml": body}, expect, says, line)


def nested(depth: int) -> str:
    return "name: x\nextra: " + "[" * depth + "]" * depth + "\n"


LAUGHS = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9 if i else ['"lol"'] * 9) + "]\n"
                 for i in range(9))

SERVE = ["serve-sim", "--system", "gb200-nvl72", "--model", "llama-3.1-70b"]

CASES: list[Case] = [
    # ---------------------------------------------------------------- numbers beyond any factory
    layout_case("ups modules 2^70", rack("modules: 2}", "modules: 1180591620717411303424}"), "too large"),
    layout_case("racks per busway 2^64", rack("racks_per_busway: 1", "racks_per_busway: 18446744073709551616"),
                "too large"),
    layout_case("cdus per group 2^70", rack("cdus_per_group: 1", "cdus_per_group: 1180591620717411303424"),
                "too large"),
    layout_case("pump count 2^70", rack("count: 1}\n        volume", "count: 1180591620717411303424}\n        volume"),
                "too large"),
    layout_case("racks per row 10^9", rack("racks_per_row: 1", "racks_per_row: 1000000000"),
                "racks a layout may expand to"),
    layout_case("hall copies 10^9", rack("  - name: lab\n", "  - name: lab\n    copies: 1000000000\n"),
                "racks a layout may expand to"),
    layout_case("busway blocks 10^9", rack("busways_per_block: 1", "busways_per_block: 1\n        blocks: 1000000000"),
                "blocks a layout may hold"),
    Case("a valid hall copied to 72,000 racks", ["evaluate", "{dir}/layout.yaml"],
         {"layout.yaml": (ROOT / "layouts" / "hall-100mw.yaml").read_text().replace("halls:\n  - name: hall\n", "halls:\n  - name: hall\n    copies: 100\n", 1)},
         says="more than the 20,000 racks"),
    layout_case("oversubscription inf", rack("oversubscription: 1", "oversubscription: .inf"), "finite"),
    layout_case("oversubscription 1e308", rack("oversubscription: 1", "oversubscription: 1.0e+308"), "64"),
    layout_case("loop volume near zero", rack("volume: 1 m**3", "volume: 1e-9 m**3"), "facility-water loop"),
    layout_case("coolant flow near zero", rack("flow_per_power: 1.5 L/min/kW", "flow_per_power: 1e-9 L/min/kW"),
                "L/min/kW"),
    layout_case("GPU cap above TDP", rack("system: gb200-nvl72", "system: gb200-nvl72\n        gpu_power_cap: 5000 W"),
                "above the TDP"),
    # ---------------------------------------------------------------- values that bomb the parser
    layout_case("unit power tower", rack("rating: 2 MW", 'rating: "10**10**10 W"'), "powers are taken of units"),
    layout_case("100,000-digit number", rack("rating: 2 MW", "rating: " + "9" * 100_000 + " W"), "characters"),
    layout_case("exponent 1e400", rack("rating: 2 MW", "rating: 1e400 W"), "exponents"),
    layout_case("a name of 100,000 characters", rack("name: rack-nvl72", "name: " + "x" * 100_000), "at most 100 characters"),
    layout_case("a system name of 100,000 characters", rack("system: gb200-nvl72", "system: " + "y" * 100_000), "at most 100"),
    # ---------------------------------------------------------------- files that are not layouts
    layout_case("nesting 10,000 deep", nested(10_000), "too deeply", line=False),
    layout_case("nesting 100 deep", nested(100), "levels deep"),
    layout_case("billion laughs", LAUGHS, "expands to more than"),
    layout_case("recursive alias", "a: &a [*a]\n", "contains it"),
    layout_case("NUL byte", RACK.encode()[:200] + b"\x00" + RACK.encode()[200:], "binary file"),
    layout_case("bell character", rack("name: rack-nvl72", "name: rack\x07nvl72"), "control character"),
    layout_case("UTF-16 with BOM", RACK.encode("utf-16"), "UTF-16"),
    layout_case("UTF-16 without BOM", RACK.encode("utf-16-le"), "UTF-16"),
    layout_case("latin-1 bytes", RACK.encode().replace(b"One GB200", b"One \xe9GB200"), "not UTF-8"),
    layout_case("python tag", "name: !!python/object/apply:os.system ['echo pwned']\n", "YAML", line=True),
    Case("/dev/zero as the layout", ["validate", "/dev/zero"], says="system file"),
    Case("/dev/urandom as the layout", ["evaluate", "/dev/urandom"], says="system file"),
    Case("/proc/self/environ as the layout", ["validate", "/proc/self/environ"], says="system file"),
    Case("a named pipe as the layout", ["validate", "{dir}/pipe.yaml"], {"pipe.yaml": "FIFO"}, says="named pipe"),
    Case("a huge file", ["validate", "{dir}/big.yaml"], {"big.yaml": "# " + "x" * (9 * 2**20) + "\n"},
         says="may be at most"),
    # ---------------------------------------------------------------- catalog folders
    layout_case("catalog /", rack("name: rack-nvl72", "name: rack-nvl72\ncatalog: [/]"), "outside the layout's project"),
    layout_case("catalog /etc", rack("name: rack-nvl72", "name: rack-nvl72\ncatalog: [/etc]"), "outside"),
    layout_case("catalog /proc", rack("name: rack-nvl72", "name: rack-nvl72\ncatalog: [/proc]"), "outside"),
    layout_case("catalog ../../..", rack("name: rack-nvl72", "name: rack-nvl72\ncatalog: [../../..]"), "outside"),
    Case("extends chain 5,000 deep", ["validate", "{dir}/layout.yaml"],
         {"layout.yaml": rack("name: rack-nvl72", "name: rack-nvl72\ncatalog: [cat]"),
          "cat/chain.yaml": "".join(f"- {{kind: psu, name: p{i}, extends: p{i + 1}}}\n" for i in range(5000))
          + "- {kind: psu, name: p5000, extends: psu-3.3kw-titanium}\n"}, says="extends chain longer"),
    Case("a system with no PSU shelves", ["validate", "{dir}/layout.yaml"],
         {"layout.yaml": rack("name: rack-nvl72", "name: rack-nvl72\ncatalog: [cat]").replace(
             "system: gb200-nvl72", "system: gb200-bare"),
          "cat/bare.yaml": "kind: system\nname: gb200-bare\nextends: gb200-nvl72\npower_supply:\n"
                           "  shelves: {value: 0, assumption: none}\n"}, says="at least one shelf"),
    layout_case("hall copy names collide", rack("  - name: lab\n", "  - name: lab\n    copies: 2\n").replace(
        "halls:\n", "halls:\n  - name: lab-1\n    rows: [{name: r, racks_per_row: 1, system: gb200-nvl72}]\n"
        "    lineups: [{name: m, redundancy: N, feeds: [utility], switchgear: switchgear-lv-4000a, "
        "transformer: transformer-3000kva, ups: {model: ups-module-1250kw, modules: 1}, busway: busway-1600a-415v, "
        "racks_per_busway: 1, busways_per_block: 1}]\n", 1), "used twice"),
    # ---------------------------------------------------------------- valid input that must be accepted
    layout_case("merge key override", rack("ambient:\n  dry_bulb: 35 degC\n", "ambient:\n  <<: {dry_bulb: 30 degC}\n  dry_bulb: 35 degC\n"),
                expect=0, line=False),
    Case("extends replaces source with assumption", ["validate", "{dir}/layout.yaml"],
         {"layout.yaml": rack("name: rack-nvl72", "name: rack-nvl72\ncatalog: [cat]").replace(
             "system: gb200-nvl72", "system: gb200-mine"),
          "cat/mine.yaml": "kind: system\nname: gb200-mine\nextends: gb200-nvl72\nnodes_per_rack:\n"
                           "  value: 18\n  assumption: our racks hold 18 trays\n"}, expect=0),
    # ---------------------------------------------------------------- serve-sim values
    Case("serve-sim --gpus 8e9", [*SERVE, "--gpus", "8000000000", "--rate", "1"], says="range"),
    Case("serve-sim --max-batch 10^12", [*SERVE, "--gpus", "72", "--tp", "8", "--max-batch", "1000000000000",
                                         "--rate", "1"], says="range"),
    Case("serve-sim --fluid --gpus 10^15", [*SERVE, "--gpus", "1000000000000000", "--fluid", "--rate", "1"],
         says="range"),
    Case("serve-sim --rate 1e12", [*SERVE, "--gpus", "72", "--tp", "8", "--rate", "1e12", "--num-requests", "10"],
         says="range"),
    Case("serve-sim --tp 0", [*SERVE, "--gpus", "72", "--tp", "0", "--rate", "1"], says="--tp must be a whole number >= 1"),
    Case("serve-sim --pp 0", [*SERVE, "--gpus", "72", "--pp", "0", "--rate", "1"], says="--pp must be a whole number >= 1"),
    Case("serve-sim --rate nan", [*SERVE, "--gpus", "72", "--tp", "8", "--rate", "nan"], says="finite"),
    Case("serve-sim fixed:0.4", [*SERVE, "--gpus", "72", "--tp", "8", "--rate", "1", "--input-tokens", "fixed:0.4"],
         says="whole number"),
    Case("serve-sim --prefill-gpus 0", [*SERVE, "--gpus", "72", "--tp", "8", "--rate", "1", "--prefill-gpus", "0"],
         says="--prefill-gpus must be a whole number >= 1"),
    Case("evaluate --utilisation nan", ["evaluate", "--utilisation", "nan"], says=""),
    Case("a trace field over 128 KiB", [*SERVE, "--gpus", "72", "--tp", "8", "--trace", "{dir}/t.csv"],
         {"t.csv": "arrival_s,input_tokens,output_tokens\n0," + "1" * 200_000 + ",5\n"}, says="CSV"),
    Case("a trace that is /dev/zero", [*SERVE, "--gpus", "72", "--tp", "8", "--trace", "/dev/zero"], says="system file"),
    Case("a UTF-16 trace", [*SERVE, "--gpus", "72", "--tp", "8", "--trace", "{dir}/t.csv"],
         {"t.csv": "arrival_s,input_tokens,output_tokens\n0,1,1\n".encode("utf-16")}, says="UTF-16"),
    # ---------------------------------------------------------------- scenarios, weather, prices
    Case("scenario weather csv /dev/zero", ["simulate", "{dir}/s.yaml"],
         {"s.yaml": f"name: s\nlayout: {ROOT}/layouts/rack-nvl72.yaml\nrun: {{duration: 1 h}}\n"
                    "weather: {csv: /dev/zero}\n"}, says="system file"),
    Case("scenario prices /proc/self/environ", ["simulate", "{dir}/s.yaml"],
         {"s.yaml": f"name: s\nlayout: {ROOT}/layouts/rack-nvl72.yaml\nrun: {{duration: 1 h}}\n"
                    "economics: {prices: /proc/self/environ}\n"}, says="system file"),
    Case("scenario nesting 10,000 deep", ["simulate", "{dir}/s.yaml"], {"s.yaml": nested(10_000)}, says="deep"),
    Case("a run of 2.6 x 10^8 steps", ["simulate", "{dir}/s.yaml"],
         {"s.yaml": f"name: s\nlayout: {ROOT}/layouts/rack-nvl72.yaml\nrun: {{duration: 30 d, physics_step: 0.01 s, serving_epoch: 10 s}}\n"},
         says="more than one run holds"),
    Case("10,000 events naming unknown components", ["simulate", "{dir}/s.yaml"],
         {"s.yaml": f"name: s\nlayout: {ROOT}/layouts/hall-100mw.yaml\nrun: {{duration: 3 h}}\nevents:\n"
                    + "".join(f"  - {{at: {i} s, trip: hall/cdu-grop-{i}}}\n" for i in range(10_000))},
         says="and 9,900 more"),
    Case("10,001 events", ["simulate", "{dir}/s.yaml"],
         {"s.yaml": f"name: s\nlayout: {ROOT}/layouts/rack-nvl72.yaml\nrun: {{duration: 3 h}}\nevents:\n"
                    + "  - {at: 1 s, trip: utility}\n" * 10_001},
         says="at most 10000"),
    Case("scenario duration 10^300 s", ["simulate", "{dir}/s.yaml"],
         {"s.yaml": f"name: s\nlayout: {ROOT}/layouts/rack-nvl72.yaml\nrun: {{duration: 1e300 s}}\n"},
         says="366 days"),
]
