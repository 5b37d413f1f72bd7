"""A grammar change while the caller is talking over the prompt that brings it: Kaldi
aborts the whole process on ``SetGrammar`` mid-utterance, so the change must wait for the
end of that utterance. Against a real ``voicebot serve`` process, since an abort would
take the test's own process with it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import espeak_speech
from tests.local_server import free_port
from tests.serve_process import Bot, serve_env
from voicebot.calls.simulator import SimulatedCall

PASSWORD = "secret-test"


@pytest.fixture
def bot(korean_model_dir: Path, joe_voice_path: Path, tmp_path: Path) -> Bot:
    port = free_port()
    env = serve_env(
        port,
        korean_model_dir,
        joe_voice_path,
        media_password=PASSWORD,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        asr_workers="2",
    )
    return Bot(env, port, tmp_path / "serve.log", ready=lambda body: body.get("ready") is True)


async def test_a_key_pressed_while_talking_changes_the_grammar_safely(bot: Bot) -> None:
    await asyncio.to_thread(bot.start)
    try:
        url = f"ws://127.0.0.1:{bot.port}/media"
        speech = espeak_speech("라디오 음악 전화 번호 라디오 음악 전화 번호", "ko", 16000).pcm
        async with SimulatedCall(url, "asterisk", PASSWORD, call_id="grammar-1") as call:
            await call.start_media()
            await call.wait_heard(500)
            talking = asyncio.create_task(call.say(speech))
            await asyncio.sleep(0.9)  # the recogniser has the caller's audio in hand
            # Key 2: identity papers, which asks « carte ou passeport ? » with that grammar.
            await call.dtmf("2")
            await talking
            await asyncio.sleep(1.5)
            assert bot.process is not None and bot.process.poll() is None, bot.log.read_text()[
                -2000:
            ]
            heard = call.heard_ms()
            await call.wait_heard(heard + 1000, timeout=20)  # the call goes on
            assert call.closed_at is None
    finally:
        await asyncio.to_thread(bot.stop)


async def test_a_call_ending_while_the_caller_talks_after_a_grammar_question(bot: Bot) -> None:
    """The recogniser goes back to the pool with audio in hand and a grammar set: the
    pool resets it before clearing the grammar, and the next call gets it safely."""
    await asyncio.to_thread(bot.start)
    try:
        url = f"ws://127.0.0.1:{bot.port}/media"
        speech = espeak_speech("라디오 음악 전화 번호 라디오 음악 전화 번호", "ko", 16000).pcm
        for number in range(3):
            async with SimulatedCall(url, "asterisk", PASSWORD, call_id=f"pool-{number}") as call:
                await call.start_media()
                await call.wait_heard(500)
                await call.dtmf("2")  # « carte ou passeport ? »: a grammar is set
                await call.wait_heard(call.heard_ms() + 1500)
                talking = asyncio.create_task(call.say(speech))
                await asyncio.sleep(0.8)  # hang up mid-sentence
            talking.cancel()
            await asyncio.sleep(1.0)
            assert bot.process is not None and bot.process.poll() is None, bot.log.read_text()[
                -2000:
            ]
    finally:
        await asyncio.to_thread(bot.stop)
