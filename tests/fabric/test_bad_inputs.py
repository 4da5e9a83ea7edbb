"""Bad ``fabric:`` sections give file:line, the field and a clear message (exit 2 in the CLI)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.errors import InputError
from twin.layout import load_layout

from .conftest import layout_text


def _line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


@pytest.mark.parametrize(
    ("kw", "field", "needle", "expect"),
    [
        ({"oversubscription": 0.5}, "fabric.oversubscription", "oversubscription:", "greater than or equal"),
        ({"switch": "sn9999"}, "fabric.switch", "switch:", "unknown switch 'sn9999'"),
        ({"nic": "connectx-9"}, "fabric.nic", "  nic:", "unknown nic 'connectx-9'"),
        ({"planes": 0}, "fabric.planes", "planes:", "greater than or equal to 1"),
        ({"nic": "connectx-7", "planes": 3}, "fabric.nic", "  nic:", "cannot break out"),
        ({"nic": "{hgx-b200: connectx-7}"}, "fabric.nic", "  nic:", "no NIC given for system 'gb200-nvl72'"),
    ],
)
def test_bad_fabric(tmp_path, kw, field, needle, expect):
    text = layout_text(1, **kw)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_layout(path)
    probs = [p for p in exc.value.problems if p.field == field]
    assert probs, str(exc.value)
    assert expect in probs[0].message
    assert probs[0].file == str(path)
    assert probs[0].line == _line_of(text, needle)
    res = CliRunner().invoke(main, ["fabric", str(path)])
    assert res.exit_code == 2
    assert f"{path}:{probs[0].line}: {field}:" in (res.output + (res.stderr or ""))


def test_too_many_tiers(tmp_path):
    # a fabric bigger than a 3-tier SN5600 fabric at 800G (k = 64 -> 2,048 leaves) is refused
    from twin.fabric import build_fabric

    path = tmp_path / "huge.yaml"
    text = layout_text(1, system="hgx-b200", nic="connectx-8")
    text = text.replace("racks_per_row: 1", "racks_per_row: 9000")
    path.write_text(text)
    with pytest.raises(InputError, match="3-tier fabric"):
        build_fabric(load_layout(path))
