"""Scenarios of features/loop_prevention."""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("world_kind")  # memory, stack and capture

scenarios("loop_prevention")
