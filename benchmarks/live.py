"""Running parts in threads, and application inserts whose commit moment is noted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select

from adapters.sql.tables import SchemaTables
from benchmarks.probes import TimedPublisher
from domain.events import Platform
from domain.mapping import SchemaMapping
from entrypoints.containers import Container

EMAIL = {Platform.LEGACY: "email", Platform.REVAMP: "email_address"}
NAME = {Platform.LEGACY: "username", Platform.REVAMP: "user_name"}


class Parts:
    """Threads running `part(stop)` until stopped; a part that dies is remembered."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.failures: list[str] = []

    def start(self, name: str, part: Callable[[threading.Event], Any]) -> None:
        def guarded() -> None:
            try:
                part(self.stop)
            except Exception as error:  # reported with the results, not swallowed
                self.failures.append(f"{name}: {type(error).__name__}: {error}")

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self, timeout_s: float = 30.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout_s)


class TimedCapture:
    """The built-in capture of both databases, as `tandem run` wires it, publishers timed."""

    def __init__(self, container: Container) -> None:
        self.runners = {
            Platform(name.removeprefix("capture-")): runner
            for name, runner in container.services.capture_runners().items()
        }
        self.published: dict[Platform, TimedPublisher] = {}
        for platform, runner in self.runners.items():
            self.published[platform] = runner.capture.publisher = TimedPublisher(
                runner.capture.publisher
            )
        prefixes, entity = container.core.prefixes(), container.core.mapping().entity("user")
        self.user_topics = {
            p: f"{prefixes[p]}.{entity.schemas.on(p)}.{entity.tables.on(p)}" for p in Platform
        }

    def start(self, parts: Parts) -> None:
        for platform, runner in self.runners.items():
            runner.prepare()  # the capture starts here, at the end of the log
            parts.start(f"capture-{platform.value}", runner.run)

    def acknowledged_at(self, platform: Platform, user_id: int) -> float | None:
        """When the broker acknowledged the event of this user's row, if it did."""
        return self.published[platform].acknowledged_at(self.user_topics[platform], user_id)

    def close(self) -> None:
        """After the parts stopped: release connections, drop the benchmark's slot."""
        for platform, runner in self.runners.items():
            if platform is Platform.LEGACY:
                runner.capture.drop_slot()  # else the server keeps WAL for it
            runner.close()


class UserInserts:
    """Users inserted as the application, each in its own committed transaction."""

    def __init__(self, engine: Engine, platform: Platform, mapping: SchemaMapping) -> None:
        self.engine, self.platform = engine, platform
        self.table = SchemaTables(mapping, platform).of(mapping.entity("user"))
        self.conn = engine.connect()

    def insert(self, name: str) -> tuple[int, str, float]:
        """Insert a user; its id, its email and the moment the COMMIT returned."""
        email = f"{name}@example.com"
        values = {NAME[self.platform]: name, EMAIL[self.platform]: email}
        result = self.conn.execute(self.table.insert().values(**values))
        self.conn.commit()
        committed = time.monotonic()
        return int(result.inserted_primary_key[0]), email, committed

    def present(self, emails: list[str]) -> set[str]:
        """Which of these emails have a committed row here now."""
        column = self.table.c[EMAIL[self.platform]]
        with self.engine.connect() as conn:
            return set(conn.execute(select(column).where(column.in_(emails))).scalars())

    def close(self) -> None:
        self.conn.close()


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
    return True
