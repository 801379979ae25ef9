"""Scenarios of features/idempotency."""

from pytest_bdd import scenarios

scenarios("idempotency")
