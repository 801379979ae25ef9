"""Start one part of a stack, or reuse it when its recorded process still answers."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import broker, mariadb, postgres, procs
from devstack.layout import Layout, PartSpec, StackError, load_state, save_state
from devstack.ports import HOST, free_port, port_is_free, wait_until
from devstack.users import ServiceUser, log_tail, service_user

SPECS: dict[str, PartSpec] = {
    spec.name: spec for spec in (postgres.SPEC, mariadb.SPEC, broker.SPEC)
}
READY_TIMEOUT = 90.0
PORT_ATTEMPTS = 3
Echo = Callable[[str], None]


@dataclass
class Stack:
    """An opened stack: its files, who runs its servers, and its recorded state."""

    layout: Layout
    user: ServiceUser
    state: dict[str, Any]
    guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ports(self) -> dict[str, int]:
        ports: dict[str, int] = self.state.setdefault("ports", {})
        return ports

    def save(self) -> None:
        with self.guard:
            save_state(self.layout.stack_dir, self.state)


def external_root() -> Path:
    """Where data goes when the stack directory is unreachable for the service user."""
    return Path("/var/tmp") / f"tandem-{os.geteuid()}"


def open_stack(stack_dir: Path) -> Stack:
    """Load the state and make sure the directories exist with the right owners."""
    state = load_state(stack_dir)
    user = service_user()
    for sub in ("run", "log"):
        (stack_dir / sub).mkdir(parents=True, exist_ok=True)
    data_root = Path(state.get("data_root") or _choose_data_root(stack_dir, user))
    user.own(data_root, 0o755)
    link = stack_dir / "data"
    if data_root != link and not link.exists() and not link.is_symlink():
        link.symlink_to(data_root, target_is_directory=True)
    state["data_root"] = str(data_root)
    state.pop("external", None)
    return Stack(Layout(stack_dir, data_root), user, state)


def _choose_data_root(stack_dir: Path, user: ServiceUser) -> Path:
    """`<stack>/data`, unless its path is too long for unix sockets or the user can't reach it."""
    local = stack_dir / "data"
    if len(str(local)) <= 80 and user.can_reach(stack_dir):
        return local
    base = external_root()
    base.mkdir(exist_ok=True)
    base.chmod(0o755)
    return base / hashlib.sha256(str(stack_dir).encode()).hexdigest()[:12]


def ensure(stack: Stack, part: str, echo: Echo) -> int:
    """Reuse the part when it runs and answers, else start it; return its pid."""
    spec, layout = SPECS[part], stack.layout
    pid = procs.read_pid(layout.pid_file(part))
    port = stack.ports.get(part)
    if port and pid is not None and procs.alive(pid, spec.exe):
        if _answers(spec, port, pid):
            echo(f"{part}: already running on {HOST}:{port} (pid {pid})")
            return pid
        echo(f"{part}: pid {pid} does not answer on {HOST}:{port}; restarting it")
        procs.stop(pid, spec.exe, spec.stop_signal, 30.0)
    for attempt in range(PORT_ATTEMPTS):
        with stack.guard:
            if not port or not port_is_free(port):
                if port:
                    echo(f"{part}: port {port} is taken by another program; picking a new one")
                port = free_port(avoid=stack.ports.values())
            stack.ports[part] = port
        stack.save()
        try:
            return _start(stack, spec, port, echo)
        except PartExitedError:
            # another program may have bound the free port between our check and the start
            if attempt + 1 == PORT_ATTEMPTS or port_is_free(port):
                raise
            echo(f"{part}: port {port} was taken while starting; trying another")
            port = 0
    raise AssertionError("unreachable")


class PartExitedError(StackError):
    """The server process ended while starting (a taken port, a bad setting...)."""


def _answers(spec: PartSpec, port: int, pid: int) -> bool:
    """Wait (it may still be starting) until the running part answers, or dies."""
    return wait_until(lambda: spec.ready(port), READY_TIMEOUT, lambda: procs.alive(pid, spec.exe))


def _start(stack: Stack, spec: PartSpec, port: int, echo: Echo) -> int:
    layout, started = stack.layout, time.monotonic()
    log = layout.log_file(spec.name)
    with open(log, "a") as out:
        out.write(f"---- tandem stack: starting {spec.name} on {HOST}:{port} at {time.ctime()}\n")
    argv = spec.prepare(layout, stack.user, port)
    pid = procs.spawn(
        argv,
        pid_file=layout.pid_file(spec.name),
        log_file=log,
        env=postgres.server_env(layout),
        cwd=layout.data_root,
        popen_kwargs=stack.user.popen_kwargs() if spec.as_service_user else {},
    )

    def running() -> bool:
        return procs.alive(pid, spec.exe)

    try:
        answered = wait_until(lambda: spec.ready(port), READY_TIMEOUT, running)
    except StackError:
        procs.stop(pid, spec.exe, signal.SIGKILL, 5.0)
        raise
    if not answered:
        exited = not running()
        why = "exited" if exited else f"did not answer within {READY_TIMEOUT:.0f}s"
        procs.stop(pid, spec.exe, signal.SIGKILL, 5.0)
        error = PartExitedError if exited else StackError
        raise error(f"{spec.name} {why} (port {port}); see {log}: {log_tail(log)}")
    spec.finish(port)
    echo(f"{spec.name}: started on {HOST}:{port} (pid {pid}) in {time.monotonic() - started:.1f}s")
    return pid
