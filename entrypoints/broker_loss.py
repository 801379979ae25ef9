"""After the broker lost its topics, repair what it took with it, once the sync caught up."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from domain.errors import TransientError
from entrypoints.containers import Container

log = logging.getLogger(__name__)


class BrokerLossRepair:
    """A memory-only broker (Tansu) comes back from a restart without its topics: changes the
    captures had published and the consumers had not applied yet are gone, and the captures'
    positions are past them. Once every direction is caught up again, reconcile both databases
    and repair the differences, as `tandem reconcile --repair` would."""

    def __init__(
        self,
        container: Container,
        caught_up: Callable[[], bool],
        settle_s: float = 3.0,
        watch_s: float = 5.0,
    ) -> None:
        self.container, self.caught_up, self.settle_s = container, caught_up, settle_s
        self.watch_s = watch_s
        self.due = threading.Event()
        self.repairs = 0
        self._ends: dict[tuple[str, int], int] = {}

    def topics_lost(self, topics: list[str]) -> None:
        self.due.set()

    def run(self, stop: threading.Event) -> None:
        """A supervised part: watches the topics; after a loss, waits for the sync to catch up,
        then repairs."""
        while not stop.is_set():
            if not self.due.wait(self.watch_s):
                self._watch()
                continue
            if not self._settled(stop):
                continue
            self.due.clear()
            try:
                self._repair()
            except TransientError as error:
                log.warning("repair after broker loss postponed", extra={"error": str(error)})
                self.due.set()
                stop.wait(5)

    def _watch(self) -> None:
        """A change topic whose end offset went back, or that vanished, was recreated: the
        broker lost it (the consumers' own group may already have created it again, empty)."""
        from adapters.kafka.admin import end_offsets
        from adapters.topics import all_change_topics

        core = self.container.core
        topics = all_change_topics(core.mapping(), core.prefixes())
        try:
            ends = end_offsets(self.container.adapters.kafka(), topics)
        except TransientError:
            return  # the broker is away; what it lost shows once it is back
        went_back = [tp for tp, end in self._ends.items() if ends.get(tp, 0) < end]
        self._ends = ends
        if went_back:
            log.warning(
                "topics recreated by the broker (restarted?): changes published before and "
                "not yet applied are repaired once the sync has caught up",
                extra={"topics": sorted({topic for topic, _ in went_back})},
            )
            self.due.set()

    def _settled(self, stop: threading.Event) -> bool:
        """Caught up now and still after `settle_s` (capture had time to publish again)."""
        if not self.caught_up():
            stop.wait(1)
            return False
        stop.wait(self.settle_s)
        return not stop.is_set() and self.caught_up()

    def _repair(self) -> None:
        services = self.container.services
        found = services.reconciler().run()
        repaired = 0
        if found.differences:
            repaired = services.repairer().repair(found.differences)
        self.repairs += 1
        log.warning(
            "repaired after the broker lost its topics",
            extra={"differences": len(found.differences), "repaired": str(repaired)},
        )
