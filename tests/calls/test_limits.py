"""Bounded input on every socket: deadlines, key and control floods, oversized frames.

The service runs as `voicebot serve` runs it (its uvicorn options), keypad only:
no recogniser is needed to flood keys or send nothing at all.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.calls.conftest import PASSWORD, RunningServer, running
from tests.calls.test_endpoint import finished
from tests.local_server import free_port
from tests.serve_process import Bot
from voicebot.calls.limits import (
    CONTROL_BURST,
    CONTROL_PER_S,
    KEYPAD_BURST,
    KEYPAD_PER_S,
    TokenBucket,
)
from voicebot.config import load_settings
from voicebot.telephony.chan_websocket import SUBPROTOCOL

in_module_loop = pytest.mark.asyncio(loop_scope="module")

IDLE_TIMEOUT_S = 4
TEN_MB = 10 * 1024 * 1024


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    folder = tmp_path_factory.mktemp("limits")
    settings = load_settings(
        media_password=PASSWORD,
        tts_engine="espeak",
        models_dir=folder,  # no recogniser: keypad only, quick to start
        log_level="warning",
    )
    # The idle limit's floor (30 s) keeps it above the dialog's own silences; a test
    # cannot wait that long, so it is lowered here past validation.
    settings = settings.model_copy(update={"media_idle_timeout_s": IDLE_TIMEOUT_S})
    async with running(settings) as running_server:
        yield running_server


async def media_socket(server: RunningServer, call_id: str) -> ClientConnection:
    """A socket that authenticates as Asterisk does, and sends nothing by itself."""
    token = base64.b64encode(f"asterisk:{PASSWORD}".encode()).decode()
    return await connect(
        f"{server.url}?line=mairie&call={call_id}",
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Basic {token}"},
        compression=None,
        open_timeout=10,
    )


def media_start(call_id: str) -> str:
    return json.dumps({"event": "MEDIA_START", "channel_id": call_id, "format": "slin16"})


async def drain(ws: ClientConnection) -> None:
    """Read what the bot sends (as Asterisk always does), answer nothing."""
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass


# ------------------------------------------------------------------ the token bucket
@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("burst", "per_s", "events", "spacing_s", "allowed"),
    [
        (12, 4.0, 2000, 0.0, 12),  # a flood at once: the burst only
        (12, 4.0, 10, 0.05, 10),  # a number typed fast from memory: every key
        (12, 4.0, 100, 0.125, 61),  # eight keys a second for 12 s: 12, then four a second
        (3, 1.0, 10, 1.0, 10),  # at the sustained rate: never refused
    ],
)
def test_token_bucket(
    burst: int, per_s: float, events: int, spacing_s: float, allowed: int
) -> None:
    clock = Clock()
    bucket = TokenBucket(burst, per_s, clock)
    passed = 0
    for _ in range(events):
        passed += bucket.allow()
        clock.now += spacing_s
    assert passed == allowed
    assert bucket.refused == events - allowed


# ------------------------------------------------------------------ deadlines
@in_module_loop
@pytest.mark.parametrize("sends_audio", [False, True])
async def test_socket_without_media_start_is_closed(
    server: RunningServer, sends_audio: bool
) -> None:
    """Audio may come before MEDIA_START, but does not keep a socket open without it."""
    ws = await media_socket(server, f"mute-{sends_audio}")
    opened = time.monotonic()

    async def audio() -> None:
        while True:
            await ws.send(b"\x00" * 640)
            await asyncio.sleep(0.02)

    sender = asyncio.create_task(audio()) if sends_audio else None
    try:
        await asyncio.wait_for(ws.wait_closed(), timeout=10)
    finally:
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender
    limit_s = server.settings.media_start_timeout_ms / 1000
    assert time.monotonic() - opened >= limit_s - 0.5
    assert ws.close_code == 1008 and "MEDIA_START" in (ws.close_reason or "")
    assert server.state.registry.get(f"mute-{sends_audio}") is None  # no call was started


@in_module_loop
async def test_call_silent_past_the_idle_limit_goes_to_a_human(server: RunningServer) -> None:
    ws = await media_socket(server, "idle")
    await ws.send(media_start("idle"))
    reader = asyncio.create_task(drain(ws))  # the greeting's marks are never answered
    await asyncio.wait_for(reader, timeout=IDLE_TIMEOUT_S + 10)
    assert ws.close_code == 1008 and "aucun message" in (ws.close_reason or "")
    record = await finished(server, "idle")
    assert record.outcome == "handed_over" and record.route == "queue"
    assert record.handover_reason == "media_lost"


# ------------------------------------------------------------------ floods
@in_module_loop
async def test_key_flood_is_bounded_and_spares_the_other_calls(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="voicebot")
    async with server.call("flood") as flood, server.call("calm") as calm:
        await flood.start_media()
        await calm.start_media()
        await flood.wait_heard(300)
        await calm.wait_heard(300)
        started = time.monotonic()
        for _ in range(2000):
            await flood.dtmf("*")  # « répétez » : never ends the call by itself
        pressed = time.monotonic()
        await calm.dtmf("0")
        await calm.wait_closed(timeout=30)
        await asyncio.sleep(0.5)
    elapsed_s = time.monotonic() - started
    calm_record = await finished(server, "calm")
    assert calm_record.outcome == "handed_over" and calm_record.handover_reason == "keypad_0"
    # Its key was taken at once: the prompt it interrupted was flushed (measured, not bound).
    assert calm.flushes, "the calm call's key did not interrupt its prompt"
    print(f"calm call's key answered in {calm.flushes[0] - pressed:.3f} s")

    flood_record = await finished(server, "flood")
    keys = [t for t in flood_record.turns if t.text == "[touche *]"]
    assert 0 < len(keys) <= KEYPAD_BURST + KEYPAD_PER_S * elapsed_s + 1
    assert len(flood_record.turns) < 2 * len(keys) + 5  # not 4,001
    warnings = [r for r in caplog.records if "keys arrive faster" in r.getMessage()]
    assert len(warnings) == 1 and "flood" in warnings[0].getMessage()


@in_module_loop
async def test_control_flood_is_bounded_and_the_call_goes_on(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="voicebot")
    async with server.call("noisy") as call:
        await call.start_media()
        await call.wait_heard(300)
        started = time.monotonic()
        for index in range(2000):
            await call.send_text(json.dumps({"event": "ERROR", "n": index}))
        await call.dtmf("0")  # keys and marks still pass
        await call.wait_closed(timeout=30)
    elapsed_s = time.monotonic() - started
    reported = [r for r in caplog.records if "reports an error" in r.getMessage()]
    assert 0 < len(reported) <= CONTROL_BURST + CONTROL_PER_S * elapsed_s + 1
    flood = [r for r in caplog.records if "control messages faster" in r.getMessage()]
    assert len(flood) == 1
    record = await finished(server, "noisy")
    assert record.handover_reason == "keypad_0"


# ------------------------------------------------------------------ oversized frames
async def handshake(
    host: str, port: int, call_id: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket opened by hand, to send frames a client library would not."""
    reader, writer = await asyncio.open_connection(host, port)
    token = base64.b64encode(f"asterisk:{PASSWORD}".encode()).decode()
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /media?line=mairie&call={call_id} HTTP/1.1\r\nHost: {host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}\r\n"
            f"Authorization: Basic {token}\r\n\r\n"
        ).encode()
    )
    status = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n", 1)[0]
    assert b" 101 " in status, status
    return reader, writer


