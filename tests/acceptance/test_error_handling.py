"""Scenarios of features/error_handling."""

from pytest_bdd import scenarios

scenarios("error_handling")
