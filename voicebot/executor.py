"""A sized pool of threads for CPU-heavy engine work, awaited from the event loop.

Vosk and onnxruntime release the GIL while they compute, so threads give real
parallelism; the size bounds how many calls decode at once, and the queue
depth tells when the machine is saturated.

Jobs do not all wait alike. A caller who stopped speaking waits for their
transcript; another caller's streaming decode can wait a moment; warming a
recogniser for a future call can wait for both. A free thread takes the queued
job of highest priority (the oldest among equals), and a job's priority is read
when a thread looks for work, so a stream that becomes urgent (its turn ended)
passes ahead with the jobs it already queued.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import IntEnum
from itertools import count
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Priority(IntEnum):
    BACKGROUND = 0
    """Work for no call yet (warming a recogniser)."""
    NORMAL = 1
    """A call's streaming work."""
    URGENT = 2
    """A caller waits on it now (the transcript of a turn that ended)."""


@dataclass(slots=True)
class _Job:
    order: int
    work: Callable[[], Any]
    priority: Callable[[], Priority]
    future: Future[Any]


def _fixed(priority: Priority) -> Callable[[], Priority]:
    return lambda: priority


class EnginePool:
    """Runs blocking engine calls off the event loop, at most ``max_workers`` at a time,
    the most urgent queued job first."""

    def __init__(self, name: str, max_workers: int) -> None:
        self.name = name
        self.max_workers = max_workers
        self._jobs: list[_Job] = []
        self._ready = threading.Condition()
        self._order = count()
        self._closed = False
        self._submitted = 0
        self._finished = 0
        self._cpu_s = 0.0
        self._cpu_lock = threading.Lock()
        self.audio_s = 0.0
        """Seconds of audio its jobs were given (counted by the recognisers that decode)."""
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
            for i in range(max_workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pending(self) -> int:
        """Jobs submitted and not finished: running plus queued."""
        return self._submitted - self._finished

    @property
    def cpu_s(self) -> float:
        """CPU time its threads spent on jobs, in seconds, since it started."""
        return self._cpu_s

    @property
    def queued(self) -> int:
        return max(0, self.pending - self.max_workers)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` in the pool at :attr:`Priority.NORMAL`."""
        return await self.run_as(_fixed(Priority.NORMAL), fn, *args, **kwargs)

    async def run_as(
        self,
        priority: Callable[[], Priority],
        fn: Callable[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn`` in the pool; ``priority`` is asked each time a thread picks a job."""
        future: Future[T] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError(f"the {self.name} pool is shut down")
            self._jobs.append(
                _Job(next(self._order), functools.partial(fn, *args, **kwargs), priority, future)
            )
            self._submitted += 1
            self._ready.notify()
        try:
            # Cancelling the await cancels a job still queued (a running one finishes).
            return await asyncio.wrap_future(future)
        finally:
            self._finished += 1

    def _take(self) -> _Job | None:
        with self._ready:
            while not self._jobs and not self._closed:
                self._ready.wait()
            if not self._jobs:
                return None
            job = max(self._jobs, key=lambda j: (j.priority(), -j.order))
            self._jobs.remove(job)
            return job

    def _work(self) -> None:
        while (job := self._take()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue
            started = time.thread_time()
            try:
                job.future.set_result(job.work())
            except BaseException as exc:  # handed to the awaiting coroutine
                job.future.set_exception(exc)
            finally:
                with self._cpu_lock:
                    self._cpu_s += time.thread_time() - started

    def shutdown(self) -> None:
        """Queued jobs are cancelled; running ones finish; the threads end."""
        with self._ready:
            self._closed = True
            for job in self._jobs:
                job.future.cancel()
            self._jobs.clear()
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()
