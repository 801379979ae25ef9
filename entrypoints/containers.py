"""The composition root: settings in, one adapter set (real or in-memory), services out.

In the style of dependency-injector's `use-cases` example: `RealAdapters` and
`MemoryAdapters` expose the same provider names, and `Services` builds every service from
whichever set it is given. Nothing outside this module constructs a service or an adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.debezium import DebeziumCodec
from adapters.mapping_file import load_mapping
from adapters.memory.broker import InMemoryBroker
from adapters.memory.capture import InMemoryCapture
from adapters.memory.checkpoints import InMemoryCheckpoints
from adapters.memory.database import InMemoryDatabase
from adapters.memory.dead_letters import InMemoryDeadLetterQueue
from adapters.sql.application_db import SqlApplicationDatabase
from adapters.sql.catalog import SqlSchemaCatalog
from adapters.sql.engines import engine_resource
from adapters.sql.snapshot import SqlRowSnapshot
from adapters.sql.store import SqlTargetStore
from adapters.topics import change_topics, consumer_group, parents_first_ranks
from application.consumer_loop import ConsumerLoop
from application.reconcile import Reconciler
from application.repair import Repairer
from application.schema_guard import SchemaGuard
from application.snapshot import Snapshotter
from application.stats import SyncStats
from application.sync_service import SyncService
from demo.traffic import TrafficGenerator
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.ports import Checkpoints, DeadLetterQueue, TargetStore
from domain.retry import RetryPolicy
from entrypoints.settings import Settings


def _prefixes(settings: Settings) -> dict[Platform, str]:
    return {Platform.LEGACY: settings.legacy_prefix, Platform.REVAMP: settings.revamp_prefix}


def _schema_of(mapping: SchemaMapping, platform: Platform) -> str:
    """The schema (PostgreSQL) or database (MySQL) the mapped tables live in."""
    return mapping.entities[0].schemas.on(platform)


def _state_lock(settings: Settings, owner: str) -> Any:
    from adapters.state_lock import StateLock

    return StateLock(settings.state_dir, owner)


class Core(containers.DeclarativeContainer):
    """What every adapter set and service shares: settings, mapping, clock, stats, codec, and
    the lock of the state directory's owner."""

    settings = providers.Dependency(instance_of=Settings)
    mapping = providers.Singleton(load_mapping, settings.provided.mapping_path)
    clock = providers.Singleton(SystemClock)
    stats = providers.Singleton(SyncStats)
    retry = providers.Object(RetryPolicy())
    outage_backoff = providers.Object(RetryPolicy(max_retries=0, max_delay_s=30.0))
    part_backoff = providers.Object(RetryPolicy(max_delay_s=30.0))
    prefixes = providers.Callable(_prefixes, settings)
    codec = providers.Singleton(DebeziumCodec, mapping, prefixes)
    state_lock = providers.Factory(_state_lock, settings)


# --- the real adapter set: SQL databases and Kafka -------------------------------------------


def _kafka_settings(settings: Settings) -> Any:
    from adapters.kafka.settings import KafkaSettings

    return KafkaSettings.from_options(settings.kafka_bootstrap, settings.kafka_options)


def _kafka_dead_letters(kafka: Any, settings: Settings) -> DeadLetterQueue:
    from adapters.kafka.dead_letters import KafkaDeadLetterQueue

    return KafkaDeadLetterQueue(kafka, settings.dlq_topic, partitions=settings.topic_partitions)


def _kafka_source(kafka: Any, *, group: str, topics: list[str], **options: Any) -> Any:
    from adapters.kafka.source import KafkaChangeSource

    return KafkaChangeSource(kafka, group, topics, **options)


