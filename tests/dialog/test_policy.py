"""Dialog paths from tables: each row is a call, event by event, with what must happen."""

from __future__ import annotations

import re
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
from voicebot.dialog.policy import DialogContext, DialogState, TurnMeaning, step
from voicebot.nlu.understand import Understander

A = TypeVar("A")
PARIS = ZoneInfo("Europe/Paris")
OPEN = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)  # Thursday morning
CLOSED = datetime(2026, 11, 29, 10, 0, tzinfo=PARIS)  # Sunday
STATIONS = ("Place de la Mairie", "Gare Centrale")
SMS_CLAIM = re.compile(
    r"(?i)(je vous (ai )?envoi|envoyé|c'est fait|vous allez recevoir|vous recevrez)[^.]*\bsms"
)
"""A bot utterance that says an SMS is, or was, sent."""


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

    def answered(self, actions: Sequence[Action]) -> bool:
        """An answer was said: it ends by offering more, its rest, or anything else."""
        text = spoken(actions)
        return text.endswith((self.prompt("anything_else"), self.prompt("more_offer")))


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
    assert call.answered(answer)
    assert "passeport" in spoken(answer).lower()
    assert call.state.phase == "anything_else"
    bye = call.say("non merci c'est tout")
    assert of(bye, HangUp) and of(bye, HangUp)[0].outcome == "resolved"


def with_required(call: Call, intent_id: str, *slots: str) -> None:
    """The call's content, with ``intent_id`` needing ``slots`` (as an administration may write)."""
    line = call.context.line
    intent = replace(line.intents[intent_id], required=slots)
    call.context = replace(
        call.context, line=replace(line, intents={**line.intents, intent_id: intent})
    )


def test_missing_slot_is_asked_for(understander: Understander) -> None:
    call = Call(understander)
    # The shipped content asks for no dossier number (the bot cannot look dossiers up).
    with_required(call, "suivi_dossier", "numero_dossier")
    ask = call.say("je voudrais savoir où en est mon dossier")
    assert call.state.phase == "slot" and call.state.asking_slot == "numero_dossier"
    listen = of(ask, Listen)[0]
    assert listen.grammar is not None and "deux" in listen.grammar
    answer = call.say("a b un deux trois quatre")
    assert call.state.slots["numero_dossier"] == "AB1234"
    assert call.answered(answer)
    # The answer to the question belongs to the pending request, with the slot it gave.
    assert call.state.last_turn == TurnMeaning(
        "suivi_dossier", None, (("numero_dossier", "AB1234"),)
    )


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
        assert call.answered(after)
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
    assert call.answered(answer)


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
    assert not of(actions, HandOver) and not of(actions, HangUp)
    text = spoken(actions)  # nobody now: when they answer, and the bot goes on helping
    assert "Aucun agent n'est disponible" in text and "je peux vous renseigner" in text
    assert of(actions, Listen) and call.state.phase == "open"
    actions = call.send(Keypad("0"))  # asked again: the call ends, on the same hours
    hang = of(actions, HangUp)
    assert hang and hang[0].outcome == "closed" and not of(actions, HandOver)


@pytest.mark.parametrize(
    ("after", "outcome", "answered"),
    [
        ("non merci au revoir", "closed", False),
        ("les horaires de la piscine", None, True),
    ],
)
def test_a_person_asked_for_out_of_hours_leaves_the_bot_to_go_on(
    understander: Understander, after: str, outcome: str | None, answered: bool
) -> None:
    call = Call(understander, now=CLOSED)
    actions = call.say("passez moi un conseiller")
    assert not of(actions, HangUp) and "je peux vous renseigner" in spoken(actions)
    actions = call.say(after)
    assert call.state.outcome == outcome
    assert ("piscine" in spoken(actions).lower()) is answered


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


