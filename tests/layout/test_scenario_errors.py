"""Careless scenario files: every problem is an InputError naming file:line, the field and what was expected.

Each case writes a small scenario against ``layouts/rack-nvl72.yaml`` (one hall ``lab``, one rack
``lab/row/r01``, CDU group ``lab/cdu-group-01``) or ``layouts/pod-8x-nvl72.yaml`` (hall ``hall``, rows
``hall/row01`` and ``hall/row02`` of four racks). Every scenario starts with ``name:`` (line 1) and
``layout:`` (line 2); what the case writes starts on line 3. Assertions are on message substrings
and line numbers, not whole messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.engine.scenario import load_scenario
from twin.errors import InputError, Problem

ROOT = Path(__file__).resolve().parents[2]
RACK = ROOT / "layouts" / "rack-nvl72.yaml"
POD = ROOT / "layouts" / "pod-8x-nvl72.yaml"

RUN = "run: {duration: 1 h}\n"  # line 3


def write(tmp_path: Path, body: str, layout: Path | str = RACK, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"name: test\nlayout: {layout}\n" + body)
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    problems = info.value.problems
    assert problems, "an InputError with no problem in it"
    return problems


def bad(tmp_path: Path, body: str, layout: Path | str = RACK) -> list[Problem]:
    return problems_of(write(tmp_path, body, layout))


def one(problems: list[Problem], field: str, line: int | None, *expect: str, file: Path | str | None = None):
    """The problem at ``field``; it is on ``line``, in ``file``, and says each of ``expect``."""
    hits = [p for p in problems if p.field == field]
    shown = "\n".join(map(str, problems))
    assert hits, f"no problem at {field!r}:\n{shown}"
    p = hits[0]
    assert p.line == line, f"{field} reported on line {p.line}, expected {line}:\n{shown}"
    if file is not None:
        assert p.file == str(file), p
    for text in expect:
        assert text in p.message, f"{text!r} not in {p.message!r}"
    return p


def serving(tp: str = "tp: 8", model: str = "llama-3.1-70b", racks: str = "'*'", name: str = "chat",
            workload: str = "{rate: 10}", extra: str = "") -> str:
    """One deployment item (five lines and ``extra``): ``- name`` on the first, ``tp`` on the fourth."""
    return (f"  - name: {name}\n    racks: {racks}\n    model: {model}\n    {tp}\n{extra}"
            f"    workload: {workload}\n")


# ---------------------------------------------------------------------------------------- the file itself
def test_unknown_top_level_key_suggests_the_right_one(tmp_path):
    path = write(tmp_path, RUN + "evnets:\n  - {at: 1 min, trip: utility}\n")
    p = one(problems_of(path), "evnets", 4, "unknown key 'evnets'", "did you mean 'events'?", "valid keys:")
    assert p.file == str(path)
    assert str(p).startswith(f"{path}:4: evnets: ")


def test_missing_run(tmp_path):
    one(bad(tmp_path, "deployments: []\n"), "run", 1, "required field is missing")


def test_layout_file_not_found(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nlayout: ../nowhere/layout.yaml\n" + RUN)
    one(problems_of(path), "layout", 2, "layout file not found", "nowhere/layout.yaml")


def test_a_layout_with_problems_reports_them_in_the_layout_file(tmp_path):
    layout = ROOT / "tests" / "layout" / "bad" / "ambient_dry_bulb_out_of_range.yaml"
    problems = bad(tmp_path, RUN, layout=layout)
    one(problems, "ambient.dry_bulb", 6, "between -90 degC and 80 degC", file=layout)


def test_not_a_mapping_and_not_yaml(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    one(problems_of(path), "", 1, "expected a mapping with 'name:', 'layout:' and 'run:'")
    path.write_text("name: t\nrun: {duration: 1 h\n")
    one(problems_of(path), "", 3, "YAML syntax error")


# ------------------------------------------------------------------------------------------------- run
def test_physics_step_larger_than_the_serving_epoch_is_one_problem(tmp_path):
    problems = bad(tmp_path, "run: {duration: 1 h, physics_step: 20 s, serving_epoch: 10 s}\n")
    one(problems, "run.physics_step", 3, "at most the serving epoch (10 s)", "got 20 s")
    assert len(problems) == 1, problems  # not also "the epoch is not a whole number of steps"


def test_serving_epoch_not_a_whole_number_of_physics_steps(tmp_path):
    problems = bad(tmp_path, "run:\n  duration: 1 h\n  physics_step: 3 s\n  serving_epoch: 10 s\n")
    one(problems, "run.serving_epoch", 6, "whole number of physics steps (3 s)", "got 10 s")


@pytest.mark.parametrize(("text", "expect"), [
    ("soon", "cannot read 'soon' as a time"),
    ("60", "expected a time with units such as '10 min', got the bare number 60"),
    ("0 s", "must be greater than zero"),
])
def test_bad_duration(tmp_path, text, expect):
    one(bad(tmp_path, f"run:\n  duration: {text}\n"), "run.duration", 4, expect)


@pytest.mark.parametrize(("text", "expect"), [
    ("'25:00'", "expected a time of day from '00:00' to '23:59' such as '14:00', got '25:00'"),
    # YAML 1.1 reads an unquoted 13:30 as the sexagesimal number 810
    ("13:30", "an unquoted 13:30 as the number 810 (minutes): write the time of day in quotes, '13:30'"),
])
def test_bad_start_time_of_day(tmp_path, text, expect):
    one(bad(tmp_path, f"run:\n  duration: 1 h\n  start: {text}\n"), "run.start", 5, expect)


# ---------------------------------------------------------------------------------------------- events
def test_event_naming_an_unknown_component_suggests_the_right_one(tmp_path):
    body = RUN + "events:\n  - at: 10 min\n    trip: lab/cdu-grup-01/cdu\n"
    one(bad(tmp_path, body), "events[0].trip", 6, "no component 'lab/cdu-grup-01/cdu'",
        "did you mean 'lab/cdu-group-01/cdu'?", "'<cdu group>/cdu'")


def test_event_times_outside_the_run_and_unreadable_are_reported_together(tmp_path):
    body = (RUN + "events:\n"
            "  - {at: 2 h, trip: lab/cdu-group-01/cdu}\n"   # line 5
            "  - {at: soon, trip: lab/cdu-group-01/cdu}\n"  # line 6
            "  - {at: 5 kg, trip: lab/cdu-group-01/cdu}\n"  # line 7
            "  - {at: -5 min, trip: lab/cdu-group-01/cdu}\n")  # line 8
    problems = bad(tmp_path, body)
    assert len(problems) == 4, problems
    one(problems, "events[0].at", 5, "'2 h' is at 7200 s, outside the run (0 to 3600 s)")
    one(problems, "events[1].at", 6, "cannot read 'soon' as a time", "or a time of day such as '14:00'")
    one(problems, "events[2].at", 7, "expected a time such as '10 min'", "mass")
    one(problems, "events[3].at", 8, "outside the run")


def test_time_of_day_is_measured_from_the_start_of_the_run(tmp_path):
    body = ("run: {duration: 2 h, start: '13:30'}\nevents:\n"
            "  - {at: '14:00', trip: lab/cdu-group-01/cdu}\n  - {at: 1 h, restore: lab/cdu-group-01/cdu}\n")
    prepared = load_scenario(write(tmp_path, body))
    assert [(e.time_s, e.kind) for e in prepared.scenario.events] == [(1800.0, "trip"), (3600.0, "restore")]
    # a time of day before the start is the next day's: outside a 2 h run
    late = "run: {duration: 2 h, start: '15:00'}\nevents:\n  - {at: '14:00', trip: lab/cdu-group-01/cdu}\n"
    one(bad(tmp_path, late), "events[0].at", 5, "'14:00' is at 82800 s, outside the run (0 to 7200 s)")


@pytest.mark.parametrize(("text", "expect"), [
    ("'14:75'", "expected a time such as '14 h' or a time of day such as '14:00', got '14:75'"),
    # unquoted, YAML reads 14:00 as 840: the message says so and how to write it
    ("14:00", "YAML reads an unquoted 14:00 as the number 840 (minutes): write the time of day in quotes"),
])
def test_bad_time_of_day(tmp_path, text, expect):
    one(bad(tmp_path, RUN + f"events:\n  - {{at: {text}, trip: utility}}\n"), "events[0].at", 5, expect)


def test_an_event_at_a_bad_time_still_has_its_action_checked(tmp_path):
    body = (RUN + "events:\n  - {at: 2 h, trip: lab/cdu-grup-01/cdu}\n"
            "  - {at: soon, restore: lab/cdu-group-01/cdu}\n")
    problems = bad(tmp_path, body)
    one(problems, "events[0].at", 5, "outside the run")
    one(problems, "events[0].trip", 5, "did you mean 'lab/cdu-group-01/cdu'?")
    one(problems, "events[1].at", 6, "cannot read 'soon'")
    assert len(problems) == 3, problems


def test_event_with_two_actions_or_none(tmp_path):
    body = RUN + "events:\n  - {at: 1 min, trip: utility, restore: utility}\n  - {at: 2 min}\n"
    problems = bad(tmp_path, body)
    one(problems, "events[0]", 5, "exactly one of 'trip', 'restore'", "(got trip, restore)")
    one(problems, "events[1]", 6, "exactly one of 'trip', 'restore'")


def test_tripping_more_units_than_there_are(tmp_path):
    body = (RUN + "events:\n  - {at: 1 min, trip: lab/facility-pump, count: 3}\n"
            "  - {at: 2 min, trip: utility, count: 2}\n")
    problems = bad(tmp_path, body)
    one(problems, "events[0].count", 5, "lab/facility-pump has 1 unit; cannot trip 3")
    one(problems, "events[1].count", 6, "utility has 1 unit", "a power node trips whole")


def test_count_on_an_event_that_is_no_trip(tmp_path):
    body = RUN + "events:\n  - at: 1 min\n    count: 2\n    setpoint: {loop: lab, facility_supply: 30 degC}\n"
    one(bad(tmp_path, body), "events[0].count", 6, "'count' is for 'trip' and 'restore'")


def test_setpoint_and_load_step_name_what_exists(tmp_path):
    body = (RUN + "deployments:\n" + serving() + "events:\n"
            "  - at: 1 min\n    setpoint: {loop: lba, facility_supply: 30 degC}\n"  # 11, 12
            "  - at: 2 min\n    load_step: {deployment: chta, factor: 2}\n"  # 13, 14
            "  - at: 3 min\n    setpoint: {loop: lab}\n")  # 15, 16
    problems = bad(tmp_path, body)
    one(problems, "events[0].setpoint.loop", 12, "no cooling loop 'lba'", "did you mean 'lab'?")
    one(problems, "events[1].load_step.deployment", 14, "no deployment 'chta'", "did you mean 'chat'?")
    one(problems, "events[2].setpoint", 16, "give 'facility_supply' and/or 'rack_supply'")


def test_demand_response_ramp_longer_than_its_duration(tmp_path):
    body = RUN + "events:\n  - at: 1 min\n    demand_response: {target: 80 %, duration: 2 min, ramp: 5 min}\n"
    one(bad(tmp_path, body), "events[0].demand_response.ramp", 6, "the ramp is longer than the event")


def test_demand_response_and_training_past_the_end_of_the_run(tmp_path):
    body = ("run: {duration: 10 min}\nevents:\n"
            "  - at: 5 min\n    demand_response: {target: 80 %, duration: 10 min}\n"  # 5, 6
            "  - at: 5 min\n    training: {racks: '*', duration: 10 min, period: 20 s, duty: 0.5}\n")  # 7, 8
    problems = bad(tmp_path, body)
    one(problems, "events[0].demand_response.duration", 6, "ends at 900 s, after the run (600 s)")
    one(problems, "events[1].training.duration", 8, "ends at 900 s, after the run (600 s)")


def test_training_job_on_racks_that_also_serve(tmp_path):
    body = (RUN + "deployments:\n" + serving() + "events:\n  - at: 0 s\n    training:\n"
            "      racks: '*'\n      duration: 10 min\n      period: 20 s\n      duty: 0.5\n")
    one(bad(tmp_path, body), "events[0].training.racks", 13, "1 of its racks also serve a deployment",
        "lab/row/r01", "a rack trains or serves")


def test_training_levels_and_duty(tmp_path):
    body = ("run: {duration: 10 min}\nevents:\n"
            "  - at: 0 s\n"
            "    training: {racks: '*', duration: 1 min, period: 20 s, duty: 0.5, high: 0.2, low: 0.5}\n"
            "  - at: 0 s\n    training: {racks: '*', duration: 1 min, period: 20 s, duty: 1.5}\n")
    problems = bad(tmp_path, body)
    one(problems, "events[1].training.duty", 8, "less than 1")  # the schema first: nothing resolved yet
    body = body.replace("duty: 1.5", "duty: 0.5")
    one(bad(tmp_path, body), "events[0].training.low", 6, "low 0.5 is above high 0.2")


# ---------------------------------------------------------------------------------------- deployments
def test_rack_selector_matching_nothing_suggests_the_hall(tmp_path):
    body = RUN + "deployments:\n" + serving(racks="{hall: lba}")
    one(bad(tmp_path, body), "deployments[0].racks.hall", 6, "no hall matches 'lba'", "did you mean 'lab'?",
        "halls: lab")


@pytest.mark.parametrize(("racks", "field", "expect"), [
    ("lab/row/r02", "deployments[0].racks.name",
     ["no name matches 'lab/row/r02'", "did you mean 'lab/row/r01'?"]),
    ("{row: lab/rwo}", "deployments[0].racks.row", ["no row matches 'lab/rwo'", "did you mean 'lab/row'?"]),
    ("{hall: lab, count: 3}", "deployments[0].racks.count", ["asks for 3 racks; the selector matches 1"]),
])
def test_rack_selectors(tmp_path, racks, field, expect):
    one(bad(tmp_path, RUN + "deployments:\n" + serving(racks=racks)), field, 6, *expect)


def test_rack_selector_on_the_pod_suggests_the_hall(tmp_path):
    body = RUN + "deployments:\n" + serving(racks="{hall: hal}")
    one(bad(tmp_path, body, layout=POD), "deployments[0].racks.hall", 6, "no hall matches 'hal'",
        "did you mean 'hall'?")


def test_two_deployments_claiming_the_same_racks(tmp_path):
    body = (RUN + "deployments:\n" + serving(name="a", racks="{row: hall/row01}")
            + serving(name="b", racks="'hall/*/r0[12]'"))  # the second item starts on line 10
    one(bad(tmp_path, body, layout=POD), "deployments[1].racks", 11, "2 of its racks (first hall/row01/r01)",
        "already in deployment 'a'", "a rack serves one deployment")


def test_a_prefill_pool_on_the_deployments_own_racks(tmp_path):
    # lines: 3 run, 4 deployments, 5 - name, 6 racks, 7 model, 8 tp, 9 prefill, 10 racks, 11 workload
    extra = "    prefill:\n      racks: 'hall/row02/r01'\n"
    body = RUN + "deployments:\n" + serving(racks="{row: hall/row02}", extra=extra)
    one(bad(tmp_path, body, layout=POD), "deployments[0].prefill.racks", 10,
        "1 of its racks (first hall/row02/r01) are already in its own decode pool", "a rack serves one pool")


def test_a_prefill_pool_whose_replicas_do_not_fill_its_racks(tmp_path):
    extra = "    prefill:\n      racks: 'hall/row01/r01'\n      tp: 16\n"
    body = RUN + "deployments:\n" + serving(racks="{row: hall/row02}", extra=extra)
    one(bad(tmp_path, body, layout=POD), "deployments[0].prefill.tp", 11, "TP16 x PP1 = 16 GPUs",
        "whole replicas")


def test_disaggregated_serving_request_by_request_points_to_serve_sim(tmp_path):
    extra = "    prefill: {racks: 'hall/row01/r01'}\n"
    body = "run: {duration: 1 h, serving: discrete}\ndeployments:\n" + serving(racks="{row: hall/row02}",
                                                                              extra=extra)
    one(bad(tmp_path, body, layout=POD), "deployments[0].prefill", 9, "served with the fluid model",
        "twin serve-sim --prefill-gpus")


def test_a_disaggregated_deployment_needs_more_than_one_output_token(tmp_path):
    extra = "    prefill: {racks: 'hall/row01/r01'}\n"
    body = RUN + "deployments:\n" + serving(racks="{row: hall/row02}", extra=extra,
                                             workload="{rate: 10, output_tokens: 1}")
    one(bad(tmp_path, body, layout=POD), "deployments[0].workload.output_tokens", 10,
        "decode pool serves the tokens after the first")


def test_two_deployments_with_one_name(tmp_path):
    body = (RUN + "deployments:\n" + serving(name="a", racks="{row: hall/row01}")
            + serving(name="a", racks="{row: hall/row02}"))
    one(bad(tmp_path, body, layout=POD), "deployments[1].name", 10, "deployment name 'a' is used twice")


def test_gpus_not_a_whole_number_of_replicas(tmp_path):
    # TP16 x PP1 = 16 GPUs on a 72-GPU rack: 4.5 replicas
    one(bad(tmp_path, RUN + "deployments:\n" + serving(tp="tp: 16")), "deployments[0].tp", 8,
        "TP16 x PP1 = 16 GPUs does not fill its rack of 72 GPUs", "whole replicas",
        "choose a replica size that divides 72")
    # a replica of two racks (TP8 x PP18 of llama-3.1-405b's 126 layers) over three racks
    body = RUN + "deployments:\n" + serving(tp="tp: 8\n    pp: 18", model="llama-3.1-405b",
                                            racks="{hall: hall, count: 3}")
    problems = bad(tmp_path, body, layout=POD)
    p = one(problems, "deployments[0].tp", 8, "144 GPUs", "3 racks, 216 GPUs",
            "a multiple of 72 that divides 216")
    assert "does not fill" in p.message


def test_tp_that_does_not_divide_the_heads_names_tp_on_its_line(tmp_path):
    # tp 5 on 72-GPU racks: the model's 64 heads are the first thing it breaks
    one(bad(tmp_path, RUN + "deployments:\n" + serving(tp="tp: 5")), "deployments[0].tp", 8,
        "TP=5 does not divide the 64 attention heads of llama-3.1-70b")


def test_several_parallelism_problems_of_one_deployment_are_each_on_their_line(tmp_path):
    problems = bad(tmp_path, RUN + "deployments:\n" + serving(tp="tp: 5\n    pp: 3\n    precision: fp3"))
    one(problems, "deployments[0].tp", 8, "TP=5 does not divide")
    one(problems, "deployments[0].pp", 9, "PP=3 does not divide the 80 layers")
    one(problems, "deployments[0].precision", 10, "unknown precision 'fp3'; valid: bf16, fp8, fp4")
    assert len(problems) == 3, problems


def test_a_model_that_does_not_fit(tmp_path):
    body = RUN + "deployments:\n" + serving(tp="tp: 1", model="llama-3.1-405b", extra="    precision: bf16\n")
    p = one(bad(tmp_path, body), "deployments[0].tp", 8, "llama-3.1-405b at bf16 does not fit on gb200-nvl72",
            "TP=1 PP=1", "HBM", "larger `tp` or `pp`")
    assert "deployment." not in p.message  # the scenario's own key names, not the Python API's


def test_an_unknown_model_suggests_the_right_one(tmp_path):
    body = RUN + "deployments:\n" + serving(model="llama-3.1-70c")
    one(bad(tmp_path, body), "deployments[0].model", 7, "unknown llm 'llama-3.1-70c'",
        "did you mean 'llama-3.1-70b'?", "llama-3.1-405b")


def test_a_bad_length_string(tmp_path):
    body = RUN + "deployments:\n" + serving(workload="\n      rate: 10\n      input_tokens: lots")
    one(bad(tmp_path, body), "deployments[0].workload.input_tokens", 11, "input tokens 'lots'",
        "expected a whole number >= 1 or NAME:PARAMS")


@pytest.mark.parametrize(("workload", "field", "expect"), [
    ("{rate: 10, profile: wobbly}", "deployments[0].workload.profile",
     "unknown rate profile 'wobbly'; valid:"),
    ("{rate: 0}", "deployments[0].workload.rate", "greater than 0"),
    ("{rate: 10, hourly: [1, 1, 1]}", "deployments[0].workload.hourly", "at least 24 items"),
    ("{rate: 10, output_tokens: many}", "deployments[0].workload.output_tokens", "output tokens 'many'"),
])
def test_bad_workloads(tmp_path, workload, field, expect):
    one(bad(tmp_path, RUN + "deployments:\n" + serving(workload=workload)), field, 9, expect)


def test_problems_of_both_phases_are_reported_together(tmp_path):
    # layout-side (selector, component, time, run) and serving-side (replicas, model) problems, at once
    body = ("run: {duration: 1 h, physics_step: 3 s}\ndeployments:\n"
            + serving(name="a", racks="{row: hall/row01}", tp="tp: 16")  # lines 5..9
            + serving(name="b", racks="{row: hall/row02}", model="llama-3.1-70c")  # lines 10..14
            + serving(name="c", racks="{hall: hal}")  # lines 15..19
            + "events:\n  - {at: 2 h, trip: hall/cdu-group-01/cdu}\n"
            "  - {at: 1 min, trip: hall/cdu-grup-01/cdu}\n")
    problems = bad(tmp_path, body, layout=POD)
    one(problems, "run.serving_epoch", 3, "whole number of physics steps")
    one(problems, "deployments[0].tp", 8, "does not fill")
    one(problems, "deployments[1].model", 12, "did you mean 'llama-3.1-70b'?")
    one(problems, "deployments[2].racks.hall", 16, "did you mean 'hall'?")
    one(problems, "events[0].at", 21, "outside the run")
    one(problems, "events[1].trip", 22, "did you mean 'hall/cdu-group-01/cdu'?")
    assert len(problems) == 6, problems
    assert [p.line for p in problems] == sorted(p.line for p in problems)  # top to bottom
    text = str(InputError(problems))
    assert text.startswith("6 problems found:")


# --------------------------------------------------------------------------------------------- weather
HEADER = "hour,dry_bulb_c,relative_humidity\n"


def weather_csv(tmp_path: Path, rows: str, header: str = HEADER) -> tuple[Path, Path]:
    csv = tmp_path / "w.csv"
    csv.write_text(header + rows)
    return write(tmp_path, RUN + "weather: {csv: w.csv}\n"), csv


def test_a_good_weather_csv_in_percent_and_with_a_byte_order_mark(tmp_path):
    path, csv = weather_csv(tmp_path, "0,20,40\n1,21,45\n2,22,50\n", header="\ufeff" + HEADER)
    w = load_scenario(path).scenario.weather
    assert list(w.dry_bulb_c) == [20, 21, 22]
    assert list(w.relative_humidity) == pytest.approx([0.40, 0.45, 0.50])


def test_weather_csv_with_a_gap_in_hours(tmp_path):
    path, csv = weather_csv(tmp_path, "0,20,40\n1,21,40\n3,22,40\n4,22,40\n")
    one(problems_of(path), "hour", 4, "hour 1 is followed by 3", "one by one", file=csv)


def test_weather_csv_lines_count_blank_lines(tmp_path):
    path, csv = weather_csv(tmp_path, "0,20,40\n\n1,21,40\n\n3,22,40\n")
    one(problems_of(path), "hour", 6, "hour 1 is followed by 3", file=csv)
    path, csv = weather_csv(tmp_path, "0,20,40\n\n1,21,40\n2,99,40\n")
    one(problems_of(path), "dry bulb", 5, "99 degC", file=csv)


def test_weather_csv_with_an_impossible_dry_bulb(tmp_path):
    path, csv = weather_csv(tmp_path, "0,20,40\n1,99,40\n2,22,40\n")
    one(problems_of(path), "dry bulb", 3, "99 degC is not a possible value", "expected -90..80 degC",
        "1 such row", file=csv)


def test_weather_csv_with_an_impossible_humidity(tmp_path):
    path, csv = weather_csv(tmp_path, "0,20,40\n1,21,40\n2,22,150\n")
    # shown as written, in percent
    one(problems_of(path), "relative humidity", 4, "150 % is not a possible value", "expected 0..100 %",
        file=csv)
    path, csv = weather_csv(tmp_path, "0,20,0.4\n1,21,-0.1\n")
    one(problems_of(path), "relative humidity", 3, "-0.1 is not a possible value", "expected 0..1", file=csv)


def test_weather_csv_with_a_wrong_header(tmp_path):
    path, csv = weather_csv(tmp_path, "0,20,40\n1,21,40\n", header="hour,temp,rh\n")
    one(problems_of(path), "header", 1, "expected columns hour, dry_bulb_c, relative_humidity",
        "got hour, temp, rh", file=csv)


@pytest.mark.parametrize(("rows", "line", "field", "expect"), [
    ("0,20,40\n1,warm,40\n", 3, "",
     "expected numbers in hour, dry_bulb_c, relative_humidity; got '1,warm,40'"),
    ("0,20,40\n,21,40\n2,22,40\n", 3, "hour", "expected the hour of the row, a number; got nothing"),
    ("0,20,40\n1,21\n2,22,40\n", 3, "relative humidity", "missing is not a possible value"),
    ("0,20,40\n1,inf,40\n", 3, "dry bulb", "inf degC is not a possible value"),
    ("0,20,40\n", 2, "", "needs at least two hourly rows"),
])
def test_weather_csv_rows(tmp_path, rows, line, field, expect):
    path, csv = weather_csv(tmp_path, rows)
    one(problems_of(path), field, line, expect, file=csv)


def test_weather_csv_not_covering_the_run_or_missing(tmp_path):
    csv = tmp_path / "w.csv"
    csv.write_text(HEADER + "0,20,40\n1,21,40\n")
    path = write(tmp_path, "run: {duration: 1 h, start: '03:00'}\nweather: {csv: w.csv}\n")
    one(problems_of(path), "weather.csv", 4, "covers hours 0..1; the run needs 3..4")
    path = write(tmp_path, RUN + "weather: {csv: nope.csv}\n")
    one(problems_of(path), "weather.csv", 4, "weather file not found", "nope.csv")


def test_weather_with_both_design_day_and_csv(tmp_path):
    body = RUN + "weather:\n  design_day: {min_dry_bulb: 20 degC, max_dry_bulb: 30 degC}\n  csv: w.csv\n"
    one(bad(tmp_path, body), "weather", 4, "give exactly one of 'design_day', 'csv' or 'tmy'",
        "(got design_day, csv)")
    one(bad(tmp_path, RUN + "weather: {}\n"), "weather", 4, "give exactly one of")


def test_design_day_min_above_max(tmp_path):
    body = RUN + "weather:\n  design_day:\n    min_dry_bulb: 35 degC\n    max_dry_bulb: 30 degC\n"
    one(bad(tmp_path, body), "weather.design_day", 5, "min_dry_bulb 35 degC is above max_dry_bulb 30 degC")


@pytest.mark.parametrize(("values", "field", "expect"), [
    ("max_dry_bulb: 99 degC", "weather.design_day.max_dry_bulb", "between -90 degC and 80 degC, got 99 degC"),
    ("max_dry_bulb: 30 degC, relative_humidity: 150 %", "weather.design_day.relative_humidity",
     "between 0 and 1 (0 % and 100 %), got 1.5 (150 %)"),
])
def test_design_day_impossible_values(tmp_path, values, field, expect):
    body = RUN + f"weather:\n  design_day: {{min_dry_bulb: 20 degC, {values}}}\n"
    one(bad(tmp_path, body), field, 5, expect)


# -------------------------------------------------------------------------------------------- policies
def test_throttle_curve_not_falling(tmp_path):
    body = RUN + "policies:\n  thermal_throttle:\n    excess: [0 K, 2 K]\n    clock: [0.5, 1.0]\n"
    one(bad(tmp_path, body), "policies.thermal_throttle", 5, "'clock' must not rise as the temperature rises")


@pytest.mark.parametrize(("curve", "expect"), [
    ("{excess: [0 K, 2 K, 3 K], clock: [1.0, 0.5]}", "'excess' has 3 points and 'clock' 2"),
    ("{excess: [2 K, 1 K], clock: [1.0, 0.5]}", "'excess' temperatures must rise point by point"),
])
def test_throttle_curve_shape(tmp_path, curve, expect):
    one(bad(tmp_path, RUN + f"policies:\n  thermal_throttle: {curve}\n"), "policies.thermal_throttle", 5,
        expect)


def test_site_cap_with_a_name(tmp_path):
    body = RUN + "policies:\n  caps:\n    - {scope: site, name: lab, cap: 100 kW}\n"
    one(bad(tmp_path, body), "policies.caps[0]", 6, "a site cap takes no 'name:'")


def test_caps_name_what_they_limit(tmp_path):
    body = (RUN + "policies:\n  caps:\n"
            "    - {scope: hall, name: lba, cap: 100 kW}\n"  # 6
            "    - {scope: rack, cap: 100 kW}\n"  # 7
            "    - {scope: site, cap: 100 kg}\n")  # 8
    problems = bad(tmp_path, body)
    one(problems, "policies.caps[1]", 7, "a rack cap needs 'name:'")
    one(problems, "policies.caps[2].cap", 8, "expected a power such as '132 kW', got '100 kg'")
    # the hall name is checked against the layout once the file passes the schema
    one(bad(tmp_path, RUN + "policies:\n  caps:\n    - {scope: hall, name: lba, cap: 100 kW}\n"),
        "policies.caps[0].name", 6, "no hall 'lba'", "did you mean 'lab'?")


def test_power_smoothing(tmp_path):
    body = RUN + "policies:\n  gpu_power_smoothing: {floor: 150 %, ramp_up: 10 W/s, ramp_down: 10 W/s}\n"
    one(bad(tmp_path, body), "policies.gpu_power_smoothing.floor", 5, "got 1.5 (150 %)")
    body = (RUN + "policies:\n  gpu_power_smoothing:\n    floor: 50 %\n    ramp_up: 10 W/s\n"
            "    ramp_down: 10 W/s\n    racks: {hall: lba}\n")
    one(bad(tmp_path, body), "policies.gpu_power_smoothing.racks.hall", 9, "did you mean 'lab'?")


# ------------------------------------------------------------------------------------------- the sample
def test_the_shipped_scenario_loads():
    prepared = load_scenario(ROOT / "scenarios" / "pod-design-day.yaml")
    assert prepared.scenario.factory.num_racks == 8
    assert prepared.served[0].num_replicas == 72
