"""A moment given on the command line (ISO 8601), or now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from voicebot.errors import UsageError


def parse_moment(text: str | None, problem: str, hint: str, zone: str | None = None) -> datetime:
    """The moment ``text`` says, None: now. Without a zone it is in the time zone named
    ``zone`` (default: local time). Unreadable: a usage error that says ``problem`` and ``hint``."""
    if text is None:
        return datetime.now().astimezone()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(problem, hint=hint) from None
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone)) if zone is not None else value.astimezone()