def test_sms_of_the_last_answer_only_with_a_sender(understander: Understander) -> None:
    call = Call(understander)
    assert call.context.service.sms_enabled  # the shipped content wants SMS...
    call.context = replace(call.context, sms_sender=True)  # ...and here a sender exists
    call.say("je voudrais refaire ma carte d'identité je l'ai perdue")
    actions = call.say("vous pouvez m'envoyer ça par sms")
    sms = of(actions, SendSms)
    assert sms and len(sms[0].text) > 20
    assert call.prompt("sms_sent") in spoken(actions)


@pytest.mark.parametrize(
    "script",
    [
        ["je voudrais refaire ma carte d'identité je l'ai perdue", "envoyez moi ça par texto"],
        ["les horaires de la déchetterie", "vous pouvez m'envoyer ça par sms", "oui",
         "quand passe le camion poubelle", "j'ai pas de quoi noter"],
        ["envoyez moi un sms"],
        [Keypad("1"), "par sms s'il vous plaît", "répétez", "non merci"],
        ["je voudrais un rendez vous", "par écrit s'il vous plaît"],
    ],
)  # fmt: skip
def test_without_a_sender_no_sms_is_offered_sent_or_claimed(
    understander: Understander, script: list[str | Event]
) -> None:
    call = Call(understander)
    assert call.context.service.sms_enabled and not call.context.sms_sender
    asked = 0
    for turn in script:
        actions = call.say(turn) if isinstance(turn, str) else call.send(turn)
        assert not of(actions, SendSms)
        if call.state.last_turn is not None and call.state.last_turn.intent == "sms":
            asked += 1
            # At once: it cannot, and what it can do instead.
            assert spoken(actions).startswith(call.prompt("sms_unavailable"))
    assert asked >= 1
    said = [a.text for actions in call.log for a in of(actions, Speak)]
    for text in said:
        assert not SMS_CLAIM.search(text), text
    assert SMS_CLAIM.search("C'est fait : je vous ai envoyé ces informations par SMS.")


def test_repeat_after_an_sms_refusal_repeats_the_information(understander: Understander) -> None:
    call = Call(understander)
    answer = spoken(call.say("les horaires de la médiathèque"))
    call.say("envoyez moi ça par sms")
    assert spoken(call.say("répétez")) == answer


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


@pytest.mark.parametrize(
    "turn",
    [
        "je voudrais prendre rendez vous pour mardi à dix heures",
        "je voudrais un rendez vous",
        "il faut que j'annule mon rendez vous de jeudi",
        "déplacer mon rendez vous carte d'identité",
        Keypad("3"),
    ],
)
def test_an_appointment_is_not_collected_the_bot_says_how_to_book(
    understander: Understander, turn: str | Event
) -> None:
    call = Call(understander)
    actions = call.say(turn) if isinstance(turn, str) else call.send(turn)
    assert call.state.pending_intent == "rendez_vous"
    assert call.state.phase == "anything_else" and call.state.asking_slot is None
    text = f"{spoken(actions)} {call.state.rest}"  # said now, or offered after
    for asked in ("date", "heure"):
        assert call.context.line.slots[asked].prompt not in text
    assert "Je ne peux pas" in text and "conseiller" in text and "tapez 0" in text
    assert "site de la mairie" in text and "accueil de la mairie" in text
    assert "noté" not in text


MEANINGS: list[tuple[str | Event, str | None, bool]] = [
    # (caller turn, intent that turn carries, whether the understander's confidence comes)
    ("les horaires de la piscine", "horaires", True),
    ("le grand schtroumpf a mangé la lune", None, True),  # after an understood turn
    (Keypad("5"), "dechets", False),
    ("xylophone pour zèbre", None, True),
    (Keypad("#"), None, False),
    ("plus lentement s'il vous plaît", "repeter", False),
    ("vous pouvez répéter", "repeter", True),
    (Keypad("0"), "conseiller", False),
]


