"""Step definitions of the Gherkin scenarios, imported by the acceptance conftest."""
