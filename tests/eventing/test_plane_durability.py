"""At-least-once across restarts: what was answered 202 is delivered by the next plane on the same file."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from jupyter_knative.eventing.plane import EventingPlane

from .plane_helpers import (
    BrokerWiring,
    Request,
    Subscriber,
    ce_headers,
    channel_obj,
    eventually,
    post,
    subscriber_entry,
)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rows(plane: EventingPlane) -> tuple[int, int]:
    plane.journal.flush()
    db = plane.journal.db
    return db.execute("SELECT count(*) FROM deliveries").fetchone()[0], db.execute(
        "SELECT count(*) FROM events").fetchone()[0]


async def test_pending_deliveries_survive_a_stop(tmp_path: Path) -> None:
    db = tmp_path / "eventing.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    delivery = {"retry": 20, "backoffPolicy": "linear", "backoffDelay": "PT0.2S"}
    first = EventingPlane(db)
    await first.start()
    BrokerWiring(first).add_trigger("t1", url, delivery=delivery, uid="u1")
    for i in range(20):
        assert (await post(first.port, "/ns1/default", headers=ce_headers(str(i)))).status == 202
    assert first.pending() == 20
    await first.stop()

    second = EventingPlane(db)
    BrokerWiring(second).add_trigger("t1", url, delivery=delivery, uid="u1")
    async with Subscriber(port=port) as sub:  # the subscriber comes up on the port the trigger names
        await second.start()
        try:
            await sub.wait_for(20)
            await eventually(lambda: second.pending() == 0)
            assert sorted(int(r.ce("id") or "-1") for r in sub.requests) == list(range(20))
            assert rows(second) == (0, 0)
        finally:
            await second.stop()


async def test_in_flight_delivery_is_redone_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "eventing.db"
    hang = asyncio.Event()

    async def stuck(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        await hang.wait()
        return 200, [], b""

    async with Subscriber(stuck) as slow, Subscriber() as fast:
        first = EventingPlane(db, shutdown_grace=0.1)
        await first.start()
        first.set_channel("ns1", "ch", channel_obj("ns1", "ch", [subscriber_entry("s", slow.url)],
                                                   async_handler=True))
        resp = await post(first.port, "/", host="ch-kn-channel.ns1.svc.cluster.local", headers=ce_headers("x"))
        assert resp.status == 202
        await slow.wait_for(1)
        await first.stop()  # the delivery was in flight: not finished
        hang.set()

        second = EventingPlane(db)
        second.set_channel("ns1", "ch", channel_obj("ns1", "ch", [subscriber_entry("s", fast.url)],
                                                    async_handler=True))
        await second.start()
        try:
            (request,) = await fast.wait_for(1)
            assert request.ce("id") == "x"
            await eventually(lambda: second.pending() == 0)
        finally:
            await second.stop()


async def test_pending_reply_hop_resumes_without_calling_the_subscriber_again(tmp_path: Path) -> None:
    db = tmp_path / "eventing.db"

    def reply(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return 200, [(b"ce-specversion", b"1.0"), (b"ce-id", b"the-reply"), (b"ce-type", b"r"),
                     (b"ce-source", b"/s")], b"payload"

    def down(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return 503, [], b""

    delivery = {"retry": 5, "backoffPolicy": "linear", "backoffDelay": "PT0.3S"}
    async with Subscriber(reply) as sub, Subscriber(down) as sink:
        channel = channel_obj("ns1", "ch", [subscriber_entry("s", sub.url, reply=sink.url, delivery=delivery)],
                              async_handler=True)
        first = EventingPlane(db)
        first.set_channel("ns1", "ch", channel)
        await first.start()
        assert (await post(first.port, "/ns1/ch", host="imc-dispatcher.knative-eventing.svc",
                           headers=ce_headers("q"))).status == 202
        await sink.wait_for(2)
        await first.stop()
        assert len(sub.requests) == 1

        sink.behaviour = None  # the reply sink is back
        second = EventingPlane(db)
        second.set_channel("ns1", "ch", channel)
        await second.start()
        try:
            await sink.wait_for(3)
            await eventually(lambda: second.pending() == 0)
            assert sink.requests[-1].ce("id") == "the-reply"
            assert sink.requests[-1].body == b"payload"
            assert len(sub.requests) == 1
            assert rows(second) == (0, 0)
        finally:
            await second.stop()


PLANE_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from jupyter_knative.eventing.plane import EventingPlane
    from tests.eventing.plane_helpers import BrokerWiring

    async def main() -> None:
        plane = EventingPlane(Path(sys.argv[1]))
        BrokerWiring(plane).add_trigger("t1", sys.argv[2], uid="u1",
                                        delivery={"retry": 50, "backoffPolicy": "linear", "backoffDelay": "PT0.5S"})
        await plane.start()
        print(plane.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")


async def test_accepted_events_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "eventing.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    script = tmp_path / "plane.py"
    script.write_text(PLANE_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(db), url], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        plane_port = int(line)
        accepted = []
        for i in range(50):
            if (await post(plane_port, "/ns1/default", headers=ce_headers(str(i)))).status == 202:
                accepted.append(i)
        assert len(accepted) == 50
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    second = EventingPlane(db)
    BrokerWiring(second).add_trigger("t1", url, uid="u1", delivery={"retry": 50, "backoffPolicy": "linear",
                                                                     "backoffDelay": "PT0.5S"})
    async with Subscriber(port=port) as sub:
        await second.start()
        try:
            await sub.wait_for(50)
            await eventually(lambda: second.pending() == 0)
            assert sorted({int(r.ce("id") or "-1") for r in sub.requests}) == accepted
        finally:
            await second.stop()
