"""The decisions of the sync: echoes, and conflicts under every policy and target state."""

from __future__ import annotations

import pytest

from domain.events import SYNC_SERVICE, Operation, Platform, SourcePosition, SyncEvent
from domain.rules import (
    ConflictPolicy,
    IncomingChange,
    TargetRowState,
    Verdict,
    is_echo,
    resolve,
)

LEGACY, REVAMP = Platform.LEGACY, Platform.REVAMP
LWW, LEGACY_WINS, REVAMP_WINS = ConflictPolicy
APPLY, STALE, WON, LOST = Verdict.APPLY, Verdict.STALE, Verdict.CONFLICT_WON, Verdict.CONFLICT_LOST

SYNCED_COPY = TargetRowState(version=200, written_by_sync=True)
APP_SYNCED = TargetRowState(version=200, written_by_sync=False, local_change_synced=True)
APP_PENDING = TargetRowState(version=200, written_by_sync=False, local_change_synced=False)
APP_REJECTED = TargetRowState(
    version=200, written_by_sync=False, local_change_synced=False, local_change_rejected=True
)


def event(operation: Operation, source: str) -> SyncEvent:
    row = {"id": 1, "source": source}
    return SyncEvent.captured(
        origin=REVAMP,
        table="revamp_users",
        entity_type="user",
        operation=operation,
        key={"id": 1},
        before=row if operation is Operation.DELETE else None,
        after=None if operation is Operation.DELETE else row,
        position=SourcePosition("binlog:f:1:0", None, 1),
    )


@pytest.mark.parametrize(
    ("operation", "source", "echo"),
    [
        (Operation.CREATE, SYNC_SERVICE, True),
        (Operation.UPDATE, SYNC_SERVICE, True),
        (Operation.READ, SYNC_SERVICE, True),
        (Operation.DELETE, SYNC_SERVICE, False),
        (Operation.CREATE, "revamp", False),
        (Operation.UPDATE, "legacy", False),
        (Operation.DELETE, "revamp", False),
    ],
)
def test_only_row_images_written_by_the_sync_service_are_echoes(
    operation: Operation, source: str, echo: bool
) -> None:
    assert is_echo(event(operation, source)) is echo


# (policy, incoming origin, incoming version, target state) -> verdict
TABLE = [
    *[(policy, origin, 100, None, APPLY) for policy in ConflictPolicy for origin in Platform],
    # The target holds the sync's copy of an earlier change: newer or equal applies.
    *[(policy, LEGACY, v, SYNCED_COPY, APPLY) for policy in ConflictPolicy for v in (200, 300)],
    *[(policy, REVAMP, 100, SYNCED_COPY, STALE) for policy in ConflictPolicy],
    # The target's own change already reached the other side: no conflict.
    (LWW, LEGACY, 300, APP_SYNCED, APPLY),
    (LWW, REVAMP, 100, APP_SYNCED, STALE),
    (LWW, LEGACY, 200, APP_SYNCED, APPLY),
    (LWW, REVAMP, 200, APP_SYNCED, STALE),
    *[
        (policy, origin, 100, APP_SYNCED, APPLY)
        for policy in (LEGACY_WINS, REVAMP_WINS)
        for origin in Platform
    ],
    # Both sides changed the row: a conflict, decided by the policy.
    (LWW, LEGACY, 300, APP_PENDING, WON),
    (LWW, REVAMP, 300, APP_PENDING, WON),
    (LWW, LEGACY, 100, APP_PENDING, LOST),
    (LWW, REVAMP, 100, APP_PENDING, LOST),
    (LWW, LEGACY, 200, APP_PENDING, WON),
    (LWW, REVAMP, 200, APP_PENDING, LOST),
    (LEGACY_WINS, LEGACY, 100, APP_PENDING, WON),
    (LEGACY_WINS, REVAMP, 300, APP_PENDING, LOST),
    (REVAMP_WINS, REVAMP, 100, APP_PENDING, WON),
    (REVAMP_WINS, LEGACY, 300, APP_PENDING, LOST),
    # The target's change already lost a conflict: the winner's later changes just apply.
    *[
        (policy, origin, 300, APP_REJECTED, APPLY)
        for policy in (LEGACY_WINS, REVAMP_WINS)
        for origin in Platform
    ],
]


@pytest.mark.parametrize(("policy", "origin", "version", "target", "verdict"), TABLE)
def test_resolve(
    policy: ConflictPolicy,
    origin: Platform,
    version: int,
    target: TargetRowState | None,
    verdict: Verdict,
) -> None:
    assert resolve(policy, IncomingChange(origin, version), target) is verdict


@pytest.mark.parametrize("policy", ConflictPolicy)
@pytest.mark.parametrize("target", [None, SYNCED_COPY, APP_SYNCED, APP_PENDING, APP_REJECTED])
def test_a_change_that_lost_on_its_own_side_loses_everywhere(
    policy: ConflictPolicy, target: TargetRowState | None
) -> None:
    incoming = IncomingChange(LEGACY, 999, rejected_on_origin=True)
    assert resolve(policy, incoming, target) is LOST


def test_both_directions_agree_on_the_winner_of_a_tie() -> None:
    verdicts = {
        origin: resolve(LWW, IncomingChange(origin, 200), APP_PENDING) for origin in Platform
    }
    assert sorted(v.applies for v in verdicts.values()) == [False, True]


def test_policy_winners() -> None:
    assert (LWW.winner, LEGACY_WINS.winner, REVAMP_WINS.winner) == (None, LEGACY, REVAMP)
    assert all(v.is_conflict for v in (WON, LOST)) and not STALE.is_conflict
