"""The `source.version` the built-in capture writes, in place of Debezium's version."""

from __future__ import annotations

from importlib import metadata

try:
    CONNECTOR_VERSION = f"tandem-{metadata.version('tandem-sync')}"
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    CONNECTOR_VERSION = "tandem-dev"
