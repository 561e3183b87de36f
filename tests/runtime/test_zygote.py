"""Zygote and fresh replicas end to end: real processes, real sockets, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.runtime import FreshSpawner, ZygoteClient, ZygoteError, package_function, spawn_fresh

FUNCTION = """
    import logging, os, random, sys
    print("module loaded in", os.getpid(), flush=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")

    def handler(request):
        if request.path == "/crash":
            os._exit(1)
        if request.path == "/random":
            return str(random.random())
        if request.path == "/hang":
            import time
            time.sleep(3600)
        print("handling", request.path)
        logging.info("logged %s", request.path)
        print("to stderr", request.path, file=sys.stderr)
        return f"hello {os.environ.get('GREETING', '?')} from {os.getpid()}"
"""


def gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaped yet (PID 1 here may not reap orphans)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


async def wait_gone(*pids: int, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not all(gone(pid) for pid in pids):
        assert asyncio.get_running_loop().time() < deadline, f"still running: {[p for p in pids if not gone(p)]}"
        await asyncio.sleep(0.02)


def open_files(pid: int) -> dict[int, str]:
    return {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}


def listening_socket() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock, sock.getsockname()[1]


async def get(port: int, path: str = "/", timeout: float = 10.0) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    if not raw:
        raise ConnectionError("closed without a response")
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


class Exits:
    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.changed = asyncio.Event()

    def __call__(self, pid: int, returncode: int) -> None:
        self.seen[pid] = returncode
        self.changed.set()

    async def of(self, pid: int, timeout: float = 10.0) -> int:
        async def wait() -> int:
            while pid not in self.seen:
                self.changed.clear()
                await self.changed.wait()
            return self.seen[pid]

        return await asyncio.wait_for(wait(), timeout)


Starter = Callable[..., Awaitable[Any]]


@pytest.fixture
async def zygote(tmp_path: Path) -> AsyncIterator[Starter]:
    clients: list[Any] = []

    async def start(source: str = FUNCTION, spawner: Any = ZygoteClient, image: str | None = None,
                    env: dict[str, str] | None = None) -> tuple[Any, Exits]:
        ref = image or package_function(textwrap.dedent(source), name="fn", store=tmp_path / "store")
        client = await spawner.start(ref, store=tmp_path / "store", workdir=tmp_path / "work", env=env)
        exits = Exits()
        client.on_exit(exits)
        clients.append(client)
        return client, exits

    yield start
    for client in clients:
        await client.stop(1.0)


async def test_fork_serves_at_once_and_logs_to_the_pod_log(zygote: Starter, tmp_path: Path) -> None:
    client, _ = await zygote()
    sock, port = listening_socket()
    log = tmp_path / "pod-a.log"
    pid = await client.fork(sock, {"GREETING": "there"}, log, "pod-a")
    status, body = await get(port, "/first")  # no readiness wait: the request waits in the backlog
    assert (status, body) == (200, f"hello there from {pid}".encode())
    text = log.read_text()
    assert "handling /first\n" in text and "to stderr /first\n" in text
    assert "INFO logged /first\n" in text  # a logging handler made at import writes to the Pod log too
    assert "module loaded" not in text  # the module ran once, in the zygote
    assert "module loaded in" in (tmp_path / "work" / "zygote.log").read_text()


async def test_replica_keeps_only_stdio_and_its_socket(zygote: Starter, tmp_path: Path) -> None:
    lock_path = tmp_path / "held.lock"
    source = FUNCTION + f"\n    import fcntl\n    HELD = open({str(lock_path)!r}, 'w')\n" \
                        f"    fcntl.flock(HELD, fcntl.LOCK_EX)\n"
    client, _ = await zygote(source)
    sock, port = listening_socket()
    log = tmp_path / "pod.log"
    pid = await client.fork(sock, {}, log, "pod-b")
    await get(port)
    targets = open_files(pid)
    assert targets[0] == os.devnull and targets[1] == targets[2] == str(log)
    assert str(lock_path) not in targets.values()  # the module's file is now /dev/null in the replica
    assert f"socket:[{os.fstat(sock.fileno()).st_ino}]" in targets.values()
    # nothing else of the zygote's (its control socket, its wakeup pipe, its epoll) came along
    zygote_own = {t for t in open_files(client.pid).values() if t.startswith(("socket:", "pipe:"))}
    assert not zygote_own & set(targets.values())
    assert all(t == os.devnull or t.startswith(("socket:", "anon_inode:", "pipe:")) for fd, t in targets.items()
               if fd > 2), targets
    assert os.getpgid(pid) == os.getpgid(0)  # in the daemon's process group: a group kill reaches it
    assert os.getsid(pid) == os.getsid(0)


async def test_sigkill_is_reported_as_minus_nine(zygote: Starter, tmp_path: Path) -> None:
    client, exits = await zygote()
    sock, port = listening_socket()
    pid = await client.fork(sock, {}, tmp_path / "pod.log", "pod-c")
    await get(port)
    os.kill(pid, signal.SIGKILL)
    assert await exits.of(pid) == -signal.SIGKILL
    assert pid not in client.replicas


async def test_sigterm_drains_and_exits_zero(zygote: Starter, tmp_path: Path) -> None:
    client, exits = await zygote()
    sock, port = listening_socket()
    pid = await client.fork(sock, {}, tmp_path / "pod.log", "pod-d")
    await get(port)
    os.kill(pid, signal.SIGTERM)
    assert await exits.of(pid) == 0


async def test_crash_in_the_handler_is_reported(zygote: Starter, tmp_path: Path) -> None:
    client, exits = await zygote()
    sock, port = listening_socket()
    pid = await client.fork(sock, {}, tmp_path / "pod.log", "pod-e")
    with pytest.raises(ConnectionError):
        await get(port, "/crash")
    assert await exits.of(pid) == 1


async def test_import_error_is_a_zygote_error_with_the_traceback(zygote: Starter) -> None:
    with pytest.raises(ZygoteError) as info:
        await zygote("import os\nVALUE = undefined_name + 1\ndef handler(request):\n    return 'x'\n")
    assert "NameError" in info.value.message and "undefined_name" in info.value.message
    assert "Traceback" in info.value.log_tail and "main.py\", line 2" in info.value.log_tail


async def test_unknown_image_is_a_zygote_error(zygote: Starter, tmp_path: Path) -> None:
    with pytest.raises(ZygoteError, match="neither a function packaged"):
        await zygote(image="ghcr.io/example/not-a-sample:1")


async def test_a_sample_in_a_zygote(zygote: Starter, tmp_path: Path) -> None:
    client, _ = await zygote(image="ghcr.io/knative/helloworld-go:latest")
    sock, port = listening_socket()
    log = tmp_path / "hello.log"
    await client.fork(sock, {"TARGET": "Zygote", "PORT": str(port)}, log, "hello-1")
    assert await get(port) == (200, b"Hello Zygote!\n")
    assert f"helloworld: listening on port {port}" in log.read_text()


async def test_replicas_get_fresh_random_state(zygote: Starter, tmp_path: Path) -> None:
    client, _ = await zygote()
    values = []
    for i in range(2):
        sock, port = listening_socket()
        await client.fork(sock, {}, tmp_path / f"r{i}.log", f"r{i}")
        values.append((await get(port, "/random"))[1])
    assert values[0] != values[1]


async def test_stop_ends_every_replica_and_the_zygote(zygote: Starter, tmp_path: Path) -> None:
    client, exits = await zygote()
    pids = []
    for i in range(3):
        sock, port = listening_socket()
        pids.append(await client.fork(sock, {}, tmp_path / f"s{i}.log", f"s{i}"))
        await get(port)
    sock, port = listening_socket()
    stuck = await client.fork(sock, {}, tmp_path / "stuck.log", "stuck")
    hanging = asyncio.ensure_future(get(port, "/hang", timeout=30))
    await asyncio.sleep(0.3)
    await client.stop(grace=0.5)
    hanging.cancel()
    await wait_gone(*pids, stuck, client.pid)
    assert client.process.returncode == 0
    assert [exits.seen[p] for p in pids] == [0, 0, 0]  # drained on SIGTERM
    assert exits.seen[stuck] == -signal.SIGKILL  # still busy after the grace period


async def test_the_daemon_going_away_takes_everything_down(zygote: Starter, tmp_path: Path) -> None:
    client, _ = await zygote()
    pids = []
    for i in range(2):
        sock, port = listening_socket()
        pids.append(await client.fork(sock, {}, tmp_path / f"d{i}.log", f"d{i}"))
        await get(port)
    client._control.shutdown(socket.SHUT_RDWR)  # as if the daemon died: the zygote reads EOF
    await wait_gone(*pids, client.pid)


async def test_killing_the_zygote_kills_its_replicas(zygote: Starter, tmp_path: Path) -> None:
    client, exits = await zygote()
    sock, port = listening_socket()
    pid = await client.fork(sock, {}, tmp_path / "k.log", "k")
    await get(port)
    os.kill(client.pid, signal.SIGKILL)
    await wait_gone(pid, client.pid)
    assert await exits.of(pid) == -signal.SIGKILL
    with pytest.raises(ZygoteError):
        await client.fork(sock, {}, tmp_path / "k2.log", "k2")


async def test_fresh_spawner_has_the_same_contract(zygote: Starter, tmp_path: Path) -> None:
    client, exits = await zygote(spawner=FreshSpawner)
    sock, port = listening_socket()
    log = tmp_path / "fresh.log"
    pid = await client.fork(sock, {"GREETING": "fresh"}, log, "fresh-1")
    assert await get(port, "/x") == (200, f"hello fresh from {pid}".encode())
    assert "module loaded in" in log.read_text()  # a fresh interpreter runs the module itself
    os.kill(pid, signal.SIGKILL)
    assert await exits.of(pid) == -signal.SIGKILL
    sock2, port2 = listening_socket()
    pid2 = await client.fork(sock2, {}, tmp_path / "fresh2.log", "fresh-2")
    await get(port2)
    await client.stop(2.0)
    assert await exits.of(pid2) == 0
    await wait_gone(pid, pid2)


async def test_spawn_fresh_rejects_unknown_images(tmp_path: Path) -> None:
    with pytest.raises(ZygoteError):
        await spawn_fresh("example.com/nothing", store=tmp_path, workdir=tmp_path / "w")
