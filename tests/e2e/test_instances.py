"""Two `voicebot serve` instances behind one Asterisk, on one PostgreSQL.

The sandbox's extension 400 spreads calls over the Stasis apps ``voicebot-a``
and ``voicebot-b`` in turn; an instance that is down is skipped, a full one
passes the call on (its overflow context), and the last one tried hands it to
the agents with the reason ``capacity``. Each instance takes one call at a time
here (``VOICEBOT_MAX_CALLS=1``), so that three callers at once overflow one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import sipp
from tests.e2e.conftest import (
    ARI_AUTH,
    ARI_PORT,
    MEDIA_PASSWORD,
    Agent,
    Sandbox,
    always_open_content,
    ari_connected,
    dial,
    finished,
    stored_call,
)
from tests.serve_process import Bot, serve_env

SPREAD = "400"
"""The sandbox extension that spreads calls over the two instances."""


def instance(
    name: str,
    port: int,
    korean_model_dir: Path,
    joe_voice_path: Path,
    database: str,
    work: Path,
    **overrides: str,
) -> Bot:
    """Instance ``name`` (Stasis app ``voicebot-<name>``) of extension 400, one call at a
    time unless ``overrides`` say otherwise."""
    settings = {"max_calls": "1", **overrides}
    env = serve_env(
        port,
        korean_model_dir,
        joe_voice_path,
        host="127.0.0.1",
        asr_warm_recognizers="1",
        media_password=MEDIA_PASSWORD,
        ari_url=f"http://127.0.0.1:{ARI_PORT}/ari",
        ari_username=ARI_AUTH[0],
        ari_password=ARI_AUTH[1],
        ari_app=f"voicebot-{name}",
        ari_media_connection=f"voicebot-{name}",
        ari_overflow_context="spread-next",
        prompts_dir=str(always_open_content(work / f"prompts-{name}")),
        database_url=database,
        instance_id=f"instance-{name}",
        **settings,
    )
    return Bot(env, port, work / f"serve-{name}.log", ready=ari_connected)


@pytest.fixture(scope="module")
def pair(
    sandbox: Sandbox,
    korean_model_dir: Path,
    joe_voice_path: Path,
    bot_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Bot, Bot]]:
    work = tmp_path_factory.mktemp("instances")
    bots = tuple(
        instance(name, port, korean_model_dir, joe_voice_path, bot_database, work)
        for name, port in zip("ab", sandbox.instance_ports, strict=True)
    )
    for bot in bots:
        bot.start()
    yield bots  # type: ignore[misc]
    for bot in bots:
        bot.stop()


def taken_by(bot: Bot, caller: str) -> str:
    return stored_call(bot, caller).summary.instance


def short_call(tmp_path: Path, caller: str, index: int) -> sipp.Caller:
    """A caller who listens to the greeting for a few seconds, then hangs up."""
    return dial(tmp_path, caller, 12, index=index, number=SPREAD, hang_up_at_ms=6000)


def test_calls_are_spread_over_both_and_one_stopped_leaves_the_other(
    sandbox: Sandbox, pair: tuple[Bot, Bot], tmp_path: Path
) -> None:
    first, second = pair
    spread = []
    for index, number in enumerate(("0600000401", "0600000402")):
        call = short_call(tmp_path, number, index)
        finished(call, 40)
        spread.append(taken_by(first, number))
    assert sorted(spread) == ["instance-a", "instance-b"], spread

    second.stop()
    try:
        deadline = time.monotonic() + 15
        while any(a["name"] == "voicebot-b" for a in sandbox.ari("/applications")):
            assert time.monotonic() < deadline, "voicebot-b still registered"
            time.sleep(0.2)
        after = []
        for index, number in enumerate(("0600000403", "0600000404")):
            call = short_call(tmp_path, number, index)
            finished(call, 40)
            after.append(taken_by(first, number))
        assert after == ["instance-a", "instance-a"], after
    finally:
        second.start()


def test_a_caller_with_no_room_anywhere_reaches_an_agent_with_reason_capacity(
    sandbox: Sandbox, pair: tuple[Bot, Bot], agent: Agent, tmp_path: Path
) -> None:
    numbers = ("0600000411", "0600000412", "0600000413")
    calls = []
    for index, number in enumerate(numbers):
        # The first two listen, then hang up; the third talks with the agent, who hangs up.
        hang_up = 9000 if index < 2 else None
        calls.append(dial(tmp_path, number, 14, index=index, number=SPREAD, hang_up_at_ms=hang_up))
        time.sleep(1.0)  # the first two are in when the third comes
    for call in calls:
        finished(call, 60)
    details = {number: stored_call(pair[0], number) for number in numbers}
    reasons = [c["reason"] for c in agent.calls()]
    assert reasons == ["capacity"], reasons
    overflowed = details[numbers[2]]
    assert overflowed.summary.outcome == "handed_over"
    assert overflowed.summary.handover_reason == "capacity"
    assert overflowed.handover is not None and overflowed.handover.reason == "capacity"
    taken = sorted(details[n].summary.instance for n in numbers[:2])
    assert taken == ["instance-a", "instance-b"], taken
