"""Bring the local stack up and down, report on it, and kill or restart one of its parts."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from devstack import procs, stack_env
from devstack.cleanup import purge_files, remove_if_empty
from devstack.layout import PARTS, StackError, load_state, locked, part_name, save_state
from devstack.ports import HOST, tcp_open
from devstack.starter import SPECS, Echo, Stack, ensure, open_stack

STOP_TIMEOUT = 30.0


class PartStatus(NamedTuple):
    part: str
    running: bool
    address: str
    pid: int | None


def _quiet(_message: str) -> None:
    """Default echo: say nothing."""


def up(
    stack_dir: Path, *, environ: Mapping[str, str] | None = None, echo: Echo = _quiet
) -> dict[str, str]:
    """Start (or reuse) every part, wait until each answers, write and return stack.env."""
    stack_dir = Path(stack_dir).resolve()
    with locked(stack_dir):
        given = stack_env.external_values(stack_dir, os.environ if environ is None else environ)
        if given is not None:
            state = load_state(stack_dir)
            where = stack_env.addresses(given)
            state["external"] = {part: f"{host}:{port}" for part, (host, port) in where.items()}
            save_state(stack_dir, state)
            stack_env.write(stack_dir / "stack.env", given)
            echo(
                "SYNC_LEGACY_DSN, SYNC_REVAMP_DSN and SYNC_KAFKA_BOOTSTRAP are set: "
                "using those servers, starting nothing"
            )
            return given
        stack = open_stack(stack_dir)
        with ThreadPoolExecutor(len(PARTS)) as pool:
            futures = {part: pool.submit(ensure, stack, part, echo) for part in PARTS}
        stack.save()
        for part, future in futures.items():
            error = future.exception()
            if isinstance(error, StackError):
                raise error
            if error is not None:
                raise StackError(f"{part}: {type(error).__name__}: {error}") from error
        return _write_env(stack)


def _write_env(stack: Stack) -> dict[str, str]:
    values = stack_env.local_values(stack.layout.stack_dir, stack.ports)
    stack_env.write(stack.layout.env_file, values)
    return values


def start_part(stack_dir: Path, part: str, *, echo: Echo = _quiet) -> int:
    """Start one part again (same port and data when possible); return its pid."""
    name, stack_dir = part_name(part), Path(stack_dir).resolve()
    with locked(stack_dir):
        if load_state(stack_dir).get("external"):
            raise StackError("this stack uses servers given by SYNC_* settings: nothing to start")
        stack = open_stack(stack_dir)
        pid = ensure(stack, name, echo)
        stack.save()
        if all(p in stack.ports for p in PARTS):
            _write_env(stack)
        return pid


def stop_part(
    stack_dir: Path,
    part: str,
    sig: signal.Signals | None = None,
    *,
    timeout: float = STOP_TIMEOUT,
) -> int | None:
    """Signal one part; return its pid, or None when it was not running.

    No `sig` means the part's graceful stop. SIGKILL hits the whole process group, like a crash;
    SIGTERM/SIGINT/SIGQUIT wait up to `timeout` and then SIGKILL; other signals (SIGSTOP,
    SIGCONT...) are only delivered.
    """
    name, stack_dir = part_name(part), Path(stack_dir).resolve()
    spec, pid_file = SPECS[name], stack_dir / "run" / f"{name}.pid"
    with locked(stack_dir):
        pid = procs.read_pid(pid_file)
        if pid is None or not procs.alive(pid, spec.exe):
            return None
        procs.stop(pid, spec.exe, sig or spec.stop_signal, timeout)
        if not procs.alive(pid, spec.exe):
            pid_file.unlink(missing_ok=True)
        return pid


def status(stack_dir: Path) -> list[PartStatus]:
    """Each part: whether it runs and accepts connections, its address and pid."""
    stack_dir = Path(stack_dir).resolve()
    state = load_state(stack_dir)
    external = state.get("external")
    if isinstance(external, dict):
        rows = []
        for part in PARTS:
            host, _, port = str(external.get(part, ":0")).rpartition(":")
            rows.append(PartStatus(part, tcp_open(host, int(port or 0)), f"{host}:{port}", None))
        return rows
    ports = state.get("ports", {})
    result = []
    for part in PARTS:
        pid = procs.read_pid(stack_dir / "run" / f"{part}.pid")
        port = ports.get(part)
        alive = procs.alive(pid, SPECS[part].exe)
        running = alive and bool(port) and tcp_open(HOST, port)
        address = f"{HOST}:{port}" if port else "-"
        result.append(PartStatus(part, running, address, pid if alive else None))
    return result


def down(stack_dir: Path, *, purge: bool = False, echo: Echo = _quiet) -> list[str]:
    """Stop the processes this stack started (never others); `purge` also deletes its data."""
    stack_dir = Path(stack_dir).resolve()
    stopped = []
    with locked(stack_dir):
        state = load_state(stack_dir)
        if state.get("external"):
            echo("this stack uses servers given by SYNC_* settings: nothing to stop")
        for part in reversed(PARTS):
            spec, pid_file = SPECS[part], stack_dir / "run" / f"{part}.pid"
            pid = procs.read_pid(pid_file)
            if pid is not None and procs.alive(pid, spec.exe):
                procs.stop(pid, spec.exe, spec.stop_signal, STOP_TIMEOUT)
                stopped.append(part)
                echo(f"{part}: stopped (pid {pid})")
            pid_file.unlink(missing_ok=True)
        if purge:
            purge_files(stack_dir, state)
            echo(f"removed the data of {stack_dir}")
    if purge:
        remove_if_empty(stack_dir)
    return stopped
