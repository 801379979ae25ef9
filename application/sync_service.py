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
from application.stats import Outcome, SyncStats
from application.waiting_room import Waiting, WaitingRoom
from domain.errors import (
    InvalidEventError,
    ParentMissingError,
    PermanentError,
    SyncError,
    TargetUnavailableError,
)
from domain.events import Operation, Platform, SyncEvent
from domain.mapping import SchemaMapping
from domain.model import DeadLetter, RawMessage
from domain.ports import Clock, DeadLetterQueue, EventCodec, TargetSession, TargetStore
from domain.retry import RetryPolicy
from domain.rules import ConflictPolicy, is_echo

log = logging.getLogger(__name__)
Offsets = dict[tuple[str, int], int]


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
    ) -> None:
        self.origin = origin
        self.direction = f"{origin.value}-to-{origin.other.value}"
        self.codec = codec
        self.target = target
        self.dead_letters = dead_letters
        self.clock = clock
        self.retry = retry
        self.stats = stats
        self.applier = ChangeApplier(mapping, origin_store, policy)
        self.ranks = {e.entity_type: i for i, e in enumerate(mapping.in_dependency_order())}
        self.waiting = WaitingRoom(parent_wait_s)
        self.high_water: Offsets = {}

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
        self.stats.add(self.direction, "consumed")
        try:
            event = self.codec.decode(message)
            if event is not None and event.origin is not self.origin:
                raise InvalidEventError("source", f"{event.origin.value} event on {self.direction}")
        except PermanentError as error:
            self._dead_letter(message, error, traceback.format_exc(), retries=0)
            return None
        if event is None:
            self.stats.record(self.direction, Outcome.TOMBSTONE)
            return None
        if is_echo(event):
            self.stats.record(self.direction, Outcome.ECHO_SKIPPED)
            log.debug("echo skipped", extra={"event_id": event.event_id})
            return None
        return _Item(message, event)

    def _apply(self, items: list[_Item]) -> None:
        """One transaction for the batch; when it keeps failing, or fails as a whole at commit
        (a bookkeeping constraint), one per event, to isolate the events that cannot be
        written (a lone event is dead-lettered at once)."""
        try:
            self._with_retries(items)
        except (RetriesExhaustedError, PermanentError) as failure:
            if len(items) == 1:
                self._give_up(items[0], failure)
                return
            for item in items:
                try:
                    self._with_retries([item])
                except (RetriesExhaustedError, PermanentError) as lone:
                    self._give_up(item, lone)

    def _with_retries(self, items: list[_Item]) -> None:
        with_retries(
            lambda: self._transaction(items),
            self.retry,
            self.clock,
            lambda *_: self.stats.add(self.direction, "retries"),
        )

    @staticmethod
    def _give_up(item: _Item, failure: RetriesExhaustedError | PermanentError) -> None:
        if isinstance(failure, PermanentError):
            error: SyncError | None = failure
            item.retries = 0
        else:
            if isinstance(failure.last, TargetUnavailableError):
                raise failure.last from failure  # an outage: redeliver later, never dead-letter
            error, item.retries = failure.last, failure.retries
        item.outcome, item.error = Outcome.DEAD_LETTERED, error
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
            except PermanentError as error:
                if not isolated:
                    raise _NeedsIsolation from error
                item.outcome, item.error = Outcome.DEAD_LETTERED, error
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
        except PermanentError as error:
            raise _NeedsIsolation from error
        return len(run)

    def _settle(self, items: list[_Item], backlogged: bool) -> None:
        """After the commit: count, dead-letter, park the waiting."""
        now = self.clock.now()
        for item in items:
            if item.outcome is Outcome.WAITING:
                self._park(item, now, backlogged)
                continue
            if item.outcome is Outcome.DEAD_LETTERED and item.error is not None:
                self._dead_letter(item.message, item.error, item.trace, item.retries)
                continue
            if item.outcome is not None:
                self.stats.record(self.direction, item.outcome)
            if item.outcome is Outcome.APPLIED:
                self.stats.last_applied[self.direction] = (
                    f"{item.event.entity_type} {item.event.operation.name.lower()} "
                    f"{dict(item.event.key)} at {item.event.position.log_position}"
                )

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
        self.stats.record(self.direction, Outcome.DEAD_LETTERED)
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
