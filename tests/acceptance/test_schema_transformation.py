"""Scenarios of features/schema_transformation."""

from pytest_bdd import scenarios

scenarios("schema_transformation")
