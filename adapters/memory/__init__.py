"""In-memory adapters of every port: for unit tests, the fast Gherkin suite and the demo."""
