"""One Debezium connector run as a Tandem capture: supervised, its batches published to Kafka
as they are, retried through outages, and able to say when it has caught up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.capture.debezium_engine.connector import Connector
from adapters.capture.debezium_engine.engine import Engine, Record, check_available
from adapters.capture.debezium_engine.heartbeat import Heartbeat, beat_of
from adapters.capture.debezium_engine.own_transactions import NoOwnTransactions, OwnTransactions
from adapters.capture.debezium_engine.position import BinlogPositionFile
from adapters.capture.errors import SourceUnavailableError
from application.outage import OutageLog
from domain.errors import TransientError
from domain.ports import EventPublisher

log = logging.getLogger("tandem.capture.debezium")

DEBEZIUM_HEARTBEATS = "__debezium-heartbeat."  # the engine's own liveness topic: not published
REBEAT_S = 1.0  # a beat written before the connector streamed is never seen: write another
STOP_WAIT_S = 2.5  # within the runtime's stop budget: SIGTERM ends the process within 10 s


class DebeziumCaptureRunner:
    """Runs one connector in the embedded engine until stopped; the engine is started again,
    with backoff, after it fails (a database or the broker away)."""

    def __init__(
        self,
        connector: Connector,
        publisher: EventPublisher,
        heartbeat: Heartbeat,
        *,
        name: str,
        prepare_source: Callable[[], str] | None = None,
        own: OwnTransactions | None = None,
        position: BinlogPositionFile | None = None,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.connector, self.publisher, self.heartbeat = connector, publisher, heartbeat
        self.own: OwnTransactions = own or NoOwnTransactions()  # the sync's, not published
        self.position = position  # where the connector is in the binlog, for `tandem status`
        self.name, self.max_backoff_s = name, max_backoff_s
        self.prepare_source = prepare_source
        self.published = 0
        self._reported = 0  # published as of the last run_once
        self.outages = OutageLog(log, {"capture": name})
        self.failures = 0
        self.recoveries = 0
        self.last_error: str | None = None
        self.last_progress = time.monotonic()
        self._engine: Engine | None = None
        self._thread: threading.Thread | None = None
        self._ended = threading.Event()
        self._stopping = threading.Event()
        self._ending: tuple[bool, str] = (True, "")
        self._failure: BaseException | None = None
        self._seen = threading.Condition()
        self._seen_beat = 0
        self._closed = False

    def check(self) -> None:
        """What stops a command at start: the engine cannot run here (no extra, no Java)."""
        check_available()

    def prepare(self) -> str:
        """The capture's prerequisites (heartbeat table; on PostgreSQL the publication and the
        slot), as `tandem migrate` makes them, and start does; describes them."""
        made = [self.heartbeat.ensure()]
        if self.prepare_source is not None:
            made.insert(0, self.prepare_source())
        return f"Debezium {self.connector.name} connector: {', '.join(made)}"

    # running

    def start(self) -> None:
        """Start the engine in the background, unless it runs."""
        if self._closed:
            raise RuntimeError(f"{self.name} capture runner is closed")
        if self._thread is not None and self._thread.is_alive():
            return
        self.prepare()
        for key in ("offset.storage.file.filename", "schema.history.internal.file.filename"):
            if key in self.connector.properties:  # Debezium does not make the directory
                Path(self.connector.properties[key]).parent.mkdir(parents=True, exist_ok=True)
        self._ended.clear()
        self._stopping.clear()
        self._failure, self._ending = None, (True, "")
        self.own.reset()
        self._engine = Engine(self.connector.properties, self.deliver, self._completed)
        self._thread = threading.Thread(
            target=self._run_engine, args=(self._engine,), name=self.name, daemon=True
        )
        self._thread.start()

    def _run_engine(self, engine: Engine) -> None:
        try:
            engine.run()
        except BaseException as error:
            self._failure = error
        finally:
            self._failure = engine.failure or self._failure  # `deliver`'s own, first
            self._ended.set()

    def _completed(self, success: bool, message: str, error: str | None) -> None:
        self._ending = (success, f"{message}: {error}" if error else message)

    def run(self, stop: threading.Event) -> None:
        """Capture until `stop` is set; an engine that ends on its own is started again."""
        log.info("capture started", extra={"capture": self.name, "engine": "debezium"})
        try:
            while not stop.is_set():
                try:
                    self.start()
                    while not stop.is_set() and not self._ended.wait(0.5):
                        if not self.failures:
                            self.last_progress = time.monotonic()
                    if not stop.is_set():
                        self._raise_ending()
                except TransientError as error:
                    self._stop_engine()
                    self._failed(error, stop)
        finally:
            self._stop_engine()
            log.info("capture stopped", extra={"capture": self.name, "published": self.published})

    def _raise_ending(self) -> None:
        failure = self._failure
        if failure is not None and not isinstance(failure, TransientError):
            log.error("capture failed, not retrying", extra={"capture": self.name,
                      "error_type": type(failure).__name__})  # fmt: skip
            raise failure
        if isinstance(failure, TransientError):
            raise failure
        success, message = self._ending
        raise SourceUnavailableError(
            f"Debezium {self.connector.name} connector stopped"
            f"{'' if success else ' on an error'}: {message or 'no reason given'}"
        )

    def _failed(self, error: TransientError, stop: threading.Event) -> None:
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"
        delay = min(self.max_backoff_s, 0.1 * 2 ** min(self.failures - 1, 10))
        self.outages.failed(error, delay)
        stop.wait(delay)

    def run_once(self, max_s: float = 120.0) -> int:
        """Start the engine if needed and return once everything committed before this call
        is published; how many change events were published since the last call."""
        self.start()
        self.caught_up(max_s)
        published, self._reported = self.published - self._reported, self.published
        return published

    def caught_up(self, max_s: float = 120.0) -> None:
        """Wait until a heartbeat written now has been through the engine."""
        deadline = time.monotonic() + max_s
        first = self.heartbeat.beat()
        while not self._seen_beat_from(first, REBEAT_S):
            if self._ended.is_set():
                self._raise_ending()
            if time.monotonic() > deadline:
                raise SourceUnavailableError(
                    f"Debezium {self.connector.name} connector published nothing for {max_s:g} s"
                )
            self.heartbeat.beat()

    def _seen_beat_from(self, beat: int, wait_s: float) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: self._seen_beat >= beat, wait_s)

    # the engine's batches

    def deliver(self, records: list[Record]) -> int:
        """One batch of the engine, published as it is but for the sync service's own
        transactions; returns once the broker has it, retrying through outages until the
        capture stops, with how many of its records the engine may mark processed."""
        changes = [r for r in self.own.keep(records) if not self._internal(r)]
        beats = [b for topic, _, v in records if topic == self.connector.heartbeat_topic
                 if (b := beat_of(v)) is not None]  # fmt: skip
        while True:
            try:
                for topic, key, value in changes:
                    self.publisher.publish(topic, key, value)
                self.publisher.flush()
                break
            except TransientError as error:
                if self._stopping.is_set():
                    raise  # not marked processed: the engine sends the batch again
                self.failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                delay = min(self.max_backoff_s, 0.1 * 2 ** min(self.failures - 1, 10))
                self.outages.failed(error, delay)
                self._stopping.wait(delay)
        if self.failures:
            self.outages.recovered()
            self.failures, self.last_error = 0, None
            self.recoveries += 1
        self.published += len(changes)
        self.last_progress = time.monotonic()
        if beats:
            with self._seen:
                self._seen_beat = max(self._seen_beat, *beats)
                self._seen.notify_all()
        settled = self.own.settled(records)
        if self.position is not None:
            self.position.record(records[:settled])
        return settled

    @property
    def skipped_transactions(self) -> int:
        """The sync service's own transactions dropped (not published)."""
        return self.own.skipped_transactions

    def _internal(self, record: Record) -> bool:
        """The heartbeat table's rows and Debezium's heartbeats: the capture's, not changes."""
        topic = record[0]
        return topic == self.connector.heartbeat_topic or topic.startswith(DEBEZIUM_HEARTBEATS)

    # stopping

    def _stop_engine(self, wait_s: float = STOP_WAIT_S) -> None:
        self._stopping.set()
        deadline = time.monotonic() + wait_s
        engine, self._engine = self._engine, None
        if engine is not None and not engine.stop(wait_s):
            log.warning("engine still starting, left to stop with the process",
                        extra={"capture": self.name})  # fmt: skip
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Stop the engine, release the publisher and connections (idempotent); the
        connector's offsets stay in the state directory."""
        if self._closed:
            return
        self._closed = True
        self._stop_engine()
        close_publisher = getattr(self.publisher, "close", None)
        if close_publisher is not None:
            close_publisher()
        self.heartbeat.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> DebeziumCaptureRunner:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
