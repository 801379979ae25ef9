"""One owner per state directory, and binlog checkpoints that belong to their server."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import pytest

from adapters.capture.checkpoint import BinlogCheckpoint
from adapters.capture.mysqlserver import foreign_checkpoint
from adapters.checkpoint_file import JsonFileCheckpoints
from adapters.state_lock import StateInUseError, StateLock
from domain.errors import ConfigurationError


def test_a_second_owner_is_refused_naming_the_running_one(tmp_path: Path) -> None:
    first = StateLock(tmp_path, "tandem run")
    first.acquire()  # flock: a second open file description conflicts, even in one process
    with pytest.raises(StateInUseError, match=rf"tandem run \(pid {os.getpid()}\) is already"):
        StateLock(tmp_path, "python -m entrypoints.cdc").acquire()
    first.release()  # as the kernel does when the owner dies: the file stays, locking nothing
    second = StateLock(tmp_path, "python -m entrypoints.cdc")
    second.acquire()
    assert "entrypoints.cdc" in (tmp_path / "tandem.lock").read_text()
    second.release()


IDENTITY = {"server_uuid": None, "server_id": 1}


def test_a_checkpoint_of_this_server_is_accepted() -> None:
    saved = BinlogCheckpoint("binlog.000002", 400, server=IDENTITY)
    assert foreign_checkpoint(saved, IDENTITY, {"binlog.000002": 900}) is None


def test_a_checkpoint_of_another_server_id_or_uuid_is_refused() -> None:
    saved = BinlogCheckpoint("binlog.000001", 4, server={"server_uuid": "a", "server_id": 1})
    mysql = {"server_uuid": "b", "server_id": 1}
    assert "server_uuid a" in str(foreign_checkpoint(saved, mysql, {"binlog.000001": 9}))
    other = {"server_uuid": None, "server_id": 7}
    assert "server_id 1" in str(foreign_checkpoint(attrs.evolve(saved, server=IDENTITY), other, {}))


def test_a_checkpoint_past_what_this_server_wrote_is_refused() -> None:
    saved = BinlogCheckpoint("binlog.000003", 4)  # an old checkpoint, no identity recorded
    assert "does not exist" in str(foreign_checkpoint(saved, IDENTITY, {"binlog.000001": 9}))
    saved = BinlogCheckpoint("binlog.000001", 5000)
    assert "only 9 bytes" in str(foreign_checkpoint(saved, IDENTITY, {"binlog.000001": 9}))


def test_snapshot_progress_of_other_servers_is_refused_not_resumed(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    here = JsonFileCheckpoints(path, {"legacy": "postgresql:1", "revamp": "mariadb:1:/a"})
    here.save("legacy:user", 42)
    assert here.load("legacy:user") == 42
    elsewhere = JsonFileCheckpoints(path, {"legacy": "postgresql:2", "revamp": "mariadb:1:/b"})
    with pytest.raises(ConfigurationError, match="remove it to start the snapshot over"):
        elsewhere.load("legacy:user")


def test_purging_a_stack_removes_its_capture_state(tmp_path: Path) -> None:
    from devstack.cleanup import purge_files

    state = tmp_path / "state"
    state.mkdir()
    (state / "revamp-binlog.offset").write_text('{"file": "binlog.000001", "pos": 4}')
    (tmp_path / "elsewhere.txt").write_text("not the stack's")
    purge_files(tmp_path, {})
    assert not state.exists()
    assert (tmp_path / "elsewhere.txt").exists()
