"""SQLite (WAL) persistence: the embedded plane's etcd.

One row per object, keyed by (type key, namespace, name), plus the global resourceVersion. Every write
is its own committed transaction before the API acknowledges it; with WAL and `synchronous=NORMAL` a
committed transaction survives the daemon being killed (it is in the OS's hands, not the process's).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    type TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (type, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Persistence:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def load(self) -> tuple[int, Iterator[tuple[str, str, str, bytes]]]:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'rv'").fetchone()
        rows = self._db.execute("SELECT type, namespace, name, data FROM objects")
        return (row[0] if row else 0), iter(rows)

    def put(self, type_key: str, namespace: str, name: str, data: bytes, rv: int) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)", (type_key, namespace, name, data))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (rv,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def remove(self, type_key: str, namespace: str, name: str, rv: int) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("DELETE FROM objects WHERE type = ? AND namespace = ? AND name = ?",
                       (type_key, namespace, name))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (rv,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
