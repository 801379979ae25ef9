"""One owner per state directory: a lock file holding the pid and command of its owner."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from domain.errors import SyncError


class StateInUseError(SyncError):
    """Another running process owns the state directory (its capture positions)."""


class StateLock:
    """`<state_dir>/tandem.lock`, held (flock) for the life of the process; the kernel
    releases it when the process dies, however it dies, so a stale file locks nothing."""

    def __init__(self, state_dir: Path, command: str) -> None:
        self.path = Path(state_dir) / "tandem.lock"
        self.command = command
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock; StateInUseError naming the running owner when it is taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise StateInUseError(
                f"{owner} is already running on {self.path.parent}: stop it first "
                "(or give this one its own SYNC_STATE_DIR and topics)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self.command} (pid {os.getpid()})\n")
        handle.flush()
        self._handle = handle

    def holder(self) -> str | None:
        """Who holds the lock now (its pid and command), or None when nobody does."""
        try:
            handle = open(self.path)  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "another process"
            return None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()
