"""Privacy: purge past the retention limits, and a caller's right of access and erasure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from voicebot.errors import StoreError
from voicebot.phone import caller_number, stored_forms
from voicebot.store.base import StoreBase, as_utc
from voicebot.store.reads import handover_view, summaries, turns_of
from voicebot.store.schema import CallRow, HandoverRow, LoginAttemptRow, SessionRow, TurnRow
from voicebot.store.views import PurgeReport, as_json

LOGIN_ATTEMPTS_KEPT = timedelta(days=30)


def number_variants(number: str) -> list[str]:
    """The stored forms of one caller number, however it is written (see :mod:`voicebot.phone`)."""
    normalised = caller_number(number)
    if normalised is None:
        raise StoreError(
            f"Numéro d'appelant illisible : {number!r}",
            hint="donnez le numéro tel qu'il s'affiche, par exemple 0612345678, "
            "+33612345678 ou 0692123456",
        )
    return stored_forms(normalised)


class Retention(StoreBase):
    def purge(self, now: datetime, content_days: int, stats_days: int) -> PurgeReport:
        """Remove what is past its limit, and nothing else.

        Calls that started more than ``content_days`` ago lose their content (turns,
        hand-over, caller number, intents, slots) and stay as anonymous statistics;
        calls that started more than ``stats_days`` ago are deleted. Expired
        sessions go, and login attempts older than 30 days. The audit log stays."""
        now = as_utc(now, "now")
        content_limit = now - timedelta(days=content_days)
        stats_limit = now - timedelta(days=stats_days)
        with self._write() as session:
            deleted = session.execute(delete(CallRow).where(CallRow.started_at < stats_limit))
            old = select(CallRow.id).where(CallRow.started_at < content_limit)
            session.execute(delete(TurnRow).where(TurnRow.call_id.in_(old)))
            session.execute(delete(HandoverRow).where(HandoverRow.call_id.in_(old)))
            cleared = session.execute(
                update(CallRow)
                .where(CallRow.started_at < content_limit, CallRow.anonymised.is_(False))
                .values(caller_number=None, intents=[], slots={}, anonymised=True)
                .execution_options(synchronize_session=False)
            )
            sessions = session.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            session.execute(
                delete(LoginAttemptRow).where(LoginAttemptRow.at < now - LOGIN_ATTEMPTS_KEPT)
            )
            return PurgeReport(
                content_cleared=int(getattr(cleared, "rowcount", 0) or 0),
                calls_deleted=int(getattr(deleted, "rowcount", 0) or 0),
                sessions_deleted=int(getattr(sessions, "rowcount", 0) or 0),
            )

    def export_caller(self, number: str) -> dict[str, Any]:
        """Everything kept about one caller number (right of access), JSON-ready."""
        variants = number_variants(number)
        with self._read() as session:
            now = self.now()
            rows = session.scalars(
                select(CallRow)
                .where(CallRow.caller_number.in_(variants))
                .order_by(CallRow.started_at, CallRow.id)
            ).all()
            calls: list[dict[str, Any]] = []
            for row, summary in zip(rows, summaries(session, rows), strict=True):
                turns = turns_of(session, row.id)
                handover = session.scalar(select(HandoverRow).where(HandoverRow.call_id == row.id))
                calls.append(
                    {
                        **as_json(summary),
                        "slots": dict(row.slots or {}),
                        "turns": as_json(turns),
                        "handover": as_json(handover_view(session, handover, now, turns))
                        if handover is not None
                        else None,
                    }
                )
            return {"caller": caller_number(number), "exported_at": now.isoformat(), "calls": calls}

    def erase_caller(self, number: str) -> int:
        """Delete every call of that number, with its turns and hand-over; returns how many."""
        variants = number_variants(number)
        with self._write() as session:
            result = session.execute(delete(CallRow).where(CallRow.caller_number.in_(variants)))
            return int(getattr(result, "rowcount", 0) or 0)
