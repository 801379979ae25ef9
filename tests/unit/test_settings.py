"""Settings: validated once, the bad one named; env file, precedence, secrets kept out."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.redaction import redact
from domain.errors import ConfigurationError
from domain.rules import ConflictPolicy
from entrypoints.settings import Settings, gather, has_real_settings, read_env_file

SECRET = "s3cr3t-Pa55"
GOOD = {
    "SYNC_LEGACY_DSN": f"postgresql+psycopg://sync:{SECRET}@127.0.0.1:5432/legacy",
    "SYNC_REVAMP_DSN": f"mysql+pymysql://root:{SECRET}@127.0.0.1:3306/revamp",
}


def parse(**overrides: str) -> Settings:
    return Settings.parse(gather(None, GOOD | overrides))


def test_good_settings_parse_with_the_contract_defaults() -> None:
    settings = parse(SYNC_KAFKA_BOOTSTRAP="k1:9092, k2:9093", SYNC_CONFLICT_POLICY="legacy-wins")
    assert settings.kafka_bootstrap == ("k1:9092", "k2:9093")
    assert settings.conflict_policy is ConflictPolicy.LEGACY_WINS
    assert (settings.legacy_prefix, settings.revamp_prefix, settings.dlq_topic) == (
        "legacy",
        "revamp",
        "sync.dlq",
    )
    assert (settings.http_port, settings.log_format, settings.log_level) == (9187, "json", "INFO")
    assert parse().conflict_policy is ConflictPolicy.LAST_WRITER_WINS


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SYNC_LEGACY_DSN", ""),
        ("SYNC_LEGACY_DSN", GOOD["SYNC_REVAMP_DSN"]),
        ("SYNC_REVAMP_DSN", "not a url"),
        ("SYNC_KAFKA_BOOTSTRAP", "localhost"),
        ("SYNC_KAFKA_BOOTSTRAP", " , "),
        ("SYNC_CONFLICT_POLICY", "first-writer-wins"),
        ("SYNC_HTTP_PORT", "70000"),
        ("SYNC_HTTP_PORT", "http"),
        ("SYNC_LOG_FORMAT", "xml"),
        ("SYNC_LOG_LEVEL", "LOUD"),
        ("SYNC_DLQ_TOPIC", "sync dlq"),
        ("SYNC_LEGACY_TOPIC_PREFIX", "legacy/prod"),
        ("SYNC_BATCH_SIZE", "0"),
        ("SYNC_PARENT_WAIT_SECONDS", "-1"),
        ("SYNC_MAX_WAITING_IN_MEMORY", "many"),
        ("SYNC_CAPTURE", "maxwell"),
        ("SYNC_DEBEZIUM_SLOT", "Debezium-Slot"),
    ],
)
def test_a_bad_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse(**{name: value})
    assert name in str(raised.value)
    assert SECRET not in str(raised.value)


def test_the_capture_is_built_in_unless_debezium_is_chosen() -> None:
    assert (parse().capture, parse().debezium_slot) == ("builtin", "tandem_debezium")
    assert parse(SYNC_CAPTURE="Debezium").capture == "debezium"


def test_the_env_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / "tandem.env"
    env.write_text(
        "# local stack\n\nexport SYNC_LOG_LEVEL=debug\n"
        "SYNC_DLQ_TOPIC = 'dead.letters'\nSYNC_MAPPING=\"/etc/map.yaml\"\n"
        "SYNC_KAFKA_SASL_PASSWORD='it''s'\"\n"  # only quotes that enclose the whole value go
    )
    assert read_env_file(env) == {
        "SYNC_LOG_LEVEL": "debug",
        "SYNC_DLQ_TOPIC": "dead.letters",
        "SYNC_MAPPING": "/etc/map.yaml",
        "SYNC_KAFKA_SASL_PASSWORD": "'it''s'\"",
    }


def test_a_bad_env_file_is_named(tmp_path: Path) -> None:
    env = tmp_path / "tandem.env"
    env.write_text("SYNC_LOG_LEVEL=INFO\nthis is not a setting\n")
    with pytest.raises(ConfigurationError, match=r"--env-file: .*tandem.env:2"):
        read_env_file(env)
    with pytest.raises(ConfigurationError, match="--env-file"):
        read_env_file(tmp_path / "missing.env")


def test_the_environment_overrides_the_env_file(tmp_path: Path) -> None:
    env = tmp_path / "tandem.env"
    env.write_text("SYNC_DLQ_TOPIC=from.file\nSYNC_LOG_FORMAT=console\n")
    merged = gather(env, {"SYNC_DLQ_TOPIC": "from.env", "HOME": "/root"})
    assert merged["SYNC_DLQ_TOPIC"] == "from.env"
    assert merged["SYNC_LOG_FORMAT"] == "console"
    assert merged["SYNC_HTTP_PORT"] == "9187" and "HOME" not in merged


def test_real_settings_are_told_from_none(tmp_path: Path) -> None:
    assert not has_real_settings(None, {"HOME": "/root"})
    assert has_real_settings(None, {"SYNC_LEGACY_DSN": "x"})
    assert has_real_settings(tmp_path / "tandem.env", {})


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = parse(SYNC_KAFKA_SASL_PASSWORD=SECRET, SYNC_KAFKA_SASL_USERNAME="tandem")
    assert settings.kafka_options["SYNC_KAFKA_SASL_PASSWORD"] == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert settings.legacy_dsn == GOOD["SYNC_LEGACY_DSN"]


def test_redacted_dsns_hide_the_password() -> None:
    shown = redact(GOOD["SYNC_LEGACY_DSN"])
    assert SECRET not in shown and "***" in shown and "127.0.0.1" in shown
    assert redact("127.0.0.1:9092") == "127.0.0.1:9092"  # nothing secret: unchanged
    assert SECRET not in redact(f"sasl failed for tandem:{SECRET}", [SECRET])
