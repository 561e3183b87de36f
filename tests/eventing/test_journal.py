"""The SQLite queue: one commit per loop tick, reference-counted event rows, what a reopen sees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jupyter_knative.eventing.queue import PHASE_DLS, PHASE_REPLY, Journal


def counts(journal: Journal) -> tuple[int, int]:
    db = journal.db
    return (db.execute("SELECT count(*) FROM events").fetchone()[0],
            db.execute("SELECT count(*) FROM deliveries").fetchone()[0])


async def test_writes_of_one_tick_share_one_commit(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "q.db")
    for i in range(10):
        event = journal.add_event(b"\x00{}", [("x-request-id", str(i))])
        journal.add_delivery(event, "ns/ch", "sub")
    done = journal.committed()
    assert not done.done()
    await done
    assert journal.commits == 1
    await journal.committed()  # nothing pending: resolved at once
    assert journal.commits == 1
    journal.close()


async def test_uncommitted_writes_are_lost_on_close_and_committed_ones_reload(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    journal = Journal(path)
    event = journal.add_event(b"\x00{\"id\":\"a\"}", [("x-request-id", "r")])
    first = journal.add_delivery(event, "ns/ch", "s1")
    journal.add_delivery(event, "ns/ch", "s2")
    await journal.committed()
    journal.add_event(b"\x00{}", None)  # never committed
    journal.close()

    again = Journal(path)
    rows = again.load()
    assert [(r.id, r.channel, r.subscriber, r.headers) for r in rows] == [
        (first, "ns/ch", "s1", [("x-request-id", "r")]), (first + 1, "ns/ch", "s2", [("x-request-id", "r")])]
    assert rows[0].event_blob == b"\x00{\"id\":\"a\"}"
    assert again.refs == {event: 2}
    again.close()


async def test_event_row_goes_with_its_last_delivery(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "q.db")
    event = journal.add_event(b"\x00{}", None)
    a = journal.add_delivery(event, "ns/ch", "a")
    b = journal.add_delivery(event, "ns/ch", "b")
    reply = journal.to_reply(a, b"\x00{\"id\":\"r\"}", None)
    journal.retry_later(a, 2, 123.5)
    await journal.committed()
    assert counts(journal) == (2, 2)
    journal.to_dead_letter(a, reply, {"ext": {"knativeerrorcode": 500}, "dest": "d", "error": "e"})
    await journal.committed()
    assert counts(journal) == (1, 2)  # the reply is gone, the original stays for the DLS hop
    journal.finish(a, event, None)
    await journal.committed()
    assert counts(journal) == (1, 1)
    journal.finish(b, event, None)
    await journal.committed()
    assert counts(journal) == (0, 0)
    journal.close()


async def test_reload_keeps_phase_attempt_reply_and_errinfo(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    journal = Journal(path)
    event = journal.add_event(b"\x00{}", None)
    a = journal.add_delivery(event, "ns/ch", "a")
    b = journal.add_delivery(event, "ns/ch", "b")
    journal.to_reply(a, b"\x00{\"id\":\"r\"}", None)
    journal.retry_later(a, 3, 99.0)
    journal.to_dead_letter(b, None, {"ext": {"knativeerrordest": "http://x"}, "dest": "http://x", "error": "e"})
    orphan = journal.add_event(b"\x00{}", None)
    await journal.committed()
    journal.close()

    again = Journal(path)
    ra, rb = again.load()
    assert (ra.phase, ra.attempt, ra.not_before, ra.reply_blob) == (PHASE_REPLY, 3, 99.0, b"\x00{\"id\":\"r\"}")
    assert (rb.phase, rb.errinfo) == (PHASE_DLS, {"ext": {"knativeerrordest": "http://x"}, "dest": "http://x",
                                                  "error": "e"})
    assert again.db.execute("SELECT count(*) FROM events WHERE id = ?", (orphan,)).fetchone()[0] == 0
    again.close()


async def test_closed_journal_fails_waiters(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "q.db")
    journal.add_event(b"\x00{}", None)
    waiter = journal.committed()
    journal.close()
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(waiter, 1)
