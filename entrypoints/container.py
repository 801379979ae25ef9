"""The composition root: settings in, adapters chosen and wired, services out."""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.debezium import DebeziumCodec
from adapters.mapping_file import load_mapping
from adapters.memory.pipeline import build_pipeline
from adapters.sql.application_db import SqlApplicationDatabase
from adapters.sql.catalog import SqlSchemaCatalog
from adapters.sql.engines import engine_resource
from adapters.sql.snapshot import SqlRowSnapshot
from adapters.sql.store import SqlTargetStore
from application.schema_guard import SchemaGuard
from application.stats import SyncStats
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.retry import RetryPolicy
from entrypoints.settings import Settings


def _prefixes(settings: Settings) -> dict[Platform, str]:
    return {Platform.LEGACY: settings.legacy_prefix, Platform.REVAMP: settings.revamp_prefix}


def _schema_of(mapping: SchemaMapping, platform: Platform) -> str:
    """The schema (PostgreSQL) or database (MySQL) the mapped tables live in."""
    return mapping.entities[0].schemas.on(platform)


def _kafka_settings(settings: Settings):  # type: ignore[no-untyped-def]
    from adapters.kafka.settings import KafkaSettings

    return KafkaSettings.from_options(settings.kafka_bootstrap, settings.kafka_options)


def _dead_letters(kafka, settings: Settings):  # type: ignore[no-untyped-def]
    from adapters.kafka.dead_letters import KafkaDeadLetterQueue

    return KafkaDeadLetterQueue(kafka, settings.dlq_topic, partitions=settings.topic_partitions)


class Core(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    mapping = providers.Singleton(load_mapping, settings.provided.mapping_path)
    clock = providers.Singleton(SystemClock)
    stats = providers.Singleton(SyncStats)
    retry = providers.Object(RetryPolicy())
    outage_backoff = providers.Object(RetryPolicy(max_retries=0, max_delay_s=30.0))
    prefixes = providers.Callable(_prefixes, settings)
    legacy_schema = providers.Callable(_schema_of, mapping, Platform.LEGACY)
    revamp_schema = providers.Callable(_schema_of, mapping, Platform.REVAMP)
    codec = providers.Singleton(DebeziumCodec, mapping, prefixes)


class Databases(containers.DeclarativeContainer):
    """Engines are Resources: opened at init_resources(), disposed at shutdown_resources()."""

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
    legacy_catalog = providers.Singleton(
        SqlSchemaCatalog, legacy_engine, Platform.LEGACY, core.legacy_schema
    )
    revamp_catalog = providers.Singleton(
        SqlSchemaCatalog, revamp_engine, Platform.REVAMP, core.revamp_schema
    )
    catalogs = providers.Dict({Platform.LEGACY: legacy_catalog, Platform.REVAMP: revamp_catalog})
    schema_guard = providers.Singleton(SchemaGuard, core.mapping, catalogs)


class Messaging(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    kafka = providers.Singleton(_kafka_settings, core.settings)
    dead_letters = providers.Singleton(_dead_letters, kafka, core.settings)


class Container(containers.DeclarativeContainer):
    """`adapters` selects the whole adapter set: "real" (SQL + Kafka) or "memory"."""

    config = providers.Configuration()
    core = providers.Container(Core)
    databases = providers.Container(Databases, core=core)
    messaging = providers.Container(Messaging, core=core)
    memory_pipeline = providers.Singleton(
        build_pipeline, core.mapping, core.clock, core.settings.provided.conflict_policy
    )
    adapters = providers.Selector(config.adapters, memory=memory_pipeline, real=databases)


def build_container(settings: Settings, adapters: str = "real") -> Container:
    container = Container()
    container.core.settings.override(providers.Object(settings))
    container.config.adapters.from_value(adapters)
    return container
