"""Figures over a period: outcomes, containment, hand-over reasons, load, misunderstandings."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select

from voicebot.store.base import StoreBase, as_utc
from voicebot.store.schema import CallRow, TurnRow
from voicebot.store.views import Analytics

TOP_PHRASES = 20
MAX_FILLED_HOURS = 31 * 24


class CallAnalytics(StoreBase):
    def analytics(self, since: datetime, until: datetime) -> Analytics:
        """Calls that started in [since, until) and have ended (calls in progress are not
        counted). ``calls_per_hour`` lists every hour of the period (up to 31 days; past
        that, only the hours with calls)."""
        since, until = as_utc(since, "since"), as_utc(until, "until")
        period = (
            CallRow.started_at >= since,
            CallRow.started_at < until,
            CallRow.ended_at.is_not(None),
        )
        with self._read() as session:
            outcomes = {
                (outcome or "unknown"): int(count)
                for outcome, count in session.execute(
                    select(CallRow.outcome, func.count()).where(*period).group_by(CallRow.outcome)
                )
            }
            reasons = {
                (reason or "unknown"): int(count)
                for reason, count in session.execute(
                    select(CallRow.handover_reason, func.count())
                    .where(*period, CallRow.outcome == "handed_over")
                    .group_by(CallRow.handover_reason)
                )
            }
            hour = self._hour(session.get_bind().dialect.name)
            per_hour = {
                str(key): int(count)
                for key, count in session.execute(
                    select(hour, func.count()).where(*period).group_by(hour)
                )
            }
            phrases = [
                (str(text), int(count))
                for text, count in session.execute(
                    select(TurnRow.text, func.count().label("n"))
                    .join(CallRow, CallRow.id == TurnRow.call_id)
                    .where(
                        *period,
                        TurnRow.speaker == "caller",
                        TurnRow.intent.is_(None),
                        TurnRow.text != "",
                        TurnRow.text.not_like("[touche %"),
                    )
                    .group_by(TurnRow.text)
                    .order_by(func.count().desc(), TurnRow.text)
                    .limit(TOP_PHRASES)
                )
            ]
        total = sum(outcomes.values())
        resolved = outcomes.get("resolved", 0)
        handed_over = outcomes.get("handed_over", 0)
        abandoned = outcomes.get("abandoned", 0)
        answered = total - abandoned
        return Analytics(
            total=total,
            resolved=resolved,
            handed_over=handed_over,
            abandoned=abandoned,
            other=total - resolved - handed_over - abandoned,
            containment_rate=round(resolved / answered, 4) if answered > 0 else 0.0,
            handovers_by_reason=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            outcomes=dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
            calls_per_hour=_hours(since, until, per_hour),
            not_understood=phrases,
        )

    @staticmethod
    def _hour(dialect: str) -> ColumnElement[str]:
        """The start of the hour of a call, as ISO 8601 text in UTC."""
        if dialect == "postgresql":
            return func.to_char(
                func.timezone("UTC", CallRow.started_at), 'YYYY-MM-DD"T"HH24:00:00+00:00'
            )
        return func.strftime("%Y-%m-%dT%H:00:00+00:00", CallRow.started_at)


def _hours(since: datetime, until: datetime, counts: dict[str, int]) -> list[tuple[str, int]]:
    start = since.replace(minute=0, second=0, microsecond=0)
    if until <= since or (until - start) > timedelta(hours=MAX_FILLED_HOURS):
        return sorted(counts.items())
    hours: list[tuple[str, int]] = []
    at = start
    while at < until:
        key = at.isoformat()
        hours.append((key, counts.get(key, 0)))
        at += timedelta(hours=1)
    return hours
