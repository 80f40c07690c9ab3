"""Opening the database: WAL mode, a busy timeout, and migrations up to the current version."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import paths
from grader.store.migrations import MIGRATIONS

SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database cannot be used (newer schema, not a database, read-only and missing)."""


@dataclass
class Store:
    """A connection to the progress database and the helpers every table module uses."""

    conn: sqlite3.Connection
    path: Path

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        """The first row of a query, or None."""
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Every row of a query."""
        return self.conn.execute(sql, params).fetchall()

    def learner_id(self, name: str) -> int:
        """The id of the learner profile ``name``, creating the profile on first use."""
        row = self.one("SELECT id FROM learners WHERE name = ?", name)
        if row:
            return int(row["id"])
        with self.conn:
            self.conn.execute(
                "INSERT OR IGNORE INTO learners (name, created_at) VALUES (?, ?)",
                (name, time.time()),
            )
        row = self.one("SELECT id FROM learners WHERE name = ?", name)
        assert row is not None
        return int(row["id"])

    def learners(self) -> list[str]:
        """Every learner profile's name."""
        return [r["name"] for r in self.all("SELECT name FROM learners ORDER BY name")]


def open_store(path: Path | None = None, *, readonly: bool = False) -> Store:
    """Open (creating and migrating when needed) the database at ``path``.

    Readers that only look open it read-only, so they never take a write lock or migrate.
    """
    path = path or paths.database_path()
    try:
        if readonly:
            if not path.exists():
                raise StoreError(f"no progress database yet at {path}")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we open transactions ourselves with BEGIN IMMEDIATE, so a
            # writer takes its lock up front and waits on busy_timeout instead of failing.
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            _migrate(conn)
        else:
            _check_version(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot use the progress database at {path}: {exc}") from exc
    return Store(_Tx(conn), path)  # type: ignore[arg-type]


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL once; many processes opening a new database at once may race for it.

    Changing the journal mode needs an exclusive lock that SQLite's busy timeout does not
    wait for, so a loser retries briefly; once any process has switched, the mode persists in
    the file and nobody needs the lock again.
    """
    for attempt in range(50):
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.02 * (attempt + 1))


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _check_version(conn: sqlite3.Connection) -> None:
    version = _user_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {version}; this certlab knows up to "
            f"{SCHEMA_VERSION}: upgrade certlab"
        )


def _migrate(conn: sqlite3.Connection) -> None:
    _check_version(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _user_version(conn)  # re-read under the lock: another process may have won
        for step in MIGRATIONS[version:]:
            step(conn)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class _Tx:
    """A connection whose ``with`` block is one ``BEGIN IMMEDIATE`` transaction.

    Python's sqlite3 in autocommit mode has no transaction for ``with conn:``; this wrapper
    gives every write a real, immediately locked transaction, committed or rolled back.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")
