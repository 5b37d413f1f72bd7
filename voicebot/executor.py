"""A sized thread pool for CPU-heavy engine work, awaited from the event loop.

Vosk and onnxruntime release the GIL while they compute, so threads give real
parallelism; the size bounds how many calls decode at once, and the queue
depth tells when the machine is saturated.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class EnginePool:
    """Runs blocking engine calls off the event loop, at most ``max_workers`` at a time."""

    def __init__(self, name: str, max_workers: int) -> None:
        self.name = name
        self.max_workers = max_workers
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._submitted = 0
        self._finished = 0

    @property
    def pending(self) -> int:
        """Jobs submitted and not finished: running plus queued."""
        return self._submitted - self._finished

    @property
    def queued(self) -> int:
        return max(0, self.pending - self.max_workers)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        self._submitted += 1
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(fn, *args, **kwargs)
            )
        finally:
            self._finished += 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
