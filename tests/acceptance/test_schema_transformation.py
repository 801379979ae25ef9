"""Scenarios of features/schema_transformation."""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("world_kind")  # memory, stack, capture and debezium

scenarios("schema_transformation")
