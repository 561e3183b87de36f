"""The durable part of delivery: events and their pending deliveries in one SQLite file.

One connection, used only from the event loop thread (the one writer). Writes go into a transaction
opened on the first write and committed once the callbacks that are ready now have run
(`loop.call_soon`), so everything one tick does commits together: an accepted event with all its
delivery rows, and a finished delivery with the reply it produced. `committed()` gives a future
that resolves after the commit that holds the writes made so far; ingress answers 202 only then.

WAL with `synchronous=NORMAL`: a commit survives the process being killed (only an OS crash can lose
the last commits). Tables:

- `events(id, blob, headers)`: the event in `cloudevent.to_bytes` form and the pass-through headers of
  the request that brought it (JSON list of pairs, or NULL);
- `deliveries(id, event_id, channel, subscriber, phase, attempt, not_before, reply_id, errinfo)`:
  one row per (event, channel subscriber) until that delivery finishes. `phase` says which hop is
  pending (subscriber, reply or dead letter sink), `attempt` how many attempts of it failed,
  `not_before` (wall-clock seconds) when the next may start, `reply_id` the reply event (a row in
  `events`) while the reply hop is pending, `errinfo` the dead-letter extensions (JSON) while the DLS
  hop is pending.

An event row lives as long as some delivery row refers to it (reference counts are kept in memory and
rebuilt on open).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PHASE_DLS", "PHASE_REPLY", "PHASE_SUBSCRIBER", "Journal", "StoredDelivery"]

log = logging.getLogger(__name__)

PHASE_SUBSCRIBER = 0
PHASE_REPLY = 1
PHASE_DLS = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    blob BLOB NOT NULL,
    headers TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    subscriber TEXT NOT NULL,
    phase INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    reply_id INTEGER,
    errinfo TEXT
);
"""


@dataclass(slots=True)
class StoredDelivery:
    """A pending delivery row as read back on start-up."""

    id: int
    event_id: int
    event_blob: bytes
    headers: list[tuple[str, str]]
    channel: str
    subscriber: str
    phase: int
    attempt: int
    not_before: float
    reply_id: int | None
    reply_blob: bytes | None
    errinfo: dict[str, Any] | None


