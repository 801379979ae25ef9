"""Proposing a mapping from two live catalogs: tables and columns paired by names, types and keys.

Every guess carries a note, and so does every column or table left unpaired: the proposal is
meant to be read, corrected where needed, and checked with `tandem mapping check`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from domain.catalog import (
    Catalog,
    ColumnInfo,
    TableInfo,
    fraction_digits,
    type_capacity,
    type_class,
)
from domain.coercions import COERCIONS, change_case
from domain.names import common_prefix, entity_tokens, similarity, singular, tokens

SOURCE_COLUMN = "source"
UPDATED_NAMES = ("updated_at", "modified_at", "last_modified", "updated_on", "modified_on")
CREATED_NAMES = ("created_at", "created_on", "inserted_at", "created")
SIMILAR_ENOUGH = 0.8


@attrs.define
class ProposedField:
    spec: dict[str, Any]
    note: str = ""


@attrs.define
class ProposedEntity:
    name: str
    spec: dict[str, Any]
    fields: list[ProposedField]
    notes: list[str]

    def document(self) -> dict[str, Any]:
        return {**self.spec, "fields": [f.spec for f in self.fields]}


@attrs.define
class Proposal:
    """A mapping document with a note on every guess and on everything left out."""

    schemas: dict[str, str]
    entities: list[ProposedEntity]
    notes: list[str]

    def document(self) -> dict[str, Any]:
        """The mapping as a mapping file holds it."""
        return {
            "schemas": dict(self.schemas),
            "entities": {e.name: e.document() for e in self.entities},
        }


@attrs.frozen
class _Pair:
    legacy: ColumnInfo
    revamp: ColumnInfo
    note: str = ""


@attrs.frozen
class _Tables:
    """A paired table, with what its entity's columns need to know about their neighbours."""

    legacy: TableInfo
    revamp: TableInfo
    entity_of: dict[str, dict[str, str]]  # platform -> table name -> entity name
    words: tuple[str, ...]


def propose(legacy: Catalog, revamp: Catalog) -> Proposal:
    """Pair the tables and columns of `legacy` and `revamp` into a mapping proposal."""
    prefixes = (
        common_prefix(t.name for t in legacy.entity_tables),
        common_prefix(t.name for t in revamp.entity_tables),
    )
    pairs, notes = _pair_tables(legacy, revamp, prefixes)
    entity_of: dict[str, dict[str, str]] = {"legacy": {}, "revamp": {}}
    for l_table, r_table in pairs:
        name = _unique_name("_".join(entity_tokens(l_table.name, prefixes[0])), entity_of)
        entity_of["legacy"][l_table.name] = name
        entity_of["revamp"][r_table.name] = name
    entities = [
        _entity(_Tables(left, right, entity_of, entity_tokens(left.name, prefixes[0])), entity_of)
        for left, right in pairs
    ]
    return Proposal(
        {"legacy": legacy.schema, "revamp": revamp.schema}, _dependency_order(entities), notes
    )


def _unique_name(name: str, taken: dict[str, dict[str, str]]) -> str:
    used = set(taken["legacy"].values())
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _pair_tables(
    legacy: Catalog, revamp: Catalog, prefixes: tuple[str, str]
) -> tuple[list[tuple[TableInfo, TableInfo]], list[str]]:
    notes: list[str] = []
    lefts = [t for t in legacy.entity_tables if _keyed(t, "legacy", notes)]
    rights = [t for t in revamp.entity_tables if _keyed(t, "revamp", notes)]

    def word(t: TableInfo, side: int) -> str:
        return "_".join(entity_tokens(t.name, prefixes[side]))

    pairs: list[tuple[TableInfo, TableInfo]] = []
    for left in lefts:
        same = [r for r in rights if word(r, 1) == word(left, 0)]
        if same:
            pairs.append((left, same[0]))
            rights.remove(same[0])
    for left in [t for t in lefts if t not in {p[0] for p in pairs}]:
        scored = sorted(rights, key=lambda r: -similarity(word(left, 0), word(r, 1)))
        if scored and similarity(word(left, 0), word(scored[0], 1)) >= SIMILAR_ENOUGH:
            notes.append(f"guessed: {left.name} pairs with {scored[0].name} (similar names)")
            pairs.append((left, scored[0]))
            rights.remove(scored[0])
        else:
            notes.append(f"legacy table {left.name} has no pair on revamp: not synced")
    notes += [f"revamp table {r.name} has no pair on legacy: not synced" for r in rights]
    return pairs, notes


def _keyed(table: TableInfo, side: str, notes: list[str]) -> bool:
    if len(table.primary_key) == 1:
        return True
    notes.append(f"{side} table {table.name} has no single-column primary key: not synced")
    return False


