"""The slot's changes as the server pushes them: PostgreSQL's streaming replication protocol.

psycopg 3 does not speak the replication protocol, so this one connection goes through
psycopg2's `LogicalReplicationConnection` (the rest of the capture stays on psycopg 3). The
server decodes each WAL record once and sends the pgoutput messages as commits happen; the
position confirmed with `confirm` is the slot's `confirmed_flush_lsn`: after a restart the
server sends again every transaction that ends after it. Driver errors are left to the
capture, which translates both drivers' (`pgslot.translate`).
"""

from __future__ import annotations

import select
import time
from contextlib import suppress

import psycopg2
import psycopg2.extensions
import psycopg2.extras

# the text formats of the values pgoutput sends are the walsender session's: fixed here
SESSION_SETTINGS = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3"
STATUS_INTERVAL_S = 10  # feedback at least this often, well inside wal_sender_timeout (60 s)


class ReplicationStream:
    """One START_REPLICATION of a pgoutput slot: `read` the messages, `confirm` positions."""

    def __init__(
        self,
        conninfo: str,
        slot: str,
        publication: str,
        *,
        application_name: str,
        connect_timeout_s: int,
    ) -> None:
        self._conn = psycopg2.connect(
            replication_dsn(conninfo),
            connection_factory=psycopg2.extras.LogicalReplicationConnection,
            application_name=application_name, connect_timeout=connect_timeout_s,
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
        )  # fmt: skip
        self._cursor = self._conn.cursor()
        self._cursor.start_replication(
            slot_name=slot, decode=False, status_interval=STATUS_INTERVAL_S,
            options={"proto_version": "1", "publication_names": publication, "messages": "false"},
        )  # fmt: skip

    @property
    def position(self) -> int:
        """The server's position in the last message or keepalive read: every message of
        the WAL before it has been read (a keepalive carries how far the server has sent)."""
        return int(self._cursor.wal_end or 0)

    def read(self, timeout_s: float) -> tuple[int, bytes] | None:
        """The next message (its LSN and pgoutput bytes), waiting at most `timeout_s`; None
        also as soon as a keepalive moved `position`."""
        position = self.position
        message = self._cursor.read_message()
        deadline = time.monotonic() + timeout_s
        while message is None and self.position == position:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            select.select([self._conn], [], [], left)
            message = self._cursor.read_message()
        if message is None:
            return None
        return int(message.data_start), bytes(message.payload)

    def wait(self, timeout_s: float) -> None:
        """Until the server sends something, at most `timeout_s`."""
        with suppress(OSError, ValueError):  # a broken connection: the next read says how
            select.select([self._conn], [], [], timeout_s)

    def confirm(self, lsn: int) -> None:
        """Tell the server that everything before `lsn` is captured: the slot moves there."""
        self._cursor.send_feedback(write_lsn=lsn, flush_lsn=lsn, force=True)

    def close(self) -> None:
        with suppress(psycopg2.Error):  # already broken: nothing left to release
            self._conn.close()


def replication_dsn(conninfo: str) -> str:
    """The connection string with the session settings added to any `options` it has."""
    params = psycopg2.extensions.parse_dsn(conninfo)
    params["options"] = f"{params.get('options', '')} {SESSION_SETTINGS}".strip()
    return str(psycopg2.extensions.make_dsn(**params))
