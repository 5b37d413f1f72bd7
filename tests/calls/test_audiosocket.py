"""AudioSocket over TCP (PBXs older than 22.6), driven as Asterisk's app_audiosocket does."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path

import pytest

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
