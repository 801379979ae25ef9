"""The decisions of the sync: echo, duplicate, stale and conflicting changes."""

from __future__ import annotations

import enum

import attrs

from domain.events import SYNC_SERVICE, Operation, Platform, SyncEvent, is_sync_origin


class ConflictPolicy(enum.Enum):
    """Who wins when both platforms changed the same entity concurrently."""

    LAST_WRITER_WINS = "last-writer-wins"
    LEGACY_WINS = "legacy-wins"
    REVAMP_WINS = "revamp-wins"

    @property
    def winner(self) -> Platform | None:
        if self is ConflictPolicy.LEGACY_WINS:
            return Platform.LEGACY
        if self is ConflictPolicy.REVAMP_WINS:
            return Platform.REVAMP
        return None


TIE_BREAK_WINNER = Platform.LEGACY
"""Under last-writer-wins, equal versions go to legacy, on both directions alike."""


def is_echo(event: SyncEvent) -> bool:
    """A change the sync service made itself; syncing it back would loop.

    A change of a transaction whose replication origin is the sync service's is one, deletes
    included (a capture that does not drop them: Debezium run by Kafka Connect). Otherwise a
    row image whose `source` is the sync service's; deletes are never echoes by this test:
    `before.source` names the last writer, not the deleter, and an application may delete a
    row the sync service wrote. A delete echoed by capture finds its row already gone and
    changes nothing.
    """
    if event.source_origin is not None and is_sync_origin(event.source_origin):
        return True
    return event.operation is not Operation.DELETE and event.source_flag == SYNC_SERVICE


class Verdict(enum.Enum):
    APPLY = "apply"
    STALE = "stale"
    CONFLICT_WON = "conflict_won"
    CONFLICT_LOST = "conflict_lost"

    @property
    def applies(self) -> bool:
        return self in (Verdict.APPLY, Verdict.CONFLICT_WON)

    @property
    def is_conflict(self) -> bool:
        return self in (Verdict.CONFLICT_WON, Verdict.CONFLICT_LOST)


@attrs.frozen
class TargetRowState:
    """What the target row looks like now, as far as conflicts go."""

    version: int
    written_by_sync: bool
    local_change_synced: bool = True
    """Whether the other side has already received the target's own latest change."""
    local_change_rejected: bool = False
    """Whether the target's own latest change already lost a conflict."""


@attrs.frozen
class IncomingChange:
    origin: Platform
    version: int
    rejected_on_origin: bool = False
    """The origin's change already lost a conflict, recorded on its own database."""


def resolve(
    policy: ConflictPolicy, incoming: IncomingChange, target: TargetRowState | None
) -> Verdict:
    """Decide whether an incoming row change overwrites the target row.

    Both directions decide from the same row versions, so concurrent changes converge.
    """
    if incoming.rejected_on_origin:
        return Verdict.CONFLICT_LOST
    if target is None:
        return Verdict.APPLY
    if target.written_by_sync:
        # The target holds an earlier change of the incoming platform itself.
        return Verdict.APPLY if incoming.version >= target.version else Verdict.STALE
    winner = policy.winner
    if winner is None:
        incoming_rank = (incoming.version, incoming.origin is TIE_BREAK_WINNER)
        target_rank = (target.version, incoming.origin.other is TIE_BREAK_WINNER)
        if incoming_rank > target_rank:
            return Verdict.APPLY if target.local_change_synced else Verdict.CONFLICT_WON
        return Verdict.STALE if target.local_change_synced else Verdict.CONFLICT_LOST
    pending = not (target.local_change_synced or target.local_change_rejected)
    if not pending:
        return Verdict.APPLY
    return Verdict.CONFLICT_WON if incoming.origin is winner else Verdict.CONFLICT_LOST
