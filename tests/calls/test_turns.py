"""Barge-in confirmation and endpointing decisions, from tables."""

from __future__ import annotations

import pytest

from voicebot.calls.turns import Ending, TurnDetector, TurnEvent, TurnSettings, end_wait_ms, ending

SETTINGS = TurnSettings()


def run(pattern: str, detector: TurnDetector | None = None) -> list[tuple[int, TurnEvent]]:
    """Feed a pattern of 20 ms frames ('#' voiced, '.' quiet); the events with their time."""
    detector = detector or TurnDetector(SETTINGS)
    events = []
    for index, mark in enumerate(pattern):
        event = detector.push(mark == "#")
        if event is not None:
            events.append(((index + 1) * 20, event))
    return events


def frames(ms: int, mark: str) -> str:
    return mark * (ms // 20)


@pytest.mark.parametrize(
    ("what", "pattern", "expected"),
    [
        ("a click", frames(40, "#") + frames(600, "."), []),
        (
            "a cough",
            frames(120, "#") + frames(600, "."),
            [(60, TurnEvent.CANDIDATE), (420, TurnEvent.DROPPED)],
        ),
        (
            "a door then a knock",
            frames(100, "#") + frames(200, ".") + frames(60, "#") + frames(400, "."),
            [(60, TurnEvent.CANDIDATE), (660, TurnEvent.DROPPED)],
        ),
        (
            "a word",
            frames(400, "#") + frames(900, "."),
            [(60, TurnEvent.CANDIDATE), (180, TurnEvent.CONFIRMED), (1200, TurnEvent.ENDED)],
        ),
        (
            "a consonant's closure is speech",
            frames(100, "#") + frames(40, ".") + frames(100, "#") + frames(900, "."),
            [(60, TurnEvent.CANDIDATE), (180, TurnEvent.CONFIRMED), (1040, TurnEvent.ENDED)],
        ),
        (
            "syllables with gaps add up",
            (frames(80, "#") + frames(60, ".")) * 3 + frames(900, "."),
            [(60, TurnEvent.CANDIDATE), (300, TurnEvent.CONFIRMED), (1160, TurnEvent.ENDED)],
        ),
    ],
)
def test_only_sustained_voice_confirms_speech(
    what: str, pattern: str, expected: list[tuple[int, TurnEvent]]
) -> None:
    assert run(pattern) == expected, what


def test_words_confirm_before_the_voicing_does() -> None:
    detector = TurnDetector(SETTINGS)
    assert run(frames(80, "#"), detector) == [(60, TurnEvent.CANDIDATE)]
    assert detector.heard_words(Ending.OPEN) is TurnEvent.CONFIRMED
    assert detector.confirmed


@pytest.mark.parametrize(
    ("kind", "silence_ms", "ends"),
    [
        (Ending.COMPLETE, 180, False),
        (Ending.COMPLETE, 200, True),
        (Ending.OPEN, 700, False),
        (Ending.OPEN, 800, True),
        (Ending.HANGING, 1100, False),
        (Ending.HANGING, 1200, True),
    ],
)
def test_the_end_of_turn_waits_as_long_as_the_words_say(
    kind: Ending, silence_ms: int, ends: bool
) -> None:
    detector = TurnDetector(SETTINGS)
    run(frames(400, "#"), detector)
    detector.heard_words(kind)
    events = run(frames(silence_ms, "."), detector)
    assert (events == [(silence_ms, TurnEvent.ENDED)]) is ends


def test_a_long_utterance_is_cut_at_the_limit() -> None:
    settings = TurnSettings(max_utterance_ms=2000)
    events = run(frames(3000, "#"), TurnDetector(settings))
    assert (2000, TurnEvent.ENDED) in events


@pytest.mark.parametrize(
    ("partial", "complete", "spelling", "expected"),
    # (a request needs two words here, as an open question does)
    [
        ("quels sont les horaires de la mairie", True, False, Ending.COMPLETE),
        ("quels sont les horaires de la mairie", False, False, Ending.OPEN),
        ("je voudrais euh", False, False, Ending.HANGING),
        ("je voudrais euh", True, False, Ending.HANGING),
        ("je voudrais", True, False, Ending.HANGING),
        ("c'est pour le", False, False, Ending.HANGING),
        ("c'est pour l'", False, False, Ending.HANGING),
        ("je voudrais renouveler mon passeport", True, False, Ending.COMPLETE),
        ("renouveler mon", True, False, Ending.HANGING),
        ("mon numéro c'est un deux trois", False, True, Ending.HANGING),
        ("un deux trois quatre", True, True, Ending.HANGING),
        ("un deux trois quatre", True, False, Ending.COMPLETE),
        ("passeport", True, False, Ending.OPEN),
        ("", False, False, Ending.OPEN),
    ],
)
def test_how_the_words_end(partial: str, complete: bool, spelling: bool, expected: Ending) -> None:
    assert ending(partial, complete, spelling, min_words=2) is expected


def test_a_value_asked_for_may_be_one_word() -> None:
    assert ending("oui", True, min_words=1) is Ending.COMPLETE
    assert ending("oui", True, min_words=2) is Ending.OPEN


def test_every_ending_has_its_own_wait() -> None:
    waits = [end_wait_ms(kind, SETTINGS) for kind in (Ending.COMPLETE, Ending.OPEN, Ending.HANGING)]
    assert waits == [200, 800, 1200]
