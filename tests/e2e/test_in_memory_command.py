"""`python -m entrypoints.consumer` on the in-memory adapters: no servers, a real process."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.processes import CONSUMER, ROOT, Process, clean_environment, wait_for


def counts(output: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^([a-z ]+): (\d+)$", output, re.MULTILINE)}


def test_without_settings_it_runs_in_memory_and_ends_with_zero_differing_rows() -> None:
    result = subprocess.run(
        [*CONSUMER, "--seconds", "2"],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "running in memory" in result.stderr  # the one-line notice
    found = counts(result.stdout)
    assert found["consumed"] > 0 and found["applied"] > 0 and found["echoes skipped"] > 0
    assert found["dead lettered"] == 0 and found["differing rows"] == 0


def test_sigint_and_sigterm_finish_the_batch_and_exit_zero(tmp_path: Path) -> None:
    for number, signum in enumerate((signal.SIGINT, signal.SIGTERM)):
        process = Process([*CONSUMER, "--in-memory"], tmp_path / f"run{number}.log").start()
        wait_for(lambda p=process: p.running, why="the consumer starts", watch=process)
        time.sleep(1.5)  # let traffic and sync get going
        process.signal(signum)
        assert process.wait(30) == 0, process.output()[-2000:]
        output = process.output()
        assert counts(output)["differing rows"] == 0, output[-2000:]
        assert "Traceback" not in output