class Journal:
    """The SQLite queue. Every method runs on the event loop thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.refs: dict[int, int] = {}
        self.in_tx = False
        self.waiters: list[asyncio.Future[None]] = []
        self.commits = 0
        self.closed = False

    # reading back

    def load(self) -> list[StoredDelivery]:
        """Every pending delivery, in arrival order, and rebuild the reference counts."""
        events: dict[int, tuple[bytes, list[tuple[str, str]]]] = {}
        for event_id, blob, headers in self.db.execute("SELECT id, blob, headers FROM events"):
            events[event_id] = (bytes(blob), _headers(headers))
        out: list[StoredDelivery] = []
        refs: dict[int, int] = {}
        rows = self.db.execute("SELECT id, event_id, channel, subscriber, phase, attempt, not_before, reply_id, "
                               "errinfo FROM deliveries ORDER BY id")
        for row_id, event_id, channel, subscriber, phase, attempt, not_before, reply_id, errinfo in rows:
            event = events.get(event_id)
            if event is None:
                continue
            reply = events.get(reply_id) if reply_id is not None else None
            refs[event_id] = refs.get(event_id, 0) + 1
            if reply_id is not None and reply is not None:
                refs[reply_id] = refs.get(reply_id, 0) + 1
            out.append(StoredDelivery(row_id, event_id, event[0], event[1], channel, subscriber, phase, attempt,
                                      not_before, reply_id if reply is not None else None,
                                      reply[0] if reply is not None else None,
                                      json.loads(errinfo) if errinfo else None))
        self.refs = refs
        orphans = [(event_id,) for event_id in events if event_id not in refs]
        if orphans:
            self._begin()
            self.db.executemany("DELETE FROM events WHERE id = ?", orphans)
            self._commit()
        return out

    # writing (inside the tick's transaction)

    def add_event(self, blob: bytes, headers: list[tuple[str, str]] | None) -> int:
        self._begin()
        cur = self.db.execute("INSERT INTO events (blob, headers) VALUES (?, ?)",
                              (blob, json.dumps(headers) if headers else None))
        event_id = cur.lastrowid
        assert event_id is not None
        self.refs[event_id] = 0
        return event_id

    def add_delivery(self, event_id: int, channel: str, subscriber: str) -> int:
        self._begin()
        cur = self.db.execute("INSERT INTO deliveries (event_id, channel, subscriber) VALUES (?, ?, ?)",
                              (event_id, channel, subscriber))
        self.refs[event_id] += 1
        row_id = cur.lastrowid
        assert row_id is not None
        return row_id

    def drop_unreferenced(self, event_id: int) -> None:
        """Forget an event that got no delivery row."""
        if self.refs.get(event_id) == 0:
            del self.refs[event_id]
            self._begin()
            self.db.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def retry_later(self, row_id: int, attempt: int, not_before: float) -> None:
        self._begin()
        self.db.execute("UPDATE deliveries SET attempt = ?, not_before = ? WHERE id = ?", (attempt, not_before, row_id))

    def to_reply(self, row_id: int, reply_blob: bytes, headers: list[tuple[str, str]] | None) -> int:
        """The subscriber answered with an event: keep it and make the reply hop the pending one."""
        reply_id = self.add_event(reply_blob, headers)
        self.refs[reply_id] += 1
        self.db.execute("UPDATE deliveries SET phase = ?, attempt = 0, not_before = 0, reply_id = ? WHERE id = ?",
                        (PHASE_REPLY, reply_id, row_id))
        return reply_id

    def to_dead_letter(self, row_id: int, reply_id: int | None, errinfo: dict[str, Any]) -> None:
        self._begin()
        self.db.execute("UPDATE deliveries SET phase = ?, attempt = 0, not_before = 0, reply_id = NULL, errinfo = ? "
                        "WHERE id = ?", (PHASE_DLS, json.dumps(errinfo), row_id))
        if reply_id is not None:
            self._unref(reply_id)

    def finish(self, row_id: int, event_id: int, reply_id: int | None) -> None:
        """The delivery is over (delivered, dead-lettered or given up): drop its row."""
        self._begin()
        self.db.execute("DELETE FROM deliveries WHERE id = ?", (row_id,))
        self._unref(event_id)
        if reply_id is not None:
            self._unref(reply_id)

    def committed(self) -> asyncio.Future[None]:
        """A future resolved once everything written so far is committed."""
        fut = asyncio.get_running_loop().create_future()
        if not self.in_tx:
            fut.set_result(None)
        else:
            self.waiters.append(fut)
        return fut

    def flush(self) -> None:
        """Commit now."""
        if self.in_tx:
            self._commit()

    def close(self) -> None:
        """Close without committing the open transaction (what a crash leaves is what a restart sees;
        `stop()` flushes first)."""
        if self.closed:
            return
        self.closed = True
        if self.in_tx:
            self.db.execute("ROLLBACK")
            self.in_tx = False
        for fut in self.waiters:
            if not fut.done():
                fut.set_exception(ConnectionError("the event journal was closed"))
        self.waiters.clear()
        self.db.close()

    # internals

    def _unref(self, event_id: int) -> None:
        count = self.refs.get(event_id, 0) - 1
        if count <= 0:
            self.refs.pop(event_id, None)
            self.db.execute("DELETE FROM events WHERE id = ?", (event_id,))
        else:
            self.refs[event_id] = count

    def _begin(self) -> None:
        if self.closed:
            raise ConnectionError("the event journal is closed")
        if not self.in_tx:
            self.db.execute("BEGIN")
            self.in_tx = True
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (start-up housekeeping): the caller commits
            loop.call_soon(self._commit)

    def _commit(self) -> None:
        if not self.in_tx or self.closed:
            return
        waiters, self.waiters = self.waiters, []
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:  # disk full, I/O error: nothing of this tick was accepted
            log.error("event journal commit failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            self.in_tx = False
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(ConnectionError(f"event journal commit failed: {exc}"))
            return
        self.in_tx = False
        self.commits += 1
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


def _headers(raw: str | None) -> list[tuple[str, str]]:
    if not raw:
        return []
    return [(str(k), str(v)) for k, v in json.loads(raw)]
