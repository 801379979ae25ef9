"""Loading a schema mapping from YAML; the reference mapping ships beside this module."""

from __future__ import annotations

from pathlib import Path

import yaml

from domain.errors import ConfigurationError, MappingError
from domain.mapping import SchemaMapping

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
