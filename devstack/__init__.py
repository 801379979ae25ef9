"""A private PostgreSQL, MariaDB and Kafka-protocol broker on loopback, without Docker."""

from devstack.layout import PARTS, StackError
from devstack.stack import PartStatus, down, start_part, status, stop_part, up

__all__ = ["PARTS", "PartStatus", "StackError", "down", "start_part", "status", "stop_part", "up"]
