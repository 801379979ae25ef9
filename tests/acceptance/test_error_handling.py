"""Scenarios of features/error_handling."""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("world_kind")  # memory, stack, capture and debezium

scenarios("error_handling")
