"""Short collector pauses. Python's cycle collector stops the event loop, and with it every
call's audio, while it walks the heap. A full pass over a service's heap (content, models,
matchers, libraries) takes 100 to 250 ms on two cores. What the service loads at start
lives as long as the process, so it is frozen out of the collector's walks. Each pause is
counted, so a loop that lags can be traced to the collector or ruled out."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

PAUSE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def settle() -> None:
    """Collect what start-up left as garbage, then keep the survivors out of later walks.
    A frozen object is still freed when nothing refers to it."""
    gc.collect()
    gc.freeze()


class CollectorPauses(Collector):
    """Every collection's pause by generation, as `voicebot_gc_pause_seconds`. The
    callback runs inside the collector, so it takes no lock; it only adds to counts,
    read when scraped."""

    def __init__(self) -> None:
        self.started = 0.0
        self.counts = [[0] * (len(PAUSE_BUCKETS) + 1) for _ in range(3)]
        self.sums = [0.0, 0.0, 0.0]
        gc.callbacks.append(self.observe)

    def observe(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self.started = now
            return
        pause = now - self.started
        generation = info["generation"]
        index = next((i for i, edge in enumerate(PAUSE_BUCKETS) if pause <= edge), -1)
        self.counts[generation][index] += 1
        self.sums[generation] += pause

    def close(self) -> None:
        if self.observe in gc.callbacks:
            gc.callbacks.remove(self.observe)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "voicebot_gc_pause_seconds",
            "How long the cycle collector stopped the event loop, by generation",
            labels=["generation"],
        )
        for generation, counts in enumerate(self.counts):
            cumulative, buckets = 0, []
            for edge, count in zip((*PAUSE_BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((_edge(edge), cumulative))
            family.add_metric([str(generation)], buckets, self.sums[generation])
        yield family


def _edge(edge: float) -> str:
    return "+Inf" if edge == float("inf") else repr(edge)
