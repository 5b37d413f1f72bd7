"""Dialog paths from tables: each row is a call, event by event, with what must happen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.dialog.events import (
    Action,
    CallStarted,
    Event,
    FetchLive,
    HandOver,
    HangUp,
    Heard,
    Keypad,
    Listen,
    LiveData,
    SendSms,
    Silence,
    Speak,
    StageFailed,
)
from voicebot.dialog.policy import DialogContext, DialogState, step
from voicebot.nlu.understand import Understander

A = TypeVar("A")
PARIS = ZoneInfo("Europe/Paris")
OPEN = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)  # Thursday morning
CLOSED = datetime(2026, 11, 29, 10, 0, tzinfo=PARIS)  # Sunday
STATIONS = ("Place de la Mairie", "Gare Centrale")


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander(load_content(PROJECT_ROOT / "prompts"))


def context(understander: Understander, line: str = "mairie") -> DialogContext:
    content = understander.content
    return DialogContext(content.line(line), content.service, understander, STATIONS)


class Call:
    """Drives the step function and keeps every action."""

    def __init__(
        self, understander: Understander, now: datetime = OPEN, line: str = "mairie"
    ) -> None:
        self.context = context(understander, line)
        self.state = DialogState(line=line)
        self.log: list[list[Action]] = []
        self.send(CallStarted(now))

    def send(self, event: Event) -> list[Action]:
        self.state, actions = step(self.state, event, self.context)
        self.log.append(actions)
        return actions

    def say(self, text: str) -> list[Action]:
        return self.send(Heard(text))

    def prompt(self, key: str) -> str:
        return self.context.line.prompts[key]


def spoken(actions: Sequence[Action]) -> str:
    return " ".join(a.text for a in actions if isinstance(a, Speak))


def of(actions: Sequence[Action], kind: type[A]) -> list[A]:
    return [a for a in actions if isinstance(a, kind)]


def test_greeting_carries_the_notice_and_listens(understander: Understander) -> None:
    call = Call(understander)
    first = call.log[0]
    assert "assistant automatique" in spoken(first) and "0" in spoken(first)
    assert isinstance(first[-1], Listen)
    assert call.state.agents_open


def test_confident_request_is_answered_then_goodbye(understander: Understander) -> None:
    call = Call(understander)
    answer = call.say("bonjour je voudrais renouveler mon passeport")
    assert call.prompt("anything_else") in spoken(answer)
    assert "passeport" in spoken(answer).lower()
    assert call.state.phase == "anything_else"
    bye = call.say("non merci c'est tout")
    assert of(bye, HangUp) and of(bye, HangUp)[0].outcome == "resolved"


def test_missing_slot_is_asked_for(understander: Understander) -> None:
    call = Call(understander)
    ask = call.say("je voudrais savoir où en est mon dossier")
    assert call.state.phase == "slot" and call.state.asking_slot == "numero_dossier"
    listen = of(ask, Listen)[0]
    assert listen.grammar is not None and "deux" in listen.grammar
    answer = call.say("a b un deux trois quatre")
    assert call.state.slots["numero_dossier"] == "AB1234"
    assert "A B 1 2 3 4" in spoken(answer)


@pytest.mark.parametrize("answer", ["oui c'est ça", "non pas du tout"])
def test_unsure_request_is_confirmed(understander: Understander, answer: str) -> None:
    call = Call(understander)
    # Acting only from certainty forces the confirmation path with a real understanding.
    call.context = replace(call.context, act_above=1.01)
    actions = call.say("je voudrais refaire mon passeport")
    assert call.state.phase == "confirm"
    label = call.context.line.intents["titre_identite"].label
    assert call.prompt("confirm").replace("{label}", label) == spoken(actions)
    listen = of(actions, Listen)[0]
    assert listen.grammar is not None and "oui" in listen.grammar
    after = call.say(answer)
    if answer.startswith("oui"):
        assert call.state.pending_intent == "titre_identite"
        assert call.prompt("anything_else") in spoken(after)
    else:
        assert spoken(after) == call.prompt("ask") and call.state.failures == 1


def test_three_misunderstandings_reprompt_then_keypad_then_hand_over(
    understander: Understander,
) -> None:
    call = Call(understander)
    first = call.say("le grand schtroumpf a mangé la lune")
    assert spoken(first) == call.prompt("not_understood")
    second = call.say("xylophone pour zèbre")
    assert call.prompt("keypad_menu") in spoken(second) and call.state.phase == "keypad"
    third = call.say("zorglub")
    handover = of(third, HandOver)
    assert handover and handover[0].reason == "not_understood"
    summary = handover[0].summary
    assert "schtroumpf" in summary and "zorglub" in summary


def test_keypad_choice_after_failures(understander: Understander) -> None:
    call = Call(understander)
    call.say("le grand schtroumpf a mangé la lune")
    call.say("xylophone pour zèbre")
    answer = call.send(Keypad("5"))  # déchets
    assert call.state.pending_intent == "dechets"
    assert call.prompt("anything_else") in spoken(answer)


@pytest.mark.parametrize("how", ["key", "word"])
def test_a_human_on_zero_or_conseiller(understander: Understander, how: str) -> None:
    call = Call(understander)
    actions = (
        call.send(Keypad("0")) if how == "key" else call.say("je voudrais parler à un conseiller")
    )
    handover = of(actions, HandOver)
    assert handover and call.state.phase == "ended"
    assert handover[0].reason == ("keypad_0" if how == "key" else "caller_request")


def test_repeat_and_slower(understander: Understander) -> None:
    call = Call(understander)
    answer = spoken(call.say("les horaires de la mairie"))
    again = call.say("vous pouvez répéter")
    assert spoken(again) == answer
    slower = call.say("plus lentement s'il vous plaît")
    assert of(slower, Speak)[0].speed < 1.0
    assert answer in spoken(slower)
    later = call.say("et pour le ccas c'est quoi les horaires")
    assert all(a.speed < 1.0 for a in of(later, Speak))


def test_closed_hours_path(understander: Understander) -> None:
    call = Call(understander, now=CLOSED)
    assert not call.state.agents_open
    assert "ne sont pas disponibles" in spoken(call.log[0])
    actions = call.send(Keypad("0"))
    assert not of(actions, HandOver)
    hang = of(actions, HangUp)
    assert hang and hang[0].outcome == "closed"


def test_public_holiday_is_closed(understander: Understander) -> None:
    call = Call(understander, now=datetime(2026, 12, 25, 10, 0, tzinfo=PARIS))
    assert not call.state.agents_open


def test_live_bikes_then_feed_down(understander: Understander) -> None:
    call = Call(understander)
    fetch = of(call.say("combien de vélos à la station place de la mairie"), FetchLive)
    assert fetch and "mairie" in fetch[0].station.lower()
    answer = call.send(LiveData("Place de la Mairie", bikes=7, docks=13))
    assert "7" in spoken(answer) and "13" in spoken(answer)

    down = Call(understander)
    down.say("il reste des vélos à la gare centrale")
    actions = down.send(LiveData("Gare Centrale", available=False))
    assert down.prompt("live_data_down").split(".")[0] in spoken(actions)
    assert down.state.phase == "anything_else" and not of(actions, HandOver)


def test_sms_of_the_last_answer(understander: Understander) -> None:
    call = Call(understander)
    call.say("je voudrais refaire ma carte d'identité je l'ai perdue")
    actions = call.say("vous pouvez m'envoyer ça par sms")
    sms = of(actions, SendSms)
    assert sms and len(sms[0].text) > 20


def test_silence_reprompts_then_keypad_then_human(understander: Understander) -> None:
    call = Call(understander)
    assert spoken(call.send(Silence())) == call.prompt("reprompt")
    assert call.prompt("keypad_menu") in spoken(call.send(Silence()))
    handover = of(call.send(Silence()), HandOver)
    assert handover and handover[0].reason == "no_input"


def test_a_failing_stage_apologises_and_hands_over(understander: Understander) -> None:
    call = Call(understander)
    actions = call.send(StageFailed("asr", "decoder crashed"))
    assert call.prompt("error") in spoken(actions)
    assert of(actions, HandOver)[0].reason == "error"


def test_no_loop_a_long_call_reaches_a_human(understander: Understander) -> None:
    call = Call(understander)
    actions: list[Action] = []
    for _ in range(20):
        actions = call.say("les horaires de la piscine")
        if of(actions, HandOver):
            break
    assert of(actions, HandOver)[0].reason == "too_long"


def test_rh_line(understander: Understander) -> None:
    call = Call(understander, line="rh")
    answer = call.say("je voudrais savoir combien il me reste de jours de congés")
    assert call.state.pending_intent == "rh_conges" and spoken(answer)


def test_ended_call_ignores_events(understander: Understander) -> None:
    call = Call(understander)
    call.send(Keypad("0"))
    assert call.send(Heard("allô")) == []
