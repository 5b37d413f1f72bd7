"""Privacy: the purge takes what is past its limit and nothing else; a caller's data is
exported whole and erased alone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import ColumnElement, func, select

from tests.store.conftest import T0, Clock, ended_call
from voicebot.errors import StoreError
from voicebot.store import Store
from voicebot.store.schema import AuditRow, Base, CallRow, HandoverRow, LoginAttemptRow, TurnRow

NOW = T0
CONTENT_DAYS = 183
STATS_DAYS = 365
CONTENT_LIMIT = NOW - timedelta(days=CONTENT_DAYS)
STATS_LIMIT = NOW - timedelta(days=STATS_DAYS)
SECOND = timedelta(seconds=1)


def count(store: Store, table: type[Base], *where: ColumnElement[bool]) -> int:
    with store.engine.connect() as connection:
        statement = select(func.count()).select_from(table).where(*where)
        return int(connection.execute(statement).scalar_one())


def anonymised(store: Store, call_id: str) -> bool:
    with store.engine.connect() as connection:
        return bool(
            connection.execute(select(CallRow.anonymised).where(CallRow.id == call_id)).scalar()
        )


def test_purge_takes_only_what_is_past_its_limit(store: Store, clock: Clock) -> None:
    for call_id, started in {
        "stats_out": STATS_LIMIT - SECOND,
        "stats_in": STATS_LIMIT + SECOND,
        "content_out": CONTENT_LIMIT - SECOND,
        "content_in": CONTENT_LIMIT + SECOND,
        "recent": NOW - timedelta(hours=1),
    }.items():
        ended_call(
            store,
            call_id,
            started_at=started,
            outcome="handed_over",
            reason="keypad_0",
            phrases=("je veux un conseiller",),
            intents=("conseiller",),
        )
    user = store.create_user("agent1", "cheval agrafe pile correcte", "agent")
    clock.now = NOW - timedelta(hours=8, seconds=1)
    expired, _ = store.new_session(user, lifetime_s=8 * 3600)
    clock.now = NOW - timedelta(hours=8) + SECOND
    alive, _ = store.new_session(user, lifetime_s=8 * 3600)
    clock.now = NOW - timedelta(days=30) - SECOND
    store.record_login("agent1", "10.0.0.1", False)
    store.audit(None, "ancien", "très vieille entrée")
    clock.now = NOW - timedelta(days=30) + SECOND
    store.record_login("agent1", "10.0.0.1", False)
    clock.now = NOW

    report = store.purge(NOW, CONTENT_DAYS, STATS_DAYS)
    assert (report.content_cleared, report.calls_deleted, report.sessions_deleted) == (2, 1, 1)

    remaining = {c.call_id for c in store.search_calls(limit=100)[0]}
    assert remaining == {"stats_in", "content_out", "content_in", "recent"}
    for call_id in ("stats_in", "content_out"):  # kept as anonymous statistics
        detail = store.call_detail(call_id)
        assert detail is not None and anonymised(store, call_id)
        summary = detail.summary
        assert summary.caller_number is None and summary.intents == []
        assert detail.turns == [] and detail.handover is None
        assert (summary.outcome, summary.handover_reason, summary.line) == (
            "handed_over",
            "keypad_0",
            "mairie",
        )
        assert summary.ended_at is not None
    for call_id in ("content_in", "recent"):  # untouched
        detail = store.call_detail(call_id)
        assert detail is not None and not anonymised(store, call_id)
        assert detail.summary.caller_number == "0612345678"
        assert detail.summary.intents == ["conseiller"]
        assert len(detail.turns) == 3 and detail.handover is not None
    assert store.session(expired) is None and store.session(alive) is not None
    assert count(store, LoginAttemptRow) == 1
    assert count(store, LoginAttemptRow, LoginAttemptRow.at > NOW - timedelta(days=30)) == 1
    assert [e.action for e in store.audit_log()] == ["ancien"]  # the audit log stays

    again = store.purge(NOW, CONTENT_DAYS, STATS_DAYS)
    assert (again.content_cleared, again.calls_deleted, again.sessions_deleted) == (0, 0, 0)


def test_purge_wants_a_zoned_time(store: Store) -> None:
    with pytest.raises(StoreError, match="sans fuseau"):
        store.purge(NOW.replace(tzinfo=None), CONTENT_DAYS, STATS_DAYS)


@pytest.fixture
def callers(store: Store) -> Store:
    ended_call(
        store,
        "mine1",
        caller="0612345678",
        outcome="handed_over",
        reason="keypad_0",
        phrases=("je veux parler à quelqu'un",),
    )
    ended_call(
        store,
        "mine2",
        caller="+33612345678",
        started_at=T0 + timedelta(hours=1),
        outcome="resolved",
        phrases=("les horaires de la piscine",),
    )
    ended_call(
        store,
        "theirs",
        caller="0698765432",
        outcome="handed_over",
        reason="not_understood",
        phrases=("une question sur ma taxe foncière",),
    )
    ended_call(store, "hidden", caller=None, outcome="resolved", phrases=("état civil",))
    store.audit(None, "avant", "x")
    return store


def test_export_holds_everything_of_one_caller_and_nothing_else(callers: Store) -> None:
    data = callers.export_caller("06 12 34 56 78")
    text = json.dumps(data, ensure_ascii=False)
    assert [c["call_id"] for c in data["calls"]] == ["mine1", "mine2"]
    first, second = data["calls"]
    assert [t["text"] for t in first["turns"]][1] == "je veux parler à quelqu'un"
    assert first["handover"]["reason"] == "keypad_0" and first["handover"]["status"] == "waiting"
    assert second["caller_number"] == "+33612345678" and second["handover"] is None
    assert len(second["turns"]) == 3
    for foreign in ("0698765432", "taxe foncière", "theirs", "état civil", "hidden"):
        assert foreign not in text
    assert callers.export_caller("0611111111")["calls"] == []


def test_erase_removes_one_callers_calls_and_nothing_else(callers: Store) -> None:
    before = {
        "turns": count(callers, TurnRow, TurnRow.call_id.in_(["theirs", "hidden"])),
        "handovers": count(callers, HandoverRow),
        "audit": count(callers, AuditRow),
    }
    assert callers.erase_caller("+33 6 12 34 56 78") == 2
    assert {c.call_id for c in callers.search_calls()[0]} == {"theirs", "hidden"}
    assert count(callers, TurnRow, TurnRow.call_id.in_(["mine1", "mine2"])) == 0
    assert count(callers, TurnRow) == before["turns"] == 6
    assert count(callers, HandoverRow) == before["handovers"] - 1 == 1
    assert count(callers, AuditRow) == before["audit"]
    assert callers.erase_caller("0612345678") == 0


def test_a_number_that_is_not_one_is_refused(callers: Store) -> None:
    with pytest.raises(StoreError, match="illisible"):
        callers.erase_caller("%")
    with pytest.raises(StoreError, match="illisible"):
        callers.export_caller("' OR 1=1 --")
    assert callers.search_calls()[1] == 4
