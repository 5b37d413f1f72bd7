"""How many calls this process carries within its latency target, and the door to them.

The limit comes from a cost model measured on this machine when the service
starts (:func:`measure_costs`): the processor time one second of caller speech
costs to decode, one second of line costs to listen to (echo guard, voice
detector), and one reply costs to synthesise. A call listens all the time,
decodes while its caller speaks (about 40 % of a call) and synthesises a reply
every few seconds; the calls may use ``budget`` of the cores, the rest keeps
the replies on time. ``VOICEBOT_MAX_CALLS`` overrides the measure.

Past the limit a new call is not taken: it goes straight to the human queue
with the reason ``capacity`` (ARI continues it to the hand-over context; the
plain dialplan's ``Dial`` fails and its route says ``queue,capacity``;
AudioSocket is closed and the dialplan goes on to the agents). The calls in
progress never share their processor with one call too many.

Once calls run, the limit is steered by what they show (:meth:`Admission.steer`):
one call fewer when the work after the end of a turn passes its share of the
800 ms reply target at p95, one more when it stays well within while calls are
refused, never past 80 % of the cores at the live cost of a call.

New calls are also paced (a token bucket). A call's first request is decoded on
recognisers that have not heard its words yet, about three times the cost of
words they know: sixteen callers arriving within six seconds all speak their
first request at once, and every call waits (measured with `voicebot bench
calls --calls 16`: first turns 3.5 s on average, the later ones p95 0.54 s). So
calls are let in at the rate the spare cores decode first requests; a caller
arriving faster waits, the line still ringing, up to ``wait_s``, then goes to
the agents like any call past the limit.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from voicebot.calls.limits import TokenBucket

CAPACITY = "capacity"
"""The hand-over reason of a call the service had no room for."""

SPEAKING_SHARE = 0.4
"""Share of a call during which the caller speaks (decoding runs only then)."""
REPLY_EVERY_S = 8.0
"""A reply is synthesised about this often in a call."""
BUDGET = 0.6
"""Share of the cores the calls may use: the rest keeps the replies on time. Measured
with `voicebot bench calls` on 2 cores: past about 60 % of them busy, the turns whose
decoding waits behind other calls' make the p95 pass 800 ms (16 calls, 1.1 cores: p95
about 600 ms; 20 calls, 1.3 to 1.5 cores: 1.3 to 3.3 s)."""
JUDGED_PER_TURN = 6
"""Utterances understood in a turn: the final words, and the partial ones judged while the
caller speaks (the latest each time a judgement ends: about one in two of a two-second
turn's 160 ms steps)."""
FIRST_PASS = 3.0
"""How much more a recogniser pays for words it has not decoded before: each one expands
the decoding graph lazily, for itself (Korean test model, recognisers warmed on other
speech: 0.23 to 0.26 core-s per second of speech on the first pass, 0.07 to 0.09 after)."""
FIRST_REQUEST_S = 2.5
"""Speech in a caller's first request."""
REPLY_TARGET_MS = 800.0
"""The latency a reply keeps at p95, from the caller's last word to the bot's first sound."""
SHORTEST_END_WAIT_MS = 300.0
"""The least a turn waits before it ends (VOICEBOT_TURN_END_SHORT_MS, 200 ms, and the voice
detector's 70 ms or so): a wait the dialog chooses by what was said, not by load."""
PROCESSING_TARGET_MS = REPLY_TARGET_MS - SHORTEST_END_WAIT_MS
"""What the work after the end of a turn (final transcript, understanding, first audio)
may take at p95 for the reply to keep its target: what load delays."""
STEER_WINDOW_S = 30.0
STEER_MIN_REPLIES = 10
CEILING_BUDGET = 0.8
"""Share of the cores the calls may never pass, however fast the replies."""
LIVE_WINDOW_S = 60.0
"""The live cost of a call is read over this last stretch of time."""
LIVE_MIN_CALL_S = 60.0
"""Call-seconds in that stretch before the live cost is known."""
ASSUMED_DECODE_COST = 0.35
"""Core-seconds per second of speech assumed until it is measured (a small Vosk model
on a slow core)."""


def cores() -> int:
    """The cores this process may run on (a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Costs:
    """Processor time, in core-seconds, measured on this machine."""

    decode_per_s: float
    """Decoding one second of caller speech."""
    listen_per_s: float = 0.0
    """Listening to one second of line (echo guard, voice detector, framing)."""
    reply: float = 0.0
    """Synthesising one reply (a sentence of about ten words)."""
    measured: bool = True
    understand: float = 0.0
    """Understanding one turn: its final words and the partial ones judged on the way
    (:data:`JUDGED_PER_TURN` utterances)."""

    def per_call(self, speaking_share: float = SPEAKING_SHARE) -> float:
        """Cores one call keeps busy, on average."""
        return (
            self.listen_per_s
            + speaking_share * self.decode_per_s
            + (self.reply + self.understand) / REPLY_EVERY_S
        )

    def calls_within(
        self, cores: int, budget: float = BUDGET, speaking_share: float = SPEAKING_SHARE
    ) -> int:
        """How many calls ``cores`` carry within ``budget`` (at least one)."""
        per_call = self.per_call(speaking_share)
        if per_call <= 0:
            return 1
        return max(1, math.floor(cores * budget / per_call))

    def new_calls_per_s(self, cores: int, budget: float = BUDGET) -> float:
        """New calls per second whose first requests the cores left out of ``budget``
        decode as they come: the margin kept for replies on time, not taken from the
        calls in progress."""
        first_request = FIRST_PASS * self.decode_per_s * FIRST_REQUEST_S
        return cores * (1.0 - budget) / max(first_request, 1e-3)

    def describe(self) -> dict[str, Any]:
        return {
            "decode_core_s_per_speech_s": round(self.decode_per_s, 3),
            "listen_core_s_per_line_s": round(self.listen_per_s, 4),
            "reply_core_s": round(self.reply, 3),
            "understand_core_s_per_turn": round(self.understand, 4),
            "measured": self.measured,
        }


ASSUMED = Costs(ASSUMED_DECODE_COST, 0.01, 0.05, measured=False)


class LiveCost:
    """What a call really costs here: the process's processor time per second of call in
    progress, over the last :data:`LIVE_WINDOW_S`. It counts what the cost model leaves
    out or guesses: replies said from the prompt cache, words the recognisers have not
    heard yet, the sockets, the event loop, calls refused at the door."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float, float]] = deque()
        self.call_s = 0.0
        """Seconds of calls in progress since the start (calls times seconds)."""
        self._last_at: float | None = None

    def sample(self, now: float, cpu_s: float, active_calls: int) -> float | None:
        """Record the process's CPU time and the calls now; the cores one call keeps busy,
        once the window holds :data:`LIVE_MIN_CALL_S` of calls (else None)."""
        if self._last_at is not None:
            self.call_s += active_calls * (now - self._last_at)
        self._last_at = now
        self._samples.append((now, cpu_s, self.call_s))
        while len(self._samples) > 2 and self._samples[1][0] <= now - LIVE_WINDOW_S:
            self._samples.popleft()
        _, first_cpu, first_call_s = self._samples[0]
        calls = self.call_s - first_call_s
        if calls < LIVE_MIN_CALL_S:
            return None
        return (cpu_s - first_cpu) / calls


class Admission:
    """The calls admitted, by id; a call past the limit is refused, never queued here.
    A call within the limit that comes faster than the pace waits for its turn, up to a
    few seconds (see :meth:`enter`)."""

    def __init__(
        self,
        limit: int,
        source: str,
        costs: Costs | None = None,
        new_calls_per_s: float | None = None,
    ) -> None:
        self.limit = limit
        self.source = source
        """``setting`` (VOICEBOT_MAX_CALLS), ``assumed`` (not measured yet), ``measured`` (at
        start) or ``live`` (steered by the replies' latency, :meth:`steer`)."""
        self.costs = costs
        self._admitted: set[str] = set()
        self.overflow = 0
        """Calls refused for capacity since the start."""
        self._pace_setting = new_calls_per_s
        self.pace: TokenBucket | None = None
        """None: calls come in as fast as they arrive (costs not measured, nor a setting)."""
        self._set_pace()
        self._door = asyncio.Lock()
        """Callers waiting for the pace go in in the order they came."""
        self.waiting = 0
        self.waited = 0
        """Calls that waited for the pace, then came in."""
        self.live_per_call: float | None = None
        """Cores one call in progress keeps busy, measured live (:class:`LiveCost`)."""
        self.target_ms = PROCESSING_TARGET_MS
        self._replies: deque[tuple[float, float]] = deque()
        self.processing_p95_ms: float | None = None
        """The p95 of the replies' work after the end of a turn, over the last
        :data:`STEER_WINDOW_S`, as last steered."""
        self._overflow_seen = 0

    @classmethod
    def for_machine(
        cls,
        max_calls: int | None,
        costs: Costs,
        core_count: int,
        new_calls_per_s: float | None = None,
    ) -> Admission:
        if max_calls is not None:
            return cls(max_calls, "setting", costs, new_calls_per_s)
        source = "measured" if costs.measured else "assumed"
        return cls(costs.calls_within(core_count), source, costs, new_calls_per_s)

    def measured(self, costs: Costs, core_count: int) -> None:
        """The costs are measured: the limit follows, unless a setting fixed it, and the
        pace, unless a setting fixed that."""
        self.costs = costs
        if self.source not in ("setting", "live"):
            self.limit = costs.calls_within(core_count)
            self.source = "measured"
        self._set_pace(core_count)

    def replied(self, processing_ms: float, now: float | None = None) -> None:
        """A reply's work after the end of the turn (final transcript, understanding,
        first audio): what load delays. The wait for the end of the turn is left out: it
        is the dialog's choice (a request still incomplete waits longer), not load's."""
        self._replies.append((time.monotonic() if now is None else now, processing_ms))

    def steer(self, core_count: int, per_call: float | None, now: float | None = None) -> None:
        """Keep the calls' replies within the target (:data:`PROCESSING_TARGET_MS` at p95
        for the work after the end of a turn, :data:`REPLY_TARGET_MS` in all).

        Over the last :data:`STEER_WINDOW_S`: replies too slow, one call fewer is admitted
        (never more than those in progress); comfortably fast while calls are being
        refused, one more, up to what the processor carries (``per_call``, the live cost
        of a call, within :data:`CEILING_BUDGET` of the cores). Each change waits for
        :data:`STEER_MIN_REPLIES` replies made under it. A setting fixes the limit."""
        now = time.monotonic() if now is None else now
        self.live_per_call = per_call
        while self._replies and self._replies[0][0] < now - STEER_WINDOW_S:
            self._replies.popleft()
        if len(self._replies) < STEER_MIN_REPLIES:
            return
        times = sorted(ms for _, ms in self._replies)
        self.processing_p95_ms = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        if self.source == "setting":
            return
        if self.processing_p95_ms > self.target_ms:
            lower = max(1, min(self.limit, self.active) - 1)
            if lower < self.limit:
                self.limit, self.source = lower, "live"
                self._replies.clear()
            return
        ceiling = math.floor(core_count * CEILING_BUDGET / per_call) if per_call else self.limit
        wanted = self.active >= self.limit and self.overflow > self._overflow_seen
        self._overflow_seen = self.overflow
        if self.processing_p95_ms < 0.75 * self.target_ms and wanted and self.limit < ceiling:
            self.limit, self.source = self.limit + 1, "live"
            self._replies.clear()

    def _set_pace(self, core_count: int | None = None) -> None:
        per_s = self._pace_setting
        if per_s is None and core_count is not None and self.costs and self.costs.measured:
            per_s = self.costs.new_calls_per_s(core_count)
        if per_s is None:
            self.pace = None
        elif self.pace is None:
            self.pace = TokenBucket(max(1, core_count or cores()), per_s)
        else:  # the calls already let in still count
            self.pace.set_rate(per_s)

    @property
    def active(self) -> int:
        return len(self._admitted)

    @property
    def headroom(self) -> int:
        return max(0, self.limit - len(self._admitted))

    def admit(self, call_id: str) -> bool:
        """Take the call now if there is room and it comes at the pace (a call already
        admitted stays so); else it is refused, without waiting."""
        if call_id in self._admitted:
            return True
        if len(self._admitted) >= self.limit or (self.pace is not None and not self.pace.allow()):
            self.overflow += 1
            return False
        self._admitted.add(call_id)
        return True

    async def enter(
        self,
        call_id: str,
        wait_s: float,
        on_wait: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Take the call if there is room; if it comes faster than the pace, it waits its
        turn (``on_wait`` first: the line rings on) up to ``wait_s``. No room at all: it
        is refused at once (a call in progress does not end within a few seconds)."""
        if call_id in self._admitted:
            return True
        if len(self._admitted) >= self.limit:
            self.overflow += 1
            return False
        if self.pace is None or (not self._door.locked() and self.pace.allow()):
            self._admitted.add(call_id)
            return True
        self.waiting += 1
        try:
            async with asyncio.timeout(wait_s):
                if on_wait is not None:
                    await on_wait()
                async with self._door:
                    while len(self._admitted) < self.limit:
                        if self.pace.allow():
                            self._admitted.add(call_id)
                            self.waited += 1
                            return True
                        await asyncio.sleep(self.pace.next_in_s())
        except TimeoutError:
            pass
        finally:
            self.waiting -= 1
        self.overflow += 1
        return False

    def admitted(self, call_id: str) -> bool:
        return call_id in self._admitted

    def release(self, call_id: str) -> None:
        self._admitted.discard(call_id)

    def describe(self) -> dict[str, Any]:
        return {
            "max_calls": self.limit,
            "source": self.source,
            "admitted": len(self._admitted),
            "headroom": self.headroom,
            "overflow": self.overflow,
            "new_calls_per_s": None if self.pace is None else round(self.pace.per_s, 2),
            "new_calls_burst": None if self.pace is None else self.pace.burst,
            "waiting": self.waiting,
            "waited": self.waited,
            "processing_p95_ms": None
            if self.processing_p95_ms is None
            else round(self.processing_p95_ms),
            "live_core_s_per_call_s": None
            if self.live_per_call is None
            else round(self.live_per_call, 4),
            "cores": cores(),
            **({"costs": self.costs.describe()} if self.costs else {}),
        }


def thread_cpu_s() -> float:
    return time.thread_time()
