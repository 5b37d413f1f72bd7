"""A download progress bar on stderr (one updating line on a terminal, steps in a log)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

MB = 1_000_000


class ProgressBar:
    def __init__(self, label: str, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.label = label
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_step = -1
        self._interactive = stream.isatty()

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        speed = done / max(now - self.started, 1e-3) / MB
        if total:
            fraction = min(1.0, done / total)
            filled = int(fraction * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            text = (
                f"{self.label} [{bar}] {fraction:4.0%} "
                f"{done / MB:.1f}/{total / MB:.1f} Mo {speed:.1f} Mo/s"
            )
            step = int(fraction * 10)
        else:
            text = f"{self.label} {done / MB:.1f} Mo {speed:.1f} Mo/s"
            step = int(done / (10 * MB))
        if self._interactive:
            if finished or now - self._last_draw >= 0.1:
                self.stream.write("\r" + text + ("\n" if finished else ""))
                self.stream.flush()
                self._last_draw = now
        elif step != self._last_step or finished:
            self.stream.write(text + "\n")
            self._last_step = step
