"""Apply rate per direction and workload (creates, updates, deletes, mixed), side by side with
the raw limit: the same rows and bookkeeping, with the same batched reads, written straight
through the driver by the best batched statements, alternating with Tandem in one run.

Tandem: one direction's ConsumerLoop, from its first poll until every event of the workload
is consumed (Kafka fetch, decoding, conflict rules and the database included). Raw: batches of
the same size, each one transaction: processed ids, links and target rows read (rows locked),
rows written, links upserted and processed events inserted, multi-row.
"""

from __future__ import annotations

import resource
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from adapters.debezium import dumps, envelope
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.sql.row_writes import PendingRowWrites
from adapters.sql.tables import SchemaTables
from benchmarks.report import Result, Target
from benchmarks.stack import bench_container, empty_databases, engines_of, server_versions
from domain.events import Operation, Platform
from domain.mapping import SchemaMapping
from entrypoints.heap import frozen_long_lived

NAME = "apply_workloads"
EVENTS = {"full": 50_000, "quick": 5_000}
WORKLOADS = ("creates", "updates", "deletes", "mixed")
DIRECTIONS = {Platform.LEGACY: "legacy_to_revamp", Platform.REVAMP: "revamp_to_legacy"}
TARGETS = [
    t
    for d in DIRECTIONS.values()
    for w in WORKLOADS
    for t in (
        Target(f"{d}.{w}.events_per_s", ">=", 10_000, "events/s", f"{d} {w}"),
        Target(f"{d}.{w}.ratio_to_raw", ">=", 0.5, "x", f"{d} {w} vs raw"),
    )
]
NAMES = {  # user name, email, title, content, author
    Platform.LEGACY: ("username", "email", "post_title", "post_content", "user_id"),
    Platform.REVAMP: ("user_name", "email_address", "title", "content", "author_id"),
}
WHEN = datetime(2026, 3, 1)
BATCH = 500


