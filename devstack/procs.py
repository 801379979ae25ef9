"""Start, watch and stop detached server processes recorded in pid files."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

# Servers this Python process started, kept so that dead ones get reaped, not left as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}

GRACEFUL = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def spawn(
    argv: list[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: dict[str, str],
    cwd: Path,
    popen_kwargs: dict[str, Any],
) -> int:
    """Start `argv` in its own session (its own process group), detached from the caller."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            close_fds=True,
            start_new_session=True,
            **popen_kwargs,
        )
    _children[proc.pid] = proc
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None, exe: str | None = None) -> bool:
    """Whether `pid` runs (not a zombie) and, given `exe`, still is that program."""
    if pid is None or pid <= 0:
        return False
    child = _children.get(pid)
    if child is not None:
        # our own child: poll() is exact, and right after the fork, before the exec, its
        # command line is still Python's, which the `exe` check below would take for "exited"
        if child.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no usable /proc: trust the signal check
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        # A zombie leader whose other threads still exit still holds its sockets and files.
        with contextlib.suppress(OSError):
            if len(os.listdir(proc / "task")) > 1:
                return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return exe is None or os.path.basename(cmdline[0].decode(errors="replace")).startswith(exe)


def send(pid: int, sig: signal.Signals) -> None:
    """SIGKILL (as a crash would), SIGSTOP and SIGCONT (a paused server: its backends too) hit
    the whole process group; other signals the leader only."""
    try:
        if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT) and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def group_left(pgid: int) -> bool:
    """Whether any process (zombies included) of process group `pgid` still exists."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                return True
    return False


def wait_gone(pid: int, exe: str | None, timeout: float) -> bool:
    """Wait until `pid` stopped and its whole group was reaped (a restart may need its port,
    its lock files or its shared memory); True once `pid` no longer runs."""
    deadline = time.monotonic() + timeout
    while alive(pid, exe) or group_left(pid):
        if time.monotonic() >= deadline:
            return not alive(pid, exe)
        time.sleep(0.05)
    return True


def stop(pid: int, exe: str | None, sig: signal.Signals, timeout: float) -> None:
    """Send `sig`; when it is a stopping signal, wait and then SIGKILL the group if needed."""
    if not alive(pid, exe):
        return
    send(pid, sig)
    if sig not in (*GRACEFUL, signal.SIGKILL):
        return
    if not wait_gone(pid, exe, timeout):
        send(pid, signal.SIGKILL)
        wait_gone(pid, exe, 10.0)
    _children.pop(pid, None)
