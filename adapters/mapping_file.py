"""The schema mapping file: YAML read through a private cattrs converter into the domain's
mapping, and written back from a scaffold's proposal; the reference mapping ships beside it."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_origin

import attrs
import cattrs
import yaml
from cattrs.cols import list_structure_factory
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_mapping_structure_fn

from domain.coercions import COERCIONS
from domain.errors import ConfigurationError, MappingError
from domain.mapping import CASE_RULES, EntityMapping, FieldMapping, SchemaMapping, Side
from domain.scaffold import Proposal

REFERENCE_MAPPING = Path(__file__).with_name("reference_mapping.yaml")


def load_mapping(path: Path | str | None = None) -> SchemaMapping:
    """The mapping in `path`, or the built-in reference mapping."""
    source = Path(path) if path else REFERENCE_MAPPING
    try:
        document = yaml.safe_load(source.read_text())
    except OSError as error:
        raise ConfigurationError(f"SYNC_MAPPING: cannot read {source}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ConfigurationError(f"SYNC_MAPPING: {source} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise ConfigurationError(f"SYNC_MAPPING: {source} must hold a mapping")
    try:
        return parse_mapping(document)
    except MappingError as error:
        raise ConfigurationError(f"SYNC_MAPPING: {source}: {error}") from error


# --- the file's shape, key by key: a key not named here is an error --------------------------

KEY = Side("id", "id")
SCHEMAS = Side("public", "revamp")


@attrs.frozen
class _Field:
    name: Side | None = None
    legacy: str | None = None
    revamp: str | None = None
    type: str | None = None
    case: Side | None = None
    values: dict[str, str] = attrs.Factory(dict)
    references: str | None = None
    nullable: bool = False
    unique: bool = False
    precision: Any = None  # digits: one number for both sides, or one per side
    scale: Any = None


@attrs.frozen
class _Entity:
    tables: Side
    fields: list[_Field]
    schemas: Side | None = None
    key: Side = KEY
    version: Side | None = None
    source_column: str = "source"
    unique: list[list[str]] = attrs.Factory(list)


@attrs.frozen
class _Document:
    schemas: Side = SCHEMAS
    entities: dict[str, _Entity] = attrs.Factory(dict)


class _UnknownKeyError(MappingError):
    def __init__(self, key: object, known: tuple[str, ...]) -> None:
        super().__init__(key)
        self.key, self.known = key, known


def _side(value: Any, _: type) -> Side:
    """`name` for both platforms, or `{legacy: a, revamp: b}`."""
    if isinstance(value, str):
        return Side(value, value)
    if not isinstance(value, Mapping) or not {"legacy", "revamp"} <= set(value):
        raise MappingError("needs 'legacy' and 'revamp'")
    for key in value:
        if key not in ("legacy", "revamp"):
            raise _UnknownKeyError(key, ("legacy", "revamp"))
    return Side(str(value["legacy"]), str(value["revamp"]))


def _only(kind: type, base: Callable[[Any, Any], Any], what: str) -> Callable[[Any, Any], Any]:
    """`base`, for a value of `kind` only; otherwise an error saying what it must be."""

    def structure(value: Any, target: Any) -> Any:
        if not isinstance(value, kind):
            raise MappingError(f"must be {what}")
        return base(value, target)

    return structure


def _generic(origin: type) -> Callable[[Any], bool]:
    """Whether a type is `origin[...]`."""
    return lambda t: get_origin(t) is origin


_files = cattrs.Converter(forbid_extra_keys=True)
_files.register_structure_hook(Side, _side)
_files.register_structure_hook_factory(
    lambda t: attrs.has(t) and t is not Side,
    lambda t: _only(Mapping, make_dict_structure_fn(t, _files), "a mapping"),
)
_files.register_structure_hook_factory(
    _generic(list),
    lambda t: _only(list, list_structure_factory(t, _files), "a list"),
)
_files.register_structure_hook_factory(
    _generic(dict),
    lambda t: _only(Mapping, make_mapping_structure_fn(t, _files), "a mapping"),
)


def parse_mapping(document: Mapping[str, Any]) -> SchemaMapping:
    """The mapping a parsed mapping file describes; errors name the entity and key at fault."""
    try:
        parsed = _files.structure(document, _Document)
    except (BaseValidationError, MappingError) as error:
        raise MappingError(_problem(error, ())) from error
    if not parsed.entities:
        raise MappingError("mapping: 'entities' must be a non-empty mapping")
    return SchemaMapping(
        tuple(_entity(name, spec, parsed.schemas) for name, spec in parsed.entities.items())
    )


def _problem(error: BaseException, path: tuple[str, ...]) -> str:
    """The first thing wrong, as `where: what`; a misspelt key before anything it hides."""
    if isinstance(error, BaseValidationError):
        extra = [e for e in error.exceptions if isinstance(e, ForbiddenExtraKeysError)]
        first = extra[0] if extra else error.exceptions[0]
        return _problem(first, (*path, *_step(first)))
    if isinstance(error, ForbiddenExtraKeysError):
        known = tuple(a.name for a in attrs.fields(error.cl))
        return _unknown(path, sorted(map(str, error.extra_fields))[0], known)
    if isinstance(error, _UnknownKeyError):
        return _unknown(path, error.key, error.known)
    if isinstance(error, KeyError):  # a required key: the path ends with its name
        return f"{_where(path[:-1])}: '{path[-1].lstrip('.')}' is missing"
    return f"{_where(path)}: {error}"


def _step(error: BaseException) -> tuple[str, ...]:
    for note in getattr(error, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return (f".{note.name}",)
        if isinstance(note, IterableValidationNote):
            return (f"[{note.index}]" if isinstance(note.index, int) else f".{note.index}",)
    return ()


def _where(path: tuple[str, ...]) -> str:
    return "".join(path).lstrip(".") or "mapping"


def _unknown(path: tuple[str, ...], key: object, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{_where(path)}.{key}: unknown key{hint}; known: {', '.join(known)}"


# --- from the file's shape to the domain's mapping: what the types alone cannot say ----------


def _entity(name: str, spec: _Entity, schemas: Side) -> EntityMapping:
    fields = tuple(_field(f"entities.{name}.fields[{i}]", f) for i, f in enumerate(spec.fields))
    return EntityMapping(
        entity_type=name,
        schemas=spec.schemas or schemas,
        tables=spec.tables,
        key=spec.key,
        fields=fields,
        version=spec.version,
        source_column=spec.source_column,
        unique_together=_unique_groups(f"entities.{name}.unique", spec.unique, fields),
    )


def _field(where: str, spec: _Field) -> FieldMapping:
    if spec.type is not None and spec.type not in COERCIONS:
        raise MappingError(f"{where}.type: unknown type {spec.type!r}")
    if spec.case is not None and {spec.case.legacy, spec.case.revamp} - set(CASE_RULES):
        raise MappingError(f"{where}.case: rules are {', '.join(CASE_RULES)}")
    return FieldMapping(
        names=_field_names(where, spec),
        kind=spec.type,
        case=spec.case,
        values=tuple(spec.values.items()),
        references=spec.references,
        nullable=spec.nullable,
        unique=spec.unique,
        precision=_digits(f"{where}.precision", spec.precision),
        scale=_digits(f"{where}.scale", spec.scale),
    )


def _digits(where: str, spec: Any) -> Side | None:
    """An optional digit count, one for both sides or one per side."""
    if spec is None:
        return None
    side = _side(spec if isinstance(spec, Mapping) else str(spec), Side)
    if not (side.legacy.isdigit() and side.revamp.isdigit()):
        raise MappingError(f"{where}: must be a whole number of digits")
    return side


def _field_names(where: str, spec: _Field) -> Side:
    """`name` (one for both platforms, or a pair), or `legacy` and `revamp`, both."""
    if spec.legacy is not None and spec.revamp is not None:
        return Side(spec.legacy, spec.revamp)
    if spec.name is not None and spec.legacy is None and spec.revamp is None:
        return spec.name
    raise MappingError(f"{where}: needs 'legacy' and 'revamp'")


def _unique_groups(
    where: str, spec: list[list[str]], fields: tuple[FieldMapping, ...]
) -> tuple[tuple[FieldMapping, ...], ...]:
    """Entity-level `unique: [[a, b]]`: fields named as on legacy (or by their common name)."""
    if not all(spec):
        raise MappingError(f"{where}: must be a list of lists of field names")
    by_name = {f.names.legacy: f for f in fields} | {f.names.revamp: f for f in fields}
    groups = []
    for group in spec:
        unknown = [n for n in group if n not in by_name]
        if unknown:
            raise MappingError(f"{where}: unknown field {', '.join(unknown)}")
        groups.append(tuple(by_name[n] for n in group))
    return tuple(groups)


def render_proposal(proposal: Proposal) -> str:
    """The proposal as a mapping file: one line per field, a comment on every guess."""
    lines = [
        "# Proposed by `tandem mapping scaffold` from both live catalogs. Read every comment:",
        "# each marks a guess or something left out. Then run `tandem mapping check`.",
        *[f"# {note}" for note in proposal.notes],
        f"schemas: {_flow(proposal.schemas)}",
        "entities:",
    ]
    for entity in proposal.entities:
        lines.append(f"  {entity.name}:")
        lines += [f"    # {note}" for note in entity.notes]
        lines += [f"    {key}: {_flow(value)}" for key, value in entity.spec.items()]
        lines.append("    fields:")
        for field in entity.fields:
            comment = f"  # {field.note}" if field.note else ""
            lines.append(f"      - {_flow(field.spec)}{comment}")
    return "\n".join(lines) + "\n"


def _flow(value: object) -> str:
    dumped = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6)
    return dumped.removesuffix("\n...\n").strip()
