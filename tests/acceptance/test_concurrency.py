"""Scenarios of features/concurrency."""

from pytest_bdd import scenarios

scenarios("concurrency")
