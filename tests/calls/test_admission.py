"""The admission limit from the cost model, and the door it keeps."""

from __future__ import annotations

import asyncio

import pytest

from voicebot.calls.admission import ASSUMED, REPLY_EVERY_S, Admission, Costs, LiveCost
from voicebot.calls.limits import TokenBucket
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


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pace_lets_a_burst_in_then_one_call_per_interval() -> None:
    clock = FakeClock()
    pace = TokenBucket(2, 2.0, clock=clock)
    assert pace.allow() and pace.allow()
    assert not pace.allow()
    assert pace.next_in_s() == pytest.approx(0.5)
    clock.now += 0.25
    assert not pace.allow()
    clock.now += 0.25
    assert pace.allow()
    pace.set_rate(1.0)  # a new rate: what was taken stays taken
    assert pace.next_in_s() == pytest.approx(1.0)
    clock.now += 60.0  # a quiet minute: the burst again, never more
    assert pace.allow() and pace.allow() and not pace.allow()


def test_new_calls_come_at_the_rate_the_spare_cores_decode_first_requests() -> None:
    costs = Costs(0.128, 0.012, 0.575)
    # A first request: 2.5 s of words not heard yet, 3 times the measured cost: 0.96
    # core-s; 40 % of 2 cores is 0.8 core: 0.83 calls a second.
    assert costs.new_calls_per_s(2) == pytest.approx(0.8 / (3 * 0.128 * 2.5))
    assert costs.new_calls_per_s(4) == pytest.approx(2 * costs.new_calls_per_s(2))
    door = Admission.for_machine(None, ASSUMED, 2)
    assert door.pace is None  # nothing measured: no pace from guesses
    door.measured(costs, 2)
    assert door.pace is not None and door.pace.per_s == pytest.approx(0.8333, abs=1e-3)
    assert door.describe()["new_calls_per_s"] == 0.83
    fixed = Admission.for_machine(None, ASSUMED, 2, new_calls_per_s=5.0)
    fixed.measured(costs, 2)
    assert fixed.pace is not None and fixed.pace.per_s == 5.0  # the setting wins


async def test_a_call_faster_than_the_pace_waits_its_turn_in_order() -> None:
    door = Admission(10, "setting", new_calls_per_s=10.0)
    assert door.pace is not None
    burst = door.pace.burst
    rang: list[str] = []

    async def enter(call_id: str, wait_s: float = 2.0) -> tuple[str, bool, float]:
        async def ring() -> None:
            rang.append(call_id)

        started = asyncio.get_running_loop().time()
        admitted = await door.enter(call_id, wait_s, on_wait=ring)
        return call_id, admitted, asyncio.get_running_loop().time() - started

    ids = [f"c{i}" for i in range(burst + 3)]
    results = await asyncio.gather(*(enter(call_id) for call_id in ids))
    assert all(admitted for _, admitted, _ in results)
    waits = [waited for _, _, waited in results]
    assert max(waits[:burst]) < 0.05  # the burst at once, without ringing
    assert rang == ids[burst:]  # the others rang, and went in in the order they came
    assert 0.25 <= waits[-1] < 1.0  # three calls a tenth of a second apart
    assert waits[burst:] == sorted(waits[burst:])
    assert (door.waited, door.waiting, door.overflow) == (3, 0, 0)


async def test_a_call_that_would_wait_too_long_or_finds_no_room_goes_to_the_agents() -> None:
    door = Admission(3, "setting", new_calls_per_s=1.0)
    assert door.pace is not None
    door.pace = TokenBucket(1, 1.0)
    assert await door.enter("first", 0.5)
    started = asyncio.get_running_loop().time()
    assert not await door.enter("too-soon", 0.3)  # the next turn is a second away
    assert 0.25 <= asyncio.get_running_loop().time() - started < 0.6
    assert door.overflow == 1 and door.active == 1
    full = Admission(1, "setting", new_calls_per_s=1.0)
    assert await full.enter("only", 1.0)
    started = asyncio.get_running_loop().time()
    assert not await full.enter("one-too-many", 5.0)  # no room: refused at once
    assert asyncio.get_running_loop().time() - started < 0.05
    assert full.overflow == 1
    assert not door.admit("immediate")  # no wait at all (AudioSocket): refused
    assert door.overflow == 2


def test_the_live_cost_is_processor_time_per_second_of_call_over_the_last_minute() -> None:
    live = LiveCost()
    assert live.sample(0.0, 10.0, 0) is None
    # Four calls for 10 s, 0.3 core busy: 40 call-seconds, not enough to go by yet.
    assert live.sample(10.0, 13.0, 4) is None
    # Ten calls for 10 s more, 0.8 core: 140 call-seconds, 11 core-seconds.
    assert live.sample(20.0, 21.0, 10) == pytest.approx(11.0 / 140.0)
    # A minute later, only the last minute counts: ten calls at 0.9 core.
    for second in range(30, 90, 10):
        per_call = live.sample(float(second), 21.0 + 9.0 * (second - 20) / 10, 10)
    assert per_call == pytest.approx(0.09)


def test_the_limit_follows_the_replies_latency_within_the_live_cost() -> None:
    door = Admission.for_machine(None, ASSUMED, 2)
    door.measured(Costs(0.27, 0.01, 0.05), 2)
    assert door.limit == 9
    door.pace = None  # calls arriving slowly (the pace is tested above)
    for call in range(9):
        assert door.admit(f"c{call}")
    assert not door.admit("refused")  # demand past the limit
    for second in range(10):
        door.replied(100.0, now=float(second))
    door.steer(2, per_call=0.075, now=10.0)  # fast replies, calls refused, cores to spare
    assert (door.limit, door.source, door.processing_p95_ms) == (10, "live", 100.0)
    door.steer(2, per_call=0.075, now=11.0)  # no reply under the new limit yet: no change
    assert door.limit == 10
    for second in range(11, 21):
        door.replied(100.0 if second % 5 else 2000.0, now=float(second))
    door.steer(2, per_call=0.075, now=21.0)  # 2 s after the turn: one call fewer
    assert (door.limit, door.processing_p95_ms) == (8, 2000.0)
    assert door.describe()["processing_p95_ms"] == 2000
    # However fast the replies, never past 80 % of the cores at the live cost of a call.
    door.limit = 21
    for call in range(9, 21):
        door.admit(f"c{call}")
    door.admit("refused-again")
    for second in range(30, 40):
        door.replied(200.0, now=float(second))
    door.steer(2, per_call=0.075, now=40.0)
    assert door.limit == 21  # 2 x 0.8 / 0.075 = 21.3
    fixed = Admission.for_machine(3, ASSUMED, 2)
    for second in range(10):
        fixed.replied(5000.0, now=float(second))
    fixed.steer(2, per_call=0.01, now=10.0)
    assert (fixed.limit, fixed.source, fixed.live_per_call) == (3, "setting", 0.01)


def test_a_new_measure_keeps_the_calls_already_let_in() -> None:
    door = Admission.for_machine(None, ASSUMED, 2, new_calls_per_s=0.01)
    assert door.pace is not None
    for call in range(door.pace.burst):
        assert door.admit(f"c{call}")
    assert not door.admit("next")
    door.measured(Costs(0.27, 0.01, 0.05), 2)  # the pace set stays, its burst spent
    assert not door.admit("next-again")
    assert door.pace.per_s == 0.01
