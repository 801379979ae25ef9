"""Settings from flags, the environment and an env file, validated once."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path

import attrs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters import env_file
from domain.errors import ConfigurationError
from domain.rules import ConflictPolicy

PREFIX = "SYNC_"
DEFAULTS = {
    "SYNC_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "SYNC_LEGACY_TOPIC_PREFIX": "legacy",
    "SYNC_REVAMP_TOPIC_PREFIX": "revamp",
    "SYNC_DLQ_TOPIC": "sync.dlq",
    "SYNC_CONFLICT_POLICY": "last-writer-wins",
    "SYNC_HTTP_PORT": "9187",
    "SYNC_HTTP_HOST": "127.0.0.1",
    "SYNC_TRUNCATE": "dead-letter",
    "SYNC_LOG_FORMAT": "json",
    "SYNC_LOG_LEVEL": "INFO",
    "SYNC_TOPIC_PARTITIONS": "3",
    "SYNC_PARENT_WAIT_SECONDS": "30",
    "SYNC_BATCH_SIZE": "500",
    "SYNC_MAX_WAITING_IN_MEMORY": "10000",
    "SYNC_STATE_DIR": ".tandem/state",
    "SYNC_LEGACY_SLOT": "tandem_legacy",
    "SYNC_CAPTURE": "builtin",
    "SYNC_DEBEZIUM_SLOT": "tandem_debezium",
    "SYNC_STALL_SECONDS": "30",
    "SYNC_START_WAIT_SECONDS": "30",
    "SYNC_SCHEMAS_ENABLE": "true",
}
CAPTURES = ("builtin", "debezium")


def read_env_file(path: Path) -> dict[str, str]:
    """The `--env-file`; a ConfigurationError naming it (and the line) when it is bad."""
    try:
        return env_file.read_env_file(path)
    except OSError as error:
        raise ConfigurationError(f"--env-file: cannot read {path}: {error.strerror}") from error
    except env_file.EnvFileLineError as error:
        raise ConfigurationError(f"--env-file: {error}") from error


def gather(env_file: Path | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Env file, overridden by the environment (flags override both, in the commands)."""
    environ = os.environ if environ is None else environ
    merged = dict(DEFAULTS)
    if env_file is not None:
        merged |= read_env_file(env_file)
    merged |= {k: v for k, v in environ.items() if k.startswith(PREFIX)}
    return merged


IN_MEMORY_DSNS = {
    "SYNC_LEGACY_DSN": "postgresql+psycopg://in-memory/legacy",
    "SYNC_REVAMP_DSN": "mysql+pymysql://in-memory/revamp",
}


def in_memory_settings(raw: Mapping[str, str] | None = None) -> Settings:
    """The settings of a run on the in-memory adapters: the DSNs, opened by nothing, are
    placeholders; the rest (conflict policy, mapping, batch size...) is read as usual."""
    return Settings.parse({**DEFAULTS, **(raw or {}), **IN_MEMORY_DSNS})


def has_real_settings(env_file: Path | None, environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return env_file is not None or any(k.startswith(PREFIX) for k in environ)


@attrs.frozen
class Settings:
    legacy_dsn: str = attrs.field(repr=False)
    revamp_dsn: str = attrs.field(repr=False)
    kafka_bootstrap: tuple[str, ...]
    legacy_prefix: str
    revamp_prefix: str
    dlq_topic: str
    mapping_path: str | None
    conflict_policy: ConflictPolicy
    http_port: int
    log_format: str
    log_level: str
    topic_partitions: int
    parent_wait_s: float
    batch_size: int
    state_dir: Path
    legacy_slot: str = "tandem_legacy"
    max_waiting_in_memory: int = 10_000
    stall_s: float = 30.0
    start_wait_s: float = 30.0
    http_host: str = "127.0.0.1"
    truncate: str = "dead-letter"
    schemas_enable: bool = True  # the built-in capture sends JsonConverter's schema wrapper
    capture: str = "builtin"
    debezium_slot: str = "tandem_debezium"
    kafka_options: dict[str, str] = attrs.field(factory=dict, repr=False)

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> Settings:
        """Validate; a ConfigurationError names the first bad setting."""
        return cls(
            legacy_dsn=_dsn(raw, "SYNC_LEGACY_DSN", "postgresql"),
            revamp_dsn=_dsn(raw, "SYNC_REVAMP_DSN", "mysql"),
            kafka_bootstrap=_bootstrap(raw["SYNC_KAFKA_BOOTSTRAP"]),
            legacy_prefix=_name(raw, "SYNC_LEGACY_TOPIC_PREFIX"),
            revamp_prefix=_name(raw, "SYNC_REVAMP_TOPIC_PREFIX"),
            dlq_topic=_name(raw, "SYNC_DLQ_TOPIC"),
            mapping_path=raw.get("SYNC_MAPPING") or None,
            conflict_policy=_choice(raw, "SYNC_CONFLICT_POLICY", ConflictPolicy),
            http_port=_integer(raw, "SYNC_HTTP_PORT", 0, 65535),
            log_format=_one_of(raw, "SYNC_LOG_FORMAT", ("json", "console")),
            log_level=_one_of(raw, "SYNC_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR")),
            topic_partitions=_integer(raw, "SYNC_TOPIC_PARTITIONS", 1, 1000),
            parent_wait_s=float(_integer(raw, "SYNC_PARENT_WAIT_SECONDS", 0, 86_400)),
            batch_size=_integer(raw, "SYNC_BATCH_SIZE", 1, 100_000),
            state_dir=Path(raw["SYNC_STATE_DIR"]),
            legacy_slot=_slot(raw, "SYNC_LEGACY_SLOT"),
            max_waiting_in_memory=_integer(raw, "SYNC_MAX_WAITING_IN_MEMORY", 0, 10_000_000),
            stall_s=float(_integer(raw, "SYNC_STALL_SECONDS", 1, 86_400)),
            start_wait_s=float(_integer(raw, "SYNC_START_WAIT_SECONDS", 0, 86_400)),
            http_host=_address(raw, "SYNC_HTTP_HOST"),
            truncate=_one_of(raw, "SYNC_TRUNCATE", ("dead-letter", "propagate")),
            schemas_enable=_one_of(raw, "SYNC_SCHEMAS_ENABLE", ("true", "false")) == "true",
            capture=_one_of(raw, "SYNC_CAPTURE", CAPTURES),
            debezium_slot=_slot(raw, "SYNC_DEBEZIUM_SLOT"),
            kafka_options={
                k: v
                for k, v in raw.items()
                if k.startswith(("SYNC_KAFKA_SECURITY", "SYNC_KAFKA_SASL_"))
                or (k.startswith("SYNC_") and "_SSL_" in k)
            },
        )

    @property
    def binlog_checkpoint(self) -> Path:
        """Where the built-in MySQL capture keeps its binlog position."""
        return self.state_dir / "revamp-binlog.offset"

    def check(self) -> Settings:
        """Load what the settings point at (mapping file, Kafka options), so that a bad one
        stops the command at start, named, rather than half-way through it."""
        from adapters.kafka.settings import KafkaSettings
        from adapters.mapping_file import load_mapping

        load_mapping(self.mapping_path)
        KafkaSettings.from_options(self.kafka_bootstrap, self.kafka_options)
        _creatable_dir(self.state_dir, "SYNC_STATE_DIR")
        return self


