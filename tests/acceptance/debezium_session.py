"""Debezium's two connectors, started once for the session's [debezium] scenarios: a JVM and its
engines take seconds to start. The scenarios share their topics, each starting at their end."""

from __future__ import annotations

import uuid
from pathlib import Path

from domain.events import Platform
from entrypoints.containers import build_container
from entrypoints.settings import Settings
from tests.acceptance.stack_world import world_prefixes, world_settings


class SharedDebezium:
    def __init__(self, stack: dict[str, str], state_dir: Path) -> None:
        tag = f"d{uuid.uuid4().hex[:8]}"
        self.prefixes = world_prefixes(tag)
        overrides = {
            "SYNC_DLQ_TOPIC": f"{tag}.dlq",
            "SYNC_STATE_DIR": str(state_dir / tag),
            "SYNC_DEBEZIUM_SLOT": tag,
            "SYNC_CAPTURE": "debezium",
        }
        self.settings = Settings.parse(world_settings(stack, self.prefixes, overrides))
        self.container = build_container(self.settings)
        self.container.init_resources()
        runners = self.container.services.capture_runners()
        self.runners = {p: runners[f"capture-{p.value}"] for p in Platform}
        for runner in self.runners.values():
            runner.prepare()

    def close(self) -> None:
        from adapters.capture.debezium_engine.slot import drop_postgres

        for runner in self.runners.values():
            runner.close()
        slot = self.settings.debezium_slot
        drop_postgres(self.settings.legacy_dsn, slot, slot)  # else it keeps WAL for ever
        self.container.shutdown_resources()
