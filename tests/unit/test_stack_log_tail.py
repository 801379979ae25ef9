"""A failed server install names its cause, not only the installer's closing advice."""

from __future__ import annotations

from pathlib import Path

from devstack.users import log_tail


def test_the_tail_keeps_the_last_errors_above_the_closing_lines(tmp_path: Path) -> None:
    log = tmp_path / "mariadb.log"
    log.write_text(
        "[Note] starting\n[ERROR] Can't create directory 'x' (Errcode: 13)\n[Note] aborting\n"
        "Installation of system tables failed!\nPlease check all of the above\nat jira\n"
    )
    tail = log_tail(log)
    assert tail.startswith("[ERROR] Can't create directory 'x'") and tail.endswith("at jira")
    assert "starting" not in tail


def test_a_missing_log_gives_an_empty_tail(tmp_path: Path) -> None:
    assert log_tail(tmp_path / "gone.log") == ""