def test_each_caller_turn_carries_what_that_turn_meant(understander: Understander) -> None:
    call = Call(understander)
    assert call.state.last_turn is None  # the greeting is no caller turn
    for turn, intent, scored in MEANINGS:
        call.say(turn) if isinstance(turn, str) else call.send(turn)
        meaning = call.state.last_turn
        assert meaning is not None and meaning.intent == intent, (turn, meaning)
        if scored:
            assert meaning.confidence is not None and 0.0 <= meaning.confidence <= 1.0
        else:
            assert meaning.confidence is None
    assert call.state.intents[0] == "horaires"  # the call's intents are kept apart


def test_a_silence_is_no_caller_turn(understander: Understander) -> None:
    call = Call(understander)
    call.say("les horaires de la piscine")
    call.send(Silence())
    assert call.state.last_turn is None


def test_every_listen_waits_the_configured_time(understander: Understander) -> None:
    call = Call(understander)
    call.context = replace(call.context, listen_timeout_ms=4321)
    for turn in ("les horaires de la piscine", "répétez", "plus lentement", "zorglub", "oui"):
        listens = of(call.say(turn), Listen)
        assert listens and all(listen.timeout_ms == 4321 for listen in listens)
    assert all(listen.timeout_ms == 4321 for listen in of(call.send(Silence()), Listen))


def test_the_station_question_listens_for_the_live_station_names(
    understander: Understander,
) -> None:
    call = Call(understander)
    actions = call.say("il y a des vélos disponibles")
    assert call.state.asking_slot == "station"
    grammar = of(actions, Listen)[0].grammar
    assert grammar is not None and set(STATIONS) <= set(grammar)


@pytest.mark.parametrize(
    ("turn", "whole"),
    [
        ("hein", False),
        ("pardon", False),
        ("comment", False),
        ("hein pardon", False),
        ("répétez", True),
        ("vous pouvez répéter", True),
        ("j'ai pas compris", True),
    ],
)
def test_a_bare_what_repeats_the_last_sentence_only(
    understander: Understander, turn: str, whole: bool
) -> None:
    call = Call(understander)
    call.say("quels sont les horaires de la mairie")
    said = call.state.last_spoken
    assert said.count(". ") >= 1  # an answer of several sentences
    repeated = spoken(call.say(turn))
    last = re.split(r"(?<=[.!?…])\s+", said.strip())[-1]
    assert repeated == (said if whole else last)


@pytest.mark.parametrize(
    ("turn", "redirect", "heard"),
    [
        ("la poste elle ferme à quelle heure le samedi", "la_poste", "laposte.fr"),
        ("je voudrais un rendez vous chez le médecin", "medecin", "doctolib"),
        ("un passeport pour mon chien", "animaux", "vétérinaire"),
        ("c'est pour la taxe foncière", "impots", "impots.gouv.fr"),
        ("je dois refaire ma carte grise", "carte_grise_permis", "ANTS"),
        ("c'est pour ma carte vitale", "cpam", "ameli.fr"),
        ("la pharmacie de garde ce soir", "pharmacie_garde", "32 37"),
        ("je voudrais m'inscrire au chômage", "france_travail", "France Travail"),
        ("j'ai un souci avec la caf", "caf", "caf.fr"),
    ],
)
def test_a_request_for_another_body_is_redirected_in_a_sentence(
    understander: Understander, turn: str, redirect: str, heard: str
) -> None:
    understood = understander.understand(turn, "mairie")
    assert understood.intent is None and understood.redirect == redirect
    call = Call(understander)
    text = spoken(call.say(turn))
    assert heard in text and call.state.failures == 0
    assert call.state.phase == "anything_else"
    assert len(text.split()) <= 50


@pytest.mark.parametrize(
    ("turn", "intent"),
    [
        ("combien de vélos à la station de la poste", "velo_disponibilite"),
        ("je voudrais refaire mon passeport", "titre_identite"),
        ("je suis au chômage et j'ai besoin d'aide", "aides_sociales"),
        ("je voudrais parler à un conseiller de la caf", "conseiller"),
    ],
)
def test_shared_words_still_reach_the_towns_own_requests(
    understander: Understander, turn: str, intent: str
) -> None:
    understood = understander.understand(turn, "mairie")
    assert understood.intent == intent and understood.redirect is None


