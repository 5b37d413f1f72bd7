"""Sign-in limits: per (account, address) pair, and per account without locking its owner out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.store.conftest import T0, Clock
from voicebot import cli
from voicebot.store import Store
from voicebot.store.logins import (
    ACCOUNT_MAX_FAILURES,
    FAILURE_WINDOW,
    PAIR_MAX_FAILURES,
    LoginLock,
)

HOME = "192.0.2.10"
"""The account owner's desk."""


def fail(store: Store, username: str, ip: str, times: int = 1) -> list[LoginLock]:
    started: list[LoginLock] = []
    for _ in range(times):
        started += store.record_login(username, ip, False)
    return started


def test_five_failures_lock_the_pair_and_only_the_pair(store: Store, clock: Clock) -> None:
    first = clock.now
    assert fail(store, "alice", "10.0.0.1", PAIR_MAX_FAILURES - 1) == []
    assert store.login_lock("alice", "10.0.0.1") is None
    clock.advance(minutes=3)
    started = fail(store, "Alice", "10.0.0.1")  # the fifth: the lock starts, said once
    assert started == [LoginLock("alice", "10.0.0.1", 5, first + FAILURE_WINDOW)]
    assert store.login_lock("ALICE", "10.0.0.1") == started[0]
    assert fail(store, "alice", "10.0.0.1") == []  # had it been tried: no second start
    # Another address for the same account, another account from the same address: free.
    assert store.login_lock("alice", "10.0.0.2") is None
    assert store.login_lock("bob", "10.0.0.1") is None
    assert store.login_failures("alice", "10.0.0.1") == 6
    assert store.login_failures("alice") == 6


def test_the_pair_lock_lifts_with_the_window(store: Store, clock: Clock) -> None:
    fail(store, "alice", "10.0.0.1", PAIR_MAX_FAILURES)
    lock = store.login_lock("alice", "10.0.0.1")
    assert lock is not None and lock.until == T0 + FAILURE_WINDOW
    clock.now = lock.until - timedelta(seconds=1)
    assert store.login_lock("alice", "10.0.0.1") is not None
    clock.now = lock.until
    assert store.login_lock("alice", "10.0.0.1") is None


def test_a_success_starts_the_pairs_count_again(store: Store, clock: Clock) -> None:
    fail(store, "alice", HOME, PAIR_MAX_FAILURES - 1)
    assert store.record_login("alice", HOME, True) == []
    assert fail(store, "alice", HOME, PAIR_MAX_FAILURES - 1) == []
    assert store.login_lock("alice", HOME) is None
    assert store.login_failures("alice", HOME) == PAIR_MAX_FAILURES - 1


def test_the_account_limit_spares_addresses_without_failures(store: Store, clock: Clock) -> None:
    store.record_login("alice", HOME, True)  # the owner signed in from home last week
    clock.advance(days=7)
    addresses = [f"198.51.100.{n}" for n in range(ACCOUNT_MAX_FAILURES)]
    started: list[LoginLock] = []
    for ip in addresses:  # one failure from each of many addresses: no pair is locked
        started += fail(store, "alice", ip)
    assert started == [LoginLock("alice", None, ACCOUNT_MAX_FAILURES, clock.now + FAILURE_WINDOW)]
    # An address that failed is held by the account limit...
    held = store.login_lock("alice", addresses[0])
    assert held is not None and held.address is None
    # ...not a new address (one try each), and never the owner's, even after a typo.
    assert store.login_lock("alice", "203.0.113.99") is None
    assert store.login_lock("alice", HOME) is None
    fail(store, "alice", HOME)
    assert store.login_lock("alice", HOME) is None
    # Another account is not concerned.
    assert store.login_lock("bob", addresses[0]) is None


def test_an_unknown_address_with_a_failure_is_held_until_its_failure_ages(
    store: Store, clock: Clock
) -> None:
    for n in range(ACCOUNT_MAX_FAILURES):
        fail(store, "alice", f"198.51.100.{n}")
    clock.advance(minutes=5)
    fail(store, "alice", "203.0.113.5")
    held = store.login_lock("alice", "203.0.113.5")
    assert held is not None and held.until == T0 + FAILURE_WINDOW  # the account's, first


def test_locks_are_listed_and_lifted_by_unlocking(store: Store, clock: Clock) -> None:
    fail(store, "alice", "10.0.0.1", PAIR_MAX_FAILURES)
    fail(store, "alice", "10.0.0.2", 2)
    fail(store, "bob", "10.0.0.3", PAIR_MAX_FAILURES)
    store.record_login("carol", "10.0.0.4", True)
    assert [(lock.username, lock.address) for lock in store.login_locks()] == [
        ("alice", "10.0.0.1"),
        ("bob", "10.0.0.3"),
    ]
    assert store.unlock_logins("ALICE") == PAIR_MAX_FAILURES + 2
    assert store.login_lock("alice", "10.0.0.1") is None
    assert store.login_failures("alice") == 0
    assert [lock.username for lock in store.login_locks()] == ["bob"]
    assert store.unlock_logins("alice") == 0


def test_users_unlock_from_the_command_line(
    store: Store,
    clock: Clock,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICEBOT_DATABASE_URL", store_url)
    clock.now = datetime.now(UTC)  # the command's store runs on the real clock
    store.create_user("alice", "cheval agrafe pile correcte", "supervisor")
    fail(store, "alice", "10.0.0.1", PAIR_MAX_FAILURES)
    fail(store, "alice", "10.0.0.2")

    assert cli.main(["users", "unlock", "Alice"]) == 0
    out = capsys.readouterr().out
    assert out == "Connexion débloquée : alice (6 échec(s) récent(s) effacé(s)).\n"
    assert store.login_lock("alice", "10.0.0.1") is None
    [entry] = store.audit_log()
    assert (entry.username, entry.action, entry.target, entry.detail) == (
        "cli",
        "login_unlocked",
        "alice",
        {"failures_cleared": 6},
    )
    assert cli.main(["users", "unlock", "alice"]) == 0
    assert "rien à débloquer" in capsys.readouterr().out

    assert cli.main(["users", "unlock", "personne"]) == 10
    err = capsys.readouterr().err
    assert err.startswith("erreur : Compte inconnu : personne") and "voicebot users list" in err
