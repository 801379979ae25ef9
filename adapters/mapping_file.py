"""Loading a schema mapping from YAML; the reference mapping ships beside this module."""

from __future__ import annotations

from pathlib import Path

import yaml

from domain.errors import ConfigurationError, MappingError
from domain.mapping import SchemaMapping
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
        return SchemaMapping.from_dict(document)
    except MappingError as error:
        raise ConfigurationError(f"SYNC_MAPPING: {source}: {error}") from error


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