def _capture_runners(
    settings: Settings,
    kafka: Any,
    mapping: SchemaMapping,
    which: tuple[str, ...] = ("legacy", "revamp"),
    on_topics_lost: Callable[[list[str]], None] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """One runner per database, of the capture `kind` (default SYNC_CAPTURE); each owns a
    Kafka publisher, which dead-letters a change too large for the broker instead of
    retrying it for ever."""
    from adapters.capture.oversize import OversizeDeadLettering
    from adapters.capture.runner import MySQLCaptureRunner, PostgresCaptureRunner
    from adapters.kafka.dead_letters import KafkaDeadLetterQueue
    from adapters.kafka.publisher import KafkaEventPublisher

    def publisher() -> OversizeDeadLettering:
        kafka_publisher = KafkaEventPublisher(
            kafka, topic_partitions=settings.topic_partitions, on_topics_lost=on_topics_lost
        )
        dead_letters = KafkaDeadLetterQueue(
            kafka,
            settings.dlq_topic,
            partitions=settings.topic_partitions,
            publisher=kafka_publisher,
        )
        return OversizeDeadLettering(kafka_publisher, dead_letters)

    if (kind or settings.capture) == "debezium":
        from entrypoints.debezium_wiring import debezium_runners

        return debezium_runners(settings, mapping, which, publisher)
    runners: dict[str, Any] = {}
    if "legacy" in which:
        runners["capture-legacy"] = PostgresCaptureRunner(
            settings.legacy_dsn,
            publisher(),
            topic_prefix=settings.legacy_prefix,
            slot=settings.legacy_slot,
            schemas=settings.schemas_enable,
        )
    if "revamp" in which:
        runners["capture-revamp"] = MySQLCaptureRunner(
            settings.revamp_dsn,
            publisher(),
            settings.binlog_checkpoint,
            topic_prefix=settings.revamp_prefix,
            schemas=settings.schemas_enable,
        )
    return runners


def _snapshot_checkpoints(settings: Settings, legacy: Any, revamp: Any) -> Checkpoints:
    """Snapshot progress in SYNC_STATE_DIR, refused when taken from other servers."""
    from adapters.checkpoint_file import JsonFileCheckpoints
    from adapters.sql.server_identity import server_identity

    servers = {"legacy": server_identity(legacy), "revamp": server_identity(revamp)}
    return JsonFileCheckpoints(settings.state_dir / "snapshot.json", servers)


class RealAdapters(containers.DeclarativeContainer):
    """SQL (SQLAlchemy engines are Resources: opened at init, disposed at shutdown), Kafka."""

    core = providers.DependenciesContainer()
    legacy_engine = providers.Resource(engine_resource, core.settings.provided.legacy_dsn)
    revamp_engine = providers.Resource(engine_resource, core.settings.provided.revamp_dsn)
    legacy_store = providers.Singleton(SqlTargetStore, legacy_engine, Platform.LEGACY, core.mapping)
    revamp_store = providers.Singleton(SqlTargetStore, revamp_engine, Platform.REVAMP, core.mapping)
    legacy_rows = providers.Singleton(SqlRowSnapshot, legacy_engine, Platform.LEGACY, core.mapping)
    revamp_rows = providers.Singleton(SqlRowSnapshot, revamp_engine, Platform.REVAMP, core.mapping)
    legacy_app = providers.Singleton(
        SqlApplicationDatabase, legacy_engine, Platform.LEGACY, core.mapping
    )
    revamp_app = providers.Singleton(
        SqlApplicationDatabase, revamp_engine, Platform.REVAMP, core.mapping
    )
    legacy_catalog = providers.Factory(
        SqlSchemaCatalog,
        legacy_engine,
        Platform.LEGACY,
        schema=providers.Callable(_schema_of, core.mapping, Platform.LEGACY),
    )
    revamp_catalog = providers.Factory(
        SqlSchemaCatalog,
        revamp_engine,
        Platform.REVAMP,
        schema=providers.Callable(_schema_of, core.mapping, Platform.REVAMP),
    )
    catalogs = providers.Dict({Platform.LEGACY: legacy_catalog, Platform.REVAMP: revamp_catalog})
    schema_guard = providers.Singleton(SchemaGuard, core.mapping, catalogs)
    kafka = providers.Singleton(_kafka_settings, core.settings)
    dead_letters = providers.Singleton(_kafka_dead_letters, kafka, core.settings)
    change_source = providers.Factory(_kafka_source, kafka)
    capture_runners = providers.Factory(_capture_runners, core.settings, kafka, core.mapping)
    snapshot_checkpoints = providers.Singleton(
        _snapshot_checkpoints, core.settings, legacy_engine, revamp_engine
    )


# --- the in-memory adapter set: the same names, no servers -----------------------------------


def _memory_database(
    platform: Platform,
    mapping: SchemaMapping,
    broker: InMemoryBroker,
    prefixes: dict[Platform, str],
    clock: Any,
    drop_sync_transactions: bool,
) -> InMemoryDatabase:
    capture = InMemoryCapture(broker, prefixes[platform], drop_sync_transactions)
    return InMemoryDatabase(platform, mapping, capture, clock.now)


def _memory_source(broker: InMemoryBroker, *, group: str, topics: list[str], **_: Any) -> Any:
    """A consumer of the in-memory broker; Kafka's tuning options mean nothing to it."""
    return broker.consumer(group, topics)


class MemoryAdapters(containers.DeclarativeContainer):
    """Both databases, the broker and the dead letters in memory; capture is immediate (each
    committed transaction is published as it commits), so there are no capture runners."""

    core = providers.DependenciesContainer()
    drop_sync_transactions = providers.Object(False)
    broker = providers.Singleton(InMemoryBroker)
    legacy_store = providers.Singleton(
        _memory_database,
        Platform.LEGACY,
        core.mapping,
        broker,
        core.prefixes,
        core.clock,
        drop_sync_transactions,
    )
    revamp_store = providers.Singleton(
        _memory_database,
        Platform.REVAMP,
        core.mapping,
        broker,
        core.prefixes,
        core.clock,
        drop_sync_transactions,
    )
    legacy_rows = legacy_app = legacy_store
    revamp_rows = revamp_app = revamp_store
    schema_guard = providers.Object(None)
    dead_letters = providers.Singleton(InMemoryDeadLetterQueue, broker)
    change_source = providers.Factory(_memory_source, broker)
    capture_runners = providers.Factory(dict)
    snapshot_checkpoints = providers.Singleton(InMemoryCheckpoints)


# --- the services, from whichever adapter set -----------------------------------------------


def _sync_service(
    origin: Platform,
    settings: Settings,
    stores: dict[Platform, TargetStore],
    **wiring: Any,
) -> SyncService:
    return SyncService(
        origin=origin,
        origin_store=stores[origin],
        target=stores[origin.other],
        policy=settings.conflict_policy,
        parent_wait_s=settings.parent_wait_s,
        propagate_truncates=settings.truncate == "propagate",
        max_waiting_in_memory=settings.max_waiting_in_memory,
        **wiring,
    )


def _consumer_loop(
    settings: Settings,
    mapping: SchemaMapping,
    prefixes: dict[Platform, str],
    change_source: providers.Factory,
    sync_service: providers.Factory,
    clock: Any,
    outage_backoff: RetryPolicy,
    *,
    origin: Platform,
    assign_all: bool = False,
) -> ConsumerLoop:
    """One direction: its consumer group on the origin's change topics, parents' topics first,
    the SyncService, and the loop that drives them."""
    prefix = prefixes[origin]
    source = change_source(
        group=consumer_group(prefixes, origin),
        topics=change_topics(mapping, origin, prefix),
        max_poll_records=settings.batch_size,
        assign_all=assign_all,
        topic_ranks=parents_first_ranks(mapping, origin, prefix),
    )
    service = sync_service(origin=origin)
    # fetch_ahead stays off: on a 2-core machine shared with both databases the second
    # thread only contends for the GIL (measured 10-20% slower, README "Throughput")
    return ConsumerLoop(source, service, clock, outage_backoff, batch_size=settings.batch_size)


def _snapshotter(
    settings: Settings,
    mapping: SchemaMapping,
    rows: dict[Platform, Any],
    stores: dict[Platform, TargetStore],
    stats: SyncStats,
    checkpoints: Checkpoints,
    *,
    origin: Platform,
) -> Snapshotter:
    origin_store, target = stores[origin], stores[origin.other]
    policy = settings.conflict_policy
    return Snapshotter(
        mapping, origin, rows[origin], origin_store, target, policy, stats, checkpoints
    )


class Services(containers.DeclarativeContainer):
    """Every service, built from `adapters` (RealAdapters or MemoryAdapters)."""

    core = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()
    stores = providers.Dict(
        {Platform.LEGACY: adapters.legacy_store, Platform.REVAMP: adapters.revamp_store}
    )
    rows = providers.Dict(
        {Platform.LEGACY: adapters.legacy_rows, Platform.REVAMP: adapters.revamp_rows}
    )
    sync_service = providers.Factory(
        _sync_service,
        settings=core.settings,
        stores=stores,
        mapping=core.mapping,
        codec=core.codec,
        dead_letters=adapters.dead_letters,
        clock=core.clock,
        retry=core.retry,
        stats=core.stats,
        schema_guard=adapters.schema_guard,
    )
    # each built for one direction: `consumer_loop(origin=…)`, `snapshotter(origin=…)`
    consumer_loop = providers.Factory(
        _consumer_loop, core.settings, core.mapping, core.prefixes,
        adapters.change_source.provider, sync_service.provider, core.clock, core.outage_backoff,
    )  # fmt: skip
    snapshotter = providers.Factory(
        _snapshotter, core.settings, core.mapping, rows, stores, core.stats,
        adapters.snapshot_checkpoints,
    )  # fmt: skip
    reconciler = providers.Factory(
        Reconciler, core.mapping, adapters.legacy_rows, adapters.revamp_rows
    )
    repairer = providers.Factory(
        Repairer, core.mapping, stores, rows, core.settings.provided.conflict_policy
    )
    capture_runners = adapters.capture_runners
    traffic = providers.Factory(
        TrafficGenerator, providers.List(adapters.legacy_app, adapters.revamp_app)
    )


class Container(containers.DeclarativeContainer):
    """The whole application: `core`, one adapter set as `adapters`, and `services`."""

    core = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()
    services = providers.Container(Services, core=core, adapters=adapters)


ADAPTER_SETS: dict[str, type[containers.DeclarativeContainer]] = {
    "real": RealAdapters,
    "memory": MemoryAdapters,
}


def build_container(settings: Settings, adapters: str = "real") -> Container:
    """The application on the `real` or the `memory` adapter set."""
    core = Core(settings=providers.Object(settings))
    return Container(core=core, adapters=ADAPTER_SETS[adapters](core=core))
