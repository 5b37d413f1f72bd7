"""Who did what in the console or with the CLI; kept when call content is purged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voicebot.store.base import StoreBase
from voicebot.store.schema import AuditRow
from voicebot.store.views import AuditEntry, User, view_of

CLI = "cli"


def masked_number(number: str) -> str:
    """A caller number as the audit log keeps it: its last two digits only."""
    digits = [c for c in number if c.isdigit()]
    return "*" * max(0, len(digits) - 2) + "".join(digits[-2:])


class Audit(StoreBase):
    def audit(
        self,
        user: User | None,
        action: str,
        target: str,
        detail: dict[str, Any] | str | None = None,
        *,
        username: str | None = None,
    ) -> None:
        """Record an action. Without a user it is the CLI's (``username`` may say otherwise).

        A text ``detail`` is kept as ``{"note": text}``."""
        if isinstance(detail, str):
            detail = {"note": detail} if detail else None
        with self._write() as session:
            session.add(
                AuditRow(
                    at=self.now(),
                    user_id=user.id if user else None,
                    username=(user.username if user else username or CLI)[:64],
                    action=action[:64],
                    target=target[:255],
                    detail=dict(detail or {}),
                )
            )

    def audit_log(self, limit: int = 200) -> list[AuditEntry]:
        """The most recent entries first."""
        with self._read() as session:
            rows = session.scalars(
                select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
            )
            return [view_of(AuditEntry, r) for r in rows]
