"""Dead letters kept in a list, republished to the in-memory broker on replay."""

from __future__ import annotations

from collections.abc import Collection

import attrs

from adapters.debezium import dumps
from adapters.memory.broker import InMemoryBroker
from adapters.resolutions import resolution
from domain.model import DeadLetter, Resolution


class InMemoryDeadLetterQueue:
    def __init__(self, broker: InMemoryBroker) -> None:
        self.broker = broker
        self.held: list[DeadLetter] = []
        self.resolved: dict[str, Resolution] = {}
        self.sent = 0

    def send(self, letter: DeadLetter) -> None:
        self.held.append(attrs.evolve(letter, id=f"0-{self.sent}"))
        self.sent += 1

    def letters(self, include_resolved: bool = False) -> list[DeadLetter]:
        return [
            attrs.evolve(letter, resolution=self.resolved.get(letter.id))
            for letter in self.held
            if include_resolved or letter.id not in self.resolved
        ]

    def republish(self, letter: DeadLetter) -> None:
        value = None if letter.original_event is None else _json(letter.original_event)
        self.broker.produce(letter.topic, letter.key, value)

    def resolve(self, letters: Collection[DeadLetter], resolution: Resolution) -> int:
        fresh = {letter.id for letter in letters} - set(self.resolved)
        fresh &= {letter.id for letter in self.held}
        self.resolved.update(dict.fromkeys(fresh, resolution))
        return len(fresh)

    def purge(self, letters: Collection[DeadLetter] | None = None) -> int:
        chosen = self.letters() if letters is None else letters
        return self.resolve(chosen, resolution("purged"))


def _json(original: object) -> bytes:
    return original.encode() if isinstance(original, str) else dumps(original)
