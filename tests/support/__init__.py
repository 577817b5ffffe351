"""Helpers shared by test suites (servers the tests talk to over real HTTP)."""
