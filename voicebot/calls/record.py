"""What every call leaves behind, and the registry of calls in progress and finished."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def now_utc() -> datetime:
    return datetime.now(UTC)


TURN_STAGES = ("endpoint", "transcript", "understanding", "first_audio")
"""A reply's latency, in order: the caller's last voiced frame to the end of the turn
(the wait for more words), to the final transcript, to the dialog's answer, to its first
audio sent."""


def stages(speech_end: float, marks: dict[str, float], first_audio: float) -> dict[str, float]:
    """Each stage's share of a reply's latency, in ms, from the instants (monotonic s) the
    turn passed them; a stage not passed (a reply to a key, a silence) is left out and its
    time counts in the next one."""
    passed = {**marks, "first_audio": first_audio}
    shares: dict[str, float] = {}
    since = speech_end
    for name in TURN_STAGES:
        at = passed.get(name)
        if at is None:
            continue
        shares[name] = max(0.0, at - since) * 1000.0
        since = max(since, at)
    return shares


@dataclass
class Turn:
    speaker: str
    """``caller`` or ``bot``."""
    text: str
    at: datetime = field(default_factory=now_utc)
    intent: str | None = None
    confidence: float | None = None
    slots: dict[str, str] = field(default_factory=dict)
    latency_ms: float | None = None
    """For a bot turn: end of the caller's speech to the first reply audio."""
    heard_fully: bool | None = None
    """For a bot turn: whether the caller heard it to the end (False: barged in)."""
    stages_ms: dict[str, float] = field(default_factory=dict)
    """For a bot turn answering speech: where its latency went, stage by stage
    (:data:`TURN_STAGES`); empty when the reply was not to a spoken turn."""


@dataclass
class CallRecord:
    call_id: str
    line: str
    caller: str | None = None
    transport: str = "websocket"
    started_at: datetime = field(default_factory=now_utc)
    ended_at: datetime | None = None
    turns: list[Turn] = field(default_factory=list)
    outcome: str | None = None
    """``resolved``, ``handed_over``, ``abandoned``, ``closed`` or ``failed``."""
    handover_reason: str | None = None
    intents: list[str] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    sms: list[str] = field(default_factory=list)
    route: str | None = None
    """Where the call goes after the bot: ``queue`` or ``hangup`` (plain dialplan mode)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_at", "ended_at"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        for turn, raw in zip(self.turns, data["turns"], strict=True):
            raw["at"] = turn.at.isoformat()
        return data


class CallRegistry:
    """Calls in progress and the most recent finished ones (the console makes them durable)."""

    def __init__(self, keep_finished: int = 1000) -> None:
        self.active: dict[str, CallRecord] = {}
        self.finished: deque[CallRecord] = deque(maxlen=keep_finished)
        self.totals: dict[str, int] = {}

    def start(self, record: CallRecord) -> None:
        self.active[record.call_id] = record

    def finish(self, record: CallRecord) -> None:
        self.active.pop(record.call_id, None)
        record.ended_at = record.ended_at or now_utc()
        self.finished.append(record)
        key = record.outcome or "unknown"
        self.totals[key] = self.totals.get(key, 0) + 1

    def get(self, call_id: str) -> CallRecord | None:
        if call_id in self.active:
            return self.active[call_id]
        return next((r for r in reversed(self.finished) if r.call_id == call_id), None)
