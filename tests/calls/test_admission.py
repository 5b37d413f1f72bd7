"""The admission limit from the cost model, and the door it keeps."""

from __future__ import annotations

import pytest

from voicebot.calls.admission import ASSUMED, REPLY_EVERY_S, Admission, Costs
from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.nlu.understand import Understander
from voicebot.server.capacity import _sample_requests, _understand_cpu


@pytest.mark.parametrize(
    ("costs", "cores", "expected"),
    [
        # decode 0.27 core-s per second of speech (the Korean test model, 3.7x real time),
        # speaking 40 % of the time: 0.108 + 0.01 + 0.05 / 8 = 0.124 core per call, within
        # 60 % of the cores.
        (Costs(0.27, 0.01, 0.05), 2, 9),
        (Costs(0.27, 0.01, 0.05), 4, 19),
        (Costs(0.10, 0.005, 0.02), 2, 25),  # a cheaper model carries more
        (Costs(3.0, 0.01, 0.05), 2, 1),  # slower than real time: one call, never none
        (Costs(0.0, 0.0, 0.0), 2, 1),  # nothing measured: no division by zero
    ],
)
def test_the_limit_follows_the_costs_and_the_cores(costs: Costs, cores: int, expected: int) -> None:
    assert costs.calls_within(cores) == expected


def test_understanding_counts_once_a_turn() -> None:
    without = Costs(0.27, 0.01, 0.05)
    with_nlu = Costs(0.27, 0.01, 0.05, understand=0.4)  # 0.05 core a call more
    assert with_nlu.per_call() == pytest.approx(without.per_call() + 0.4 / REPLY_EVERY_S)
    assert with_nlu.calls_within(2) < without.calls_within(2)
    assert with_nlu.describe()["understand_core_s_per_turn"] == 0.4


def test_a_turn_is_understood_from_the_contents_own_requests() -> None:
    understander = Understander(load_content(PROJECT_ROOT / "prompts"))
    requests = _sample_requests(understander)
    assert len(requests) == 20
    assert len({line for line, _ in requests}) >= 2  # every line's intents, in turn
    assert len(set(requests)) == 20
    cost = _understand_cpu(understander, requests)
    # A few milliseconds an utterance on any machine, times the utterances of a turn.
    assert 0.0 < cost < 0.5


def test_a_call_past_the_limit_is_refused_and_counted() -> None:
    door = Admission(2, "setting")
    assert door.admit("a") and door.admit("b")
    assert door.headroom == 0
    assert not door.admit("c")
    assert door.admit("a")  # a call already in stays in (ARI, then its media socket)
    assert door.overflow == 1
    door.release("a")
    assert door.admit("c")
    assert door.active == 2
    door.release("unknown")  # released twice (ARI and the media socket): harmless
    assert door.active == 2


def test_a_setting_wins_over_the_measure() -> None:
    measured = Costs(0.27, 0.01, 0.05)
    fixed = Admission.for_machine(3, ASSUMED, 2)
    fixed.measured(measured, 2)
    assert (fixed.limit, fixed.source) == (3, "setting")
    free = Admission.for_machine(None, ASSUMED, 2)
    assert free.source == "assumed"
    free.measured(measured, 2)
    assert (free.limit, free.source) == (9, "measured")
    assert free.describe()["costs"]["measured"] is True
