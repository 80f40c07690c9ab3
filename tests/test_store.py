"""The progress database: WAL, schema versions and migrations, clear failures, profiles."""

from __future__ import annotations

import sqlite3

import pytest

from grader import paths
from grader.store import migrations
from grader.store.db import SCHEMA_VERSION, StoreError, open_store


def test_wal_mode_and_schema_version(store):
    assert store.one("PRAGMA journal_mode")[0] == "wal"
    assert store.one("PRAGMA user_version")[0] == SCHEMA_VERSION == len(migrations.MIGRATIONS)
    assert store.one("PRAGMA foreign_keys")[0] == 1
    tables = {r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"learners", "attempts", "attempt_items", "attempt_events"} <= tables


def test_the_default_database_lives_under_certlab_home(isolated_home):
    with open_store() as db:
        assert db.path == isolated_home / "data" / "certlab.db"
    assert paths.database_path().is_file()


def test_reopening_does_not_migrate_again(tmp_path, monkeypatch):
    path = tmp_path / "db.sqlite"
    calls: list[int] = []

    def counting(step, n):
        def run(conn):
            calls.append(n)
            step(conn)

        return run

    steps = [counting(step, n) for n, step in enumerate(migrations.MIGRATIONS, 1)]
    monkeypatch.setattr("grader.store.db.MIGRATIONS", steps)
    with open_store(path) as db:
        db.learner_id("ada")
    assert calls == list(range(1, SCHEMA_VERSION + 1))
    with open_store(path) as db:
        assert db.learners() == ["ada"]  # data kept: the tables were not recreated
        assert db.one("PRAGMA user_version")[0] == SCHEMA_VERSION
    assert calls == list(range(1, SCHEMA_VERSION + 1))


def test_a_database_from_a_newer_certlab_is_refused_clearly(tmp_path):
    path = tmp_path / "db.sqlite"
    open_store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    for readonly in (False, True):
        with pytest.raises(StoreError) as info:
            open_store(path, readonly=readonly)
        message = str(info.value)
        assert f"schema version {SCHEMA_VERSION + 1}" in message
        assert "upgrade certlab" in message


def test_a_file_that_is_not_a_database_gives_a_store_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    for readonly in (False, True):
        with pytest.raises(StoreError) as info:
            open_store(path, readonly=readonly)
        assert str(path) in str(info.value)
    assert path.read_text().startswith("these are my notes")  # and it was left alone


def test_readonly_open_of_a_missing_database(tmp_path):
    path = tmp_path / "missing" / "certlab.db"
    with pytest.raises(StoreError, match="no progress database yet"):
        open_store(path, readonly=True)
    assert not path.exists()
    assert not path.parent.exists()


def test_readonly_store_can_read_but_not_write(tmp_path):
    path = tmp_path / "db.sqlite"
    with open_store(path) as db:
        db.learner_id("ada")
    with open_store(path, readonly=True) as ro:
        assert ro.learners() == ["ada"]
        with pytest.raises(sqlite3.OperationalError):
            ro.learner_id("grace")


def test_several_learner_profiles_share_one_database(store):
    ada = store.learner_id("ada")
    grace = store.learner_id("grace")
    assert ada != grace
    assert store.learner_id("ada") == ada  # created once, found afterwards
    assert store.learners() == ["ada", "grace"]


def test_a_failed_write_rolls_back(store):
    with pytest.raises(sqlite3.IntegrityError), store.conn as conn:
        conn.execute("INSERT INTO learners (name, created_at) VALUES ('x', 1)")
        conn.execute("INSERT INTO learners (name, created_at) VALUES ('x', 2)")
    assert store.learners() == []
