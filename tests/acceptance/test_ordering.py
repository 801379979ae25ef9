"""Scenarios of features/ordering."""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("world_kind")  # memory, stack, capture and debezium

scenarios("ordering")
