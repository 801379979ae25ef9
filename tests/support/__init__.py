"""Builders shared by the test suites: messages, catalogs, rows."""
