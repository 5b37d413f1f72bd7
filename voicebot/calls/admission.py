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
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any

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

    def describe(self) -> dict[str, Any]:
        return {
            "decode_core_s_per_speech_s": round(self.decode_per_s, 3),
            "listen_core_s_per_line_s": round(self.listen_per_s, 4),
            "reply_core_s": round(self.reply, 3),
            "understand_core_s_per_turn": round(self.understand, 4),
            "measured": self.measured,
        }


ASSUMED = Costs(ASSUMED_DECODE_COST, 0.01, 0.05, measured=False)


class Admission:
    """The calls admitted, by id; a call past the limit is refused, never queued here."""

    def __init__(self, limit: int, source: str, costs: Costs | None = None) -> None:
        self.limit = limit
        self.source = source
        """``setting`` (VOICEBOT_MAX_CALLS), ``measured`` or ``assumed`` (not measured yet)."""
        self.costs = costs
        self._admitted: set[str] = set()
        self.overflow = 0
        """Calls refused for capacity since the start."""

    @classmethod
    def for_machine(cls, max_calls: int | None, costs: Costs, core_count: int) -> Admission:
        if max_calls is not None:
            return cls(max_calls, "setting", costs)
        source = "measured" if costs.measured else "assumed"
        return cls(costs.calls_within(core_count), source, costs)

    def measured(self, costs: Costs, core_count: int) -> None:
        """The costs are measured: the limit follows, unless a setting fixed it."""
        self.costs = costs
        if self.source != "setting":
            self.limit = costs.calls_within(core_count)
            self.source = "measured"

    @property
    def active(self) -> int:
        return len(self._admitted)

    @property
    def headroom(self) -> int:
        return max(0, self.limit - len(self._admitted))

    def admit(self, call_id: str) -> bool:
        """Take the call if there is room (a call already admitted stays so)."""
        if call_id in self._admitted:
            return True
        if len(self._admitted) >= self.limit:
            self.overflow += 1
            return False
        self._admitted.add(call_id)
        return True

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
            "cores": cores(),
            **({"costs": self.costs.describe()} if self.costs else {}),
        }


def thread_cpu_s() -> float:
    return time.thread_time()
