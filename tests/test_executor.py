"""The engine pool: the most urgent queued job first, priorities read when a job is picked."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from voicebot.executor import EnginePool, Priority


async def _blocked(pool: EnginePool) -> tuple[threading.Event, asyncio.Task[None]]:
    """The pool's only thread held until the event is set."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(5)

    task = asyncio.create_task(pool.run(hold))
    while not started.is_set():
        await asyncio.sleep(0.001)
    return release, task


def fixed(priority: Priority) -> Callable[[], Priority]:
    return lambda: priority


async def test_a_free_thread_takes_the_most_urgent_job_then_the_oldest() -> None:
    pool = EnginePool("test", 1)
    done: list[str] = []
    try:
        release, holding = await _blocked(pool)
        jobs = [
            asyncio.create_task(pool.run_as(fixed(priority), done.append, name))
            for name, priority in (
                ("warm", Priority.BACKGROUND),
                ("stream-1", Priority.NORMAL),
                ("stream-2", Priority.NORMAL),
                ("final", Priority.URGENT),
            )
        ]
        await asyncio.sleep(0.01)  # all four queued behind the held thread
        assert pool.pending == 5 and pool.queued == 4
        release.set()
        await asyncio.gather(holding, *jobs)
    finally:
        pool.shutdown()
    assert done == ["final", "stream-1", "stream-2", "warm"]
    assert pool.pending == 0


async def test_a_job_made_urgent_while_queued_passes_ahead() -> None:
    pool = EnginePool("test", 1)
    done: list[str] = []
    urgency = {"late": Priority.NORMAL}
    try:
        release, holding = await _blocked(pool)
        first = asyncio.create_task(pool.run(done.append, "other"))
        await asyncio.sleep(0.005)
        late = asyncio.create_task(pool.run_as(lambda: urgency["late"], done.append, "late"))
        await asyncio.sleep(0.005)
        urgency["late"] = Priority.URGENT  # its call's turn ended meanwhile
        release.set()
        await asyncio.gather(holding, first, late)
    finally:
        pool.shutdown()
    assert done == ["late", "other"]


async def test_errors_reach_the_caller_and_the_pool_goes_on() -> None:
    pool = EnginePool("test", 2)

    def fail() -> None:
        raise ValueError("bad frame")

    try:
        with pytest.raises(ValueError, match="bad frame"):
            await pool.run(fail)
        assert await pool.run(sum, [1, 2, 3]) == 6
    finally:
        pool.shutdown()


async def test_a_cancelled_wait_drops_its_queued_job_and_shutdown_cancels_the_rest() -> None:
    pool = EnginePool("test", 1)
    done: list[str] = []
    release, holding = await _blocked(pool)
    dropped = asyncio.create_task(pool.run(done.append, "dropped"))
    await asyncio.sleep(0.005)
    dropped.cancel()
    release.set()
    await holding
    await pool.run(done.append, "next")
    assert done == ["next"]
    pool.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        await pool.run(done.append, "late")
