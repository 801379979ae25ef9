"""Running the consumers on the real adapters: threads per direction, health, clean stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from application.consumer_loop import ConsumerLoop
from application.sync_service import SyncService
from domain.events import Platform
from domain.mapping import SchemaMapping
from entrypoints.container import Container, build_container
from entrypoints.logging_setup import configure_logging
from entrypoints.settings import Settings

log = logging.getLogger(__name__)
ORIGINS = {
    "legacy-to-revamp": (Platform.LEGACY,),
    "revamp-to-legacy": (Platform.REVAMP,),
    "both": (Platform.LEGACY, Platform.REVAMP),
}


def change_topics(mapping: SchemaMapping, origin: Platform, prefix: str) -> list[str]:
    """Debezium's topic names: <prefix>.<schema>.<table>."""
    return [f"{prefix}.{e.schemas.on(origin)}.{e.tables.on(origin)}" for e in mapping.entities]


def parents_first_ranks(mapping: SchemaMapping, origin: Platform, prefix: str) -> dict[str, int]:
    """Each change topic's place in the dependency order: parents' topics lower."""
    ordered = [mapping.entities.index(e) for e in mapping.in_dependency_order()]
    topics = change_topics(mapping, origin, prefix)
    return {topics[index]: rank for rank, index in enumerate(ordered)}


def consumer_group(prefixes: Mapping[Platform, str], origin: Platform) -> str:
    """One group per direction and pair of topic prefixes: `tandem-legacy-to-revamp` by
    default; deployments with their own prefixes never share a group on one broker."""
    return f"tandem-{prefixes[origin]}-to-{prefixes[origin.other]}"


def build_loop(container: Container, origin: Platform, assign_all: bool = False) -> ConsumerLoop:
    """One direction: a Kafka consumer group, the SyncService, the loop that drives them."""
    from adapters.kafka.source import KafkaChangeSource

    core, dbs = container.core, container.databases
    settings: Settings = core.settings()
    stores = {Platform.LEGACY: dbs.legacy_store(), Platform.REVAMP: dbs.revamp_store()}
    service = SyncService(
        origin=origin,
        mapping=core.mapping(),
        codec=core.codec(),
        origin_store=stores[origin],
        target=stores[origin.other],
        dead_letters=container.messaging.dead_letters(),
        policy=settings.conflict_policy,
        clock=core.clock(),
        retry=core.retry(),
        stats=core.stats(),
        parent_wait_s=settings.parent_wait_s,
        max_waiting_in_memory=settings.max_waiting_in_memory,
    )
    prefix = core.prefixes()[origin]
    source = KafkaChangeSource(
        container.messaging.kafka(),
        consumer_group(core.prefixes(), origin),
        change_topics(core.mapping(), origin, prefix),
        max_poll_records=settings.batch_size,
        assign_all=assign_all,
        topic_ranks=parents_first_ranks(core.mapping(), origin, prefix),
    )
    return ConsumerLoop(
        source, service, core.clock(), core.outage_backoff(), batch_size=settings.batch_size
    )


def run_loops(
    loops: list[ConsumerLoop], stop: threading.Event, seconds: float | None, once: bool
) -> None:
    """Each loop in its own thread until stop/seconds; with `once`, until drained."""
    if once:
        for loop in loops:
            loop.drain()
        return
    threads = [
        threading.Thread(target=loop.run, args=(stop,), name=loop.service.direction)
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    deadline = None if seconds is None else time.monotonic() + seconds
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        stop.wait(0.2)
        if not all(t.is_alive() for t in threads):
            log.error("a consumer thread died; stopping")
            break
    stop.set()
    for thread in threads:
        thread.join()


def run_consumers(
    settings: Settings,
    direction: str,
    *,
    seconds: float | None,
    once: bool,
    stop: threading.Event,
    extra: Callable[[Container, threading.Event], None] | None = None,
) -> int:
    configure_logging(settings.log_format, settings.log_level)
    container = build_container(settings)
    container.init_resources()
    loops: list[ConsumerLoop] = []
    server = None
    try:
        # --once takes every partition itself: a group join could outlast the first polls
        loops = [build_loop(container, origin, assign_all=once) for origin in ORIGINS[direction]]
        if settings.http_port:
            from adapters.http_status import serve

            server = serve(
                settings.http_port,
                container.core.stats(),
                lambda: {
                    "healthy": not stop.is_set() and all(loop.failures == 0 for loop in loops),
                    "directions": {loop.service.direction: loop.failures for loop in loops},
                },
                lambda: {loop.service.direction: len(loop.service.waiting) for loop in loops},
            )
        log.info("sync started", extra={"direction": direction})
        run_loops(loops, stop, seconds, once)
        log.info("sync stopped cleanly", extra=container.core.stats().snapshot())
        return 0
    finally:
        for loop in loops:
            loop.close()
        if server is not None:
            server.shutdown()
        container.shutdown_resources()
