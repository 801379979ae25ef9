"""The unprivileged system user that runs the database servers when Tandem runs as root."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.layout import StackError

SERVICE_USER = "tandem"


@dataclass(frozen=True)
class ServiceUser:
    """Who the servers run as: the `tandem` system user under root, else the caller."""

    name: str
    uid: int
    gid: int

    @property
    def switches(self) -> bool:
        return self.uid != os.geteuid()

    def popen_kwargs(self) -> dict[str, Any]:
        """Extra `subprocess.Popen` arguments that run the child as this user."""
        if not self.switches:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path, mode: int | None = None) -> Path:
        """Create `path` as a directory if needed and hand it to this user."""
        path.mkdir(parents=True, exist_ok=True)
        if self.switches:
            os.chown(path, self.uid, self.gid)
        if mode is not None:
            path.chmod(mode)
        return path

    def can_reach(self, path: Path) -> bool:
        """Whether this user may traverse `path` (every parent must allow it)."""
        if not self.switches:
            return True
        probe = subprocess.run(
            ["test", "-x", str(path)], check=False, capture_output=True, **self.popen_kwargs()
        )
        return probe.returncode == 0

    def run(self, argv: list[str], log: Path, env: dict[str, str], cwd: Path) -> None:
        """Run a one-off command (initdb, install-db) as this user, failing with its log tail."""
        with open(log, "ab") as out:
            done = subprocess.run(
                argv,
                check=False,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                **self.popen_kwargs(),
            )
        if done.returncode != 0:
            raise StackError(
                f"{Path(argv[0]).name} failed with exit code {done.returncode}; "
                f"see {log}: {log_tail(log)}"
            )


def log_tail(log: Path, lines: int = 3) -> str:
    """The log's last lines, after its last lines that say ERROR (a failed install-db ends
    with its generic advice; the cause is further up, and the log may be gone by the time
    anyone looks)."""
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    errors = [line for line in text[:-lines] if "ERROR" in line][-lines:]
    return " | ".join(line.strip() for line in errors + text[-lines:])


def service_user() -> ServiceUser:
    """The caller when not root; under root the `tandem` system user, created if missing."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        entry = _create_user()
    return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _create_user() -> pwd.struct_passwd:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    argv = [useradd, "--system", "--no-create-home", "--user-group"]
    argv += ["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVICE_USER]
    try:
        done = subprocess.run(argv, check=False, capture_output=True, text=True)
        reason = f"exit {done.returncode}: {done.stderr.strip()}"
    except OSError as exc:
        reason = str(exc)
    try:
        return pwd.getpwnam(SERVICE_USER)  # a concurrent `up` may have won the race
    except KeyError:
        raise StackError(
            f"cannot create system user {SERVICE_USER!r} ({reason}); PostgreSQL and "
            f"MariaDB refuse to run as root, create it with: useradd --system {SERVICE_USER}"
        ) from None
