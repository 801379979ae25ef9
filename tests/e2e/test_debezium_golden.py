"""Golden comparison: the same application writes, captured by the real Debezium engine and by
the built-in capture, must give the same messages, field by field (key, envelope, `source`
block, row images, schemas), except the differences the README lists."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from adapters.kafka.offsets import read_to_end
from adapters.sql.application_db import SqlApplicationDatabase
from adapters.topics import change_topics
from domain.events import Platform
from entrypoints.containers import build_container
from entrypoints.settings import Settings
from tests.acceptance.stack_world import world_prefixes, world_settings
from tests.conftest import truncate_all

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### What differs between the two captures"


def allowed_differences() -> list[re.Pattern[str]]:
    """The field paths the README's section names (`*` for any one path element)."""
    text = README.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n#", 1)[0]
    bullets = re.findall(r"^- (.*?): ", section, flags=re.MULTILINE)
    paths = [path for bullet in bullets for path in re.findall(r"`([^`]+)`", bullet)]
    assert paths, f"README: no field listed under {SECTION!r}"
    return [re.compile(re.escape(p).replace(r"\*", r"[^.]+") + r"$") for p in paths]


class Captures:
    """One capture's runners, topics and messages, on prefixes of its own."""

    def __init__(self, stack: dict[str, str], state_dir: Path, kind: str) -> None:
        self.tag = f"g{uuid.uuid4().hex[:8]}{kind[0]}"
        self.prefixes = world_prefixes(self.tag)
        overrides = {
            "SYNC_DLQ_TOPIC": f"{self.tag}.dlq",
            "SYNC_STATE_DIR": str(state_dir / self.tag),
            "SYNC_LEGACY_SLOT": self.tag,
            "SYNC_DEBEZIUM_SLOT": self.tag,
            "SYNC_CAPTURE": kind,
        }
        self.settings = Settings.parse(world_settings(stack, self.prefixes, overrides))
        self.container = build_container(self.settings)
        self.container.init_resources()
        self.runners = self.container.services.capture_runners()
        mapping = self.container.core.mapping()
        self.topics = {p: change_topics(mapping, p, prefix) for p, prefix in self.prefixes.items()}

    def start(self) -> None:
        for runner in self.runners.values():
            runner.prepare()
            runner.run_once()  # Debezium: streaming; built-in: at the end of the log

    def publish(self) -> None:
        for runner in self.runners.values():
            runner.run_once()

    def messages(self) -> dict[str, list[tuple[Any, Any]]]:
        """Per table (topic without the prefix): (key, value) documents in log order per key,
        this capture's prefixes replaced by a placeholder."""
        kafka = self.container.adapters.kafka()
        found: dict[str, list[tuple[Any, Any]]] = {}
        for topics in self.topics.values():
            for record in sorted(read_to_end(kafka, topics), key=lambda r: (r.topic, r.offset)):
                table = record.topic.split(".", 1)[1]
                found.setdefault(table, []).append(
                    (self._document(record.key), self._document(record.value))
                )
        return found

    def _document(self, raw: bytes | None) -> Any:
        if raw is None:
            return None
        text = raw.decode()
        for prefix in self.prefixes.values():
            text = text.replace(f'"{prefix}', '"<prefix>').replace(f'"{prefix}.', '"<prefix>.')
        return orjson.loads(text)

    def close(self) -> None:
        for name, runner in self.runners.items():
            runner.close()
            if name == "capture-legacy":
                self._drop_slot(runner)
        self.container.shutdown_resources()

    def _drop_slot(self, runner: Any) -> None:
        if self.settings.capture == "builtin":
            runner.capture.drop_slot()
        else:
            from adapters.capture.debezium_engine.slot import drop_postgres

            drop_postgres(self.settings.legacy_dsn, self.tag, self.tag)


@pytest.fixture(scope="module")
def both_captures(
    running_stack: dict[str, str],
    engines: dict[str, Engine],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Captures, Captures]]:
    """Both captures, after they published the same application writes."""
    truncate_all(engines)
    state = tmp_path_factory.mktemp("golden")
    made = [Captures(running_stack, state, kind) for kind in ("debezium", "builtin")]
    try:
        for captures in made:
            captures.start()
        application_writes(engines, made[0].container.core.mapping())
        for captures in made:
            captures.publish()
        yield made[0], made[1]
    finally:
        for captures in made:
            captures.close()


def application_writes(engines: dict[str, Engine], mapping: Any) -> None:
    """What both applications do: creates, updates and deletes of users, posts and likes."""
    sides = {
        Platform.LEGACY: SqlApplicationDatabase(engines["legacy"], Platform.LEGACY, mapping),
        Platform.REVAMP: SqlApplicationDatabase(engines["revamp"], Platform.REVAMP, mapping),
    }
    names = {
        Platform.LEGACY: ("username", "email", "post_title", "post_content", "user_id"),
        Platform.REVAMP: ("user_name", "email_address", "title", "content", "author_id"),
    }
    moment = datetime(2024, 5, 17, 9, 30, 15, 123456, tzinfo=UTC).replace(tzinfo=None)
    for platform, side in sides.items():
        user, email, title, content, author = names[platform]
        status = str.lower if platform is Platform.LEGACY else str.title
        ann = side.app_insert("user", {user: "ann", email: "ann@x.org", "status": status("active")})
        bob = side.app_insert("user", {user: "bob", email: "bob@x.org", "status": status("active")})
        post = side.app_insert(
            "post", {title: "Héllo 👋", content: None, author: ann, "status": status("draft")}
        )
        like = side.app_insert("like", {"user_id": bob, "post_id": post})
        side.app_update("user", ann, {email: "ann@y.org", "created_at": moment})
        side.app_update("post", post, {content: "a body\nwith two lines"})
        side.app_delete("like", like)
        side.app_delete("user", bob)
        side.app_insert("like", {"user_id": ann, "post_id": post})
    for platform, engine in engines.items():  # a TRUNCATE: Debezium's `t` event, no key
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE TABLE {platform}_likes"))


