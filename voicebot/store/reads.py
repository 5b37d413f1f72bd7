"""What the console reads about calls: those in progress, one call in full, a search."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from voicebot.phone import caller_number, stored_forms
from voicebot.store.base import StoreBase, as_utc, like_pattern
from voicebot.store.schema import CallRow, HandoverRow, TurnRow, UserRow
from voicebot.store.views import (
    CallDetail,
    CallSummary,
    HandoverView,
    TurnView,
    text_map,
    view_of,
)

MAX_PAGE = 500
SEPARATORS = re.compile(r"[\s.\-/()]")


def caller_condition(caller: str) -> ColumnElement[bool]:
    """A whole number finds its calls however it is written ("0692 12 34 56",
    "+262692123456"); part of one ("34 56") matches anywhere, literally."""
    number = caller_number(caller)
    if number is not None:
        return CallRow.caller_number.in_(stored_forms(number))
    digits = SEPARATORS.sub("", caller) or caller
    return CallRow.caller_number.ilike(like_pattern(digits), escape="\\")


def turn_view(row: TurnRow) -> TurnView:
    return view_of(TurnView, row, slots=text_map(row.slots))


def turns_of(session: Session, call_id: str) -> list[TurnView]:
    rows = session.scalars(select(TurnRow).where(TurnRow.call_id == call_id).order_by(TurnRow.seq))
    return [turn_view(row) for row in rows]


def summaries(session: Session, rows: Sequence[CallRow]) -> list[CallSummary]:
    """Calls as summaries: their turn count and last words, in two queries for the page."""
    ids = [row.id for row in rows]
    counts: dict[str, tuple[int, int]] = {}
    last_texts: dict[str, str] = {}
    if ids:
        for call_id, count, last in session.execute(
            select(TurnRow.call_id, func.count(), func.max(TurnRow.seq))
            .where(TurnRow.call_id.in_(ids))
            .group_by(TurnRow.call_id)
        ):
            counts[call_id] = (int(count), int(last))
        wanted = [
            and_(TurnRow.call_id == cid, TurnRow.seq == last) for cid, (_, last) in counts.items()
        ]
        if wanted:
            for call_id, text in session.execute(
                select(TurnRow.call_id, TurnRow.text).where(or_(*wanted))
            ):
                last_texts[call_id] = text
    return [
        view_of(
            CallSummary,
            row,
            call_id=row.id,
            intents=list(row.intents or []),
            turn_count=counts.get(row.id, (0, 0))[0],
            last_text=last_texts.get(row.id),
        )
        for row in rows
    ]


def handover_view(
    session: Session, row: HandoverRow, now: datetime, transcript: list[TurnView] | None = None
) -> HandoverView:
    claimed_by = (
        session.scalar(select(UserRow.username).where(UserRow.id == row.claimed_by))
        if row.claimed_by is not None
        else None
    )
    waited_until = row.claimed_at or row.handled_at or now
    return view_of(
        HandoverView,
        row,
        intents=list(row.intents or []),
        slots=text_map(row.slots),
        transcript=transcript if transcript is not None else turns_of(session, row.call_id),
        waited_s=round(max(0.0, (waited_until - row.created_at).total_seconds()), 1),
        claimed_by=claimed_by,
    )


class CallReads(StoreBase):
    def live_calls(self) -> list[CallSummary]:
        """Calls in progress (not ended), oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(CallRow).where(CallRow.ended_at.is_(None)).order_by(CallRow.started_at)
            ).all()
            return summaries(session, rows)

    def call_route(self, call_id: str) -> tuple[str, str, str] | None:
        """Where a call went, as the dialplan asks it: ``hangup`` or ``queue``, with the
        hand-over's reason and the last intent; ``open`` while it is not finished; None
        when no instance ever had it."""
        with self._read() as session:
            row = session.get(CallRow, call_id)
            if row is None:
                return None
            intent = row.intents[-1] if row.intents else ""
            if row.ended_at is None:
                return "open", "", intent
            if row.outcome == "handed_over":
                return "queue", row.handover_reason or "", intent
            return "hangup", "", intent

    def call_detail(self, call_id: str) -> CallDetail | None:
        with self._read() as session:
            row = session.get(CallRow, call_id)
            if row is None:
                return None
            turns = turns_of(session, call_id)
            handover = session.scalar(select(HandoverRow).where(HandoverRow.call_id == call_id))
            return CallDetail(
                summary=summaries(session, [row])[0],
                turns=turns,
                handover=handover_view(session, handover, self.now(), turns)
                if handover is not None
                else None,
            )

    def search_calls(
        self,
        *,
        text: str | None = None,
        line: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
        caller: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[CallSummary], int]:
        """A page of calls, newest first, and how many match in all.

        ``text`` matches anywhere, case-insensitively, literally: ``%`` and ``_`` are
        plain characters; ``caller`` as :func:`caller_condition` says. The others match
        exactly; ``since`` is inclusive, ``until`` exclusive (on the start of the call).
        """
        conditions: list[ColumnElement[bool]] = []
        if text:
            conditions.append(
                exists().where(
                    TurnRow.call_id == CallRow.id,
                    TurnRow.text.ilike(like_pattern(text), escape="\\"),
                )
            )
        if caller:
            conditions.append(caller_condition(caller))
        if line:
            conditions.append(CallRow.line == line)
        if outcome:
            conditions.append(CallRow.outcome == outcome)
        if reason:
            conditions.append(CallRow.handover_reason == reason)
        if since is not None:
            conditions.append(CallRow.started_at >= as_utc(since, "since"))
        if until is not None:
            conditions.append(CallRow.started_at < as_utc(until, "until"))
        limit = max(1, min(limit, MAX_PAGE))
        offset = max(0, offset)
        with self._read() as session:
            total = session.scalar(select(func.count()).select_from(CallRow).where(*conditions))
            rows = session.scalars(
                select(CallRow)
                .where(*conditions)
                .order_by(CallRow.started_at.desc(), CallRow.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return summaries(session, rows), int(total or 0)
