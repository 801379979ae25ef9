"""Deleting what a stack created, and nothing else."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from devstack.starter import external_root


def purge_files(stack_dir: Path, state: dict[str, object]) -> None:
    """Delete only what a stack creates, and data roots only where a stack puts them."""
    data_root = Path(str(state.get("data_root") or stack_dir / "data"))
    if data_root == stack_dir / "data" or data_root.parent == external_root():
        shutil.rmtree(data_root, ignore_errors=True)
    link = stack_dir / "data"
    if link.is_symlink():
        link.unlink()
    for sub in ("run", "log", "state"):
        shutil.rmtree(stack_dir / sub, ignore_errors=True)
    for name in ("state.json", "stack.env"):
        (stack_dir / name).unlink(missing_ok=True)


def remove_if_empty(stack_dir: Path) -> None:
    (stack_dir / ".lock").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        stack_dir.rmdir()
