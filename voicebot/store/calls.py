"""What the bot writes, on every instance: calls, their turns, and hand-overs to the queue.

Every text is redacted before it is written (:func:`voicebot.privacy.redact`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from voicebot.calls.record import CallRecord, Turn
from voicebot.errors import StoreError
from voicebot.privacy import redact
from voicebot.store.base import StoreBase
from voicebot.store.schema import CallRow, HandoverRow, TurnRow

UNKNOWN_INSTANCE = "unknown"
SUMMARY_PHRASES = 5


def redacted_slots(slots: dict[str, str]) -> dict[str, str]:
    return {str(key): redact(str(value)) for key, value in slots.items()}


def _turn_row(call_id: str, seq: int, turn: Turn) -> TurnRow:
    return TurnRow(
        call_id=call_id,
        seq=seq,
        speaker=turn.speaker,
        text=redact(turn.text),
        at=turn.at,
        intent=turn.intent,
        confidence=turn.confidence,
        slots=redacted_slots(turn.slots),
        latency_ms=turn.latency_ms,
        heard_fully=turn.heard_fully,
    )


def summary_of(record: CallRecord) -> str:
    """The caller's last phrases, redacted, for the agent who takes the call."""
    phrases = [redact(t.text) for t in record.turns if t.speaker == "caller" and t.text]
    return " / ".join(phrases[-SUMMARY_PHRASES:])


class CallWrites(StoreBase):
    def call_started(self, record: CallRecord, instance: str) -> None:
        with self._write() as session:
            row = session.get(CallRow, record.call_id)
            if row is None:
                row = CallRow(id=record.call_id, instance=instance, anonymised=False)
                session.add(row)
            row.instance = instance
            self._fill(row, record)

    def turn_added(self, call_id: str, turn: Turn, *, seq: int | None = None) -> None:
        """Append a turn (or, with ``seq``, write it at that place: a turn completed later)."""
        with self._write() as session:
            if session.get(CallRow, call_id) is None:
                raise StoreError(
                    f"Appel inconnu : {call_id}", hint="l'appel doit être enregistré d'abord"
                )
            if seq is None:
                last = session.scalar(
                    select(func.max(TurnRow.seq)).where(TurnRow.call_id == call_id)
                )
                seq = 0 if last is None else last + 1
            session.merge(_turn_row(call_id, seq, turn))

    def call_ended(self, record: CallRecord) -> None:
        """The whole call as it ended: its row, every turn; a hand-over joins the queue."""
        with self._write() as session:
            row = session.get(CallRow, record.call_id)
            if row is None:
                row = CallRow(id=record.call_id, instance=UNKNOWN_INSTANCE, anonymised=False)
                session.add(row)
            self._fill(row, record)
            row.ended_at = record.ended_at or self.now()
            session.flush()
            session.execute(delete(TurnRow).where(TurnRow.call_id == record.call_id))
            session.add_all(
                _turn_row(record.call_id, seq, turn) for seq, turn in enumerate(record.turns)
            )
            if record.outcome == "handed_over":
                self._queue_handover(session, record, row.ended_at)

    def close_open_calls(self, instance: str, outcome: str = "interrupted") -> int:
        """End the calls an instance left open (a crash, a stop); returns how many."""
        with self._write() as session:
            result = session.execute(
                update(CallRow)
                .where(CallRow.instance == instance, CallRow.ended_at.is_(None))
                .values(ended_at=self.now(), outcome=func.coalesce(CallRow.outcome, outcome))
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def hand_over_open_calls(self, instance: str, reason: str) -> int:
        """End the calls a dead process left open as handed over, each joining the queue.

        Used after a crash: the dialplan's fallback sent every caller whose bot died to
        the agents (``Stasis()`` returns ``FAILED``; ``Dial()`` and AudioSocket return),
        so the agents' queue must show them, with what was said before the crash. A call
        whose outcome was already written keeps it."""
        with self._write() as session:
            rows = session.scalars(
                select(CallRow).where(CallRow.instance == instance, CallRow.ended_at.is_(None))
            ).all()
            for row in rows:
                row.ended_at = self.now()
                if row.outcome is None:
                    row.outcome, row.handover_reason = "handed_over", reason
                if row.outcome != "handed_over":
                    continue
                if session.scalar(select(HandoverRow.id).where(HandoverRow.call_id == row.id)):
                    continue
                said = session.execute(
                    select(TurnRow.text, TurnRow.intent)
                    .where(TurnRow.call_id == row.id, TurnRow.speaker == "caller")
                    .order_by(TurnRow.seq)
                ).all()
                # Intents reach the call's row at its end; the turns synced live have them.
                if not row.intents:
                    row.intents = list(dict.fromkeys(i for _, i in said if i))
                session.add(
                    HandoverRow(
                        call_id=row.id,
                        line=row.line,
                        caller_number=row.caller_number,
                        reason=row.handover_reason,
                        intents=list(row.intents),
                        slots=dict(row.slots),
                        summary=" / ".join([t for t, _ in said if t][-SUMMARY_PHRASES:]),
                        created_at=row.ended_at,
                        status="waiting",
                    )
                )
            return len(rows)

    def open_instances(self) -> list[str]:
        """The instances that have calls in progress (or left open)."""
        with self._read() as session:
            rows = session.scalars(
                select(CallRow.instance).where(CallRow.ended_at.is_(None)).distinct()
            )
            return sorted(rows)

    @staticmethod
    def _fill(row: CallRow, record: CallRecord) -> None:
        row.line = record.line
        row.caller_number = record.caller or None
        row.transport = record.transport
        row.started_at = record.started_at
        row.outcome = record.outcome
        row.handover_reason = record.handover_reason
        row.intents = list(record.intents)
        row.slots = redacted_slots(record.slots)

    @staticmethod
    def _queue_handover(session: Session, record: CallRecord, at: datetime) -> None:
        existing = session.scalar(select(HandoverRow).where(HandoverRow.call_id == record.call_id))
        if existing is not None:
            return
        session.add(
            HandoverRow(
                call_id=record.call_id,
                line=record.line,
                caller_number=record.caller or None,
                reason=record.handover_reason,
                intents=list(record.intents),
                slots=redacted_slots(record.slots),
                summary=summary_of(record),
                created_at=at,
                status="waiting",
            )
        )
