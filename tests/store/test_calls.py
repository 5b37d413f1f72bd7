"""What the bot writes, as the console reads it: live calls, the queue, one call in detail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.store.conftest import T0, Clock, call_record, ended_call
from voicebot.calls.record import Turn
from voicebot.errors import StoreError
from voicebot.store import Store


def test_a_call_from_start_to_hand_over(store: Store, clock: Clock) -> None:
    record = call_record("c1", phrases=("je voudrais un passeport",), intents=("titre_identite",))
    greeting, *rest = record.turns
    record.turns = [greeting]
    version = store.version()

    store.call_started(record, "bot-a")
    store.turn_added("c1", greeting)
    [live] = store.live_calls()
    assert (live.call_id, live.instance, live.caller_number, live.turn_count) == (
        "c1",
        "bot-a",
        "0612345678",
        1,
    )
    assert live.ended_at is None and live.last_text == greeting.text
    assert live.started_at == T0 and live.started_at.tzinfo is not None

    for turn in rest:
        record.turns.append(turn)
        store.turn_added("c1", turn)
    assert store.live_calls()[0].turn_count == 3
    assert store.queue() == []

    clock.advance(seconds=30)
    record.outcome, record.handover_reason = "handed_over", "asked_for_agent"
    record.ended_at = T0 + timedelta(seconds=20)
    store.call_ended(record)
    assert store.version() > version
    assert store.live_calls() == []

    [waiting] = store.queue()
    assert waiting.status == "waiting" and waiting.call_id == "c1"
    assert waiting.reason == "asked_for_agent" and waiting.intents == ["titre_identite"]
    assert waiting.created_at == record.ended_at
    assert waiting.waited_s == pytest.approx(10.0)  # from the end of the call to now
    assert [t.text for t in waiting.transcript] == [t.text for t in record.turns]

    detail = store.call_detail("c1")
    assert detail is not None
    assert detail.summary.outcome == "handed_over" and detail.summary.turn_count == 3
    assert [t.seq for t in detail.turns] == [0, 1, 2]
    assert detail.turns[1].intent == "titre_identite" and detail.turns[2].latency_ms == 420.0
    assert detail.turns[2].heard_fully is True
    assert detail.handover is not None and detail.handover.id == waiting.id
    assert store.call_detail("nope") is None


def test_turns_are_redacted_before_they_are_stored(store: Store) -> None:
    record = call_record("c1")
    store.call_started(record, "i1")
    spoken = "c'est le zéro six douze trente-quatre cinquante-six soixante-dix-huit"
    store.turn_added("c1", Turn("caller", spoken, slots={"mail": "jean.dupont@exemple.fr"}))
    detail = store.call_detail("c1")
    assert detail is not None
    assert detail.turns[-1].text == "c'est le [téléphone]"
    assert detail.turns[-1].slots == {"mail": "[e-mail]"}

    record.turns.append(Turn("caller", "mon adresse est jean point dupont arobase orange point fr"))
    record.outcome = "handed_over"
    store.call_ended(record)
    detail = store.call_detail("c1")
    assert detail is not None and detail.handover is not None
    assert detail.turns[-1].text == "mon adresse est [e-mail]"
    assert "dupont" not in detail.handover.transcript[-1].text


def test_a_turn_completed_later_is_rewritten_in_place(store: Store) -> None:
    store.call_started(call_record("c1"), "i1")
    store.turn_added("c1", Turn("caller", "bonjour"))
    store.turn_added("c1", Turn("caller", "bonjour", intent="salutation"), seq=0)
    detail = store.call_detail("c1")
    assert detail is not None
    assert [(t.seq, t.intent) for t in detail.turns] == [(0, "salutation")]


def test_a_turn_for_an_unknown_call_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="Appel inconnu"):
        store.turn_added("ghost", Turn("caller", "allô"))


def test_ending_twice_queues_one_hand_over(store: Store) -> None:
    record = ended_call(store, "c1", outcome="handed_over", reason="keypad_0", phrases=("allô",))
    store.call_ended(record)
    assert len(store.queue()) == 1
    assert store.call_detail("c1") is not None
    assert store.call_detail("c1").summary.turn_count == 3  # type: ignore[union-attr]


def test_an_end_without_a_start_is_kept(store: Store) -> None:
    record = call_record("c1", outcome="resolved")
    store.call_ended(record)
    detail = store.call_detail("c1")
    assert detail is not None and detail.summary.instance == "unknown"
    assert detail.handover is None


def test_close_open_calls_ends_only_that_instances_open_calls(store: Store, clock: Clock) -> None:
    store.call_started(call_record("a1"), "bot-a")
    store.call_started(call_record("a2"), "bot-a")
    store.call_started(call_record("b1"), "bot-b")
    ended_call(store, "a3", instance="bot-a", outcome="resolved")
    assert store.open_instances() == ["bot-a", "bot-b"]

    clock.advance(minutes=5)
    assert store.close_open_calls("bot-a") == 2
    assert [c.call_id for c in store.live_calls()] == ["b1"]
    for call_id in ("a1", "a2"):
        detail = store.call_detail(call_id)
        assert detail is not None
        assert detail.summary.outcome == "interrupted" and detail.summary.ended_at == clock.now
    resolved = store.call_detail("a3")
    assert resolved is not None and resolved.summary.outcome == "resolved"
    assert store.close_open_calls("bot-a") == 0
    assert store.close_open_calls("bot-b", outcome="closed") == 1
    assert store.open_instances() == []


CALLERS = {
    "reunion": "+262692123456",
    "reunion-stored-before": "0692123456",  # a row written before numbers were E.164
    "paris": "+33612345678",
    "martinique": "+596696201234",
    "masque": None,
}


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("0692 12 34 56", {"reunion", "reunion-stored-before"}),
        ("+262692123456", {"reunion", "reunion-stored-before"}),
        ("00262 692 12 34 56", {"reunion", "reunion-stored-before"}),
        ("06 12 34 56 78", {"paris"}),
        ("+33 6 12 34 56 78", {"paris"}),
        ("0696 20 12 34", {"martinique"}),
        ("+33 6 96 20 12 34", set()),  # not Martinique's number: +33 is metropolitan
        ("34 56", {"reunion", "reunion-stored-before", "paris"}),  # part of a number: anywhere
        ("20 12", {"martinique"}),
        ("262", {"reunion"}),
        ("%", set()),
    ],
)
def test_the_history_finds_a_caller_however_the_number_is_written(
    store: Store, written: str, found: set[str]
) -> None:
    for call_id, caller in CALLERS.items():
        ended_call(store, call_id, caller=caller, outcome="resolved")
    page, total = store.search_calls(caller=written)
    assert {summary.call_id for summary in page} == found and total == len(found)


def test_calls_a_crash_left_open_join_the_queue_with_what_was_said(
    store: Store, clock: Clock
) -> None:
    """At the next start, the calls of a dead process: its callers are with the agents."""
    live = call_record(
        "k1",
        phrases=("je voudrais un passeport", "mon numéro est le 06 12 34 56 78"),
        intents=("titre_identite",),
    )
    store.call_started(call_record("k1"), "bot-dead")  # intents reach the row at the end
    for seq, turn in enumerate(live.turns):
        store.turn_added("k1", turn, seq=seq)
    decided = call_record("k2", outcome="resolved")
    store.call_started(decided, "bot-dead")  # its end was decided, never written
    store.call_started(call_record("k3"), "bot-alive")

    clock.advance(minutes=1)
    assert store.hand_over_open_calls("bot-dead", "bot_crashed") == 2
    assert [c.call_id for c in store.live_calls()] == ["k3"]
    crashed = store.call_detail("k1")
    assert crashed is not None and crashed.summary.ended_at == clock.now
    assert (crashed.summary.outcome, crashed.summary.handover_reason) == (
        "handed_over",
        "bot_crashed",
    )
    assert crashed.summary.intents == ["titre_identite"]  # from the turns synced live
    [waiting] = [h for h in store.queue() if h.call_id == "k1"]
    assert waiting.reason == "bot_crashed" and waiting.intents == ["titre_identite"]
    assert "passeport" in waiting.transcript[1].text
    assert "06 12" not in " ".join(t.text for t in waiting.transcript)  # redacted as written
    resolved = store.call_detail("k2")
    assert resolved is not None and resolved.summary.outcome == "resolved"
    assert resolved.handover is None
    assert store.hand_over_open_calls("bot-dead", "bot_crashed") == 0  # nothing twice
