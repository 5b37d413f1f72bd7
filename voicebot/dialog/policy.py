"""The dialog policy as a pure step function.

``step(state, event, context)`` returns the new state and the actions to carry
out. Nothing here does I/O or reads a clock: the time of the call comes with
:class:`CallStarted`, live data with :class:`LiveData`.

The policy, in the order a caller meets it:

- act when confident; confirm when unsure ("vous appelez pour un passeport,
  c'est bien ça ?"); reprompt once; after two failures offer the keypad menu;
  after three (or on "conseiller" or key 0) hand over with the context;
- "répétez" repeats, "plus lentement" repeats slower and stays slower;
- slot filling asks for what an answer needs (a date, a dossier number...);
- a correction amends instead of ending: « non pas mardi mercredi » at a
  confirmation replaces the day and confirms again, after an answer it answers
  again, and while a value is asked for it replaces the one given before; a
  bare « non » to a confirmation asks again what the caller wants;
- silence reprompts, then offers the keypad, then hands over;
- outside agents' hours a hand-over becomes the closed-hours message;
- no loop: past ``MAX_TURNS`` exchanges the call goes to a human;
- the bot never claims what it cannot do: an SMS is sent only when a sender is
  configured (``DialogContext.sms_sender``), else the caller hears at once that
  it cannot, and what it can do instead.

After each caller turn (speech or key), ``DialogState.last_turn`` says what that
turn was understood as, so the call record shows what each turn meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from voicebot.content.model import Intent, Line, Service
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
from voicebot.dialog.hours import agents_available, local_time
from voicebot.dialog.opening import moment_asked, opening_sentence
from voicebot.dialog.render import render
from voicebot.nlu.corrections import correctable
from voicebot.nlu.normalize import fold
from voicebot.nlu.understand import Understander, Understanding

ACT_ABOVE = 0.72
MAX_FAILURES = 3
MAX_SILENCES = 3
MAX_TURNS = 14
SLOWER_FACTOR = 0.8
MIN_SPEED = 0.6
LISTEN_TIMEOUT_MS = 7000
"""How long the bot waits for the caller to speak (``VOICEBOT_LISTEN_TIMEOUT_MS``)."""
YES_NO_GRAMMAR = (
    "oui", "non", "ouais", "exactement", "c'est ça", "tout à fait", "d'accord", "pas du tout",
    "conseiller", "répétez", "pardon",
)  # fmt: skip
DIGIT_WORDS = (
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
    "onze", "douze", "treize", "quatorze", "quinze", "seize", "vingt", "trente", "quarante",
    "cinquante", "soixante", "cent", "mille",
)  # fmt: skip
LETTER_WORDS = tuple("abcdefghijklmnopqrstuvwxyz")
ANSWER_WORDS = 50
"""An answer says at most about this many words at once (the rest is offered)."""
_PERSON_ASKED = ("caller_request", "keypad_0")
_FOLLOW_UP_KEEPS = frozenset({"conseiller", "repeter", "au_revoir", "oui", "non", "sms"})
_PRICE = re.compile(r"\b(combien|prix|tarif|tarifs|payant|payer|gratuit|coute|coutent)\b")
_COST = re.compile(r"\b(euro|euros|gratuit|gratuite|gratuits|payant|payante|timbre|tarif)\b")
_WHAT_WORDS = frozenset({"hein", "pardon", "comment", "quoi", "excusez", "moi", "vous", "dites"})
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_SLOWER_WORDS = ("plus lentement", "moins vite", "parlez lentement", "trop vite", "doucement")


@dataclass(frozen=True, slots=True)
class DialogContext:
    """What the step function reads but never changes."""

    line: Line
    service: Service
    understander: Understander
    stations: tuple[str, ...] = ()
    act_above: float = ACT_ABOVE
    """Confidence from which the bot acts without confirming."""
    listen_timeout_ms: int = LISTEN_TIMEOUT_MS
    sms_sender: bool = False
    """Whether an SMS sender is configured; without one, no SMS is offered nor sent,
    whatever ``sms_enabled`` says in the content."""
    notice_protect_ms: int = 0
    """The greeting (with its personal-data notice) is not interrupted by voice this long."""


@dataclass(frozen=True, slots=True)
class TurnMeaning:
    """What one caller turn (speech or key) was understood as."""

    intent: str | None = None
    """None: not understood."""
    confidence: float | None = None
    """The understander's confidence in ``intent`` (in "nothing fits" when None); None
    when no classification was involved (a key, an answer to a slot question)."""
    slots: tuple[tuple[str, str], ...] = ()
    """The slots heard in this turn (not those known from earlier turns)."""


@dataclass(frozen=True, slots=True)
class DialogState:
    line: str
    phase: str = "new"
    """new, open, confirm, slot, keypad, live, anything_else, ended."""
    today: date | None = None
    agents_open: bool = True
    failures: int = 0
    silences: int = 0
    turns: int = 0
    speed: float = 1.0
    last_spoken: str = ""
    pending_intent: str | None = None
    pending_slots: tuple[tuple[str, str], ...] = ()
    asking_slot: str | None = None
    slot_retries: int = 0
    last_sms: str | None = None
    intents: tuple[str, ...] = ()
    transcript: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    outcome: str | None = None
    last_turn: TurnMeaning | None = None
    """What the caller turn of the latest step meant; None when that step was no caller turn."""
    started: datetime | None = None
    """When the call began (the moment « aujourd'hui », « ce soir » refer to)."""
    person_unavailable: bool = False
    rest: str = ""
    station_misses: int = 0
    """Station names the live feed did not know, in this call."""
    """The part of the last answer not said yet, offered with « Voulez-vous la suite ? »."""
    """The caller asked for a person when none was available, and was offered to go on."""

    @property
    def slots(self) -> dict[str, str]:
        return dict(self.pending_slots)


Step = tuple[DialogState, list[Action]]


def step(state: DialogState, event: Event, context: DialogContext) -> Step:
    if state.phase == "ended":
        return state, []
    state = replace(state, last_turn=None)
    if isinstance(event, CallStarted):
        return _start(state, event, context)
    if isinstance(event, StageFailed):
        return _hand_over(state, context, "error", apology=True)
    if isinstance(event, Keypad):
        return _keypad(state, event.digit, context)
    if isinstance(event, Silence):
        return _silence(state, context)
    if isinstance(event, LiveData):
        return _live(state, event, context)
    return _heard(state, event, context)


# ---------------------------------------------------------------- helpers
def _say(
    state: DialogState,
    context: DialogContext,
    text: str,
    grammar: tuple[str, ...] | None = None,
    **changes: object,
) -> Step:
    """Speak, remember it for "répétez", and listen."""
    new = replace(state, last_spoken=text, transcript=(*state.transcript, ("bot", text)), **changes)  # type: ignore[arg-type]
    return new, [Speak(text, new.speed), Listen(context.listen_timeout_ms, grammar)]


def _meaning(
    state: DialogState,
    intent: str | None,
    confidence: float | None = None,
    slots: dict[str, str] | None = None,
) -> DialogState:
    return replace(state, last_turn=TurnMeaning(intent, confidence, tuple((slots or {}).items())))


def _prompt(context: DialogContext, key: str) -> str:
    return render(context.line.prompts.get(key, ""), context.line, context.service, {})


def _start(state: DialogState, event: CallStarted, context: DialogContext) -> Step:
    is_open = agents_available(context.service, event.now)
    state = replace(
        state, phase="open", today=event.now.date(), agents_open=is_open, started=event.now
    )
    text = _prompt(context, "greeting")
    if not is_open:
        text += " " + _prompt(context, "closed")
    follow = _prompt(context, "keypad_menu" if event.keypad_only else "ask")
    phase = "keypad" if event.keypad_only else "open"
    new, actions = _say(replace(state, phase=phase), context, f"{text} {follow}")
    greeting = actions[0]
    if isinstance(greeting, Speak):
        actions[0] = replace(greeting, protect_ms=context.notice_protect_ms)
    return new, actions


def _hand_over(
    state: DialogState,
    context: DialogContext,
    reason: str,
    apology: bool = False,
    preface: str | None = None,
) -> Step:
    lines = [f"{who}: {text}" for who, text in state.transcript[-8:]]
    summary = " | ".join(lines)
    opening = (
        _prompt(context, "error") if apology else (_prompt(context, preface) if preface else "")
    )
    if not state.agents_open and reason in _PERSON_ASKED and not state.person_unavailable:
        # Nobody to take the call now: say when, and go on helping instead of hanging up.
        closed = _prompt(context, "handover_unavailable") or _prompt(context, "closed")
        offer = _prompt(context, "continue_offer") or _prompt(context, "ask")
        text = " ".join(t for t in (opening, closed, offer) if t)
        return _say(state, context, text, phase="open", person_unavailable=True)
    if not state.agents_open:
        closed = _prompt(context, "handover_unavailable") or _prompt(context, "closed")
        text = " ".join(t for t in (opening, closed, _prompt(context, "goodbye")) if t)
        new = replace(
            state, phase="ended", outcome="closed", transcript=(*state.transcript, ("bot", text))
        )
        return new, [Speak(text, state.speed), HangUp("closed")]
    text = " ".join(t for t in (opening, _prompt(context, "handover")) if t)
    if apology:
        text = opening  # the error message already says a human takes over
    new = replace(
        state,
        phase="ended",
        outcome=f"handed_over:{reason}",
        transcript=(*state.transcript, ("bot", text)),
    )
    return new, [
        Speak(text, state.speed),
        HandOver(
            reason,
            state.pending_intent or (state.intents[-1] if state.intents else None),
            state.pending_slots,
            summary,
        ),
    ]


def _goodbye(state: DialogState, context: DialogContext) -> Step:
    text = _prompt(context, "goodbye")
    # Leaving on the offer that followed "no agent now": the call ends on the closed line.
    outcome = "closed" if state.person_unavailable and state.phase == "open" else "resolved"
    new = replace(
        state, phase="ended", outcome=outcome, transcript=(*state.transcript, ("bot", text))
    )
    return new, [Speak(text, state.speed), HangUp(outcome)]


def _follow_up(
    state: DialogState, understood: Understanding, context: DialogContext
) -> Step | None:
    """A short follow-up on the answer just given, resolved against its request:
    « c'est combien » (the price in that answer), « et pour un passeport », « et le
    samedi », « et la piscine » (the same request with that value). None: not one."""
    words = fold(understood.text).split()
    if not words or len(words) > 9 or understood.intent in _FOLLOW_UP_KEEPS:
        return None
    pending = context.line.intents[state.pending_intent or ""]
    if _PRICE.search(" ".join(words)) and (
        understood.intent in (None, pending.id) or len(words) <= 4
    ):
        return _price(state, context)
    if words[0] != "et" and understood.intent is not None:
        return None
    extracted = context.understander.slots_for(
        understood.text, state.line, pending.slots, state.today, context.stations
    )
    asks_when = state.started is not None and moment_asked(understood.text, state.started)
    if not extracted and not asks_when:
        return None
    state = _meaning(state, pending.id, None, extracted)
    return _act(replace(state, failures=0), pending, {**state.slots, **extracted}, context)


def _price(state: DialogState, context: DialogContext) -> Step:
    """The sentences of the last answer that say what it costs."""
    sentences = _SENTENCE_END.split(f"{state.last_spoken} {state.rest}".strip())
    priced = [s for s in sentences if _COST.search(fold(s))]
    text = " ".join(priced) if priced else _prompt(context, "no_price")
    state = _meaning(replace(state, rest=""), state.pending_intent, None)
    follow = _prompt(context, "anything_else")
    return _say(state, context, f"{text} {follow}".strip(), phase="anything_else")


def _redirect(state: DialogState, redirect: str, context: DialogContext) -> Step:
    """A request for another body: where to turn, in a sentence or two (understood, so no
    failure is counted)."""
    found = next(r for r in context.line.redirections if r.id == redirect)
    text = render(found.answer, context.line, context.service, {})
    follow = _prompt(context, "anything_else")
    return _say(replace(state, failures=0), context, f"{text} {follow}", phase="anything_else")


def _not_understood(state: DialogState, context: DialogContext) -> Step:
    """First miss: ask to rephrase; second: offer the keypad; third: a human."""
    failures = state.failures + 1
    if failures >= MAX_FAILURES:
        return _hand_over(
            replace(state, failures=failures),
            context,
            "not_understood",
            preface="not_understood_again",
        )
    if failures == MAX_FAILURES - 1:
        return _say(
            state, context, _prompt(context, "keypad_menu"), phase="keypad", failures=failures
        )
    return _say(state, context, _prompt(context, "not_understood"), phase="open", failures=failures)


# ---------------------------------------------------------------- events
def _keypad(state: DialogState, digit: str, context: DialogContext) -> Step:
    state = replace(state, transcript=(*state.transcript, ("caller", f"[touche {digit}]")))
    if digit == "0":
        return _hand_over(_meaning(state, "conseiller"), context, "keypad_0")
    if digit == "*":
        return _repeat(_meaning(state, "repeter"), context)
    if digit == "#" and _prompt(context, "keypad_menu_more"):
        more = _prompt(context, "keypad_menu_more")
        return _say(_meaning(state, None), context, more, phase="keypad")
    if state.phase == "confirm" and digit in ("1", "2"):
        if digit == "1":
            return _confirmed(_meaning(state, "oui"), context)
        return _declined(_meaning(state, "non"), context)
    intent_id = context.line.keypad.get(digit)
    state = _meaning(state, intent_id)
    if intent_id is None:
        text = f"{_prompt(context, 'keypad_invalid')} {_prompt(context, 'keypad_menu')}"
        return _say(state, context, text.strip(), phase="keypad")
    return _act(
        replace(state, failures=0, silences=0), context.line.intents[intent_id], {}, context
    )


def _silence(state: DialogState, context: DialogContext) -> Step:
    silences = state.silences + 1
    if silences >= MAX_SILENCES:
        return _hand_over(replace(state, silences=silences), context, "no_input")
    if silences == MAX_SILENCES - 1:
        return _say(
            state, context, _prompt(context, "keypad_menu"), phase="keypad", silences=silences
        )
    return _say(state, context, _prompt(context, "reprompt"), silences=silences)


def _repeat(state: DialogState, context: DialogContext, heard: str = "") -> Step:
    """« répétez » says it all again; a bare « hein ? », « pardon ? », « comment ? » (the
    last words were missed) only the last sentence."""
    text = state.last_spoken or _prompt(context, "repeat_nothing")
    words = fold(heard).split()
    if state.last_spoken and words and len(words) <= 3 and set(words) <= _WHAT_WORDS:
        text = _SENTENCE_END.split(state.last_spoken.strip())[-1]
    return state, [Speak(text, state.speed), Listen(context.listen_timeout_ms)]


def _heard(state: DialogState, event: Heard, context: DialogContext) -> Step:
    state = replace(
        state,
        silences=0,
        turns=state.turns + 1,
        transcript=(*state.transcript, ("caller", event.text)),
    )
    if state.turns > MAX_TURNS:
        return _hand_over(_meaning(state, None), context, "too_long")
    folded = fold(event.text)
    if any(words in folded for words in _SLOWER_WORDS):
        # "plus lentement" is a way of asking to repeat (the content's ``repeter`` examples).
        slower = replace(
            _meaning(state, "repeter"),
            speed=max(MIN_SPEED, round(state.speed * SLOWER_FACTOR, 2)),
        )
        text = _prompt(context, "slower") + " " + slower.last_spoken
        return slower, [Speak(text.strip(), slower.speed), Listen(context.listen_timeout_ms)]
    alternatives = event.alternatives or ((event.text, 1.0),)
    understood = context.understander.understand_best(
        alternatives, state.line, state.today, context.stations
    )
    if state.phase == "slot" and state.asking_slot:
        return _slot_answer(state, understood, context)
    state = _meaning(state, understood.intent, understood.confidence, understood.slots)
    intent = understood.intent
    if intent == "conseiller":
        return _hand_over(state, context, "caller_request")
    if intent == "repeter":
        return _repeat(state, context, event.text)
    if state.phase in ("confirm", "anything_else") and understood.corrected:
        amended = _amended(state, understood, context)
        if amended is not None:
            return amended
    if state.phase == "confirm":
        if intent == "oui":
            return _confirmed(state, context)
        if intent == "non":
            return _declined(state, context)
    if state.phase == "anything_else" and state.rest:
        rest = _rest(state, understood, context)
        if rest is not None:
            return rest
    if state.phase == "anything_else" and state.pending_intent is not None:
        follow = _follow_up(state, understood, context)
        if follow is not None:
            return follow
    state = replace(state, rest="")  # another request: the rest of that answer is dropped
    if state.phase == "anything_else":
        if intent in ("non", "au_revoir"):
            return _goodbye(state, context)
        if intent == "oui":
            return _say(state, context, _prompt(context, "ask"), phase="open")
    if intent == "au_revoir" or (state.person_unavailable and intent == "non"):
        return _goodbye(state, context)
    if intent == "sms":
        return _sms(state, context)
    if intent is None and understood.redirect is not None:
        return _redirect(state, understood.redirect, context)
    if intent is None or intent in ("oui", "non"):
        return _not_understood(state, context)
    chosen = context.line.intents[intent]
    state = replace(state, intents=(*state.intents, intent))
    if understood.confidence >= context.act_above:
        return _act(replace(state, failures=0), chosen, understood.slots, context)
    confirm = render(
        context.line.prompts["confirm"],
        context.line,
        context.service,
        {},
        extra={"label": chosen.label},
    )
    return _say(
        state,
        context,
        confirm,
        YES_NO_GRAMMAR,
        phase="confirm",
        pending_intent=intent,
        pending_slots=tuple(understood.slots.items()),
    )


def _corrected_slots(
    state: DialogState, understood: Understanding, context: DialogContext
) -> dict[str, str]:
    """The slots of the pending request that a correction changes (« non pas mardi mercredi »)."""
    if state.pending_intent is None:
        return {}
    names = correctable(context.line, context.line.intents[state.pending_intent].slots)
    heard = context.understander.slots_for(
        understood.text, state.line, names, state.today, context.stations
    )
    known = state.slots
    return {name: value for name, value in heard.items() if known.get(name) != value}


def _amended(state: DialogState, understood: Understanding, context: DialogContext) -> Step | None:
    """A refusal that carries the right value amends the request instead of ending it."""
    changed = _corrected_slots(state, understood, context)
    if not changed:
        return None
    intent = context.line.intents[state.pending_intent or ""]
    state = _meaning(state, intent.id, understood.confidence, changed)
    merged = {**state.slots, **changed}
    if state.phase == "confirm":
        # The request itself was right: the amended request is confirmed again.
        confirm = render(
            context.line.prompts["confirm"],
            context.line,
            context.service,
            {},
            extra={"label": intent.label},
        )
        return _say(state, context, confirm, YES_NO_GRAMMAR, pending_slots=tuple(merged.items()))
    return _act(replace(state, failures=0), intent, merged, context)


def _confirmed(state: DialogState, context: DialogContext) -> Step:
    intent = context.line.intents[state.pending_intent or ""]
    return _act(replace(state, failures=0), intent, state.slots, context)


def _declined(state: DialogState, context: DialogContext) -> Step:
    failures = state.failures + 1
    if failures >= MAX_FAILURES:
        return _hand_over(replace(state, failures=failures), context, "not_understood")
    return _say(
        state,
        context,
        _prompt(context, "ask"),
        phase="open",
        failures=failures,
        pending_intent=None,
        pending_slots=(),
    )


def _act(state: DialogState, intent: Intent, slots: dict[str, str], context: DialogContext) -> Step:
    merged = {**(state.slots if state.pending_intent == intent.id else {}), **slots}
    if not state.intents or state.intents[-1] != intent.id:
        state = replace(state, intents=(*state.intents, intent.id))
    state = replace(
        state, pending_intent=intent.id, pending_slots=tuple(merged.items()), slot_retries=0
    )
    for name in intent.required:
        if name not in merged:
            return _ask_slot(state, name, context)
    if intent.id == "velo_disponibilite":
        station = merged.get("station", "")
        return replace(state, phase="live"), [FetchLive(station)]
    return _answer(state, intent, merged, context, live=None)


def _ask_slot(state: DialogState, name: str, context: DialogContext) -> Step:
    slot = context.line.slots[name]
    grammar: tuple[str, ...] | None = None
    if slot.kind == "vocabulary":
        words = {s for value in slot.values for s in (value.label, *value.synonyms)}
        grammar = (*sorted(words), *YES_NO_GRAMMAR)
    elif slot.kind == "dossier":
        grammar = (*LETTER_WORDS, *DIGIT_WORDS, "conseiller", "répétez")
    elif slot.kind == "station" and context.stations:
        grammar = (*context.stations, "conseiller", "répétez")
    return _say(state, context, slot.prompt, grammar, phase="slot", asking_slot=name)


def _slot_answer(state: DialogState, understood: Understanding, context: DialogContext) -> Step:
    name = state.asking_slot or ""
    intent = context.line.intents[state.pending_intent or ""]
    if understood.intent in ("conseiller", "repeter"):
        state = _meaning(state, understood.intent, understood.confidence)
        if understood.intent == "conseiller":
            return _hand_over(state, context, "caller_request")
        return _repeat(state, context)
    extracted = context.understander.slots_for(
        understood.text, state.line, (name,), state.today, context.stations
    )
    if name not in extracted and context.line.slots[name].kind == "station":
        extracted[name] = understood.text  # the answer to "quelle station ?" is its name
    if name in extracted:
        # Understood as the answer the pending request needed: the turn belongs to it.
        state = _meaning(state, intent.id, None, {name: extracted[name]})
        merged = {**state.slots, name: extracted[name]}
        return _act(replace(state, phase="open", asking_slot=None), intent, merged, context)
    if understood.corrected:
        # « non pardon mercredi plutôt » about a value already given: it is replaced.
        changed = _corrected_slots(state, understood, context)
        if changed:
            state = _meaning(state, intent.id, None, changed)
            merged = {**state.slots, **changed}
            return _act(replace(state, phase="open", asking_slot=None), intent, merged, context)
    state = _meaning(state, None)
    if state.slot_retries >= 1:
        return _hand_over(state, context, "slot_not_understood")
    slot = context.line.slots[name]
    text = _prompt(context, "not_understood") + " " + slot.prompt
    new, actions = _say(state, context, text, slot_retries=state.slot_retries + 1)
    return new, actions


def _live(state: DialogState, event: LiveData, context: DialogContext) -> Step:
    intent = context.line.intents["velo_disponibilite"]
    if not event.available:
        text = _prompt(context, "live_data_down") + " " + _prompt(context, "anything_else")
        return _say(state, context, text, phase="anything_else")
    if event.station is None or event.bikes is None:  # no station by that name
        # Counted apart from the slot retries, which each new answer resets: a second
        # unknown name goes to an agent instead of the question coming round again.
        if state.station_misses >= 1:
            return _hand_over(state, context, "slot_not_understood")
        slots = {k: v for k, v in state.slots.items() if k != "station"}
        state = replace(state, pending_slots=tuple(slots.items()))
        new, actions = _ask_slot(state, "station", context)
        return replace(new, station_misses=state.station_misses + 1), actions
    slots = {**state.slots, "station": event.station}
    live = {"bikes": str(event.bikes), "docks": str(event.docks or 0)}
    return _answer(replace(state, pending_slots=tuple(slots.items())), intent, slots, context, live)


def _answer(
    state: DialogState,
    intent: Intent,
    slots: dict[str, str],
    context: DialogContext,
    live: dict[str, str] | None,
) -> Step:
    answer = intent.answer_for(slots)
    if answer is None:
        return _hand_over(state, context, "no_answer")
    text = render(answer.text, context.line, context.service, slots, live)
    when = _opening_now(state, slots, context)
    if when:
        text = f"{when} {text}"
    sms = render(answer.sms, context.line, context.service, slots, live) if answer.sms else None
    first, rest = _for_the_ear(text)
    if not _prompt(context, "more_offer"):
        first, rest = text, ""  # content without the offer: the answer is said whole
    follow = _prompt(context, "more_offer" if rest else "anything_else")
    return _say(
        replace(state, last_sms=sms, rest=rest),
        context,
        f"{first} {follow}",
        phase="anything_else",
        asking_slot=None,
    )


def _for_the_ear(text: str) -> tuple[str, str]:
    """A long answer cut after its first sentences (the key fact comes first): what is
    said now, and what is offered after (« Voulez-vous la suite ? »)."""
    sentences = _SENTENCE_END.split(text.strip())
    if len(text.split()) <= ANSWER_WORDS:
        return text, ""
    said: list[str] = []
    for sentence in sentences:
        words = len(" ".join([*said, sentence]).split())
        # A short opening (« La piscine se trouve avenue du Stade. ») keeps its next
        # sentence, which carries the fact asked for (its hours).
        short_opening = len(said) == 1 and len(said[0].split()) < 15 and words <= ANSWER_WORDS + 4
        if said and words > ANSWER_WORDS - 6 and not short_opening:
            break
        said.append(sentence)
    rest = sentences[len(said) :]
    return " ".join(said), " ".join(rest)


def _rest(state: DialogState, understood: Understanding, context: DialogContext) -> Step | None:
    """The answer to « Voulez-vous la suite ? »: the rest, or on to something else."""
    if understood.intent == "oui":
        state = _meaning(state, "oui", understood.confidence)
        said, rest = _for_the_ear(state.rest)
        follow = _prompt(context, "more_offer" if rest else "anything_else")
        return _say(replace(state, rest=rest), context, f"{said} {follow}", phase="anything_else")
    if understood.intent in ("non", "au_revoir"):
        # « non (merci) »: the caller has what they needed.
        state = _meaning(state, understood.intent, understood.confidence)
        return _goodbye(replace(state, rest=""), context)
    return None


def _opening_now(state: DialogState, slots: dict[str, str], context: DialogContext) -> str:
    """« Aujourd'hui, dimanche, la mairie est fermée ; elle rouvre lundi à 8 h 30. », when
    the caller asked about a moment and the place has opening hours; else ""."""
    place = context.service.opening.get(slots.get("service", ""))
    if place is None or state.started is None:
        return ""
    now = local_time(context.service, state.started)
    said = [text for who, text in state.transcript if who == "caller"][-3:]
    for text in reversed(said):
        moment = moment_asked(text, now)
        if moment is not None:
            return opening_sentence(context.service, place, moment, now)
    return ""


def sms_offered(context: DialogContext) -> bool:
    """Whether the bot may offer or send an SMS: the content wants it and a sender exists."""
    return context.sms_sender and context.service.sms_enabled


def _sms(state: DialogState, context: DialogContext) -> Step:
    if not sms_offered(context) or not state.last_sms:
        # Said at once, with what the bot can do instead; "répétez" then repeats the
        # information itself, not this refusal.
        text = f"{_prompt(context, 'sms_unavailable')} {_prompt(context, 'anything_else')}"
        new = replace(state, phase="anything_else", transcript=(*state.transcript, ("bot", text)))
        return new, [Speak(text, state.speed), Listen(context.listen_timeout_ms)]
    new, actions = _say(
        state,
        context,
        _prompt(context, "sms_sent") + " " + _prompt(context, "anything_else"),
        phase="anything_else",
    )
    return new, [SendSms(state.last_sms), *actions]
