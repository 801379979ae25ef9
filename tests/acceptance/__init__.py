"""Gherkin scenarios (features/) run by pytest-bdd against a World."""

import pytest

# Steps live outside test modules: let pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.acceptance.steps", "tests.acceptance.vocabulary")