def _dsn(raw: Mapping[str, str], name: str, backend: str) -> str:
    value = raw.get(name, "")
    if not value:
        raise ConfigurationError(f"{name} is not set")
    try:
        url = make_url(value)
    except ArgumentError as error:
        raise ConfigurationError(f"{name} is not a database URL") from error
    if url.get_backend_name() != backend:
        raise ConfigurationError(f"{name} must be a {backend} URL, got {url.get_backend_name()}")
    driver = _DRIVERS[backend]
    if url.get_driver_name() != driver:
        raise ConfigurationError(
            f"{name}: driver {url.get_driver_name()!r} is not the one Tandem ships with; "
            f"write {backend}+{driver}://…"
        )
    return value


_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql"}


def _address(raw: Mapping[str, str], name: str) -> str:
    value = raw[name].strip()
    try:
        ipaddress.ip_address(value)
    except ValueError as error:
        raise ConfigurationError(
            f"{name}: {raw[name]!r} is not an IP address (127.0.0.1, or 0.0.0.0 for every one)"
        ) from error
    return value


def _creatable_dir(path: Path, name: str) -> None:
    """The directory, or its nearest existing ancestor, is a directory we may write in."""
    absolute = path.absolute()
    existing = next(p for p in (absolute, *absolute.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"{name}: cannot use {path}: {existing} is not a writable directory"
        )


def _bootstrap(value: str) -> tuple[str, ...]:
    servers = tuple(s.strip() for s in value.split(",") if s.strip())
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigurationError(f"SYNC_KAFKA_BOOTSTRAP: {server!r} is not host:port")
    if not servers:
        raise ConfigurationError("SYNC_KAFKA_BOOTSTRAP is empty")
    return servers


def _name(raw: Mapping[str, str], name: str) -> str:
    value = raw[name]
    if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
        raise ConfigurationError(f"{name}: {value!r} is not a valid topic name")
    return value


def _slot(raw: Mapping[str, str], name: str) -> str:
    value = raw[name]
    if not re.fullmatch(r"[a-z0-9_]{1,63}", value):
        raise ConfigurationError(
            f"{name}: {value!r} is not a replication slot name (a-z, 0-9, _; at most 63)"
        )
    return value


def _integer(raw: Mapping[str, str], name: str, low: int, high: int) -> int:
    try:
        value = int(raw[name])
    except ValueError as error:
        raise ConfigurationError(f"{name}: {raw[name]!r} is not an integer") from error
    if not low <= value <= high:
        raise ConfigurationError(f"{name}: {value} is outside {low}..{high}")
    return value


def _one_of(raw: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = raw[name].upper() if name.endswith("LEVEL") else raw[name].lower()
    if value not in allowed:
        raise ConfigurationError(f"{name}: {raw[name]!r} is not one of {', '.join(allowed)}")
    return value


def _choice(raw: Mapping[str, str], name: str, enum: type[ConflictPolicy]) -> ConflictPolicy:
    try:
        return enum(raw[name])
    except ValueError as error:
        allowed = ", ".join(p.value for p in enum)
        raise ConfigurationError(f"{name}: {raw[name]!r} is not one of {allowed}") from error
