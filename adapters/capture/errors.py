"""Errors of the built-in change capture, in the sync's error tree."""

from __future__ import annotations

from domain.errors import ConfigurationError, TransientError


class SourceUnavailableError(TransientError):
    """The captured database could not be reached, restarted, or dropped the connection."""


class SlotBusyError(TransientError):
    """Another process is using the replication slot (or binlog client id) right now."""


class CaptureConfigurationError(ConfigurationError):
    """The captured database is not set up for capture; the message says what to change."""
