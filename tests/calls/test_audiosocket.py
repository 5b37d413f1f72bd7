"""AudioSocket over TCP (PBXs older than 22.6), driven as Asterisk's app_audiosocket does."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.calls.conftest import RunningServer
from tests.calls.test_endpoint import finished
from tests.calls.test_resilience import running, stop
from tests.conftest import espeak_speech
from tests.local_server import free_port
from voicebot.telephony.audiosocket import (
    KIND_DTMF,
    KIND_HANGUP,
    KIND_SLIN8,
    KIND_UUID,
    message,
    read_message,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_audiosocket_call_speech_and_key_zero(
    korean_model_dir: Path, joe_voice_path: Path
) -> None:
    port = free_port()
    server, handle = await running(
        asr_model=str(korean_model_dir),
        tts_voice=str(joe_voice_path),
        tts_phonemizer_voice="fr",
        audiosocket_port=port,
    )
    call_id = uuid.uuid4()
    try:
        # AudioSocket is 8 kHz: recognisers at that rate are warmed before calls need them.
        for _ in range(600):
            if server.state.pools.get(8000) and server.state.pools[8000].idle > 0:
                break
            await asyncio.sleep(0.1)
        assert server.state.pools[8000].idle > 0
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(message(KIND_UUID, call_id.bytes))
        speech = espeak_speech("라디오 음악", "ko", 8000).pcm
        outgoing = [speech[i : i + 320].ljust(320, b"\x00") for i in range(0, len(speech), 320)]

        async def send_audio() -> None:  # an RTP-like stream: silence, speech, silence
            frames = [b"\x00" * 320] * 50 + outgoing + [b"\x00" * 320] * 10_000
            for frame in frames:
                writer.write(message(KIND_SLIN8, frame))
                await asyncio.sleep(0.02)

        sender = asyncio.create_task(send_audio())
        received: list[tuple[float, int]] = []
        started = time.monotonic()
        hung_up = False
        pressed = False
        while time.monotonic() - started < 30:
            kind, payload = await asyncio.wait_for(read_message(reader), timeout=10)
            if kind == KIND_SLIN8:
                received.append((time.monotonic(), len(payload)))
            if kind == KIND_HANGUP:
                hung_up = True
                break
            if not pressed and time.monotonic() - started > 6:
                writer.write(message(KIND_DTMF, b"0"))
                pressed = True
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
        assert hung_up
        assert all(size == 320 for _, size in received)  # whole 20 ms frames at 8 kHz
        # Paced in real time: about 50 frames a second, never a burst of seconds.
        span = received[-1][0] - received[0][0]
        assert len(received) / span < 60
        record = await finished(server, str(call_id))
        assert record.transport == "audiosocket"
        assert record.handover_reason == "keypad_0"
        # The caller's speech went through the recogniser (8 kHz open vocabulary: the words
        # themselves come out approximate) and got the not-understood reply.
        spoken = [t for t in record.turns if t.speaker == "caller" and not t.text.startswith("[")]
        assert spoken and spoken[0].text.strip()
        assert any("compris" in t.text for t in record.turns if t.speaker == "bot")
    finally:
        await stop(handle)


# ------------------------------------------------------------------ bounded, and cleaned up
@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def keypad_line(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[RunningServer, int]]:
    """A keypad-only service (no recogniser to load) with an AudioSocket port."""
    port = free_port()
    server, handle = await running(
        tts_engine="espeak",
        models_dir=tmp_path_factory.mktemp("audiosocket"),
        audiosocket_port=port,
    )
    try:
        yield server, port
    finally:
        await stop(handle)


def tasks_of(call_id: str) -> list[str]:
    """Names of the tasks still alive for a call (session stages, pacer, call)."""
    names = [task.get_name() for task in asyncio.all_tasks() if not task.done()]
    return [name for name in names if call_id in name]


async def no_task_left(call_id: str, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while tasks_of(call_id) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return tasks_of(call_id)


async def until_audio(reader: asyncio.StreamReader) -> None:
    while (await asyncio.wait_for(read_message(reader), timeout=10))[0] != KIND_SLIN8:
        pass


async def test_silent_connection_is_closed(keypad_line: tuple[RunningServer, int]) -> None:
    server, port = keypad_line
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    opened = time.monotonic()
    try:
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""  # closed by the bot
    finally:
        writer.close()
    assert time.monotonic() - opened >= server.settings.media_start_timeout_ms / 1000 - 0.5


async def until_quiet(reader: asyncio.StreamReader, quiet_s: float = 0.5) -> None:
    """Until the bot stops speaking: nothing is queued toward the caller any more."""
    while True:
        try:
            await asyncio.wait_for(read_message(reader), timeout=quiet_s)
        except TimeoutError:
            return


@pytest.mark.parametrize(
    ("when", "how"),
    [
        ("while_speaking", "connection_dropped"),
        ("bot_silent", "hangup_message"),  # the pacer waits for audio that never comes
        ("bot_silent", "connection_dropped"),
    ],
)
async def test_caller_hanging_up_first_leaves_no_task(
    keypad_line: tuple[RunningServer, int], when: str, how: str
) -> None:
    server, port = keypad_line
    call_id = uuid.uuid4()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message(KIND_UUID, call_id.bytes))
    await until_audio(reader)  # the greeting is being paced out
    assert any(name.startswith("audiosocket-pacer-") for name in tasks_of(str(call_id)))
    if when == "bot_silent":  # the caller talks over the greeting: it stops (barge-in)
        speech = espeak_speech("안녕하세요", "ko", 8000).pcm
        for start in range(0, len(speech), 320):
            writer.write(message(KIND_SLIN8, speech[start : start + 320].ljust(320, b"\x00")))
            await asyncio.sleep(0.02)
        await asyncio.wait_for(until_quiet(reader), timeout=30)
    if how == "hangup_message":
        writer.write(message(KIND_HANGUP))
        await writer.drain()
    writer.close()
    record = await finished(server, str(call_id))
    assert record.outcome == "abandoned"
    assert await no_task_left(str(call_id)) == []


async def test_call_ended_by_the_bot_closes_its_socket(
    keypad_line: tuple[RunningServer, int],
) -> None:
    server, port = keypad_line
    call_id = uuid.uuid4()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message(KIND_UUID, call_id.bytes))
    await until_audio(reader)
    writer.write(message(KIND_DTMF, b"0"))
    try:
        while (await asyncio.wait_for(read_message(reader), timeout=30))[0] != KIND_HANGUP:
            pass
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""  # then the socket closes
    finally:
        writer.close()
    record = await finished(server, str(call_id))
    assert record.handover_reason == "keypad_0" and record.route == "queue"
    assert await no_task_left(str(call_id)) == []
