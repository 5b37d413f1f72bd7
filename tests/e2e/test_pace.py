"""New calls paced through the real Asterisk: a caller who comes faster than the
pace hears the line ring on while the bot waits to take them, then reaches an agent
with the reason ``capacity`` when their turn would come too late.

One instance (Stasis app ``voicebot-a``, the sandbox's extension 400, the other
instance down) lets in a burst of calls at once, then one call every 50 s, and
keeps a caller waiting 2.5 s at most.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Agent, Sandbox, dial, finished, stored_call
from tests.e2e.test_instances import instance
from tests.serve_process import Bot
from voicebot.calls.admission import cores

SPREAD = "400"
WAIT_MS = 2500


@pytest.fixture(scope="module")
def paced(
    sandbox: Sandbox,
    korean_model_dir: Path,
    joe_voice_path: Path,
    bot_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Bot]:
    work = tmp_path_factory.mktemp("pace")
    bot = instance(
        "a",
        sandbox.instance_ports[0],
        korean_model_dir,
        joe_voice_path,
        bot_database,
        work,
        max_calls=str(cores() + 2),  # room for more: only the pace holds the next one
        new_calls_per_s="0.02",
        admission_wait_ms=str(WAIT_MS),
    )
    bot.start()
    yield bot
    bot.stop()


def test_a_caller_faster_than_the_pace_rings_on_then_reaches_an_agent(
    sandbox: Sandbox, paced: Bot, agent: Agent, tmp_path: Path
) -> None:
    http = f"http://127.0.0.1:{paced.port}"
    door = httpx.get(f"{http}/readyz", timeout=5).json()["capacity"]
    burst = door["new_calls_burst"]
    assert (burst, door["new_calls_per_s"]) == (cores(), 0.02)
    numbers = [f"06000005{index:02d}" for index in range(burst + 1)]
    calls = []
    started = []
    for index, number in enumerate(numbers):
        # The burst listens, then hangs up; the last one talks with the agent.
        hang_up = 9000 if index < burst else None
        started.append(time.monotonic())
        calls.append(
            dial(
                tmp_path,
                number,
                16,
                index=index,
                number=SPREAD,
                hang_up_at_ms=hang_up,
                trace=True,
            )
        )
        time.sleep(0.4)
    for call in calls:
        finished(call, 60)
    # The last caller reached the agent with the reason capacity (recorded by the instance
    # when it was the last one tried; passed on to the other, down, the dialplan says it).
    reasons = [c["reason"] for c in agent.calls()]
    assert reasons == ["capacity"], reasons
    for number in numbers[:burst]:
        taken = stored_call(paced, number)
        assert taken.summary.instance == "instance-a"
        assert taken.summary.outcome != "handed_over" or taken.summary.handover_reason != (
            "capacity"
        )
    # The burst was answered at once; the last caller heard the line ring while the bot
    # waited for its turn, then the agents' queue answered.
    for call in calls[:burst]:
        responses = call.responses()
        assert "200" in responses and "180" not in responses, responses
    responses = calls[-1].responses()
    assert "180" in responses and "200" in responses, responses
    assert responses.index("180") < responses.index("200")
    door = httpx.get(f"{http}/readyz", timeout=5).json()["capacity"]
    assert (door["overflow"], door["waited"], door["waiting"]) == (1, 0, 0)
    assert "could not ring" not in paced.log.read_text(errors="replace")
