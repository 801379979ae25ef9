"""A hypothesis strategy for the fuzz test: valid changes of both platforms and hostile messages.

Valid changes are creates, updates and deletes of users, posts and likes on both platforms,
written as Debezium writes them (tests/support/debezium_messages.py), with tombstones;
each entity's changes keep their order. Hostile messages are built from a valid message of
an entity of the plan and broken in one way (every category below appears), so that one
applied by mistake would overwrite a valid row and show.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import attrs
from hypothesis import strategies as st

from domain.events import Platform
from tests.support.debezium_messages import TABLES, DebeziumFeed, Message

HOSTILE = (
    "invalid json",
    "not utf-8",
    "not an object",
    "wrong type",
    "nested object",
    "unknown op",
    "huge number",
    "date out of range",
    "missing after",
    "key disagrees",
    "unknown table",
    "missing source",
    "key not json",
)
STATUS = {
    ("user", Platform.LEGACY): ("active", "inactive", "banned"),
    ("user", Platform.REVAMP): ("Active", "Inactive", "Banned"),
    ("post", Platform.LEGACY): ("draft", "published", "archived"),
    ("post", Platform.REVAMP): ("Draft", "Published", "Archived"),
}
COLUMNS = {  # the mapped columns as the origin names them
    Platform.LEGACY: {"name": "username", "email": "email", "title": "post_title",
                      "content": "post_content", "author": "user_id"},
    Platform.REVAMP: {"name": "user_name", "email": "email_address", "title": "title",
                      "content": "content", "author": "author_id"},
}  # fmt: skip


# The ids on the wire: apart from each other and from the ids the databases hand out to the
# rows the sync writes (a revamp event's id names a revamp row, whose link the sync may hold).
ID_BASE = {Platform.LEGACY: 100_000, Platform.REVAMP: 200_000}


def wire_id(step: Step) -> int:
    return step.row_id + ID_BASE[step.platform]


@attrs.frozen
class Step:
    """One change of the plan, before it becomes a message."""

    platform: Platform
    entity: str
    row_id: int
    op: str  # c, u, d, or "tombstone", or a hostile category
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def hostile(self) -> bool:
        return self.op in HOSTILE


@attrs.define
class Planned:
    step: Step
    message: Message


@attrs.define
class Plan:
    """The messages in publishing order, and what each valid entity must end up as."""

    messages: list[Planned]
    final: dict[tuple[Platform, str, int], dict[str, Any] | None]  # None: deleted

    def count(self, predicate: Any) -> int:
        return sum(1 for p in self.messages if predicate(p.step))


def _stream_of(
    platform: Platform, entity: str, row_id: int, draw: Any, deletable: bool
) -> list[Step]:
    base: dict[str, Any] = {}
    if entity == "user":
        base = {
            "name": f"{platform.value[0]}u{row_id}",
            "email": f"{platform.value}{row_id}@ex.org",
        }
    elif entity == "post":
        base = {
            "title": f"{platform.value[0]}p{row_id}",
            "content": draw(
                st.none()
                | st.text(
                    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40
                )
            ),
        }
    steps = [Step(platform, entity, row_id, "c", tuple(base.items()))]
    if entity != "like":
        for n in range(draw(st.integers(0, 3))):
            changed = dict(base)
            key = "name" if entity == "user" else "title"
            changed[key] = f"{base[key]}v{n + 1}"
            steps.append(Step(platform, entity, row_id, "u", tuple(changed.items())))
    if deletable and draw(st.booleans()):
        steps.append(Step(platform, entity, row_id, "d"))
        if draw(st.booleans()):
            steps.append(Step(platform, entity, row_id, "tombstone"))
    return steps


@st.composite
def _valid_streams(draw: Any, platform: Platform) -> list[list[Step]]:
    users = draw(st.integers(14, 22))
    posts = draw(st.integers(10, 16))
    authors = [draw(st.integers(1, users)) for _ in range(posts)]
    pairs = draw(st.sets(st.tuples(st.integers(1, users), st.integers(1, posts)),
                         min_size=8, max_size=16))  # fmt: skip
    liked_posts = {p for _, p in pairs}
    parents = set(authors) | {u for u, _ in pairs}
    streams = [_stream_of(platform, "user", i, draw, i not in parents) for i in range(1, users + 1)]
    streams += [_stream_of(platform, "post", i, draw, i not in liked_posts)
                for i in range(1, posts + 1)]  # fmt: skip
    for n, (user_id, post_id) in enumerate(sorted(pairs), start=1):
        streams.append(_stream_of(platform, "like", n, draw, True))
        streams[-1][0] = attrs.evolve(streams[-1][0], values=(("user", user_id), ("post", post_id)))
    for i, author in enumerate(authors):
        post_stream = streams[users + i]
        streams[users + i] = [
            attrs.evolve(s, values=(*s.values, ("author", author))) for s in post_stream
        ]
    return streams


@st.composite
def plans(draw: Any, min_messages: int = 400) -> list[Step]:
    """Every step in publishing order: streams interleaved, hostile steps in between."""
    streams = draw(_valid_streams(Platform.LEGACY)) + draw(_valid_streams(Platform.REVAMP))
    ordered: list[Step] = []
    while streams:
        index = draw(st.integers(0, len(streams) - 1))
        ordered.append(streams[index].pop(0))
        if not streams[index]:
            streams.pop(index)
    targets = [s for s in ordered if s.op == "c"]
    hostile_count = max(min_messages - len(ordered), 3 * len(HOSTILE))
    categories = [HOSTILE[i % len(HOSTILE)] for i in range(hostile_count)]
    for category in categories:
        target = draw(st.sampled_from(targets))
        position = draw(st.integers(0, len(ordered)))
        variant = draw(st.integers(0, 9))
        ordered.insert(position, attrs.evolve(target, op=category, values=(
            *target.values, ("variant", variant))))  # fmt: skip
    return ordered


class Writer:
    """Turns steps into messages, as Debezium would write the valid ones."""

    def __init__(self) -> None:
        self.feed = DebeziumFeed()
        self.rows: dict[tuple[Platform, str, int], dict[str, Any]] = {}
        self.created: dict[tuple[Platform, str, int], datetime] = {}

    def plan(self, steps: list[Step]) -> Plan:
        planned = [Planned(step, self.message(step)) for step in steps]
        final: dict[tuple[Platform, str, int], dict[str, Any] | None] = {}
        for step in steps:
            where = (step.platform, step.entity, step.row_id)
            if step.op in ("c", "u"):
                final[where] = self.rows[where]
            elif step.op == "d":
                final[where] = None
        return Plan(planned, final)

    def row(self, step: Step, moment: datetime) -> dict[str, Any]:
        platform, values = step.platform, dict(step.values)
        columns = COLUMNS[platform]
        row: dict[str, Any] = {"id": wire_id(step)}
        if step.entity == "user":
            row |= {columns["name"]: values["name"], columns["email"]: values["email"],
                    "status": STATUS[("user", platform)][step.row_id % 3]}  # fmt: skip
        elif step.entity == "post":
            row |= {columns["title"]: values["title"], columns["content"]: values["content"],
                    columns["author"]: values["author"] + ID_BASE[platform],
                    "status": STATUS[("post", platform)][step.row_id % 3]}  # fmt: skip
        else:
            row |= {"user_id": values["user"] + ID_BASE[platform],
                    "post_id": values["post"] + ID_BASE[platform]}  # fmt: skip
        row["source"] = platform.value
        where = (platform, step.entity, step.row_id)
        row["created_at"] = self.created.setdefault(where, moment)
        if step.entity != "like":
            row["updated_at"] = moment
        return row

    def message(self, step: Step) -> Message:
        table = TABLES[step.platform][step.entity]
        where = (step.platform, step.entity, step.row_id)
        if step.op == "tombstone":
            return self.feed.tombstone(step.platform, table, wire_id(step))
        if step.op == "d":
            return self.feed.change(step.platform, table, "d", wire_id(step),
                                    before=self.rows[where])  # fmt: skip
        moment = self.feed.now.replace(microsecond=0)
        row = self.row(step, moment)
        if step.op in ("c", "u"):
            message = self.feed.change(step.platform, table, step.op, wire_id(step), after=row)
            self.rows[where] = row
            return message
        template = self.feed.change(step.platform, table, "u", wire_id(step), after=row)
        return break_message(template, step.op, dict(step.values)["variant"], step)


def _document(message: Message) -> tuple[dict[str, Any], dict[str, Any]]:
    assert message.value is not None
    document = json.loads(message.value)
    payload = document.get("payload", document) if "schema" in document else document
    return document, payload


def _dumps(document: Any) -> bytes:
    return json.dumps(document).encode()


def break_message(template: Message, category: str, variant: int, step: Step) -> Message:
    """The template broken in one way of `category`; `variant` picks how."""
    document, payload = _document(template)
    after = payload["after"]
    columns = COLUMNS[step.platform]
    scalars = {  # mapped columns of each entity, as the origin names them
        "user": [columns["name"], "status", "created_at"],
        "post": [columns["title"], columns["content"], "status"],
        "like": ["user_id", "post_id", "created_at"],
    }[step.entity]
    wrong_types: list[tuple[str, Any]] = {
        "user": [(columns["name"], 12345), (columns["email"], 1.5), ("status", True),
                 ("created_at", "not a date"), ("id", "x")],
        "post": [(columns["title"], 12345), (columns["author"], "abc"), ("status", False),
                 ("updated_at", "not a date"), ("id", "x")],
        "like": [("user_id", "abc"), ("post_id", 1.5), ("created_at", "not a date"),
                 ("id", "x"), ("user_id", True)],
    }[step.entity]  # fmt: skip
    time_column = "created_at"
    key = template.key
    value: bytes | None
    if category == "invalid json":
        value = template.value[: len(template.value) // (2 + variant % 3)]  # type: ignore[index]
    elif category == "not utf-8":
        value = b"\xff\xfe" + (template.value or b"")[2:]
    elif category == "not an object":
        value = [b"[1, 2]", b"42", b'"text"', b"true"][variant % 4]
    elif category == "missing source":
        payload.pop("source")
        value = _dumps(document)
    elif category == "key not json":
        key, value = b"{id: " + str(wire_id(step)).encode(), template.value
    else:
        if category == "wrong type":
            column, bad = wrong_types[variant % len(wrong_types)]
            after[column] = bad
        elif category == "nested object":
            after[scalars[variant % 3]] = (
                {"nested": {"deeper": [1, 2]}} if variant % 2 else ["a", "list"]
            )
        elif category == "unknown op":
            payload["op"] = ["x", "C", "", 7, None, "truncate", {"op": "c"}][variant % 7]
        elif category == "huge number":
            choice = variant % 3
            if choice == 0:
                after["id"] = 10**20
                key = _dumps({"id": 10**20})
            elif choice == 1:
                after[time_column] = 10**30
            else:
                payload["source"]["ts_ms"] = 10**22
        elif category == "date out of range":
            after[time_column] = [10**18, -(10**18), "10000-01-01T00:00:00Z"][variant % 3]
        elif category == "missing after":
            if variant % 2:
                payload["after"] = None
            else:
                payload.pop("after")
        elif category == "key disagrees":
            row_id = wire_id(step)
            key = _dumps({"id": [True, row_id + 0.5, str(row_id), row_id + 1000,
                                 [row_id]][variant % 5]})  # fmt: skip
        elif category == "unknown table":
            payload["source"]["table"] = ["groups", "revamp_users", "legacy_users"][variant % 3]
            if payload["source"]["table"] == TABLES[step.platform]["user"]:
                payload["source"]["table"] = "nope"
        value = _dumps(document)
    return Message(template.topic, key, value)
