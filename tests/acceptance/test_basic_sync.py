"""Scenarios of features/basic_sync."""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("world_kind")  # memory, stack, capture and debezium

scenarios("basic_sync")
