"""Property-based: any mutation of a shipped layout or scenario is either valid or a clean InputError.

Hypothesis edits the files line by line (a value replaced by a hostile one, a line dropped or
doubled, indentation broken) and loads the result in process; nothing else may come out — no
other exception, no hang (each example is bounded by hypothesis's deadline).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_VALUES = ["0", "-1", "1e400", ".inf", ".nan", "18446744073709551616", "1e-300 m**3", '"10**10**10 W"',
                  "[]", "{}", "null", "true", "~", "'x'", "&a [*a]", "!!binary aGk=", "1 W", "1 degC",
                  "9" * 400, "-1e308 W", "0 L/min/kW", "2 MW", "hall", "*missing"]


def mutate(text: str, data) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        how = data.draw(st.sampled_from(["value", "drop", "double", "indent"]))
        line = lines[i]
        if how == "value" and ":" in line and not line.lstrip().startswith("#"):
            key, _, _ = line.partition(":")
            lines[i] = f"{key}: {data.draw(st.sampled_from(HOSTILE_VALUES))}"
        elif how == "drop":
            del lines[i]
        elif how == "double":
            lines.insert(i, line)
        else:
            lines[i] = " " + line
        if not lines:
            lines = ["x: 1"]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=10_000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_layout_is_valid_or_a_clean_error(tmp_path, data):
    from twin.layout import load_layout

    name = data.draw(st.sampled_from(["rack-nvl72", "pod-8x-nvl72", "hall-100mw"]))
    path = tmp_path / f"{name}.yaml"
    path.write_text(mutate((ROOT / "layouts" / f"{name}.yaml").read_text(), data))
    problems = None
    try:
        load_layout(path)
    except InputError as exc:  # anything else fails the test
        problems = exc.problems
    assert problems is None or (problems and all(len(p.message) < 2000 for p in problems))


@settings(max_examples=40, deadline=20_000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_scenario_is_valid_or_a_clean_error(tmp_path, data):
    from twin.engine.scenario import load_scenario

    name = data.draw(st.sampled_from(["hall-cdu-failure", "training-swing-smoothed", "demand-response"]))
    text = (ROOT / "scenarios" / f"{name}.yaml").read_text().replace("../layouts/", f"{ROOT}/layouts/")
    path = tmp_path / f"{name}.yaml"
    path.write_text(mutate(text, data))
    problems = None
    try:
        load_scenario(path)
    except InputError as exc:  # anything else fails the test
        problems = exc.problems
    assert problems is None or len(problems) > 0
