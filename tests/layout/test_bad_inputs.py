"""Malformed layouts and catalog entries: every one gives file:line, the field and exit code 2.

Each file in ``bad/`` starts with header comments::

    # expect: <substring of the message>
    # line: <line the problem is reported on>
    # field: <dotted field path, or nothing>
    # file: <file the problem is in, relative to bad/; only when not the layout itself>

``bad/catalog_<case>.yaml`` layouts add the folder ``bad_catalogs/<case>/`` to their catalog, whose
entries carry the error; the same entries are also validated directly as catalog files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.errors import InputError
from twin.layout import load_layout

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
BAD_CATALOGS = HERE / "bad_catalogs"
DATA = HERE / "data"
GOOD = DATA / "good.yaml"
BAD_FILES = sorted(BAD.glob("*.yaml"))


def _header(path: Path) -> dict[str, str]:
    """The ``# key: value`` comments at the top of a bad file."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(":")
        out[key.strip()] = value.strip()
    return out


def _validate(*paths: Path | str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *map(str, paths)])
    # click >= 8.2 mixes stderr into result.output; be explicit for older versions too
    output = result.output if result.stderr in result.output else result.output + result.stderr
    return result.exit_code, output


def _expect_problem(output: str, file: str, line: str, field: str, expect: str | None) -> None:
    """Assert one output line names file:line, the field, and contains ``expect``."""
    prefix = f"{file}:{line}:" + (f" {field}:" if field else " ")
    hits = [ln for ln in output.splitlines() if prefix in ln]
    assert hits, f"no problem reported at {prefix!r}:\n{output}"
    if expect is not None:
        assert any(expect in ln for ln in hits), f"{expect!r} not in the problem at {prefix!r}:\n{output}"


def test_enough_cases():
    assert len(BAD_FILES) >= 16
    for path in BAD_FILES:
        h = _header(path)
        assert {"expect", "line", "field"} <= h.keys(), f"{path.name} lacks the header comments"


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_file_is_rejected_with_file_line_field(path):
    h = _header(path)
    code, output = _validate(path)
    assert code == 2, output
    assert "Traceback" not in output
    shown = str(path.parent / h["file"]) if h.get("file") else str(path)
    _expect_problem(output, shown, h["line"], h["field"], h["expect"])


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_file_raises_input_error_from_api(path):
    with pytest.raises(InputError) as info:
        load_layout(path)
    assert info.value.problems
    assert all(p.file and p.message for p in info.value.problems)


CATALOG_CASES = [
    p for p in BAD_FILES
    if p.stem.startswith("catalog_") and (BAD_CATALOGS / p.stem.removeprefix("catalog_")).is_dir()
    and len(list((BAD_CATALOGS / p.stem.removeprefix("catalog_")).glob("*.yaml"))) == 1
]


@pytest.mark.parametrize("path", CATALOG_CASES, ids=[p.stem for p in CATALOG_CASES])
def test_bad_catalog_file_validated_directly(path):
    """``twin validate ENTRY.yaml`` reports the same problem (with the bundled catalog only)."""
    h = _header(path)
    entry = (path.parent / h["file"]).resolve()
    code, output = _validate(entry)
    assert code == 2, output
    assert "Traceback" not in output
    # did-you-mean hints may differ without the test catalog, so only file:line: field: is checked
    _expect_problem(output, str(entry), h["line"], h["field"], None)


def test_duplicate_catalog_name_names_both_files():
    h = _header(BAD / "catalog_duplicate_name.yaml")
    code, output = _validate(BAD / "catalog_duplicate_name.yaml")
    assert code == 2
    assert h["file"].endswith("b.yaml")
    assert "duplicate_name/a.yaml" in output


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("three_errors_refs.yaml", [
            (9, "halls[0].rows[0].system", "unknown system 't-rak'"),
            (13, "halls[0].lineups[0].feeds[0]", "unknown utility feed 'ux'"),
            (15, "halls[0].lineups[0].transformer", "unknown transformer 't-xfrm'"),
        ]),
        ("three_errors_schema.yaml", [
            (5, "utility_feeds[0].rating", "bare number"),
            (9, "halls[0].rows[0].gpu_power_cap", "temperature"),
            (19, "halls[0].lineups[0].busways_per_blok", "did you mean 'busways_per_block'?"),
        ]),
    ],
)
def test_all_problems_reported_at_once(name, expected):
    path = DATA / name
    code, output = _validate(path)
    assert code == 2
    assert "Traceback" not in output
    for line, field, expect in expected:
        _expect_problem(output, str(path), str(line), field, expect)


def test_good_layout_validates():
    code, output = _validate(GOOD)
    assert code == 0, output
    assert "OK" in output
    factory = load_layout(GOOD)
    assert factory.num_racks == 8
    assert factory.num_gpus == 32


def test_good_and_bad_together_exit_2_and_report_both():
    bad = BAD / "unknown_system.yaml"
    code, output = _validate(GOOD, bad)
    assert code == 2
    assert f"OK  {GOOD}" in output
    assert f"{bad}:" in output


def test_json_lists_problems_with_line_and_field():
    path = BAD / "misspelled_key.yaml"
    result = CliRunner().invoke(main, ["validate", str(path), "--json", "-"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["valid"] is False
    problems = data["files"][0]["problems"]
    typo = [p for p in problems if p["field"] == "halls[0].rows[0].racks_per_rwo"]
    assert typo
    assert typo[0]["line"] == int(_header(path)["line"])
    assert "did you mean 'racks_per_row'?" in typo[0]["message"]


# ---------------------------------------------------------------- the installed console script


def _twin() -> list[str]:
    exe = Path(sys.executable).with_name("twin")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("twin")
    if found is None:
        pytest.skip("the 'twin' console script is not installed")
    return [found]


@pytest.mark.parametrize("name", ["yaml_syntax.yaml", "misspelled_key.yaml", "catalog_extends_cycle.yaml"])
def test_console_script_exits_2_without_traceback(name):
    path = BAD / name
    h = _header(path)
    res = subprocess.run([*_twin(), "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    shown = str(path.parent / h["file"]) if h.get("file") else str(path)
    _expect_problem(res.stderr, shown, h["line"], h["field"], h["expect"])


def test_console_script_evaluate_bad_layout_exits_2():
    path = BAD / "no_power_path_unknown_lineup.yaml"
    res = subprocess.run([*_twin(), "evaluate", str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert "rack with no power path" in res.stderr