def flatten(document: Any, path: str = "") -> dict[str, Any]:
    """Leaf values by dotted path (list items by index); PostgreSQL's `source.sequence`, a JSON
    list in a string, by item too."""
    if path.endswith("source.sequence") and isinstance(document, str):
        document = orjson.loads(document)
    if isinstance(document, dict):
        items: Any = document.items()
    elif isinstance(document, list):
        items = ((str(i), v) for i, v in enumerate(document))
    else:
        return {path: document}
    leaves: dict[str, Any] = {}
    for name, value in items:
        leaves |= flatten(value, f"{path}.{name}" if path else name)
    return leaves or {path: document}


def differences(
    debezium: dict[str, list[tuple[Any, Any]]], builtin: dict[str, list[tuple[Any, Any]]]
) -> dict[str, list[str]]:
    """Every field that differs, by path (`key.payload.id`, `value.schema.fields.0.name`):
    where, and the two values (Debezium's first)."""
    found: dict[str, list[str]] = defaultdict(list)
    for table in sorted(set(debezium) | set(builtin)):
        theirs, ours = _by_key(debezium.get(table, [])), _by_key(builtin.get(table, []))
        for key in sorted(set(theirs) | set(ours)):
            a, b = theirs.get(key, []), ours.get(key, [])
            if [_op(v) for _, v in a] != [_op(v) for _, v in b]:
                ops = [[_op(v) for _, v in side] for side in (a, b)]
                found["messages"].append(f"{table} {key}: {ops[0]} != {ops[1]}")
            for n, ((key_a, value_a), (key_b, value_b)) in enumerate(zip(a, b, strict=False)):
                for part, x, y in (("key", key_a, key_b), ("value", value_a, value_b)):
                    for path, left, right in _compared(part, x, y):
                        found[path].append(f"{table} {key} #{n}: {left!r} != {right!r}")
    return found


def _compared(part: str, x: Any, y: Any) -> Iterator[tuple[str, Any, Any]]:
    """(path, Debezium's, built-in's) of each leaf that differs; a missing schema wrapper is
    one difference, and the payloads are compared anyway."""
    (schema_x, payload_x), (schema_y, payload_y) = _split(x), _split(y)
    if (schema_x is None) != (schema_y is None):
        yield f"{part}.schema", _shown(schema_x), _shown(schema_y)
    else:
        yield from _leaves_differing(f"{part}.schema", schema_x, schema_y)
    yield from _leaves_differing(f"{part}.payload", payload_x, payload_y)


def _leaves_differing(where: str, x: Any, y: Any) -> Iterator[tuple[str, Any, Any]]:
    left, right = flatten(x), flatten(y)
    for path in sorted(set(left) | set(right)):
        a, b = left.get(path, ABSENT), right.get(path, ABSENT)
        if a != b:
            named = f"{where}.{path}" if path else where
            # a field one capture lacks is never a listed difference: only its value may be
            yield named if ABSENT not in (a, b) else f"{named} (missing on one side)", a, b


ABSENT = "<absent>"


def _split(document: Any) -> tuple[Any, Any]:
    """(schema or None, payload) of a JsonConverter document, wrapped or not."""
    if isinstance(document, dict) and set(document) == {"schema", "payload"}:
        return document["schema"], document["payload"]
    return None, document


def _shown(schema: Any) -> str:
    return ABSENT if schema is None else "a schema"


def _by_key(messages: list[tuple[Any, Any]]) -> dict[str, list[tuple[Any, Any]]]:
    grouped: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for key, value in messages:
        payload = _split(key)[1]
        grouped[orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()].append((key, value))
    return grouped


def _op(value: Any) -> str:
    return "tombstone" if value is None else str(_split(value)[1].get("op"))


def test_debezium_keys_are_partitioned_as_kafka_connects_producer_does(
    both_captures: tuple[Captures, Captures],
) -> None:
    """murmur2 of the key bytes, made positive, modulo the partitions: Kafka's own code."""
    import jpype

    debezium = both_captures[0]
    kafka_utils = jpype.JClass("org.apache.kafka.common.utils.Utils")
    keyed = [
        record
        for topics in debezium.topics.values()
        for record in read_to_end(debezium.container.adapters.kafka(), topics)
        if record.key is not None
    ]
    assert len(keyed) >= 20
    partitions = debezium.settings.topic_partitions
    for record in keyed:
        key = jpype.JArray(jpype.JByte)(record.key)
        assert record.partition == kafka_utils.toPositive(kafka_utils.murmur2(key)) % partitions


def test_debezium_and_the_built_in_capture_publish_the_same_messages(
    both_captures: tuple[Captures, Captures],
) -> None:
    debezium, builtin = both_captures
    theirs, ours = debezium.messages(), builtin.messages()
    assert sum(len(m) for m in theirs.values()) >= 20, theirs  # the writes were all captured
    patterns = allowed_differences()
    unexplained = {
        path: where
        for path, where in differences(theirs, ours).items()
        if not any(p.match(path) for p in patterns)
    }
    assert not unexplained, "fields that differ and the README does not list:\n" + "\n".join(
        f"{path} ({len(where)} messages), e.g. {where[0]}" for path, where in unexplained.items()
    )
