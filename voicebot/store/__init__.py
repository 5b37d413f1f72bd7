"""Durable storage: calls and their turns, the hand-over queue, console accounts and
sessions, the audit log, retention and a caller's rights (SQLite or PostgreSQL)."""

from voicebot.store.store import Store
from voicebot.store.views import (
    HANDOVER_STATUSES,
    ROLES,
    Analytics,
    AuditEntry,
    CallDetail,
    CallSummary,
    HandoverView,
    PurgeReport,
    TurnView,
    User,
    as_json,
)

__all__ = [
    "HANDOVER_STATUSES",
    "ROLES",
    "Analytics",
    "AuditEntry",
    "CallDetail",
    "CallSummary",
    "HandoverView",
    "PurgeReport",
    "Store",
    "TurnView",
    "User",
    "as_json",
]