def _entity(tables: _Tables, entity_of: dict[str, dict[str, str]]) -> ProposedEntity:
    l_table, r_table = tables.legacy, tables.revamp
    notes: list[str] = []
    skip = {SOURCE_COLUMN}
    for side, table in (("legacy", l_table), ("revamp", r_table)):
        if table.column(SOURCE_COLUMN) is None:
            notes.append(f"{side} {table.name} has no '{SOURCE_COLUMN}' column: echoes are kept")
    pairs, unpaired = _pair_columns(
        tables,
        [c for c in l_table.columns if c.name not in {*l_table.primary_key, *skip}],
        [c for c in r_table.columns if c.name not in {*r_table.primary_key, *skip}],
    )
    notes += unpaired
    spec: dict[str, Any] = {
        "tables": {"legacy": l_table.name, "revamp": r_table.name},
        "key": _side_spec(l_table.primary_key[0], r_table.primary_key[0]),
    }
    version, note = _version(pairs)
    if version is not None:
        spec["version"] = version
    if note:
        notes.append(note)
    groups = _unique_groups(l_table, r_table, pairs, notes)
    if groups:
        spec["unique"] = groups
    name = entity_of["legacy"][l_table.name]
    fields = [_field(p, tables, name, notes) for p in pairs]
    return ProposedEntity(name, spec, fields, notes)


def _side_spec(legacy: str, revamp: str) -> Any:
    return legacy if legacy == revamp else {"legacy": legacy, "revamp": revamp}


def _pair_columns(
    tables: _Tables, lefts: list[ColumnInfo], rights: list[ColumnInfo]
) -> tuple[list[_Pair], list[str]]:
    """Pair columns step by step, surest rule first; the rest is reported unpaired."""
    words = set(tables.words)

    def refers(platform: str, table: TableInfo, column: ColumnInfo) -> str | None:
        return tables.entity_of[platform].get(table.reference_of(column.name) or "")

    def bare(c: ColumnInfo) -> tuple[str, ...]:
        return tuple(t for t in (singular(w) for w in tokens(c.name)) if t not in words)

    steps: list[tuple[Callable[[ColumnInfo, ColumnInfo], bool], str]] = [
        (lambda a, b: a.name == b.name, ""),
        (
            lambda a, b: (
                refers("legacy", tables.legacy, a) is not None
                and refers("legacy", tables.legacy, a) == refers("revamp", tables.revamp, b)
            ),
            "guessed: foreign keys to the same entity",
        ),
        (
            lambda a, b: _alike(a, b) and _squash(a.name) == _squash(b.name),
            "guessed: same words",
        ),
        (lambda a, b: _alike(a, b) and bool(bare(a)) and bare(a) == bare(b), "guessed: table name"),
        (lambda a, b: _alike(a, b) and _prefix_of(a.name, b.name), "guessed: one name starts"),
        (
            lambda a, b: _alike(a, b) and similarity(a.name, b.name) >= SIMILAR_ENOUGH,
            "guessed: similar names",
        ),
    ]
    pairs: list[_Pair] = []
    for same, note in steps:
        for left in list(lefts):
            match = next((r for r in rights if same(left, r)), None)
            if match is not None:
                pairs.append(_Pair(left, match, _explain(note, left, match)))
                lefts.remove(left)
                rights.remove(match)
    order = {c.name: i for i, c in enumerate(tables.legacy.columns)}
    pairs.sort(key=lambda p: order[p.legacy.name])
    unpaired = [f"legacy column {c.name} ({c.raw_type}) has no pair: not synced" for c in lefts]
    unpaired += [f"revamp column {c.name} ({c.raw_type}) has no pair: not synced" for c in rights]
    return pairs, unpaired


def _explain(note: str, left: ColumnInfo, right: ColumnInfo) -> str:
    if not note:
        return ""
    reasons = {
        "guessed: same words": "the names differ only in case, separators or plural",
        "guessed: table name": "the names are equal without the table's name",
        "guessed: one name starts": "one name begins the other",
        "guessed: similar names": "the names are similar",
        "guessed: foreign keys to the same entity": "both reference the same entity",
    }
    return f"guessed: {left.name} ~ {right.name}, {reasons[note]}"


def _alike(a: ColumnInfo, b: ColumnInfo) -> bool:
    return a.family == b.family


def _squash(name: str) -> str:
    return "".join(tokens(name))


def _prefix_of(a: str, b: str) -> bool:
    ta, tb = tokens(a), tokens(b)
    short, long = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    return len(short) < len(long) and long[: len(short)] == short


def _version(pairs: list[_Pair]) -> tuple[Any, str]:
    for names, note in (
        (UPDATED_NAMES, ""),
        (CREATED_NAMES, "no update time: the creation time orders concurrent twins"),
    ):
        for p in pairs:
            if {p.legacy.family, p.revamp.family} == {"timestamp"} and (
                p.legacy.name in names or p.revamp.name in names
            ):
                return _side_spec(p.legacy.name, p.revamp.name), note
    return None, "no timestamp to version rows: concurrent changes are decided by the policy alone"


