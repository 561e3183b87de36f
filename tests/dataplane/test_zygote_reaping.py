"""Idle zygotes are stopped: a zygote whose replicas are all gone for `idle_seconds` goes (real processes, a
built-in sample image, an injected clock); one in use, or idle for less, stays; the image starts again after."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from pathlib import Path

from jupyter_knative.dataplane.replicas import ContainerSpec, PodRef, ZygoteRuntime

HELLO = "ghcr.io/knative/helloworld-go"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def get(port: int) -> str:
    def fetch() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            return str(r.read().decode())
    return await asyncio.to_thread(fetch)


def spec(target: str) -> ContainerSpec:
    return ContainerSpec("user-container", HELLO, {"TARGET": target}, 0)


async def test_idle_zygotes_are_stopped_and_come_back(tmp_path: Path) -> None:
    clock = Clock()
    runtime = ZygoteRuntime(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", workdir=tmp_path / "run",
                            idle_seconds=600, clock=clock)
    try:
        a, b = PodRef("ns", "a-1", "u1"), PodRef("ns", "b-1", "u2")
        started_a = await runtime.start(a, spec("A"))
        started_b = await runtime.start(b, spec("B"))
        assert await get(started_a.port) == "Hello A!\n"
        zygote_a = runtime._zygotes[runtime._key(spec("A"))]
        zygote_b = runtime._zygotes[runtime._key(spec("B"))]
        assert await runtime.reap() == []  # both in use

        await runtime.stop(a, 5.0)
        clock.now += 599
        assert await runtime.reap() == []  # idle, not long enough
        clock.now += 1
        assert await runtime.reap() == [runtime._key(spec("A"))]
        await asyncio.wait_for(zygote_a._stopped.wait(), 10)
        assert not alive(zygote_a.pid) and alive(zygote_b.pid)  # B still has its replica
        assert await get(started_b.port) == "Hello B!\n"

        again = await runtime.start(PodRef("ns", "a-2", "u3"), spec("A"))  # a cold start: a new zygote
        assert runtime._zygotes[runtime._key(spec("A"))].pid != zygote_a.pid
        assert await get(again.port) == "Hello A!\n"
        clock.now += 10_000
        assert await runtime.reap() == []  # in use again: never reaped while it has a replica
    finally:
        await runtime.close(1.0)


async def test_a_replica_that_ends_by_itself_makes_its_zygote_idle(tmp_path: Path) -> None:
    clock = Clock()
    runtime = ZygoteRuntime(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", workdir=tmp_path / "run",
                            idle_seconds=60, clock=clock)
    ended: list[int] = []
    runtime.on_exit(lambda pod, code, message: ended.append(code))
    try:
        started = await runtime.start(PodRef("ns", "c-1", "u1"), spec("C"))
        os.kill(started.pid, 9)
        for _ in range(200):
            if ended:
                break
            await asyncio.sleep(0.05)
        assert ended == [-9]
        clock.now += 60
        assert await runtime.reap() == [runtime._key(spec("C"))]
    finally:
        await runtime.close(1.0)
