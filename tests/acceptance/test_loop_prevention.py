"""Scenarios of features/loop_prevention."""

from pytest_bdd import scenarios

scenarios("loop_prevention")
