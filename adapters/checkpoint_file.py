"""Checkpoints in a JSON file, replaced atomically (write, fsync, rename, fsync)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cattrs

from adapters.atomic_file import write_json_atomically
from domain.errors import ConfigurationError

SERVERS = "_servers"  # the identity of the databases the progress was taken from
_files = cattrs.Converter()  # {name: last id, SERVERS: {database: identity}}


class JsonFileCheckpoints:
    """Progress per name; with `servers`, progress recorded against other servers (another
    stack, a database recreated) is refused rather than resumed."""

    def __init__(self, path: Path, servers: dict[str, str] | None = None) -> None:
        self.path = path
        self.servers = servers

    def _document(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        recorded = document.get(SERVERS)
        if self.servers is not None and recorded is not None and recorded != self.servers:
            raise ConfigurationError(
                f"SYNC_STATE_DIR: {self.path} holds progress of other servers ({recorded}, these "
                f"are {self.servers}): remove it to start the snapshot over"
            )
        return dict(document)

    def _read(self) -> dict[str, int]:
        progress = self._document()
        progress.pop(SERVERS, None)
        return _files.structure(progress, dict[str, int])

    def load(self, name: str) -> int:
        return self._read().get(name, 0)

    def save(self, name: str, last_id: int) -> None:
        document: dict[str, Any] = self._read() | {name: last_id}
        if self.servers is not None:
            document[SERVERS] = self.servers
        write_json_atomically(self.path, document)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