def _unique_groups(
    l_table: TableInfo, r_table: TableInfo, pairs: list[_Pair], notes: list[str]
) -> list[list[str]]:
    """Unique keys of several columns, mapped on both sides: natural keys of the entity."""
    revamp_of = {p.legacy.name: p.revamp.name for p in pairs}
    groups = []
    for key in l_table.unique:
        if len(key) < 2:
            continue
        if all(c in revamp_of for c in key) and r_table.is_unique(tuple(revamp_of[c] for c in key)):
            groups.append(list(key))
        else:
            notes.append(f"unique ({', '.join(key)}) of legacy has no twin on revamp: not a key")
    return groups


def _digits(legacy_type: str, revamp_type: str) -> dict[str, Any]:
    """What decodes a value sent without Debezium's schema wrapper: fraction digits of a
    time or timestamp (unless 6 on both sides), the scale of a decimal."""
    legacy, revamp = fraction_digits(legacy_type), fraction_digits(revamp_type)
    if legacy is not None and revamp is not None and (legacy, revamp) != (6, 6):
        return {"precision": _one_or_both(legacy, revamp)}
    scales = (type_capacity(legacy_type), type_capacity(revamp_type))
    if type_class(legacy_type) == "decimal" and None not in scales:
        return {"scale": _one_or_both(scales[0][1], scales[1][1])}  # type: ignore[index]
    return {}


def _one_or_both(legacy: int, revamp: int) -> int | dict[str, int]:
    return legacy if legacy == revamp else {"legacy": legacy, "revamp": revamp}


def _field(pair: _Pair, tables: _Tables, entity: str, notes: list[str]) -> ProposedField:
    lc, rc = pair.legacy, pair.revamp
    spec: dict[str, Any] = (
        {"name": lc.name} if lc.name == rc.name else {"legacy": lc.name, "revamp": rc.name}
    )
    remarks = [pair.note] if pair.note else []
    if lc.family == rc.family and lc.family in COERCIONS:
        spec["type"] = lc.family
        spec.update(_digits(lc.raw_type, rc.raw_type))
    elif lc.family != rc.family:
        remarks.append(f"types differ ({lc.raw_type} / {rc.raw_type}): check the conversion")
    rule, remark = _value_rule(lc.values, rc.values)
    spec.update(rule)
    remarks += [remark] if remark else []
    parent = tables.entity_of["legacy"].get(tables.legacy.reference_of(lc.name) or "")
    if parent == entity:
        remarks.append("references its own table: not translated (unsupported)")
    elif parent is not None:
        spec["references"] = parent
    if lc.nullable or rc.nullable:
        spec["nullable"] = True
        if lc.nullable != rc.nullable:
            remarks.append("nullable on one side only: a null is refused by the other")
    single_l, single_r = tables.legacy.is_unique((lc.name,)), tables.revamp.is_unique((rc.name,))
    if single_l and single_r:
        spec["unique"] = True
    elif single_l or single_r:
        remarks.append("unique on one side only: not a natural key")
    return ProposedField(spec, "; ".join(remarks))


def _value_rule(legacy: tuple[str, ...], revamp: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """A case rule or value map when both sides allow value sets that differ only by case."""
    if not legacy or not revamp or set(legacy) == set(revamp):
        return {}, ""
    lowered_l = {v.lower(): v for v in legacy}
    lowered_r = {v.lower(): v for v in revamp}
    if set(lowered_l) != set(lowered_r) or len(lowered_l) != len(legacy):
        return {}, f"value sets differ: {list(legacy)} / {list(revamp)}: add 'values:'"
    example = f"{legacy[0]} / {lowered_r[legacy[0].lower()]}"
    note = f"guessed: the allowed values differ only by case ({example})"
    l_rule, r_rule = _case_rule(legacy), _case_rule(revamp)
    if l_rule and r_rule:
        return {"case": {"legacy": l_rule, "revamp": r_rule}}, note
    return {"values": {lowered_l[k]: lowered_r[k] for k in lowered_l}}, note


def _case_rule(values: tuple[str, ...]) -> str | None:
    for rule in ("lower", "title", "upper"):
        if all(change_case(v, rule) == v for v in values):
            return rule
    return None


def _dependency_order(entities: list[ProposedEntity]) -> list[ProposedEntity]:
    """Parents before children (the order snapshots load in); otherwise as found."""
    ordered: list[ProposedEntity] = []
    placed: set[str] = set()
    remaining = list(entities)
    while remaining:
        ready = [
            e
            for e in remaining
            if all(f.spec.get("references") in placed | {None} for f in e.fields)
        ]
        if not ready:  # a cycle: left for the reader to break, check reports it
            ready = remaining[:1]
            ready[0].notes.append("its references form a cycle: break it by hand")
        ordered += ready
        placed |= {e.name for e in ready}
        remaining = [e for e in remaining if e not in ready]
    return ordered