@pytest.mark.parametrize(
    ("first", "then", "intent", "slots", "heard"),
    [
        ("je voudrais refaire ma carte d'identité", "c'est combien", "titre_identite",
         {"document": "cni", "situation": "renouvellement"}, "gratuit"),
        ("j'ai perdu ma carte d'identité", "et pour un passeport", "titre_identite",
         {"document": "passeport", "situation": "perte"}, "passeport perdu"),
        ("les horaires de la mairie", "et le samedi", "horaires", {"service": "mairie"},
         "Samedi, la mairie est ouverte de 9 h à 12 h."),
        ("les horaires de la mairie", "et la piscine", "horaires", {"service": "piscine"},
         "La piscine se trouve"),
    ],
)  # fmt: skip
def test_a_follow_up_resolves_against_the_answer_just_given(
    understander: Understander,
    first: str,
    then: str,
    intent: str,
    slots: dict[str, str],
    heard: str,
) -> None:
    call = Call(understander)
    call.say(first)
    assert call.state.phase == "anything_else"
    text = spoken(call.say(then))
    assert heard in text
    assert call.state.pending_intent == intent and call.state.slots == slots
    assert call.state.failures == 0


def test_a_price_follow_up_without_a_price_says_so(understander: Understander) -> None:
    call = Call(understander)
    call.say("les horaires de la mairie")
    text = spoken(call.say("c'est combien"))
    assert "pas de tarif" in text and "Vous appelez pour" not in text


def every_answer(understander: Understander) -> list[tuple[str, str, dict[str, str]]]:
    content = understander.content
    found = []
    for line_id, line in content.lines.items():
        for intent in line.intents.values():
            for answer in intent.answers:
                found.append((line_id, intent.id, dict(answer.when)))
    return found


def test_every_answer_is_said_for_the_ear(understander: Understander) -> None:
    """At most about 50 words at once (60 when a short opening keeps the fact that follows
    it); the rest comes on « oui », piece by piece, and all of it is said in the end."""
    from voicebot.dialog.policy import _answer
    from voicebot.dialog.render import render

    longest = 0
    for line_id, intent_id, slots in every_answer(understander):
        call = Call(understander, line=line_id)
        intent = call.context.line.intents[intent_id]
        state, actions = _answer(call.state, intent, slots, call.context, live=None)
        pieces = [spoken(actions)]
        while state.rest:
            state, actions = step(state, Heard("oui"), call.context)
            pieces.append(spoken(actions))
        longest = max(longest, *(len(piece.split()) for piece in pieces))
        whole = intent.answer_for(slots)
        assert whole is not None
        offers = (call.prompt("more_offer"), call.prompt("anything_else"))
        said = " ".join(
            piece.removesuffix(offers[0]).removesuffix(offers[1]).strip() for piece in pieces
        )
        text = render(whole.text, call.context.line, call.context.service, slots)
        assert said == text, (line_id, intent_id, slots)  # every word, in order
    assert longest <= 60


def test_content_without_the_offer_says_an_answer_whole(understander: Understander) -> None:
    call = Call(understander)
    prompts = {k: v for k, v in call.context.line.prompts.items() if k != "more_offer"}
    call.context = replace(call.context, line=replace(call.context.line, prompts=prompts))
    text = spoken(call.say("je voudrais renouveler mon passeport"))
    assert "86 euros" in text and text.endswith(call.prompt("anything_else"))
    assert call.state.rest == ""


@pytest.mark.parametrize("line", ["mairie", "rh"])
def test_keypad_menus_are_short_and_in_levels(understander: Understander, line: str) -> None:
    call = Call(understander, line=line)
    for key in ("keypad_menu", "keypad_menu_more"):
        text = call.context.line.prompts.get(key)
        if text is not None:
            words = re.findall(r"[\w'-]+", text)
            assert len(words) <= 30, (key, len(words))
    if "keypad_menu_more" in call.context.line.prompts:
        assert call.prompt("keypad_menu_more") in spoken(call.send(Keypad("#")))
