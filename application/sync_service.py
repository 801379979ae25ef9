"""One direction of the sync: a batch of change messages in, rows written, offsets out."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

import attrs

from application.apply_change import ChangeApplier, KeyHeldError, ParentPendingError
from application.retry import RetriesExhaustedError, with_retries
from application.schema_guard import SchemaGuard, UnmappedColumns
from application.stats import Outcome, SyncStats
from application.waiting_room import KeyOf, Waiting, WaitingRoom, key_of
from application.waitlist import Waitlist
from domain.errors import (
    ConstraintViolationError,
    InvalidEventError,
    ParentMissingError,
    SyncError,
    TransientError,
    TruncateNotPropagatedError,
    UnexpectedEventError,
)
from domain.events import Operation, Platform, SyncEvent
from domain.mapping import SchemaMapping
from domain.model import DeadLetter, ParentKey, RawMessage
from domain.ports import (
    Clock,
    DeadLetterQueue,
    EventCodec,
    TargetSession,
    TargetStore,
    TransactionControl,
    WaitingChildren,
)
from domain.retry import RetryPolicy
from domain.rules import ConflictPolicy, is_echo
from domain.validation import check_event

log = logging.getLogger(__name__)
Offsets = dict[tuple[str, int], int]
_NO_RETRIES = RetryPolicy(max_retries=0)


@attrs.frozen
class Decoded:
    """A message decoded and checked ahead of `handle` (beside the batch before it): the
    event, when decoding got that far, and what was wrong with it."""

    event: SyncEvent | None
    error: Exception | None = None
    values: dict[str, Any] | None = None  # a write's row as check_event mapped it


class _NeedsIsolation(Exception):
    """An event failed in a batch written without savepoints: roll back, write it again."""


@attrs.define
class _Item:
    message: RawMessage
    event: SyncEvent
    values: dict[str, Any] | None = None  # the row mapped for the target, when checked already
    parked: Waiting | None = None
    seq: int = 0  # arrival order in the batch
    expired: bool = False  # its deadline passed: applied now or dead-lettered
    waits_as: Waiting | None = None  # how it waits, when it still waits after the batch
    unparked: bool = False  # it was kept in the database and its transaction removed it
    outcome: Outcome | None = None
    error: SyncError | None = None
    trace: str = ""
    retries: int = 0


class SyncService:
    """Decode, validate, skip echoes and duplicates, resolve conflicts, write, acknowledge."""

    def __init__(
        self,
        *,
        origin: Platform,
        mapping: SchemaMapping,
        codec: EventCodec,
        origin_store: TargetStore,
        target: TargetStore,
        dead_letters: DeadLetterQueue,
        policy: ConflictPolicy,
        clock: Clock,
        retry: RetryPolicy,
        stats: SyncStats,
        parent_wait_s: float = 30.0,
        max_waiting_in_memory: int = 10_000,
        schema_guard: SchemaGuard | None = None,
        propagate_truncates: bool = False,
    ) -> None:
        self.origin = origin
        self.direction = origin.direction
        self.codec = codec
        self.target = target
        self.dead_letters = dead_letters
        self.clock = clock
        self.retry = retry
        self.stats = stats
        self.mapping = mapping
        self.applier = ChangeApplier(mapping, origin_store, policy)
        self.ranks = {e.entity_type: i for i, e in enumerate(mapping.in_dependency_order())}
        room = WaitingRoom(parent_wait_s, max_waiting_in_memory)
        self.waiting = Waitlist(origin, mapping, codec, origin_store, target, room)
        self.held: dict[KeyOf, ParentKey] = {}
        self.high_water: Offsets = {}
        self.outage_since: float | None = None
        self.schema_guard = schema_guard
        self.propagate_truncates = propagate_truncates
        self.unmapped = UnmappedColumns(mapping, origin)

    def handle(
        self,
        messages: Sequence[RawMessage],
        backlogged: bool = False,
        decoded: Sequence[Decoded] | None = None,
    ) -> Offsets:
        """Process a batch; returns the offsets that are safe to commit.

        `backlogged`: more messages are queued behind this batch. A waiting child's deadline
        does not run out then: during a catch-up its parent may still be in the queue.
        `decoded`: the messages' `decode_ahead`, when it was done already."""
        started = time.perf_counter()
        if messages:
            self.stats.add(self.direction, "consumed", len(messages))
        ahead = decoded if decoded is not None else [None] * len(messages)
        fresh = [
            item
            for m, d in zip(messages, ahead, strict=True)
            if (item := self._admit(m, d)) is not None
        ]
        items = self._released([i.event for i in fresh], backlogged)
        self.held = self.waiting.held_keys(
            [i.event for i in fresh], [i.parked for i in items if i.parked is not None]
        )
        there = self.waiting.already_waiting([i.event for i in fresh], self.held)
        items += [i for i in fresh if i.event.event_id not in there]
        for seq, item in enumerate(items):
            item.seq = seq
        items.sort(key=self._parents_first)
        if items:
            self._apply(items)
        self._settle(items)
        if messages:
            elapsed = time.perf_counter() - started
            self.stats.observe("apply_batch_seconds", {"direction": self.direction}, elapsed)
            self.stats.observe("batch_messages", {"direction": self.direction}, len(messages))
            log.info(
                "batch handled",
                extra={
                    "direction": self.direction,
                    "messages": len(messages),
                    "waiting": len(self.waiting),
                    "processing_time_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return self._offsets(messages)

    def _released(self, arriving: list[SyncEvent], backlogged: bool) -> list[_Item]:
        """The waiting children whose parent arrives in or before this batch, or whose time
        is up; the rest stay where they wait."""
        now = self.clock.now()
        return [
            _Item(w.message, w.event, parked=w, expired=not backlogged and w.deadline <= now)
            for w in self.waiting.release(arriving, now, backlogged)
        ]

    def forget_uncommitted(self) -> None:
        """Drop what is not committed (children waiting in memory, offsets seen): the source
        delivers it again after a rewind or a rebalance, and whatever was applied is skipped
        then; children kept in the database stay there and their copies are not kept twice."""
        self.waiting.forget_in_memory()
        self.high_water.clear()

    def _parents_first(self, item: _Item) -> tuple[bool, int, bool]:
        """Sort key: creates and updates of parents before their children's (a batch mixes
        topics), deletes last; of one entity type creates before updates, so that each
        operation is one set-based statement; stable, so each key keeps its own order."""
        operation = item.event.operation
        rank = self.ranks[item.event.entity_type]
        return (operation is Operation.DELETE, rank, operation is Operation.UPDATE)

    def _as_arrived(self, item: _Item) -> tuple[bool, int, int]:
        """Sort key when written event by event: parents first, deletes last, otherwise in
        arrival order (creates and updates of different keys may depend on each other through
        a unique key)."""
        return (
            item.event.operation is Operation.DELETE,
            self.ranks[item.event.entity_type],
            item.seq,
        )

    def decode_ahead(self, messages: Sequence[RawMessage]) -> list[Decoded]:
        """Decode and check messages; touches nothing `handle` changes, so it may run in
        another thread while a batch is written."""
        return [self._decoded(m) for m in messages]

    def _decoded(self, message: RawMessage) -> Decoded:
        event = values = None
        try:
            event = self.codec.decode(message)
            if event is not None:
                if event.origin is not self.origin:
                    raise InvalidEventError(
                        "source", f"{event.origin.value} event on {self.direction}"
                    )
                values = check_event(self.mapping.entity(event.entity_type), event)
        except Exception as error:  # what `_admit` makes of it, in the thread that handles
            return Decoded(event, error)
        return Decoded(event, None, values)

    def _admit(self, message: RawMessage, decoded: Decoded | None = None) -> _Item | None:
        """Decode and check the whole event before anything is written; whatever fails,
        this message alone is dead-lettered."""
        outcome = decoded or self._decoded(message)
        event = outcome.event
        try:
            if outcome.error is not None:
                raise outcome.error
        except TransientError:
            raise
        except Exception as error:  # hostile input must never take the consumer down
            if not isinstance(error, SyncError):
                error = InvalidEventError("value", f"cannot be decoded: {_described(error)}")
            if _about_a_column(error) and event and self.schema_guard is not None:
                self.schema_guard.confirm_drift({event.entity_type: error})  # the source changed?
            self._dead_letter(message, error, traceback.format_exc(), retries=0)
            return None
        if event is None:
            self.stats.record(self.direction, Outcome.TOMBSTONE)
            return None
        if is_echo(event):
            self.stats.record(self.direction, Outcome.ECHO_SKIPPED)
            log.debug("echo skipped", extra={"event_id": event.event_id})
            return None
        if event.operation is Operation.TRUNCATE and not self.propagate_truncates:
            self._dead_letter(message, _truncate_kept(event), "", retries=0)
            return None
        self.unmapped.observe(event)
        return _Item(message, event, outcome.values)

    def _apply(self, items: list[_Item]) -> None:
        """One transaction for the batch; when it fails as a whole at commit (a bookkeeping
        constraint) or outside any one event, one per event, to isolate the events that
        cannot be written (a lone event is dead-lettered at once).

        A transient failure that outlasts the retries is never dead-lettered: it is raised,
        nothing is committed, and the batch is delivered again after a pause."""
        try:
            self._with_retries(items)
        except TransientError:
            raise
        except Exception as failure:
            if len(items) == 1:
                self._give_up(items[0], failure)
                return
            for item in items:
                try:
                    self._with_retries([item])
                except TransientError:
                    raise
                except Exception as lone:
                    self._give_up(item, lone)
        self._outage_over()

    def _with_retries(self, items: list[_Item]) -> None:
        try:
            with_retries(
                lambda: self._transaction(items),
                self.retry if self.outage_since is None else _NO_RETRIES,  # the loop backs off
                self.clock,
                lambda *_: self.stats.add(self.direction, "retries"),
            )
        except RetriesExhaustedError as exhausted:
            self._outage_begins(exhausted.last)
            raise exhausted.last from exhausted

    def _outage_begins(self, error: TransientError) -> None:
        """Count every wait and each outage (the loop logs its start and end)."""
        self.stats.add(self.direction, "outage_waits")
        if self.outage_since is None:
            self.outage_since = self.clock.now()
            self.stats.add(self.direction, "outages")
            log.debug("target outage", extra={"direction": self.direction, "error": str(error)})

    def _outage_over(self) -> None:
        self.outage_since = None

    @staticmethod
    def _give_up(item: _Item, failure: Exception) -> None:
        item.outcome, item.error = Outcome.DEAD_LETTERED, _as_permanent(failure)
        item.retries, item.unparked = 0, False
        item.trace = "".join(traceback.format_exception(failure))

    def _transaction(self, items: list[_Item]) -> None:
        """Optimistically without savepoints (two round trips fewer per event); when an event
        fails, the transaction is rolled back and done again with one savepoint per event."""
        try:
            self._attempt(items, isolated=False)
        except _NeedsIsolation:
            items.sort(key=self._as_arrived)
            self._attempt(items, isolated=True)

    def _attempt(self, items: list[_Item], isolated: bool) -> None:
        for item in items:
            item.outcome, item.error, item.waits_as, item.unparked = None, None, None, False
        with self.target.transaction() as session:
            self.applier.writer.drop()
            seen = session.processed([item.event.event_id for item in items])
            self.applier.prefetch(session, [i.event for i in items if i.event.event_id not in seen])
            while self._pass(session, items, seen, isolated) and any(
                item.outcome is Outcome.WAITING for item in items
            ):
                pass  # a parent arrived later in the batch: its waiting children try again
            self._write_pending(session, isolated)
            self._keep_waiting(session, items)

    def _pass(
        self, session: TargetSession, items: list[_Item], seen: set[str], isolated: bool
    ) -> int:
        """One pass in arrival order over what is unsettled; returns how many settled.

        A parent that is not there yet is found before any write, so a waiting child needs no
        savepoint; any other failure does, unless the batch runs `isolated` already."""
        settled = 0
        blocked = set(self.held)  # keys behind which an earlier change waits already
        run: list[_Item] = []  # creates of one entity type in a row, written in one statement
        for item in items:
            if item.outcome not in (None, Outcome.WAITING):
                continue
            if run and not self._continues(run, item):
                settled += self._insert_run(session, run)
                run = []
            key = key_of(item.event)
            if key in blocked:
                item.outcome = Outcome.WAITING
                continue
            if item.event.event_id in seen:
                item.outcome = Outcome.DUPLICATE_SKIPPED
                settled += 1
                continue
            settled += self._apply_one(session, item, run, seen, blocked, isolated)
        if run:
            settled += self._insert_run(session, run)
        self.applier.writer.drop()
        return settled

    def _apply_one(
        self,
        session: TargetSession,
        item: _Item,
        run: list[_Item],
        seen: set[str],
        blocked: set[KeyOf],
        isolated: bool,
    ) -> int:
        """Apply one item; returns 1 when it settled, 0 when it waits or joined the `run` of
        creates written together."""
        writer = self.applier.writer
        if not isolated and item.event.operation is Operation.CREATE and not run:
            writer.start()
        added_before = len(writer)
        try:
            with session.savepoint() if isolated else nullcontext():
                item.outcome = self.applier.apply(session, item.event, values=item.values)
        except ParentPendingError as error:
            return self._parent_pending(item, error, blocked)
        except TransientError:
            raise
        except Exception as error:  # any failure of one event: that event alone
            if not isolated:
                raise _NeedsIsolation from error
            item.outcome, item.error = Outcome.DEAD_LETTERED, _as_permanent(error)
            item.trace = traceback.format_exc()
            return 1
        seen.add(item.event.event_id)
        if len(writer) > added_before:
            run.append(item)
            return 0
        return 1

    @staticmethod
    def _continues(run: list[_Item], item: _Item) -> bool:
        """Whether `item` may join the run: another create of the same entity type."""
        return (
            item.event.operation is Operation.CREATE
            and item.event.entity_type == run[0].event.entity_type
        )

    def _insert_run(self, session: TargetSession, run: list[_Item]) -> int:
        try:
            self.applier.writer.flush(session)
        except TransientError:
            raise
        except Exception as error:
            raise _NeedsIsolation from error
        return len(run)

    @staticmethod
    def _write_pending(session: TransactionControl, isolated: bool) -> None:
        try:
            session.write_pending()
        except TransientError:
            raise
        except Exception as error:  # which event is at fault is found event by event
            if isolated:
                raise
            raise _NeedsIsolation from error

    def _parent_pending(self, item: _Item, error: ParentPendingError, blocked: set[KeyOf]) -> int:
        """The item waits, and later changes of its key behind it; out of time, it is
        dead-lettered (and settled: returns 1)."""
        if item.expired:
            held = isinstance(error, KeyHeldError)
            gave_up = ConstraintViolationError if held else ParentMissingError
            item.outcome, item.error = Outcome.DEAD_LETTERED, gave_up(str(error))
            item.trace = f"waited {self.waiting.wait_s:g} s for its parent: {error}"
            return 1
        item.outcome, item.error = Outcome.WAITING, error
        blocked.add(key_of(item.event))
        return 0

    def _keep_waiting(self, session: WaitingChildren, items: list[_Item]) -> None:
        """Name what each waiting item waits for (a change queued behind an earlier one of
        its key waits for the same parent), and keep in the target database, in this
        transaction, those the room has no space for; forget there those now settled."""
        parents = dict(self.held)
        room = self.waiting.room.capacity - len(self.waiting.room)
        keep, settled = [], []
        for item in items:
            kept_before = item.parked is not None and item.parked.in_database
            if item.outcome is not Outcome.WAITING:
                if kept_before:
                    settled.append(item.event.event_id)
                    item.unparked = True
                continue
            key = key_of(item.event)
            if isinstance(item.error, ParentPendingError) and key not in parents:
                parents[key] = item.error.parent
            in_database = kept_before or room <= 0
            room -= not in_database
            item.waits_as = self._waiting(item, parents[key], in_database)
            if in_database:
                keep.append(self.waiting.parked_child(item.waits_as))
        if keep:
            session.park_children(keep)
        if settled:
            session.unpark_children(settled)

    def _waiting(self, item: _Item, parent: ParentKey, in_database: bool) -> Waiting:
        """The item as it waits from now on (a new one's deadline starts now)."""
        if item.parked is not None:
            deadline, reason = item.parked.deadline, item.parked.reason
        else:
            deadline = self.clock.now() + self.waiting.wait_s
            reason = str(item.error) if item.error is not None else "behind an earlier change"
        return Waiting(item.message, item.event, deadline, reason, parent, in_database)

    def _settle(self, items: list[_Item]) -> None:
        """After the commit: count, dead-letter, keep the waiting."""
        self._stop_on_schema_drift(items)
        now = self.clock.now()
        added = removed = 0
        last: SyncEvent | None = None
        self._unpark_given_up(items)
        for item in items:
            kept_before = item.parked is not None and item.parked.in_database
            if item.outcome is Outcome.WAITING and item.waits_as is not None:
                if not item.waits_as.in_database:
                    self.waiting.keep_in_memory(item.waits_as)
                added += item.waits_as.in_database and not kept_before
                continue
            removed += kept_before
            if item.outcome is Outcome.DEAD_LETTERED and item.error is not None:
                self._dead_letter(item.message, item.error, item.trace, item.retries)
                continue
            if item.outcome is not None:
                self.stats.record(self.direction, item.outcome, item.event.table)
            if item.outcome is Outcome.APPLIED:
                self.stats.applied(self.direction, item.event.position.commit_ts_ms, now)
                last = item.event
        if last is not None:
            self._note_last_applied(last, now)
        self.waiting.kept_in_database(added, removed)

    def _note_last_applied(self, event: SyncEvent, now: float) -> None:
        commit_ms = event.position.commit_ts_ms
        self.stats.last_applied[self.direction] = {
            "entity": event.entity_type,
            "operation": event.operation.name.lower(),
            "key": dict(event.key),
            "position": event.position.log_position,
            "source_commit": datetime.fromtimestamp(commit_ms / 1000, UTC).isoformat(),
            "applied_at": datetime.fromtimestamp(now, UTC).isoformat(),
        }

    def _stop_on_schema_drift(self, items: list[_Item]) -> None:
        """Before any letter is sent: when the live schema of an entity that failed no longer
        fits the mapping, raise SchemaDriftError; no offset moves past the failed events."""
        failures = {
            item.event.entity_type: item.error
            for item in items
            if item.outcome is Outcome.DEAD_LETTERED and item.error is not None
        }
        if failures and self.schema_guard is not None:
            self.schema_guard.confirm_drift(failures)

    def _unpark_given_up(self, items: list[_Item]) -> None:
        """Children kept in the database whose own transaction failed to the end leave it in
        one of their own (they are dead-lettered next)."""
        ids = [
            i.event.event_id
            for i in items
            if i.parked is not None and i.parked.in_database and i.outcome is not Outcome.WAITING
            and not i.unparked
        ]  # fmt: skip
        if ids:
            with self.target.transaction() as session:
                session.unpark_children(ids)

    def _dead_letter(self, message: RawMessage, error: SyncError, trace: str, retries: int) -> None:
        self.dead_letters.send(
            DeadLetter(
                original_event=self.codec.original(message),
                key=message.key,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                error_type=type(error).__name__,
                error_message=str(error),
                stack_trace=trace,
                retry_count=retries,
                failed_at=datetime.fromtimestamp(self.clock.now(), UTC).isoformat(),
            )
        )
        self.stats.record(self.direction, Outcome.DEAD_LETTERED, message.topic.rsplit(".", 1)[-1])
        log.warning(
            "event dead-lettered",
            extra={
                "direction": self.direction,
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
                "error_type": type(error).__name__,
                "error": str(error),
            },
        )

    def _offsets(self, messages: Sequence[RawMessage]) -> Offsets:
        """Per partition seen, the next offset, held back to the first child still waiting."""
        for m in messages:
            where = (m.topic, m.partition)
            self.high_water[where] = max(self.high_water.get(where, 0), m.offset + 1)
        waiting = self.waiting.lowest_offsets()
        return {where: min(end, waiting.get(where, end)) for where, end in self.high_water.items()}


def _as_permanent(error: Exception) -> SyncError:
    """The error as the dead letter names it: unexpected ones keep their type and text."""
    if isinstance(error, SyncError):
        return error
    return UnexpectedEventError(_described(error))


def _about_a_column(error: Exception) -> bool:
    """A column of the row image is missing or of the wrong type: a bad event, or the source
    table was altered (a column dropped or retyped), which the schema guard tells apart."""
    return isinstance(error, InvalidEventError) and error.field.startswith("after.")


def _described(error: Exception) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text[:500]}" if text else type(error).__name__


def _truncate_kept(event: SyncEvent) -> TruncateNotPropagatedError:
    target = event.origin.other.value
    return TruncateNotPropagatedError(
        f"TRUNCATE of {event.table} on {event.origin.value} was not propagated "
        f"(SYNC_TRUNCATE=dead-letter): the rows linked to it are still on {target}. Replay this "
        "letter under SYNC_TRUNCATE=propagate to delete them, or ack it to keep them"
    )
