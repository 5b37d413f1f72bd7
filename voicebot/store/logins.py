"""Sign-in attempts, and limits on failures that nobody can turn against an account's owner.

Two limits, over the last 15 minutes:

- **Per pair** (account, address): 5 failures lock that address out of that account
  (a successful sign-in from the pair starts its count again). The same account from
  another address, and other accounts from the same address (an office behind one
  NAT), are not affected.
- **Per account**, across addresses: from 20 failures, an address may try that
  account only if it has no failure in the window, or if the account signed in from
  it in the last 30 days. A spread attack then gets one try per address, while the
  person at their own desk, who has not failed, still signs in with the right
  password: a lock made from elsewhere never keeps them out.

Refused attempts are not recorded (a lock does not lengthen itself). A failure that
starts a lock says so, once, for the audit log. An administrator lifts the locks of
an account by clearing its recent failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from voicebot.store.accounts import normalise_username
from voicebot.store.base import StoreBase
from voicebot.store.schema import LoginAttemptRow

PAIR_MAX_FAILURES = 5
ACCOUNT_MAX_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
KNOWN_ADDRESS_FOR = timedelta(days=30)
"""An address the account signed in from this recently is never held by the account limit."""


@dataclass(frozen=True, slots=True)
class LoginLock:
    """Why sign-ins are refused: an address for one account, or the account-wide limit."""

    username: str
    address: str | None
    """The locked address; ``None`` for the account-wide limit."""
    failures: int
    until: datetime
    """When it lifts by itself (unless more failures come)."""


def _key(username: str, address: str) -> tuple[str, str]:
    return normalise_username(username)[:64], address[:64]


class Logins(StoreBase):
    def record_login(self, username: str, ip: str, ok: bool) -> list[LoginLock]:
        """Record an attempt; for a failure, the locks it starts (at most one of each kind)."""
        username, ip = _key(username, ip)
        with self._write(visible=False) as session:
            now = self.now()
            session.add(LoginAttemptRow(username=username, ip=ip, at=now, ok=ok))
            session.flush()
            if ok:
                return []
            started = []
            count, oldest = _count(session, username, ip, now)
            if count == PAIR_MAX_FAILURES and oldest is not None:
                started.append(LoginLock(username, ip, count, oldest + FAILURE_WINDOW))
            count, oldest = _count(session, username, None, now)
            if count == ACCOUNT_MAX_FAILURES and oldest is not None:
                started.append(LoginLock(username, None, count, oldest + FAILURE_WINDOW))
            return started

    def login_lock(self, username: str, ip: str) -> LoginLock | None:
        """The lock that refuses sign-ins to ``username`` from ``ip`` now, if any."""
        username, ip = _key(username, ip)
        with self._read() as session:
            now = self.now()
            pair = _recent(session, now, username, ip)
            if len(pair) >= PAIR_MAX_FAILURES:
                return LoginLock(username, ip, len(pair), pair[-1] + FAILURE_WINDOW)
            if not pair:
                return None  # a pair that has not failed always gets to try
            account = _recent(session, now, username)
            if len(account) < ACCOUNT_MAX_FAILURES or _known(session, username, ip, now):
                return None
            until = min(account[-1], pair[0]) + FAILURE_WINDOW
            return LoginLock(username, None, len(account), until)

    def login_locks(self) -> list[LoginLock]:
        """Every lock in force, for the accounts page (pairs first, by account)."""
        locks: list[LoginLock] = []
        with self._read() as session:
            now = self.now()
            failing = select(LoginAttemptRow.username).where(
                LoginAttemptRow.ok.is_(False), LoginAttemptRow.at > now - FAILURE_WINDOW
            )
            for username in sorted(set(session.scalars(failing))):
                addresses = session.scalars(
                    failing.with_only_columns(LoginAttemptRow.ip)
                    .where(LoginAttemptRow.username == username)
                    .distinct()
                )
                for ip in sorted(addresses):
                    pair = _recent(session, now, username, ip)
                    if len(pair) >= PAIR_MAX_FAILURES:
                        until = pair[-1] + FAILURE_WINDOW
                        locks.append(LoginLock(username, ip, len(pair), until))
                account = _recent(session, now, username)
                if len(account) >= ACCOUNT_MAX_FAILURES:
                    until = account[-1] + FAILURE_WINDOW
                    locks.append(LoginLock(username, None, len(account), until))
        return locks

    def login_failures(self, username: str, ip: str | None = None) -> int:
        """Failures in the window: of the pair, or of the account from every address."""
        username = normalise_username(username)[:64]
        with self._read() as session:
            return _count(session, username, None if ip is None else ip[:64], self.now())[0]

    def unlock_logins(self, username: str) -> int:
        """Lift every lock of the account (its failures in the window are cleared);
        how many failures were cleared."""
        username = normalise_username(username)[:64]
        with self._write(visible=False) as session:
            result = session.execute(
                delete(LoginAttemptRow).where(
                    LoginAttemptRow.username == username,
                    LoginAttemptRow.ok.is_(False),
                    LoginAttemptRow.at > self.now() - FAILURE_WINDOW,
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _failures(username: str, ip: str | None, now: datetime) -> list[ColumnElement[bool]]:
    """The conditions of the failures that count: in the window; for a pair, after its
    last successful sign-in."""
    conditions: list[ColumnElement[bool]] = [
        LoginAttemptRow.username == username,
        LoginAttemptRow.ok.is_(False),
        LoginAttemptRow.at > now - FAILURE_WINDOW,
    ]
    if ip is not None:
        last_success = (
            select(func.coalesce(func.max(LoginAttemptRow.id), 0))
            .where(
                LoginAttemptRow.username == username,
                LoginAttemptRow.ip == ip,
                LoginAttemptRow.ok.is_(True),
            )
            .scalar_subquery()
        )
        conditions += [LoginAttemptRow.ip == ip, LoginAttemptRow.id > last_success]
    return conditions


def _recent(
    session: Session, now: datetime, username: str, ip: str | None = None
) -> list[datetime]:
    """When the counted failures happened, newest first, as many as the limit."""
    limit = ACCOUNT_MAX_FAILURES if ip is None else PAIR_MAX_FAILURES
    query = (
        select(LoginAttemptRow.at)
        .where(*_failures(username, ip, now))
        .order_by(LoginAttemptRow.at.desc(), LoginAttemptRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def _count(
    session: Session, username: str, ip: str | None, now: datetime
) -> tuple[int, datetime | None]:
    """How many failures count, and the oldest of them."""
    row = session.execute(
        select(func.count(), func.min(LoginAttemptRow.at)).where(*_failures(username, ip, now))
    ).one()
    return int(row[0] or 0), row[1]


def _known(session: Session, username: str, ip: str, now: datetime) -> bool:
    """Whether the account signed in successfully from this address recently."""
    found = session.scalar(
        select(LoginAttemptRow.id)
        .where(
            LoginAttemptRow.username == username,
            LoginAttemptRow.ip == ip,
            LoginAttemptRow.ok.is_(True),
            LoginAttemptRow.at >= now - KNOWN_ADDRESS_FOR,
        )
        .limit(1)
    )
    return found is not None
