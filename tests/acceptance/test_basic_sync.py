"""Scenarios of features/basic_sync."""

from pytest_bdd import scenarios

scenarios("basic_sync")
