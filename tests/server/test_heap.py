"""The collector's pauses: start-up's heap frozen out of its walks, every pause counted."""

from __future__ import annotations

import gc
import weakref

from prometheus_client import CollectorRegistry, generate_latest

from voicebot.server.heap import PAUSE_BUCKETS, CollectorPauses, settle


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settle_frees_garbage_and_freezes_the_survivors() -> None:
    kept = [Node() for _ in range(100)]
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    settle()
    try:
        assert gone() is None  # the cycle was collected before the freeze
        walked = {id(o) for o in gc.get_objects()}  # what later collections walk
        assert not walked & {id(node) for node in kept}
    finally:
        gc.unfreeze()  # the rest of the test session walks its heap as before


def test_every_pause_is_counted_by_generation_and_bucket() -> None:
    pauses = CollectorPauses()
    try:
        registry = CollectorRegistry()
        registry.register(pauses)
        gc.collect(2)
        gc.collect(0)
        gc.collect(0)
        text = generate_latest(registry).decode()
    finally:
        pauses.close()
    assert pauses.observe not in gc.callbacks
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values['voicebot_gc_pause_seconds_count{generation="2"}'] >= 1
    assert values['voicebot_gc_pause_seconds_count{generation="0"}'] >= 2
    assert values['voicebot_gc_pause_seconds_sum{generation="2"}'] > 0.0
    top = f'voicebot_gc_pause_seconds_bucket{{generation="2",le="{PAUSE_BUCKETS[-1]}"}}'
    inf = 'voicebot_gc_pause_seconds_bucket{generation="2",le="+Inf"}'
    assert values[top] <= values[inf] == values['voicebot_gc_pause_seconds_count{generation="2"}']
    closed = pauses.counts[2][:]
    gc.collect(2)
    assert pauses.counts[2] == closed  # closed: no longer hooked
