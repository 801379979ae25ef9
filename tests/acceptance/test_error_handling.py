"""Scenarios of features/error_handling."""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("world_kind")  # memory, stack and capture

scenarios("error_handling")
