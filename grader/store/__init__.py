"""The progress store: one SQLite database (WAL mode, versioned schema with migrations)."""

from grader.store.db import SCHEMA_VERSION, Store, open_store

__all__ = ["SCHEMA_VERSION", "Store", "open_store"]
