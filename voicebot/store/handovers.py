"""The queue of calls handed to humans: who waits, who took which, how it ended."""

from __future__ import annotations

from sqlalchemy import case, func, literal, or_, select, update

from voicebot.errors import StoreError
from voicebot.store.base import StoreBase
from voicebot.store.reads import handover_view
from voicebot.store.schema import HandoverRow, UserRow, UtcDateTime
from voicebot.store.views import HandoverView, User

RECENT_HANDLED = 200
MAX_RESOLUTION = 4000


class Handovers(StoreBase):
    def queue(self, include_handled: bool = False) -> list[HandoverView]:
        """Waiting first (oldest first), then claimed (oldest first); then, if asked, the
        most recently handled (newest first, the last 200)."""
        order = case((HandoverRow.status == "waiting", 0), else_=1)
        with self._read() as session:
            now = self.now()
            rows = list(
                session.scalars(
                    select(HandoverRow)
                    .where(HandoverRow.status != "handled")
                    .order_by(order, HandoverRow.created_at, HandoverRow.id)
                )
            )
            if include_handled:
                rows += session.scalars(
                    select(HandoverRow)
                    .where(HandoverRow.status == "handled")
                    .order_by(HandoverRow.handled_at.desc(), HandoverRow.id.desc())
                    .limit(RECENT_HANDLED)
                )
            return [handover_view(session, row, now) for row in rows]

    def handover(self, handover_id: int) -> HandoverView | None:
        with self._read() as session:
            row = session.get(HandoverRow, handover_id)
            return None if row is None else handover_view(session, row, self.now())

    def claim(self, handover_id: int, user: User) -> HandoverView:
        """Take a waiting call; refused if another agent has it or it is handled."""
        with self._write() as session:
            now = self.now()
            result = session.execute(
                update(HandoverRow)
                .where(
                    HandoverRow.id == handover_id,
                    or_(
                        HandoverRow.status == "waiting",
                        (HandoverRow.status == "claimed") & (HandoverRow.claimed_by == user.id),
                    ),
                )
                .values(
                    status="claimed",
                    claimed_by=user.id,
                    claimed_at=func.coalesce(HandoverRow.claimed_at, literal(now, UtcDateTime())),
                )
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                raise self._refusal(handover_id, "prendre")
            row = session.get(HandoverRow, handover_id, populate_existing=True)
            if row is None:  # deleted between the two statements (a purge)
                raise self._refusal(handover_id, "prendre")
            return handover_view(session, row, now)

    def mark_handled(self, handover_id: int, user: User, resolution: str) -> HandoverView:
        """Close a hand-over with what was done. An agent closes only what is theirs
        (or still waiting); a supervisor or admin may close any."""
        resolution = resolution.strip()[:MAX_RESOLUTION]
        allowed = HandoverRow.status == "waiting"
        if user.role == "agent":
            allowed = allowed | (
                (HandoverRow.status == "claimed") & (HandoverRow.claimed_by == user.id)
            )
        else:
            allowed = allowed | (HandoverRow.status == "claimed")
        with self._write() as session:
            now = self.now()
            result = session.execute(
                update(HandoverRow)
                .where(HandoverRow.id == handover_id, allowed)
                .values(
                    status="handled",
                    handled_at=now,
                    resolution=resolution,
                    claimed_by=func.coalesce(HandoverRow.claimed_by, user.id),
                    claimed_at=func.coalesce(HandoverRow.claimed_at, literal(now, UtcDateTime())),
                )
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                raise self._refusal(handover_id, "clore")
            row = session.get(HandoverRow, handover_id, populate_existing=True)
            if row is None:
                raise self._refusal(handover_id, "clore")
            return handover_view(session, row, now)

    def _refusal(self, handover_id: int, verb: str) -> StoreError:
        with self._read() as session:
            row = session.get(HandoverRow, handover_id)
            if row is None:
                return StoreError(
                    f"Transfert inconnu : n° {handover_id}",
                    hint="il a peut-être été effacé ; rechargez la file d'attente",
                )
            if row.status == "handled":
                return StoreError(
                    f"Impossible de {verb} le transfert n° {handover_id} : il est déjà traité",
                    hint="rechargez la file d'attente",
                )
            holder = session.scalar(select(UserRow.username).where(UserRow.id == row.claimed_by))
            return StoreError(
                f"Impossible de {verb} le transfert n° {handover_id} : "
                f"il est déjà pris en charge par {holder or 'un autre agent'}",
                hint="choisissez un autre appel de la file, ou demandez à un superviseur",
            )
