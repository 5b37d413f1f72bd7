"""Corrections in the dialog, from tables: a refusal with content amends the request."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.dialog.test_policy import Call, of, spoken, with_required
from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.dialog.events import HandOver, HangUp
from voicebot.nlu.understand import Understander

TUESDAY, WEDNESDAY = "2026-12-01", "2026-12-02"  # the call is on Thursday 2026-11-26


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander(load_content(PROJECT_ROOT / "prompts"))


def confirming(understander: Understander) -> Call:
    call = Call(understander)
    # Acting only from certainty forces the confirmation path with a real understanding.
    call.context = replace(call.context, act_above=1.01)
    return call


def confirm_text(call: Call, intent: str) -> str:
    label = call.context.line.intents[intent].label
    return call.prompt("confirm").replace("{label}", label)


CONFIRM_CORRECTIONS: list[tuple[str, str, str, str, str]] = [
    # (request, correction at the confirmation, intent then pending, slot, value after)
    ("je voudrais un rendez vous mardi", "non pas mardi mercredi", "rendez_vous", "date",
     WEDNESDAY),
    ("je voudrais un rendez vous mardi", "non pardon mercredi plutôt", "rendez_vous", "date",
     WEDNESDAY),
    ("un rendez vous à dix heures", "non pardon à onze heures", "rendez_vous", "heure", "11:00"),
    ("je voudrais refaire ma carte d'identité", "non pardon pas la carte d'identité le "
     "passeport", "titre_identite", "document", "passeport"),
    ("je voudrais un acte de mariage", "non pas de mariage de naissance", "etat_civil", "acte",
     "naissance"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "correction", "intent", "slot", "value"), CONFIRM_CORRECTIONS)
def test_a_correction_at_the_confirmation_amends_and_confirms_again(
    understander: Understander,
    request_: str,
    correction: str,
    intent: str,
    slot: str,
    value: str,
) -> None:
    call = confirming(understander)
    call.say(request_)
    assert call.state.phase == "confirm" and call.state.pending_intent == intent
    assert call.state.slots.get(slot) != value
    actions = call.say(correction)
    assert not of(actions, HangUp) and not of(actions, HandOver)
    assert call.state.phase == "confirm" and call.state.pending_intent == intent
    assert call.state.slots[slot] == value
    assert spoken(actions) == confirm_text(call, intent)
    assert call.state.failures == 0
    answer = call.say("oui")
    assert call.answered(answer)
    assert call.state.slots[slot] == value


def test_a_correction_naming_another_request_switches_to_it(understander: Understander) -> None:
    call = confirming(understander)
    call.say("je voudrais refaire mon passeport")
    assert call.state.pending_intent == "titre_identite"
    actions = call.say("non pardon c'est pour un acte de naissance")
    assert call.state.phase == "confirm" and call.state.pending_intent == "etat_civil"
    assert call.state.slots.get("acte") == "naissance"
    assert spoken(actions) == confirm_text(call, "etat_civil")


@pytest.mark.parametrize("answer", ["non", "non pas du tout", "non c'est pas ça"])
def test_a_bare_no_to_a_confirmation_asks_what_was_meant(
    understander: Understander, answer: str
) -> None:
    call = confirming(understander)
    call.say("je voudrais un rendez vous mardi")
    actions = call.say(answer)
    assert not of(actions, HangUp) and not of(actions, HandOver)
    assert call.state.phase == "open" and spoken(actions) == call.prompt("ask")
    assert call.state.pending_intent is None


SLOT_CORRECTIONS: list[tuple[list[str], str, str]] = [
    # (turns after the request, slot, value at the end)
    (["mardi", "non pardon mercredi plutôt"], "date", WEDNESDAY),
    (["mardi non pardon mercredi"], "date", WEDNESDAY),
    (["mardi", "je me suis trompé c'est mercredi"], "date", WEDNESDAY),
]


@pytest.mark.parametrize(("turns", "slot", "value"), SLOT_CORRECTIONS)
def test_a_correction_during_slot_filling_replaces_the_value(
    understander: Understander, turns: list[str], slot: str, value: str
) -> None:
    call = Call(understander)
    # The shipped content asks for no day nor time (the bot cannot book).
    with_required(call, "rendez_vous", "date", "heure")
    call.say("je voudrais un rendez vous")
    assert call.state.asking_slot == "date"
    for turn in turns:
        actions = call.say(turn)
        assert not of(actions, HangUp) and not of(actions, HandOver)
    assert call.state.slots[slot] == value
    # The value replaced, the bot still asks for what is missing.
    assert call.state.phase == "slot" and call.state.asking_slot == "heure"
    call.say("à dix heures")
    assert call.state.slots == {**call.state.slots, slot: value, "heure": "10:00"}
    assert call.state.phase == "anything_else"


def test_another_request_after_the_answer_is_not_taken_as_a_correction(
    understander: Understander,
) -> None:
    call = Call(understander)
    call.say("je voudrais annuler mon rendez vous de mardi")
    call.say("non pardon je voudrais les horaires de la piscine")
    assert call.state.pending_intent == "horaires" and call.state.slots == {"service": "piscine"}
    assert call.state.phase == "anything_else"


def test_a_correction_after_the_answer_amends_instead_of_ending(
    understander: Understander,
) -> None:
    call = Call(understander)
    call.say("je voudrais annuler mon rendez vous de mardi")
    assert call.state.phase == "anything_else" and call.state.slots["date"] == TUESDAY
    actions = call.say("non pas mardi mercredi")
    assert not of(actions, HangUp)
    assert call.state.slots["date"] == WEDNESDAY and call.state.pending_intent == "rendez_vous"
    assert call.state.phase == "anything_else"
    assert call.answered(actions)
    # A bare « non » to « autre chose ? » still ends the call.
    bye = call.say("non")
    assert of(bye, HangUp) and of(bye, HangUp)[0].outcome == "resolved"


@pytest.mark.parametrize(
    ("turn", "transfers"),
    [
        ("je ne veux pas parler à quelqu'un je veux juste savoir quand passe la poubelle jaune",
         False),
        ("pas besoin d'un conseiller je voudrais les horaires de la piscine", False),
        ("je veux parler à quelqu'un", True),
    ],
)  # fmt: skip
def test_a_negated_control_phrase_never_transfers(
    understander: Understander, turn: str, transfers: bool
) -> None:
    call = Call(understander)
    actions = call.say(turn)
    assert bool(of(actions, HandOver)) is transfers
    if not transfers:
        assert call.answered(actions)


def test_a_closing_no_ends_the_call(understander: Understander) -> None:
    call = Call(understander)
    call.say("les horaires de la piscine")
    assert call.state.phase == "anything_else"
    bye = call.say("non c'est bon j'ai ce qu'il me faut merci")
    assert call.state.last_turn is not None and call.state.last_turn.intent == "au_revoir"
    assert of(bye, HangUp) and of(bye, HangUp)[0].outcome == "resolved"
