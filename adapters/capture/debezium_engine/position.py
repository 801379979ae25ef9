"""Where Debezium's MySQL connector is in the binlog, for `tandem status`: the `source.file` and
`source.pos` of the last event the capture delivered and Kafka acknowledged (its offsets file
is Kafka Connect's Java serialization, which Python does not read), kept in a small JSON file
of the state directory, replaced atomically."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.atomic_file import write_json_atomically
from adapters.debezium_envelope import payload_field

if TYPE_CHECKING:
    from adapters.capture.debezium_engine.engine import Record

POSITION_FILE = "debezium-revamp.position.json"


def position_file(state_dir: Path) -> Path:
    return state_dir / POSITION_FILE


def binlog_position(value: bytes | None) -> tuple[str, int] | None:
    """`source.file` and `source.pos` of a MySQL change event (schema wrapper or not)."""
    if value is None or b'"file"' not in value:
        return None
    source = payload_field(value, "source")
    if not isinstance(source, dict):
        return None
    file, pos = source.get("file"), source.get("pos")
    if not isinstance(file, str) or not file or not isinstance(pos, int):
        return None
    return file, pos


class BinlogPositionFile:
    """Records the binlog position of a delivered batch's last event that has one (changes,
    the heartbeat table's rows, the sync service's dropped ones alike: all were read)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last: tuple[str, int] | None = None

    def record(self, records: list[Record]) -> None:
        for _, _, value in reversed(records):
            where = binlog_position(value)
            if where is not None:
                break
        else:
            return
        if where != self.last:
            file, pos = where
            write_json_atomically(self.path, {"file": file, "pos": pos, "at": time.time()})
            self.last = where


def load_binlog_position(path: Path) -> tuple[str, int] | None:
    """The recorded position; None when there is none (never delivered, or unreadable)."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
        return str(document["file"]), int(document["pos"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
