"""The Debezium capture's runners, for the composition root: both connectors in the embedded
engine, on the mapped tables, their offsets and schema history in the state directory."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from typing import Any

from domain.events import SYNC_ORIGIN
from domain.mapping import SchemaMapping
from entrypoints.settings import Settings

log = logging.getLogger("tandem.capture.debezium")


def debezium_runners(
    settings: Settings,
    mapping: SchemaMapping,
    which: tuple[str, ...],
    publisher: Callable[[], Any],
) -> dict[str, Any]:
    """One DebeziumCaptureRunner per database in `which`, each with its own publisher."""
    from adapters.capture.debezium_engine.connector import (
        HEARTBEAT_TABLE,
        mysql_connector,
        postgres_connector,
    )
    from adapters.capture.debezium_engine.heartbeat import Heartbeat
    from adapters.capture.debezium_engine.own_transactions import (
        MarkedTransactions,
        NoOwnTransactions,
        SyncOrigins,
    )
    from adapters.capture.debezium_engine.position import BinlogPositionFile, position_file
    from adapters.capture.debezium_engine.runner import DebeziumCaptureRunner
    from adapters.capture.debezium_engine.slot import prepare_postgres

    state = settings.state_dir.absolute()
    runners: dict[str, Any] = {}
    if "legacy" in which:
        tables = [(e.schemas.legacy, e.tables.legacy) for e in mapping.entities]
        slot = settings.debezium_slot  # and its publication: mapped tables and the heartbeat
        connector = postgres_connector(
            settings.legacy_dsn, prefix=settings.legacy_prefix, tables=tables,
            slot=slot, publication=slot, state_dir=state, schemas=settings.schemas_enable,
        )  # fmt: skip
        published = [*tables, (connector.heartbeat_schema, HEARTBEAT_TABLE)]
        runners["capture-legacy"] = DebeziumCaptureRunner(
            connector,
            publisher(),
            Heartbeat(settings.legacy_dsn, connector.heartbeat_schema),
            name=settings.legacy_prefix,
            prepare_source=lambda: prepare_postgres(settings.legacy_dsn, slot, slot, published),
            own=SyncOrigins([SYNC_ORIGIN]),
        )
    if "revamp" in which:
        tables = [(e.schemas.revamp, e.tables.revamp) for e in mapping.entities]
        history = (state / "debezium-revamp").resolve()
        connector = mysql_connector(
            settings.revamp_dsn, prefix=settings.revamp_prefix, tables=tables,
            server_id=200_000 + zlib.crc32(str(history).encode()) % 2**30, state_dir=state,
            schemas=settings.schemas_enable,
        )  # fmt: skip
        marker = connector.marker_topic
        if marker is None:
            log.warning(
                "Debezium's MySQL schema history predates the sync marker: the sync service's "
                "own MySQL transactions are published, so every mapped table needs the source "
                "triggers (to read the marker, start from an empty state directory)",
                extra={"history": connector.properties["schema.history.internal.file.filename"]},
            )
        runners["capture-revamp"] = DebeziumCaptureRunner(
            connector,
            publisher(),
            Heartbeat(settings.revamp_dsn, connector.heartbeat_schema),
            name=settings.revamp_prefix,
            own=NoOwnTransactions() if marker is None else MarkedTransactions(marker),
            position=BinlogPositionFile(position_file(state)),
        )
    return runners
