"""What the store hands out: frozen, plain dataclasses; times are timezone-aware UTC."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ROLES = ("agent", "supervisor", "admin")
HANDOVER_STATUSES = ("waiting", "claimed", "handled")

View = TypeVar("View", bound="DataclassInstance")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    """``agent``, ``supervisor`` or ``admin``."""
    active: bool


@dataclass(frozen=True)
class CallSummary:
    call_id: str
    instance: str
    line: str
    caller_number: str | None
    transport: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    handover_reason: str | None
    intents: list[str]
    turn_count: int
    last_text: str | None


@dataclass(frozen=True)
class TurnView:
    seq: int
    speaker: str
    text: str
    at: datetime
    intent: str | None
    confidence: float | None
    slots: dict[str, str]
    latency_ms: float | None
    heard_fully: bool | None


@dataclass(frozen=True)
class HandoverView:
    id: int
    call_id: str
    line: str
    caller_number: str | None
    reason: str | None
    intents: list[str]
    slots: dict[str, str]
    transcript: list[TurnView]
    created_at: datetime
    waited_s: float
    """Waiting: until now; claimed or handled: until it was claimed."""
    status: str
    """``waiting``, ``claimed`` or ``handled``."""
    claimed_by: str | None
    """Username of the agent who took it."""
    claimed_at: datetime | None
    handled_at: datetime | None
    resolution: str | None


@dataclass(frozen=True)
class CallDetail:
    summary: CallSummary
    turns: list[TurnView]
    handover: HandoverView | None


@dataclass(frozen=True)
class Analytics:
    total: int
    resolved: int
    handed_over: int
    abandoned: int
    other: int
    containment_rate: float
    """resolved / (total - abandoned), 0 when there is no such call."""
    handovers_by_reason: dict[str, int]
    outcomes: dict[str, int]
    calls_per_hour: list[tuple[str, int]]
    """(start of the hour, ISO 8601 UTC; calls started in that hour)."""
    not_understood: list[tuple[str, int]]
    """The caller phrases most often left without an intent, with their counts (top 20)."""


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    username: str
    action: str
    target: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class PurgeReport:
    content_cleared: int
    """Calls whose content (turns, hand-over, number, slots) was removed."""
    calls_deleted: int
    """Calls removed altogether (past the statistics limit)."""
    sessions_deleted: int
    """Expired console sessions removed."""


def as_json(value: Any) -> Any:
    """A view (or list, dict, tuple of them) as JSON-ready data: datetimes in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


def view_of(view: type[View], row: object, **computed: Any) -> View:
    """A view of a database row: ``computed`` fields as given, the others the row's columns."""
    copied = {
        field.name: getattr(row, field.name)
        for field in dataclasses.fields(view)
        if field.name not in computed
    }
    return view(**copied, **computed)


def text_map(values: Mapping[Any, Any] | None) -> dict[str, str]:
    """A JSON column's mapping (or nothing) as strings to strings."""
    return {str(k): str(v) for k, v in (values or {}).items()}
