"""One direction of the sync: a batch of change messages in, rows written, offsets out."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime

import attrs

from application.apply_change import ChangeApplier, ParentPendingError
from application.retry import RetriesExhaustedError, with_retries
from application.schema_guard import SchemaGuard, UnmappedColumns
from application.stats import Outcome, SyncStats
from application.waiting_room import Waiting, WaitingRoom
from domain.errors import (
    InvalidEventError,
    ParentMissingError,
    SyncError,
    TransientError,
    TruncateNotPropagatedError,
    UnexpectedEventError,
)
from domain.events import Operation, Platform, SyncEvent
from domain.mapping import SchemaMapping
from domain.model import DeadLetter, RawMessage
from domain.ports import Clock, DeadLetterQueue, EventCodec, TargetSession, TargetStore
from domain.retry import RetryPolicy
from domain.rules import ConflictPolicy, is_echo
from domain.validation import check_event

log = logging.getLogger(__name__)
Offsets = dict[tuple[str, int], int]
_NO_RETRIES = RetryPolicy(max_retries=0)


class _NeedsIsolation(Exception):
    """An event failed in a batch written without savepoints: roll back, write it again."""


@attrs.define
class _Item:
    message: RawMessage
    event: SyncEvent
    parked: Waiting | None = None
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
        schema_guard: SchemaGuard | None = None,
        propagate_truncates: bool = False,
    ) -> None:
        self.origin = origin
        self.direction = f"{origin.value}-to-{origin.other.value}"
        self.codec = codec
        self.target = target
        self.dead_letters = dead_letters
        self.clock = clock
        self.retry = retry
        self.stats = stats
        self.mapping = mapping
        self.applier = ChangeApplier(mapping, origin_store, policy)
        self.ranks = {e.entity_type: i for i, e in enumerate(mapping.in_dependency_order())}
        self.waiting = WaitingRoom(parent_wait_s)
        self.high_water: Offsets = {}
        self.outage_since: float | None = None
        self.schema_guard = schema_guard
        self.propagate_truncates = propagate_truncates
        self.unmapped = UnmappedColumns(mapping, origin)

    def handle(self, messages: Sequence[RawMessage], backlogged: bool = False) -> Offsets:
        """Process a batch; returns the offsets that are safe to commit.

        `backlogged`: more messages are queued behind this batch. A waiting child's deadline
        does not run out then: during a catch-up its parent may still be in the queue."""
        started = time.perf_counter()
        items = [_Item(w.message, w.event, parked=w) for w in self.waiting.take_all()]
        items += [item for m in messages if (item := self._admit(m)) is not None]
        items.sort(key=self._parents_first)
        if items:
            self._apply(items)
        self._settle(items, backlogged)
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

    def forget_uncommitted(self) -> None:
        """Drop what is not committed (waiting children, offsets seen): the source delivers it
        again after a rewind or a rebalance, and whatever was applied is skipped then."""
        self.waiting.take_all()
        self.high_water.clear()

    def _parents_first(self, item: _Item) -> tuple[bool, int]:
        """Sort key: creates and updates of parents before their children's (a batch mixes
        topics), deletes last; stable, so each key keeps its own order."""
        return (item.event.operation is Operation.DELETE, self.ranks[item.event.entity_type])

    def _admit(self, message: RawMessage) -> _Item | None:
        """Decode and check the whole event before anything is written; whatever fails,
        this message alone is dead-lettered."""
        self.stats.add(self.direction, "consumed")
        event = None
        try:
            event = self.codec.decode(message)
            if event is not None:
                if event.origin is not self.origin:
                    raise InvalidEventError(
                        "source", f"{event.origin.value} event on {self.direction}"
                    )
                check_event(self.mapping.entity(event.entity_type), event)
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
        return _Item(message, event)

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
        item.retries = 0
        item.trace = "".join(traceback.format_exception(failure))

    def _transaction(self, items: list[_Item]) -> None:
        """Optimistically without savepoints (two round trips fewer per event); when an event
        fails, the transaction is rolled back and done again with one savepoint per event."""
        try:
            self._attempt(items, isolated=False)
        except _NeedsIsolation:
            self._attempt(items, isolated=True)

    def _attempt(self, items: list[_Item], isolated: bool) -> None:
        for item in items:
            item.outcome, item.error = None, None
        with self.target.transaction() as session:
            self.applier.deferred = None
            seen = session.processed([item.event.event_id for item in items])
            self.applier.prefetch(session, [i.event for i in items if i.event.event_id not in seen])
            while self._pass(session, items, seen, isolated) and any(
                item.outcome is Outcome.WAITING for item in items
            ):
                pass  # a parent arrived later in the batch: its waiting children try again

    def _pass(
        self, session: TargetSession, items: list[_Item], seen: set[str], isolated: bool
    ) -> int:
        """One pass in arrival order over what is unsettled; returns how many settled.

        A parent that is not there yet is found before any write, so a waiting child needs no
        savepoint; any other failure does, unless the batch runs `isolated` already."""
        settled = 0
        blocked: set[tuple[str, str]] = set()
        run: list[_Item] = []  # creates of one entity type in a row, written in one statement
        for item in items:
            if item.outcome not in (None, Outcome.WAITING):
                continue
            if run and not self._continues(run, item):
                settled += self._insert_run(session, run)
                run = []
            key = (item.event.entity_type, repr(sorted(item.event.key.items())))
            if key in blocked:
                item.outcome = Outcome.WAITING
                continue
            if item.event.event_id in seen:
                item.outcome = Outcome.DUPLICATE_SKIPPED
                settled += 1
                continue
            if not isolated and item.event.operation is Operation.CREATE and not run:
                self.applier.defer_inserts()
            deferred_before = len(self.applier.deferred or ())
            try:
                with session.savepoint() if isolated else nullcontext():
                    item.outcome = self.applier.apply(session, item.event)
            except ParentPendingError as error:
                item.outcome, item.error = Outcome.WAITING, error
                blocked.add(key)
                continue
            except TransientError:
                raise
            except Exception as error:  # any failure of one event: that event alone
                if not isolated:
                    raise _NeedsIsolation from error
                item.outcome, item.error = Outcome.DEAD_LETTERED, _as_permanent(error)
                item.trace = traceback.format_exc()
                settled += 1
                continue
            seen.add(item.event.event_id)
            if len(self.applier.deferred or ()) > deferred_before:
                run.append(item)
            else:
                settled += 1
        if run:
            settled += self._insert_run(session, run)
        self.applier.deferred = None
        return settled

    @staticmethod
    def _continues(run: list[_Item], item: _Item) -> bool:
        """Whether `item` may join the run: another create of the same entity type."""
        return (
            item.event.operation is Operation.CREATE
            and item.event.entity_type == run[0].event.entity_type
        )

    def _insert_run(self, session: TargetSession, run: list[_Item]) -> int:
        try:
            self.applier.insert_deferred(session)
        except TransientError:
            raise
        except Exception as error:
            raise _NeedsIsolation from error
        return len(run)

    def _settle(self, items: list[_Item], backlogged: bool) -> None:
        """After the commit: count, dead-letter, park the waiting."""
        self._stop_on_schema_drift(items)
        now = self.clock.now()
        for item in items:
            if item.outcome is Outcome.WAITING:
                self._park(item, now, backlogged)
                continue
            if item.outcome is Outcome.DEAD_LETTERED and item.error is not None:
                self._dead_letter(item.message, item.error, item.trace, item.retries)
                continue
            if item.outcome is not None:
                self.stats.record(self.direction, item.outcome, item.event.table)
            if item.outcome is Outcome.APPLIED:
                self._note_applied(item.event, now)

    def _note_applied(self, event: SyncEvent, now: float) -> None:
        commit_ms = event.position.commit_ts_ms
        self.stats.applied(self.direction, commit_ms, now)
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

    def _park(self, item: _Item, now: float, backlogged: bool) -> None:
        reason = str(item.error)
        if item.parked is None:
            self.waiting.park(item.message, item.event, now, reason)
        elif item.parked.deadline > now or backlogged:
            self.waiting.put_back(item.parked)
        else:
            waited = f"waited {self.waiting.wait_s:g} s for its parent: {reason}"
            self._dead_letter(item.message, ParentMissingError(reason), waited, retries=0)

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
