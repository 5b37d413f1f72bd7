"""The recognition stage: speech reaches the decoder a few frames at a time, a pause at
once, and a caller who stopped speaking gets their transcript before other calls' work."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import espeak_speech
from voicebot.asr.vosk import RecognizerPool, VoskModel
from voicebot.audio.frame import AudioFrame
from voicebot.calls.recognition import BATCH_FRAMES, Recognition
from voicebot.dialog.events import Event, Heard
from voicebot.executor import EnginePool, Priority

RATE = 16000
FRAME = RATE // 50 * 2


def frames_of(speech: AudioFrame) -> list[AudioFrame]:
    pcm = speech.pcm[: len(speech.pcm) - len(speech.pcm) % FRAME]
    return [AudioFrame(pcm[i : i + FRAME], RATE) for i in range(0, len(pcm), FRAME)]


@pytest.fixture(scope="module")
def pool(korean_model_dir: Path, engine_pool: EnginePool) -> RecognizerPool:
    return RecognizerPool(VoskModel.load(korean_model_dir), engine_pool, RATE)


def priority(recognition: Recognition) -> Priority:
    """The call's decoding priority (the recogniser lent for its turn runs at it)."""
    if recognition._recognizer is not None:
        assert recognition._recognizer.priority is recognition._priority
    return recognition._priority


async def _no_end(text: str) -> bool:
    return False


async def test_speech_is_queued_in_steps_and_a_quiet_frame_sends_what_is_held(
    pool: RecognizerPool,
) -> None:
    recognition = Recognition("steps", pool, lambda event: None, _no_end)
    speech = frames_of(espeak_speech("라디오 음악", "ko", RATE, pad_s=0.0))
    held = BATCH_FRAMES * 2 + 3
    for frame in speech[:held]:
        recognition.audio(frame, flush=False)
    queued = recognition._queue
    assert queued.qsize() == 2  # two steps of BATCH_FRAMES; three frames held
    recognition.audio(AudioFrame(b"\x00" * FRAME, RATE), flush=True)  # the pause begins
    assert queued.qsize() == 3
    steps = [queued.get_nowait() for _ in range(3)]
    durations = [step.frame.duration_ms for step in steps]  # type: ignore[union-attr]
    assert durations == [20 * BATCH_FRAMES, 20 * BATCH_FRAMES, 80]
    recognition.audio(speech[held], flush=False)
    recognition.close(keep=True)  # the turn ends: what is held goes before the close
    assert queued.qsize() == 2


async def test_a_turn_that_ended_is_decoded_ahead_of_other_calls(
    pool: RecognizerPool, engine_pool: EnginePool
) -> None:
    """Both engine threads busy with other calls' speech: the call whose turn ended gets
    its transcript before that backlog is through."""
    heard: list[Event] = []
    recognition = Recognition("ended", pool, heard.append, _no_end)
    running = asyncio.create_task(recognition.run())
    await pool.warm(3)  # one for this call's turn, two for the other calls
    speech = frames_of(espeak_speech("라디오 음악", "ko", RATE))

    others = [await pool.acquire() for _ in range(2)]
    backlog = AudioFrame(b"".join(f.pcm for f in speech), RATE)
    busy = [
        asyncio.create_task(engine_pool.run(o._accept_blocking, backlog.pcm))
        for o in others
        for _ in range(6)
    ]
    await asyncio.sleep(0.05)  # the threads are busy and other jobs queued
    assert engine_pool.queued >= 8
    for frame in speech:
        recognition.audio(frame, flush=False)
    recognition.close(keep=True)
    assert priority(recognition) is Priority.URGENT
    while not heard:
        await asyncio.sleep(0.01)
    behind = sum(not task.done() for task in busy)
    assert isinstance(heard[0], Heard) and "라디오" in heard[0].text
    assert behind >= 3, f"only {behind} of the other calls' jobs were still waiting"
    assert priority(recognition) is Priority.NORMAL
    assert recognition._recognizer is None  # lent for the turn only, given back
    await asyncio.gather(*busy)
    running.cancel()
    for other in others:
        await pool.release(other)
    await recognition.release()


async def test_a_recogniser_is_lent_per_turn_the_most_used_first(pool: RecognizerPool) -> None:
    """A recogniser's graph grows with the words it has heard: the open one used last is
    lent first, and a call holds none between turns."""
    await pool.warm(3)
    heard: list[Event] = []
    recognition = Recognition("lent", pool, heard.append, _no_end)
    running = asyncio.create_task(recognition.run())
    try:
        last = pool._idle[-1]
        for frame in frames_of(espeak_speech("라디오 음악", "ko", RATE)):
            recognition.audio(frame, flush=False)
        while recognition._recognizer is None:
            await asyncio.sleep(0.01)
        assert recognition._recognizer is last  # the most recently used one
        recognition.close(keep=True)
        while not heard:
            await asyncio.sleep(0.01)
        assert recognition._recognizer is None and pool._idle[-1] is last
    finally:
        running.cancel()
        await recognition.release()


async def test_a_grammar_gets_a_recogniser_of_its_own_and_open_ones_keep_their_graph(
    pool: RecognizerPool,
) -> None:
    """Changing a recogniser's vocabulary throws its expanded graph away (back to the open
    vocabulary, its next words decode 8 times slower): a grammar is lent a recogniser made
    for it, kept for the next turn that asks the same; an open one never changes."""
    await pool.warm(2)
    open_before = list(pool._idle)
    created = pool.created
    heard: list[Event] = []
    recognition = Recognition("limited", pool, heard.append, _no_end)
    running = asyncio.create_task(recognition.run())
    speech = frames_of(espeak_speech("라디오 음악", "ko", RATE))
    try:
        for turn, grammar in enumerate([("라디오", "음악"), None, ("라디오", "음악"), ("시청",)]):
            await recognition.set_grammar(grammar)
            for frame in speech:
                recognition.audio(frame, flush=False)
            while recognition._recognizer is None:
                await asyncio.sleep(0.01)
            lent = recognition._recognizer
            assert lent.asked == grammar
            if grammar is None:
                assert lent is open_before[-1]
            else:
                assert lent not in open_before
            recognition.close(keep=True)
            while len(heard) <= turn:
                await asyncio.sleep(0.01)
        # The first grammar's recogniser served its second turn; the second was new.
        assert pool.created == created + 2
        assert all(r.asked is None for r in pool._idle)
        assert set(open_before) <= set(pool._idle)
        assert isinstance(heard[0], Heard) and "라디오" in heard[0].text
    finally:
        running.cancel()
        await recognition.release()