def run(stack: dict[str, str], mode: str) -> Result:
    count = EVENTS[mode]
    empty_databases(stack)
    metrics: dict[str, Any] = {d: {} for d in DIRECTIONS.values()}
    engines = engines_of(stack)
    for origin, label in DIRECTIONS.items():
        rows = Rows(origin, count)
        raw_rows = Rows(origin, count, raw=True)
        raw_writer = None
        for workload in WORKLOADS:
            with bench_container(stack, f"aw_{origin.value}_{workload}") as container:
                mapping = container.core.mapping()
                messages = rows.workload(workload, container.core.prefixes()[origin], mapping)
                publish(container, messages)
                tandem = consume(container, origin, len(messages))
            raw_writer = raw_writer or RawWriter(engines[origin.other], origin, mapping)
            raw_changes = raw_rows.workload(workload, "raw", mapping)
            with frozen_long_lived():  # as for Tandem's loop: the same collector on both sides
                raw = raw_writer.run(raw_changes)
            metrics[label][workload] = tandem | {
                "raw_events_per_s": raw,
                "ratio_to_raw": round(tandem["events_per_s"] / raw, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
    for engine in engines.values():
        engine.dispose()
    return Result(
        name=NAME,
        title="Apply rate per workload, Tandem and the raw driver side by side",
        parameters={"events_per_workload": count, "batch_size": BATCH, "topic_partitions": 3},
        metrics=metrics,
        targets=TARGETS,
        notes=[
            "creates: users then posts (post i by user i); updates: each of them once;"
            " deletes: the posts then the users; mixed: users created, updated 50 changes"
            " later, deleted 100 changes later, interleaved",
            "raw: the same statements Tandem could at best send, through the driver, in"
            " transactions of one batch; it skips Kafka, decoding and the conflict rules",
            "peak_rss_mb: the benchmark process (broker client, both sides' events)",
        ],
        servers=server_versions(stack),
    )


class Rows:
    """The rows and changes of the workloads of one origin, in the origin's column names."""

    def __init__(self, origin: Platform, count: int, raw: bool = False) -> None:
        self.origin = origin
        self.half = count // 2
        # ids of their own: raw rows never meet Tandem's, nor one origin's the other's links
        self.base = (10_000_000 if raw else 0) + (1_000_000 if origin is Platform.REVAMP else 0)
        self.tag = "raw" if raw else "tandem"
        self.position = iter(range(1, 100 * count))

    def user(self, i: int, version: int) -> dict[str, Any]:
        name, email, *_ = NAMES[self.origin]
        status = ("active", "inactive")[version % 2]
        return {
            "id": self.base + i, name: f"{self.tag}_{i}", email: f"{self.tag}.{i}@example.com",
            "status": status if self.origin is Platform.LEGACY else status.title(),
            "source": self.origin.value, "created_at": WHEN,
            "updated_at": WHEN + timedelta(seconds=version),
        }  # fmt: skip

    def post(self, i: int, version: int) -> dict[str, Any]:
        *_, title, content, author = NAMES[self.origin]
        status = ("draft", "published")[version % 2]
        return {
            "id": self.base + i, title: f"Post {i}", content: "text " * 20,
            author: self.base + i, "source": self.origin.value, "created_at": WHEN,
            "status": status if self.origin is Platform.LEGACY else status.title(),
            "updated_at": WHEN + timedelta(seconds=version),
        }  # fmt: skip

    def workload(self, name: str, prefix: str, mapping: SchemaMapping) -> list[Change]:
        return [self._message(prefix, mapping, *c) for c in self._changes(name)]

    def _changes(self, name: str) -> Iterator[tuple[str, Operation, dict[str, Any]]]:
        c, u, d = Operation.CREATE, Operation.UPDATE, Operation.DELETE
        ids = range(1, self.half + 1)
        if name == "creates":
            yield from (("user", c, self.user(i, 0)) for i in ids)
            yield from (("post", c, self.post(i, 0)) for i in ids)
        elif name == "updates":
            yield from (("user", u, self.user(i, 1)) for i in ids)
            yield from (("post", u, self.post(i, 1)) for i in ids)
        elif name == "deletes":
            yield from (("post", d, self.post(i, 1)) for i in ids)
            yield from (("user", d, self.user(i, 1)) for i in ids)
        else:
            start, created = 2 * self.half, 2 * self.half // 3
            for j in range(created + 100):
                if j < created:
                    yield "user", c, self.user(start + j, 0)
                if 50 <= j < created + 50:
                    yield "user", u, self.user(start + j - 50, 1)
                if j >= 100:
                    yield "user", d, self.user(start + j - 100, 1)

    def _message(
        self, prefix: str, mapping: SchemaMapping, kind: str, op: Operation, row: dict[str, Any]
    ) -> Change:
        entity = mapping.entity(kind)
        schema, table = entity.schemas.on(self.origin), entity.tables.on(self.origin)
        ts_ms = int(row["updated_at"].timestamp() * 1000)
        position = next(self.position)
        source: dict[str, Any] = {
            "connector": "postgresql" if self.origin is Platform.LEGACY else "mysql",
            "name": prefix, "ts_ms": ts_ms, "db": self.origin.value, "schema": schema,
            "table": table,
        }  # fmt: skip
        if self.origin is Platform.LEGACY:
            source |= {"lsn": position, "txId": position}
        else:
            source |= {"file": "mysql-bin.000001", "pos": position, "row": 0}
        before, after = (row, None) if op is Operation.DELETE else (None, row)
        value = dumps(envelope(op, before, after, source, ts_ms))
        return Change(f"{prefix}.{schema}.{table}", kind, op, row, value)


class Change:
    __slots__ = ("kind", "op", "row", "topic", "value")

    def __init__(self, topic: str, kind: str, op: Operation, row: dict[str, Any], value: bytes):
        self.topic, self.kind, self.op, self.row, self.value = topic, kind, op, row, value


def publish(container: Any, changes: list[Change]) -> None:
    publisher = KafkaEventPublisher(container.adapters.kafka())
    try:
        for change in changes:
            publisher.publish(change.topic, b'{"id": %d}' % change.row["id"], change.value)
        publisher.flush()
    finally:
        publisher.close()


def consume(container: Any, origin: Platform, expected: int) -> dict[str, Any]:
    loop = container.services.consumer_loop(origin=origin, assign_all=True)
    stats, direction = container.core.stats(), loop.service.direction
    try:
        with frozen_long_lived():  # as the consumer process, once built (ServiceRuntime.start)
            while not loop.step():  # the first batch: partitions assigned and fetched
                pass
            started = time.perf_counter()  # the first batch is the warm-up, not counted
            first = stats.total(f"{direction}:consumed")
            deadline = started + 600
            while (
                stats.total(f"{direction}:consumed") < expected and time.perf_counter() < deadline
            ):
                loop.step()
            elapsed = time.perf_counter() - started
    finally:
        loop.close()
    counts = stats.snapshot()
    consumed = counts.get(f"{direction}:consumed", 0)
    return {
        "events": consumed,
        "events_per_s": round((consumed - first) / elapsed),
        "outcomes": {
            key.split(":", 1)[1]: value
            for key, value in sorted(counts.items())
            if key.startswith(f"{direction}:") and key != f"{direction}:consumed"
        },
    }


class RawWriter:
    """The batched statements straight through the driver, into the target database."""

    def __init__(self, engine: Engine, origin: Platform, mapping: SchemaMapping) -> None:
        self.engine = engine
        self.origin = origin
        self.target = origin.other
        self.mapping = mapping
        self.tables = SchemaTables(mapping, self.target)
        self.postgres = engine.dialect.name == "postgresql"
        self.target_ids: dict[tuple[str, int], int] = {}

    def run(self, changes: list[Change]) -> int:
        started = time.perf_counter()
        for start in range(0, len(changes), BATCH):
            with self.engine.begin() as conn:
                self._batch(conn, changes[start : start + BATCH])
        return round(len(changes) / (time.perf_counter() - started))

    def _reads(self, conn: Connection, batch: list[Change], event_ids: list[str]) -> None:
        """What Tandem reads per batch: processed ids, links, the target rows (locked)."""
        self._select(conn, "processed_events", "event_id", event_ids)
        for kind in dict.fromkeys(c.kind for c in batch):
            ids = [c.row["id"] for c in batch if c.kind == kind]
            column = f"{self.origin.value}_id"
            self._select(conn, "entity_mappings", column, ids, f"entity_type = '{kind}'")
            known = [self.target_ids[(kind, i)] for i in ids if (kind, i) in self.target_ids]
            if known:
                self._select(conn, self._table(kind), "id", known, lock=True)

    def _batch(self, conn: Connection, batch: list[Change]) -> None:
        event_ids = [str(uuid.uuid4()) for _ in batch]
        self._reads(conn, batch, event_ids)
        writes = PendingRowWrites(conn, self.tables, self.target)
        links = []
        order = {Operation.CREATE: 0, Operation.UPDATE: 1, Operation.DELETE: 2}
        for op, kind, run in _runs(sorted(batch, key=lambda c: order[c.op])):
            entity = self.mapping.entity(kind)
            values = [entity.transform(c.row, self.origin) for c in run]
            if kind == "post":  # the author's id on the target
                column = NAMES[self.target][4]
                for v in values:
                    v[column] = self.target_ids.get(("user", v[column]), v[column])
            if op is Operation.CREATE:
                for change, new_id in zip(run, self._insert(conn, kind, values), strict=True):
                    self.target_ids[(kind, change.row["id"])] = new_id
            for change, v in zip(run, values, strict=True):
                target_id = self.target_ids[(kind, change.row["id"])]
                if op is Operation.UPDATE:
                    writes.update(entity, target_id, v)
                elif op is Operation.DELETE:
                    writes.delete(entity, target_id)
                links.append((kind, change.row["id"], target_id, op is Operation.DELETE))
            writes.send()
        self._links(conn, links)
        self._processed(conn, event_ids, batch)

    def _table(self, kind: str) -> str:
        return self.tables.of(self.mapping.entity(kind)).name

    def _select(
        self,
        conn: Connection,
        table: str,
        column: str,
        values: list[Any],
        where: str = "TRUE",
        lock: bool = False,
    ) -> None:
        marks = ", ".join(["%s"] * len(values))
        sql = f"SELECT * FROM {table} WHERE {where} AND {column} IN ({marks})"
        conn.exec_driver_sql(sql + (" FOR UPDATE" if lock else ""), tuple(values)).fetchall()

    def _insert(self, conn: Connection, kind: str, rows: list[dict[str, Any]]) -> list[int]:
        columns = list(rows[0])
        marks = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
        params = tuple(r[c] for r in rows for c in columns)
        sql = f"INSERT INTO {self._table(kind)} ({', '.join(columns)}) VALUES {marks} RETURNING id"
        return [int(r[0]) for r in conn.exec_driver_sql(sql, params)]

    def _links(self, conn: Connection, links: list[tuple[str, int, int, bool]]) -> None:
        links = list({(k, o): (k, o, t, d) for k, o, t, d in links}.values())  # last wins
        legacy = self.origin is Platform.LEGACY
        rows = [
            (kind, origin_id if legacy else target_id, target_id if legacy else origin_id, 1, 0, d)
            for kind, origin_id, target_id, d in links
        ]
        marks = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
        columns = "entity_type, legacy_id, revamp_id, applied_version, rejected_version, deleted"
        sql = f"INSERT INTO entity_mappings ({columns}) VALUES {marks}"
        if self.postgres:
            sql += (
                " ON CONFLICT (entity_type, legacy_id) DO UPDATE SET revamp_id ="
                " excluded.revamp_id, applied_version = excluded.applied_version,"
                " deleted = excluded.deleted"
            )
        else:
            sql += (
                " ON DUPLICATE KEY UPDATE revamp_id = VALUES(revamp_id),"
                " applied_version = VALUES(applied_version), deleted = VALUES(deleted)"
            )
        conn.exec_driver_sql(sql, tuple(v for r in rows for v in r))

    def _processed(self, conn: Connection, event_ids: list[str], batch: list[Change]) -> None:
        marks = ", ".join(["(%s, %s, %s)"] * len(batch))
        sql = f"INSERT INTO processed_events (event_id, entity_type, origin) VALUES {marks}"
        params = [v for i, c in zip(event_ids, batch, strict=True) for v in (i, c.kind, "x")]
        conn.exec_driver_sql(sql, tuple(params))


def _runs(batch: list[Change]) -> Iterator[tuple[Operation, str, list[Change]]]:
    run: list[Change] = []
    for change in batch:
        if run and (change.op, change.kind) != (run[0].op, run[0].kind):
            yield run[0].op, run[0].kind, run
            run = []
        run.append(change)
    if run:
        yield run[0].op, run[0].kind, run
