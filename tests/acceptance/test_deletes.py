"""Scenarios of features/deletes."""

from pytest_bdd import scenarios

scenarios("deletes")
