"""The audit log: who did what; the CLI writes as « cli »."""

from __future__ import annotations

from tests.store.conftest import Clock
from voicebot.store import Store


def test_audit_entries(store: Store, clock: Clock) -> None:
    admin = store.create_user("admin", "cheval agrafe pile correcte", "admin")
    version = store.version()
    first_at = clock.now
    store.audit(None, "purge", "2026-03-02", {"calls_deleted": 3})
    clock.advance(seconds=1)
    store.audit(admin, "claim", "appel c1", "file n° 4")
    clock.advance(seconds=1)
    store.audit(None, "login_failed", "mallory", username="console")
    assert store.version() == version + 3

    newest, middle, oldest = store.audit_log()
    assert (oldest.username, oldest.action, oldest.target, oldest.detail) == (
        "cli",
        "purge",
        "2026-03-02",
        {"calls_deleted": 3},
    )
    assert (middle.username, middle.detail) == ("admin", {"note": "file n° 4"})
    assert (newest.username, newest.detail) == ("console", {})
    assert oldest.at == first_at and newest.at == clock.now
    assert [e.action for e in store.audit_log(limit=2)] == ["login_failed", "claim"]
