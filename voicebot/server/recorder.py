"""Calls from memory to the store, off the event loop, without ever holding a call up.

Why polling: the call session appends and completes its turns in place (a caller's
turn gets its intent after understanding, a bot turn learns later whether it was
heard to the end), and it offers no hook per turn. So once a second, and at once
when a call ends, the recorder compares each call in progress with what it last
wrote and sends only the new or changed turns; the end of a call writes the whole
record. All writes go through one task, in order (start, turns, end), in a thread;
a failed write is logged and tried again at the next pass, never raised into a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from voicebot.calls.record import CallRecord, CallRegistry, Turn, now_utc
from voicebot.errors import VoicebotError
from voicebot.store import Store

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 1.0
MAX_PENDING_ENDS = 1000
MAX_END_ATTEMPTS = 20
"""An ended call is tried this many times (about 15 minutes with the delays) then dropped."""
MAX_RETRY_DELAY_S = 60.0
STOP_TIMEOUT_S = 30.0
INTERRUPTED = "interrupted"
CRASHED = "bot_crashed"
"""Hand-over reason of the calls a dead process left open (found at the next start)."""


def turn_snapshot(turn: Turn) -> tuple[Hashable, ...]:
    return (
        turn.speaker,
        turn.text,
        turn.at,
        turn.intent,
        turn.confidence,
        tuple(sorted(turn.slots.items())),
        turn.latency_ms,
        turn.heard_fully,
    )


def _copy_turn(turn: Turn) -> Turn:
    return dataclasses.replace(turn, slots=dict(turn.slots))


def _copy_record(record: CallRecord, with_turns: bool) -> CallRecord:
    return dataclasses.replace(
        record,
        turns=[_copy_turn(t) for t in record.turns] if with_turns else [],
        intents=list(record.intents),
        slots=dict(record.slots),
        sms=list(record.sms),
    )


@dataclasses.dataclass
class _Batch:
    starts: list[CallRecord]
    turns: list[tuple[str, int, Turn, tuple[Hashable, ...]]]
    ends: list[CallRecord]
    known: set[str]
    """Calls whose start is already written."""
    done_starts: set[str] = dataclasses.field(default_factory=set)
    done_turns: list[tuple[str, int, tuple[Hashable, ...]]] = dataclasses.field(
        default_factory=list
    )
    failed: set[str] = dataclasses.field(default_factory=set)
    """Calls with a write that failed in this pass."""
    failed_ends: list[CallRecord] = dataclasses.field(default_factory=list)

    def call_ids(self) -> set[str]:
        return (
            {r.call_id for r in self.starts}
            | {t[0] for t in self.turns}
            | {r.call_id for r in self.ends}
        )


@dataclasses.dataclass
class _Backoff:
    attempts: int
    next_at: float


class CallRecorder:
    def __init__(
        self,
        store: Store,
        registry: CallRegistry,
        instance: str,
        *,
        purge_interval_s: float,
        content_days: int,
        stats_days: int,
        sync_interval_s: float = SYNC_INTERVAL_S,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.store = store
        self.registry = registry
        self.instance = instance
        self.purge_interval_s = purge_interval_s
        self.content_days = content_days
        self.stats_days = stats_days
        self.sync_interval_s = sync_interval_s
        self.clock = clock
        self._written: dict[str, list[tuple[Hashable, ...]]] = {}
        """Per call in progress: the snapshot of each turn as last written."""
        self._ends: list[CallRecord] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._failures: dict[str, _Backoff] = {}
        """Calls whose writes failed: retried later and later (a database may be down)."""

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start recording (and purging) in the background: a slow database never delays
        the service. What a crash left open is closed before anything else is written."""
        self._tasks = [
            asyncio.create_task(self._sync_loop(), name="store-sync"),
            asyncio.create_task(self._purge_loop(), name="store-purge"),
        ]

    def ended(self, record: CallRecord) -> None:
        """A call is over: write it all, now (the hand-over queue is waiting for it)."""
        self._ends.append(_copy_record(record, with_turns=True))
        self._wake.set()

    async def stop(self) -> None:
        """Graceful shutdown: every call still open is written, ended as interrupted."""
        self._stopping.set()
        self._wake.set()
        if self._tasks:  # a pass under way finishes (never cut in the middle of a write)
            _, late = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
            for task in late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        for record in list(self.registry.active.values()):
            final = _copy_record(record, with_turns=True)
            final.outcome = final.outcome or INTERRUPTED
            final.ended_at = final.ended_at or now_utc()
            self._ends.append(final)
        await self.flush(include_active=False)
        try:
            await asyncio.to_thread(self.store.close_open_calls, self.instance, INTERRUPTED)
        except VoicebotError as exc:
            log.error("store: could not close the open calls at shutdown: %s", exc)

    # ------------------------------------------------------------------ writing
    async def flush(self, include_active: bool = True) -> None:
        """One pass: new calls, new or changed turns, ended calls, in that order.

        ``include_active=False`` (at shutdown) writes the ended calls only, and tries
        each one even if it is waiting for a retry."""
        async with self._lock:
            batch = self._collect(include_active, time.monotonic())
            if batch.starts or batch.turns or batch.ends:
                await asyncio.to_thread(self._write, batch)
                self._apply(batch, time.monotonic())

    def _collect(self, include_active: bool, now: float) -> _Batch:
        def due(call_id: str) -> bool:
            failure = self._failures.get(call_id)
            return failure is None or failure.next_at <= now or not include_active

        ends = [r for r in self._ends if due(r.call_id)]
        self._ends = [r for r in self._ends if not due(r.call_id)]
        batch = _Batch(starts=[], turns=[], ends=ends, known=set(self._written))
        if include_active:
            for call_id, record in list(self.registry.active.items()):
                if not due(call_id):
                    continue
                written = self._written.get(call_id)
                if written is None:
                    batch.starts.append(_copy_record(record, with_turns=False))
                    written = []
                for seq, turn in enumerate(list(record.turns)):
                    snapshot = turn_snapshot(turn)
                    if seq >= len(written) or written[seq] != snapshot:
                        batch.turns.append((call_id, seq, _copy_turn(turn), snapshot))
        starting = {r.call_id for r in batch.starts}
        for record in batch.ends:
            if record.call_id not in self._written and record.call_id not in starting:
                batch.starts.append(_copy_record(record, with_turns=False))
                starting.add(record.call_id)
        return batch

    def _write(self, batch: _Batch) -> None:
        """In a thread: each write on its own; a failure is logged and retried later."""
        store = self.store
        for record in batch.starts:
            if _attempt(f"call {record.call_id} start", store.call_started, record, self.instance):
                batch.done_starts.add(record.call_id)
            else:
                batch.failed.add(record.call_id)
        for call_id, seq, turn, snapshot in batch.turns:
            if call_id not in batch.done_starts and call_id not in batch.known:
                continue
            if _attempt(f"call {call_id} turn {seq}", store.turn_added, call_id, turn, seq=seq):
                batch.done_turns.append((call_id, seq, snapshot))
            else:
                batch.failed.add(call_id)
        for record in batch.ends:
            if not _attempt(f"call {record.call_id} end", store.call_ended, record):
                batch.failed.add(record.call_id)
                batch.failed_ends.append(record)

    def _apply(self, batch: _Batch, now: float) -> None:
        """Back on the loop: remember what was written, and when to try again what was not."""
        for call_id in batch.done_starts:
            self._written.setdefault(call_id, [])
        for call_id, seq, snapshot in batch.done_turns:
            written = self._written.setdefault(call_id, [])
            if seq < len(written):
                written[seq] = snapshot
            elif seq == len(written):
                written.append(snapshot)
        for call_id in batch.call_ids() - batch.failed:
            self._failures.pop(call_id, None)
        for call_id in batch.failed:
            failure = self._failures.get(call_id) or _Backoff(0, now)
            failure.attempts += 1
            failure.next_at = now + min(MAX_RETRY_DELAY_S, 2.0**failure.attempts)
            self._failures[call_id] = failure
        kept: list[CallRecord] = []
        for record in batch.failed_ends:
            if self._failures[record.call_id].attempts >= MAX_END_ATTEMPTS:
                log.error(
                    "store: call %s given up after %d attempts (its row may stay open "
                    "until this instance restarts)",
                    record.call_id,
                    MAX_END_ATTEMPTS,
                )
                self._failures.pop(record.call_id, None)
            else:
                kept.append(record)
        self._ends = (kept + self._ends)[-MAX_PENDING_ENDS:]
        ending = {r.call_id for r in self._ends}
        for call_id in list(self._written):
            if call_id not in self.registry.active and call_id not in ending:
                self._written.pop(call_id, None)
        for call_id in list(self._failures):
            if call_id not in self.registry.active and call_id not in ending:
                self._failures.pop(call_id, None)

    async def _sync_loop(self) -> None:
        try:
            closed = await asyncio.to_thread(close_stale_calls, self.store, self.instance)
        except VoicebotError as exc:
            log.error("store: could not close the calls left open: %s", exc)
        else:
            if closed:
                log.warning(
                    "store: %d call(s) left open by a crash recorded as handed over (%s)",
                    closed,
                    CRASHED,
                )
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.sync_interval_s)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                await self.flush()
            except Exception:  # a bug must not stop the recording of the next calls
                log.exception("store: recording pass failed")

    async def _purge_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                report = await asyncio.to_thread(
                    self.store.purge, self.clock(), self.content_days, self.stats_days
                )
            except VoicebotError as exc:
                log.error("store: purge failed: %s", exc)
            else:
                if report.content_cleared or report.calls_deleted or report.sessions_deleted:
                    log.info(
                        "store: purge: %d call(s) anonymised, %d deleted, %d session(s) expired",
                        report.content_cleared,
                        report.calls_deleted,
                        report.sessions_deleted,
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.purge_interval_s)


def _attempt(what: str, write: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    try:
        write(*args, **kwargs)
    except VoicebotError as exc:
        log.error("store: %s not written: %s", what, exc)
        return False
    return True


def close_stale_calls(store: Store, instance: str) -> int:
    """End the calls left open by this instance, or by a process of this host that is gone.

    A graceful stop leaves nothing open, so these are a crash's: the dialplan's fallback
    sent their callers to the queue, and so they are recorded, with a hand-over each."""
    closed = store.hand_over_open_calls(instance, CRASHED)
    for other in store.open_instances():
        if other != instance and _dead_local_process(other):
            closed += store.hand_over_open_calls(other, CRASHED)
    return closed


def _dead_local_process(instance: str) -> bool:
    """Whether an instance named "<this host>-<pid>" (the default) is a process now gone."""
    host, _, pid = instance.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
