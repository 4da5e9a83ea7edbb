"""Every shipped scenario loads, and its opening runs with every invariant holding.

The full runs take minutes (their results are in the README and docs/coupling.md); here each runs
shortened: transient scenarios for their first 2 minutes, the weather year for its first 6 hours.
"""

import dataclasses
from pathlib import Path

import pytest

import twin
from twin.engine.coupled import run_once
from twin.engine.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))


def test_the_scenarios_the_readme_names_are_shipped():
    readme = (ROOT / "README.md").read_text()
    import re

    named = set(re.findall(r"`scenarios/([\w.-]+\.yaml)`", readme))
    assert len(named) >= 7, named
    for name in named:
        assert (ROOT / "scenarios" / name).is_file(), name
    assert "twin.simulate(" in readme
    for name in ("kpis", "invariants", "steps_table", "to_parquet"):
        assert hasattr(twin.SimResults, name), name


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_opening_runs_with_invariants(name):
    prep = load_scenario(ROOT / "scenarios" / name)
    sc = prep.scenario
    assert sc.description, f"{name} has no description"
    text = (ROOT / "scenarios" / name).read_text()
    assert text.startswith("#"), f"{name} is not documented in its header"
    short = 6 * 3600.0 if sc.run.mode == "annual" else 120.0
    run = dataclasses.replace(sc.run, duration_s=min(short, sc.run.duration_s))
    events = tuple(e for e in sc.events if e.time_s <= run.duration_s and e.end_s <= run.duration_s)
    prep = dataclasses.replace(prep, scenario=sc.replace(run=run, events=events))
    res = run_once(prep)
    assert all(res.invariants.values()), res.invariant_messages
    assert res.output_tokens > 0
