"""Where a local stack keeps its state, data, sockets, logs and pid files, and what a part is."""

from __future__ import annotations

import fcntl
import json
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.atomic_file import write_atomically

if TYPE_CHECKING:
    from devstack.users import ServiceUser

PARTS = ("postgres", "mariadb", "broker")
_ALIASES = {
    "pg": "postgres",
    "postgresql": "postgres",
    "legacy": "postgres",
    "mysql": "mariadb",
    "revamp": "mariadb",
    "kafka": "broker",
    "tansu": "broker",
}


class StackError(RuntimeError):
    """A local stack problem the user can act on: missing binary, failed start, bad setting."""


def part_name(name: str) -> str:
    """The canonical part name for `name` or one of its aliases (pg, mysql, kafka...)."""
    canonical = _ALIASES.get(name.lower(), name.lower())
    if canonical not in PARTS:
        raise StackError(f"unknown stack part {name!r}: expected one of {', '.join(PARTS)}")
    return canonical


@dataclass(frozen=True)
class Layout:
    """The files of one stack: `stack_dir` for bookkeeping, `data_root` for server data."""

    stack_dir: Path
    data_root: Path

    @property
    def state_file(self) -> Path:
        return self.stack_dir / "state.json"

    @property
    def env_file(self) -> Path:
        return self.stack_dir / "stack.env"

    @property
    def sock_dir(self) -> Path:
        return self.data_root / "sock"

    def pid_file(self, part: str) -> Path:
        return self.stack_dir / "run" / f"{part}.pid"

    def log_file(self, part: str) -> Path:
        return self.stack_dir / "log" / f"{part}.log"

    def data_dir(self, part: str) -> Path:
        return self.data_root / part

    def marker(self, part: str) -> Path:
        """Present once the part's data directory was fully initialised."""
        return self.data_root / f"{part}.initialised"


def load_state(stack_dir: Path) -> dict[str, Any]:
    path = stack_dir / "state.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(stack_dir: Path, state: dict[str, Any]) -> None:
    document = json.dumps(state, indent=2, sort_keys=True) + "\n"
    write_atomically(stack_dir / "state.json", document.encode())


@contextmanager
def locked(stack_dir: Path) -> Iterator[None]:
    """Serialise `up`, `down` and part restarts of one stack across processes."""
    stack_dir.mkdir(parents=True, exist_ok=True)
    with open(stack_dir / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class PartSpec:
    """How to prepare, launch, probe and stop one server of the stack."""

    name: str
    exe: str  # basename expected in /proc/<pid>/cmdline, guards against pid reuse
    stop_signal: signal.Signals  # the graceful one; SIGKILL follows after a timeout
    as_service_user: bool
    # (layout, user, port) -> argv; initialises the data directory on first use
    prepare: Callable[[Layout, ServiceUser, int], list[str]]
    ready: Callable[[int], bool]
    finish: Callable[[int], None]  # one-off setup once answering (databases)
