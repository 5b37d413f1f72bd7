"""Figures over a period, from calls made to measure."""

from __future__ import annotations

from datetime import timedelta

from tests.store.conftest import T0, call_record, ended_call
from voicebot.store import Store


def test_analytics_of_a_morning(store: Store) -> None:
    at = T0  # 09:00 UTC
    ended_call(
        store, "r1", started_at=at, outcome="resolved", phrases=("horaires",), intents=("horaires",)
    )
    ended_call(store, "r2", started_at=at + timedelta(minutes=10), outcome="resolved")
    ended_call(store, "r3", started_at=at + timedelta(hours=1), outcome="resolved")
    ended_call(
        store,
        "h1",
        started_at=at + timedelta(minutes=20),
        outcome="handed_over",
        reason="not_understood",
        phrases=("euh le truc là", "le machin", "euh le truc là"),
    )
    ended_call(
        store,
        "h2",
        started_at=at + timedelta(hours=1, minutes=5),
        outcome="handed_over",
        reason="not_understood",
        phrases=("euh le truc là", "[touche 0]"),
    )
    ended_call(
        store, "h3", started_at=at + timedelta(hours=2), outcome="handed_over", reason="keypad_0"
    )
    ended_call(store, "a1", started_at=at + timedelta(hours=2), outcome="abandoned")
    ended_call(store, "f1", started_at=at + timedelta(hours=2), outcome="failed")
    # Outside the period, or still in progress: not counted.
    ended_call(store, "before", started_at=at - timedelta(seconds=1), outcome="resolved")
    ended_call(store, "after", started_at=at + timedelta(hours=3), outcome="handed_over")
    store.call_started(call_record("live", started_at=at + timedelta(hours=1)), "i1")

    stats = store.analytics(at, at + timedelta(hours=3))
    assert (stats.total, stats.resolved, stats.handed_over, stats.abandoned, stats.other) == (
        8,
        3,
        3,
        1,
        1,
    )
    assert stats.containment_rate == round(3 / 7, 4)
    assert stats.handovers_by_reason == {"not_understood": 2, "keypad_0": 1}
    assert stats.outcomes == {"handed_over": 3, "resolved": 3, "abandoned": 1, "failed": 1}
    assert stats.calls_per_hour == [
        ("2026-03-02T09:00:00+00:00", 3),
        ("2026-03-02T10:00:00+00:00", 2),
        ("2026-03-02T11:00:00+00:00", 3),
    ]
    assert stats.not_understood == [("euh le truc là", 3), ("le machin", 1)]


def test_an_empty_period(store: Store) -> None:
    stats = store.analytics(T0, T0 + timedelta(hours=2))
    assert stats.total == 0 and stats.containment_rate == 0.0
    assert stats.calls_per_hour == [
        ("2026-03-02T09:00:00+00:00", 0),
        ("2026-03-02T10:00:00+00:00", 0),
    ]
    assert stats.not_understood == [] and stats.outcomes == {}


def test_a_year_lists_only_the_hours_with_calls(store: Store) -> None:
    ended_call(store, "r1", started_at=T0 + timedelta(days=40, minutes=30), outcome="resolved")
    stats = store.analytics(T0, T0 + timedelta(days=365))
    assert stats.calls_per_hour == [("2026-04-11T09:00:00+00:00", 1)]
