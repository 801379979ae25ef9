"""Debezium's topic names (`<prefix>.<schema>.<table>`) and the consumer groups reading them."""

from __future__ import annotations

from collections.abc import Mapping

from domain.events import Platform
from domain.mapping import SchemaMapping

DEFAULT_PREFIXES = {Platform.LEGACY: "legacy", Platform.REVAMP: "revamp"}


def change_topic(prefix: str, schema: str, table: str) -> str:
    """The topic the changes of one table go to, as Debezium names it."""
    return f"{prefix}.{schema}.{table}"


def change_topics(mapping: SchemaMapping, origin: Platform, prefix: str) -> list[str]:
    """The topics of every mapped table of `origin`, in the mapping's order."""
    return [
        change_topic(prefix, e.schemas.on(origin), e.tables.on(origin)) for e in mapping.entities
    ]


def all_change_topics(mapping: SchemaMapping, prefixes: Mapping[Platform, str]) -> list[str]:
    """The change topics of both platforms."""
    return [t for origin in Platform for t in change_topics(mapping, origin, prefixes[origin])]


def parents_first_ranks(mapping: SchemaMapping, origin: Platform, prefix: str) -> dict[str, int]:
    """Each change topic's place in the dependency order: parents' topics lower."""
    ordered = [mapping.entities.index(e) for e in mapping.in_dependency_order()]
    topics = change_topics(mapping, origin, prefix)
    return {topics[index]: rank for rank, index in enumerate(ordered)}


def consumer_group(prefixes: Mapping[Platform, str], origin: Platform) -> str:
    """One group per direction and pair of topic prefixes: `tandem-legacy-to-revamp` by
    default; deployments with their own prefixes never share a group on one broker."""
    return f"tandem-{prefixes[origin]}-to-{prefixes[origin.other]}"
