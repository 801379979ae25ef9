"""Scenarios of features/ordering."""

from pytest_bdd import scenarios

scenarios("ordering")
