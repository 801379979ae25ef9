"""Readiness: ready only while progressing or idle; otherwise the part and why."""

from __future__ import annotations

from application.health import PartCondition, judge, readiness

STALL_S = 30.0


def test_a_part_making_progress_or_idle_is_ready() -> None:
    assert judge(PartCondition(seconds_since_progress=1.0), STALL_S).ready


def test_an_outage_names_its_last_error() -> None:
    found = judge(PartCondition(failures=2, last_error="BrokerUnavailableError: gone"), STALL_S)
    assert (found.ready, found.state, found.last_error) == (
        False,
        "outage",
        "BrokerUnavailableError: gone",
    )


def test_a_stall_is_no_progress_past_the_window_with_the_last_error() -> None:
    found = judge(PartCondition(seconds_since_progress=31.0, last_error="x: y"), STALL_S)
    assert (found.ready, found.state) == (False, "stalled")
    assert "31 s" in found.last_error and "x: y" in found.last_error
    assert judge(PartCondition(seconds_since_progress=29.0), STALL_S).ready


def test_a_part_that_keeps_dying_is_unready_even_while_running() -> None:
    found = judge(PartCondition(recent_restarts=3, last_error="RuntimeError: boom"), STALL_S)
    assert (found.ready, found.state) == (False, "dying")
    assert "boom" in found.last_error
    assert judge(PartCondition(recent_restarts=2), STALL_S).ready


def test_a_part_out_of_touch_with_the_broker_is_unready() -> None:
    found = judge(PartCondition(out_of_touch=True), STALL_S)
    assert (found.ready, found.state) == (False, "unreachable")


def test_a_part_not_running_is_down() -> None:
    assert judge(PartCondition(running=False), STALL_S).state == "down"


def test_the_report_lists_only_the_failing_parts() -> None:
    report = readiness(
        {
            "capture-legacy": PartCondition(),
            "legacy-to-revamp": PartCondition(failures=1, last_error="TargetUnavailableError: db"),
        },
        STALL_S,
    )
    assert report["ready"] is False
    assert report["failing"] == {"legacy-to-revamp": "outage: TargetUnavailableError: db"}
    assert set(report["parts"]) == {"capture-legacy", "legacy-to-revamp"}  # type: ignore[arg-type]
