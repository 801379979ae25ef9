"""Built-in change capture (PostgreSQL pgoutput, MySQL binlog) publishing Debezium events."""

from adapters.capture.errors import (
    CaptureConfigurationError,
    SlotBusyError,
    SourceUnavailableError,
)
from adapters.capture.mysql import MySQLChangeCapture
from adapters.capture.pgslot import SlotLag
from adapters.capture.postgres import PostgresChangeCapture
from adapters.capture.runner import CaptureRunner, MySQLCaptureRunner, PostgresCaptureRunner

__all__ = [
    "CaptureConfigurationError",
    "CaptureRunner",
    "MySQLCaptureRunner",
    "MySQLChangeCapture",
    "PostgresCaptureRunner",
    "PostgresChangeCapture",
    "SlotBusyError",
    "SlotLag",
    "SourceUnavailableError",
]