def frame_header(opcode: int, length: int, mask: bytes) -> bytes:
    """A client frame's header (FIN, masked) announcing ``length`` bytes of payload."""
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return head + mask


def frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return frame_header(opcode, len(payload), mask) + masked


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", await reader.readexactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", await reader.readexactly(8))[0]
    return first & 0x0F, await reader.readexactly(length)


async def started_call(
    host: str, port: int, call_id: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await handshake(host, port, call_id)
    writer.write(frame(0x1, media_start(call_id).encode()))
    while True:  # the call is up once the bot answers
        opcode, payload = await asyncio.wait_for(read_frame(reader), timeout=10)
        if opcode == 0x1 and json.loads(payload).get("command") == "ANSWER":
            return reader, writer


async def close_code(reader: asyncio.StreamReader, timeout: float = 10) -> tuple[int, str]:
    while True:
        opcode, payload = await asyncio.wait_for(read_frame(reader), timeout=timeout)
        if opcode == 0x8:
            return struct.unpack("!H", payload[:2])[0], payload[2:].decode()


@in_module_loop
async def test_oversized_frame_is_refused_from_its_header(server: RunningServer) -> None:
    """10 MB announced, nothing of it sent: refused at once, from the header alone (bytes
    the server leaves unread as it closes would make its kernel reset the connection, and
    the close frame could be lost)."""
    port = int(server.http.rsplit(":", 1)[1])
    reader, writer = await started_call("127.0.0.1", port, "header")
    writer.write(frame_header(0x2, TEN_MB, os.urandom(4)))
    code, reason = await close_code(reader)
    writer.close()
    assert code == 1009 and "exceeds" in reason
    record = await finished(server, "header")
    assert record.outcome == "handed_over" and record.route == "queue"
    assert record.handover_reason == "media_lost"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@in_module_loop
async def test_serve_refuses_ten_megabyte_frames_without_holding_them(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")},
        "VOICEBOT_PORT": str(port),
        "VOICEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'voicebot.db'}",
        "VOICEBOT_MODELS_DIR": str(tmp_path / "models"),
        "VOICEBOT_TTS_ENGINE": "espeak",
        "VOICEBOT_MEDIA_PASSWORD": PASSWORD,
        "VOICEBOT_LOG_LEVEL": "warning",
    }
    bot = Bot(env, port, tmp_path / "serve.log", ready=lambda r: r.get("ready") is True)
    await asyncio.to_thread(bot.start)
    try:
        assert bot.process is not None
        # Announced, not sent: refused from the header alone, the rest never awaited.
        # (Bytes after it, unread when the server closes, would make its kernel reset
        # the connection, and the close frame could be lost on the way.)
        reader, writer = await started_call("127.0.0.1", port, "announced")
        writer.write(frame_header(0x2, TEN_MB, os.urandom(4)))
        assert (await close_code(reader))[0] == 1009
        writer.close()
        # Sent whole, ten times: the server drops the bytes as they come, keeps none.
        before = rss_bytes(bot.process.pid)
        payload = bytes(TEN_MB)
        for index in range(10):
            _, writer = await started_call("127.0.0.1", port, f"big-{index}")
            writer.write(frame_header(0x2, TEN_MB, bytes(4)) + payload)  # zero mask
            with contextlib.suppress(ConnectionError):  # the server closes as it refuses
                await writer.drain()
            writer.close()
        grown = rss_bytes(bot.process.pid) - before
        assert grown < 30 * 1024 * 1024, f"the server grew by {grown // 2**20} MB"
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                ready = (await client.get(f"{bot.url}/readyz")).json()
                if ready["active_calls"] == 0:
                    break
                await asyncio.sleep(0.1)
        assert ready["active_calls"] == 0  # every refused call has ended
    finally:
        await asyncio.to_thread(bot.stop)
