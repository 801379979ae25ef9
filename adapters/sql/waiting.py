"""Children kept waiting in the target database past the consumer's in-memory bound."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from adapters.sql.marking import MySQLMarking, PostgresMarking
from adapters.sql.tables import SchemaTables
from domain.events import Platform
from domain.model import ParentKey, ParkedChild, RawMessage

_CHUNK = 1000  # ids per IN list


def park(
    conn: Connection,
    tables: SchemaTables,
    marking: PostgresMarking | MySQLMarking,
    children: Sequence[ParkedChild],
) -> None:
    rows = [_row(child) for child in children]
    columns = [c for c in rows[0] if c != "event_id"]
    conn.execute(marking.upsert_many(tables.waiting, ["event_id"], columns), rows)


def unpark(conn: Connection, tables: SchemaTables, event_ids: Collection[str]) -> None:
    waiting, ids = tables.waiting, list(event_ids)
    for start in range(0, len(ids), _CHUNK):
        conn.execute(delete(waiting).where(waiting.c.event_id.in_(ids[start : start + _CHUNK])))


def count(conn: Connection, tables: SchemaTables) -> int:
    return int(conn.execute(select(func.count()).select_from(tables.waiting)).scalar_one())


def released(
    conn: Connection,
    tables: SchemaTables,
    parents: Collection[ParentKey],
    linked_from: Platform | None,
    expired_before: float | None,
) -> list[ParkedChild]:
    waiting = tables.waiting
    wanted: list[ColumnElement[bool]] = _parent_in(tables, parents)
    if linked_from is not None:
        links = tables.links
        linked_id = links.c.legacy_id if linked_from is Platform.LEGACY else links.c.revamp_id
        wanted.append(
            exists().where(
                and_(links.c.entity_type == waiting.c.parent_type, linked_id == waiting.c.parent_id)
            )
        )
    if expired_before is not None:
        late = waiting.alias("late")
        wanted.append(
            exists().where(
                and_(
                    late.c.parent_type == waiting.c.parent_type,
                    late.c.parent_id == waiting.c.parent_id,
                    late.c.deadline < expired_before,
                )
            )
        )
    if not wanted:
        return []
    query = select(waiting).where(or_(*wanted))
    query = query.order_by(waiting.c.topic, waiting.c.kafka_partition, waiting.c.kafka_offset)
    return [_child(row) for row in conn.execute(query).mappings()]


def _parent_in(tables: SchemaTables, parents: Collection[ParentKey]) -> list[ColumnElement[bool]]:
    waiting = tables.waiting
    by_type: dict[str, list[int]] = defaultdict(list)
    for entity_type, parent_id in parents:
        by_type[entity_type].append(parent_id)
    return [
        and_(waiting.c.parent_type == entity_type, waiting.c.parent_id.in_(ids))
        for entity_type, ids in by_type.items()
    ]


def keys(
    conn: Connection, tables: SchemaTables, wanted: Collection[tuple[str, str]]
) -> dict[tuple[str, str], ParentKey]:
    waiting = tables.waiting
    by_type: dict[str, list[str]] = defaultdict(list)
    for entity_type, entity_key in wanted:
        by_type[entity_type].append(entity_key)
    found: dict[tuple[str, str], ParentKey] = {}
    for entity_type, entity_keys in by_type.items():
        query = select(waiting.c.entity_key, waiting.c.parent_type, waiting.c.parent_id).where(
            and_(waiting.c.entity_type == entity_type, waiting.c.entity_key.in_(entity_keys))
        )
        for entity_key, parent_type, parent_id in conn.execute(query):
            found[(entity_type, entity_key)] = (parent_type, int(parent_id))
    return found


def ids(conn: Connection, tables: SchemaTables, event_ids: Collection[str]) -> set[str]:
    column, wanted, found = tables.waiting.c.event_id, list(event_ids), set()
    for start in range(0, len(wanted), _CHUNK):
        query = select(column).where(column.in_(wanted[start : start + _CHUNK]))
        found |= {str(r[0]).strip() for r in conn.execute(query)}
    return found


def lowest_offsets(conn: Connection, tables: SchemaTables) -> dict[tuple[str, int], int]:
    waiting = tables.waiting
    query = select(
        waiting.c.topic, waiting.c.kafka_partition, func.min(waiting.c.kafka_offset)
    ).group_by(waiting.c.topic, waiting.c.kafka_partition)
    return {(topic, int(partition)): int(low) for topic, partition, low in conn.execute(query)}


def _row(child: ParkedChild) -> dict[str, Any]:
    message = child.message
    return {
        "event_id": child.event_id,
        "entity_type": child.entity_type,
        "entity_key": child.entity_key,
        "parent_type": child.parent[0],
        "parent_id": child.parent[1],
        "topic": message.topic,
        "kafka_partition": message.partition,
        "kafka_offset": message.offset,
        "message_key": message.key,
        "message_value": message.value,
        "message_ts_ms": message.timestamp_ms,
        "deadline": child.deadline,
        "reason": child.reason,
    }


def _child(row: Any) -> ParkedChild:
    message = RawMessage(
        row["topic"],
        int(row["kafka_partition"]),
        int(row["kafka_offset"]),
        None if row["message_key"] is None else bytes(row["message_key"]),
        None if row["message_value"] is None else bytes(row["message_value"]),
        int(row["message_ts_ms"]),
    )
    return ParkedChild(
        message,
        row["event_id"].strip(),
        row["entity_type"],
        row["entity_key"],
        (row["parent_type"], int(row["parent_id"])),
        float(row["deadline"]),
        row["reason"],
    )
