"""Console sessions (only a hash of the token is kept) and the count of failed sign-ins."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from tests.store.conftest import Clock
from voicebot.store import Store, User
from voicebot.store.schema import SessionRow

PASSWORD = "cheval agrafe pile correcte"


@pytest.fixture
def user(store: Store) -> User:
    return store.create_user("agent1", PASSWORD, "agent")


def test_a_session_lives_until_it_expires(store: Store, clock: Clock, user: User) -> None:
    token, csrf = store.new_session(user, lifetime_s=3600)
    assert len(token) >= 43 and len(csrf) >= 43 and token != csrf
    with store.engine.connect() as connection:
        keys = connection.execute(select(SessionRow.token_hash)).scalars().all()
    assert keys == [hashlib.sha256(token.encode()).hexdigest()]  # never the token itself

    assert store.session(token) == (user, csrf)
    assert store.session(token + "x") is None
    clock.advance(minutes=59)
    assert store.session(token) == (user, csrf)
    clock.advance(minutes=1)
    assert store.session(token) is None


def test_last_seen_is_updated(store: Store, clock: Clock, user: User) -> None:
    token, _ = store.new_session(user)
    clock.advance(minutes=10)
    store.session(token)
    with store.engine.connect() as connection:
        last_seen = connection.execute(select(SessionRow.last_seen)).scalar_one()
    assert last_seen.replace(tzinfo=None) == clock.now.replace(tzinfo=None)


def test_ending_sessions(store: Store, user: User) -> None:
    other = store.create_user("agent2", PASSWORD, "agent")
    first, _ = store.new_session(user)
    second, _ = store.new_session(user)
    third, _ = store.new_session(other)
    store.end_session(first)
    assert store.session(first) is None and store.session(second) is not None
    store.end_sessions_of(user.id)
    assert store.session(second) is None and store.session(third) is not None


def test_an_inactive_users_session_is_refused(store: Store, user: User) -> None:
    token, _ = store.new_session(user)
    store.set_active(user.id, False)
    assert store.session(token) is None
    store.set_active(user.id, True)
    assert store.session(token) is not None
