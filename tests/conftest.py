"""Shared fixtures: each family lives in its own module under tests/fixtures/."""

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.smtp", "tests.fixtures.runtime"]
