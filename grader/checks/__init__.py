"""Checks: the assertion engine and the sources that feed it documents."""
