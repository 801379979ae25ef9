"""Real processes for the end-to-end tests: env files, commands, signals, waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from adapters.capture import pgslot
from adapters.kafka.admin import end_offsets
from adapters.kafka.settings import KafkaSettings
from adapters.mapping_file import load_mapping
from adapters.topics import change_topics
from domain.events import Platform

ROOT = Path(__file__).resolve().parents[2]
TANDEM = [sys.executable, "-m", "entrypoints.cli"]
CONSUMER = [sys.executable, "-m", "entrypoints.consumer"]
CDC = [sys.executable, "-m", "entrypoints.cdc"]


def write_env_file(stack: dict[str, str], directory: Path, **extra: str) -> Path:
    """Settings of one test: the stack's servers, its own topics, slot and state directory."""
    tag = uuid.uuid4().hex[:8]
    values = (
        {k: v for k, v in stack.items() if k.startswith("SYNC_")}
        | {
            "SYNC_LEGACY_TOPIC_PREFIX": f"e{tag}legacy",
            "SYNC_REVAMP_TOPIC_PREFIX": f"e{tag}revamp",
            "SYNC_DLQ_TOPIC": f"e{tag}.dlq",
            "SYNC_LEGACY_SLOT": f"e{tag}",
            "SYNC_STATE_DIR": str(directory / "state"),
            "SYNC_HTTP_PORT": "0",
            "SYNC_LOG_FORMAT": "json",
            "SYNC_PARENT_WAIT_SECONDS": "60",
        }
        | extra
    )
    path = directory / "sync.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def clean_environment() -> dict[str, str]:
    """The test's environment without SYNC_*: the env file is the only configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_command(args: list[str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=clean_environment(), capture_output=True, text=True, timeout=timeout_s
    )


class Process:
    """A command running in the background, its output kept in a log file."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args, self.log_path = args, log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.args, cwd=ROOT, env=clean_environment(), stdout=log, stderr=log
            )
        return self

    def signal(self, signum: int) -> None:
        assert self.popen is not None
        self.popen.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def wait(self, timeout_s: float) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout_s)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.running:
            self.signal(signal.SIGTERM)
            try:
                self.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def started(*processes: Process) -> Iterator[tuple[Process, ...]]:
    for process in processes:
        process.start()
    try:
        yield processes
    finally:
        for process in processes:
            process.stop()


def wait_for(
    check: Callable[[], Any], timeout_s: float = 60, why: str = "", watch: Process | None = None
) -> Any:
    """Poll until `check` returns something truthy; fail naming `why` (and the log)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if watch is not None and not watch.running:
            raise AssertionError(f"{why}: the process exited:\n{watch.output()[-3000:]}")
        if time.monotonic() > deadline:
            log = watch.output()[-3000:] if watch is not None else ""
            raise AssertionError(f"timed out waiting: {why}\n{log}")
        time.sleep(0.1)


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def execute(engine: Engine, sql: str, **params: Any) -> None:
    """Plain SQL on its own connection, as an application would: `source` is never set."""
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def topic_end_offsets(env_file: Path) -> dict[tuple[str, int], int]:
    values = read_env_file(env_file)
    settings = KafkaSettings.from_options((values["SYNC_KAFKA_BOOTSTRAP"],), {})
    mapping = load_mapping()
    topics = [
        *change_topics(mapping, Platform.LEGACY, values["SYNC_LEGACY_TOPIC_PREFIX"]),
        *change_topics(mapping, Platform.REVAMP, values["SYNC_REVAMP_TOPIC_PREFIX"]),
        values["SYNC_DLQ_TOPIC"],
    ]
    return end_offsets(settings, topics)


def drop_slot(engine: Engine, env_file: Path) -> None:
    slot = read_env_file(env_file)["SYNC_LEGACY_SLOT"]
    with suppress(Exception):
        pgslot.drop_slot_at(engine.url, slot)
