"""Dead letters kept in a list, republished to the in-memory broker on replay."""

from __future__ import annotations

from collections.abc import Collection

import attrs

from adapters.debezium import dumps
from adapters.memory.broker import InMemoryBroker
from domain.model import DeadLetter


class InMemoryDeadLetterQueue:
    def __init__(self, broker: InMemoryBroker) -> None:
        self.broker = broker
        self.held: list[DeadLetter] = []
        self.sent = 0

    def send(self, letter: DeadLetter) -> None:
        self.held.append(attrs.evolve(letter, id=f"0-{self.sent}"))
        self.sent += 1

    def letters(self) -> list[DeadLetter]:
        return list(self.held)

    def republish(self, letter: DeadLetter) -> None:
        value = None if letter.original_event is None else _json(letter.original_event)
        self.broker.produce(letter.topic, letter.key, value)

    def purge(self, letters: Collection[DeadLetter] | None = None) -> int:
        gone = self.held if letters is None else [x for x in self.held if x in letters]
        self.held = [x for x in self.held if x not in gone]
        return len(gone)


def _json(original: object) -> bytes:
    return original.encode() if isinstance(original, str) else dumps(original)
