"""What every part of the store shares: the engine, the clock, transactions, the version."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from voicebot.errors import StoreError
from voicebot.store.schema import ChangeRow


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime, name: str) -> datetime:
    """A timezone-aware datetime in UTC; a naive one is refused (its zone is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(
            f"Date sans fuseau horaire : {name} = {value.isoformat()}",
            hint="donnez une date avec son fuseau, par exemple 2026-01-31T12:00:00+01:00",
        )
    return value.astimezone(UTC)


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE with ``\\`` as the escape: ``%`` and ``_`` in the text are literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class StoreBase:
    """The engine and the transactions; the parts of :class:`Store` build on this."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        """Now, in UTC: what expiries, waits and purges are measured against (tests set it)."""

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc

    @contextmanager
    def _write(self, *, visible: bool = True) -> Iterator[Session]:
        """One transaction; when ``visible``, the version the console watches is bumped last."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
                if visible:
                    session.execute(
                        update(ChangeRow)
                        .where(ChangeRow.id == 1)
                        .values(version=ChangeRow.version + 1)
                    )
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc

    def version(self) -> int:
        """Grows with every change the console shows, whichever instance made it."""
        with self._read() as session:
            return int(session.scalar(select(ChangeRow.version).where(ChangeRow.id == 1)) or 0)


def _unavailable(exc: SQLAlchemyError) -> StoreError:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return StoreError(
        "Erreur de la base de données : " + (detail[0] if detail else type(exc).__name__),
        hint="vérifiez que la base est joignable (voicebot db upgrade) puis réessayez",
    )
