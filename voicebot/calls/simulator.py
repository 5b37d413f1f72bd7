"""A simulated Asterisk chan_websocket leg, for tests and `voicebot bench calls`.

It speaks the real protocol over a real WebSocket: HTTP Basic credentials,
subprotocol ``media``, ``MEDIA_START``, caller audio as paced 20 ms binary
frames (silence between utterances, as an RTP stream sends), ``DTMF_END``,
and hang-up by closing. Toward the caller it behaves as Asterisk does: audio
from the bot is queued and played out at real-time pace, ``MARK_MEDIA``
answers ``MEDIA_MARK_PROCESSED`` when playout reaches it, ``FLUSH_MEDIA``
drops what is queued. What the caller heard is kept, with timestamps.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from voicebot.telephony.chan_websocket import SUBPROTOCOL, media_format

FRAME_S = 0.02
VOICED_RMS = 300.0


@dataclass
class Heard:
    at: float
    pcm: bytes


@dataclass
class SimulatedCall:
    url: str
    username: str
    password: str
    line: str = "mairie"
    call_id: str = "sim-1"
    fmt: str = "slin16"
    caller: str | None = None
    extra_params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.format = media_format(self.fmt)
        self.frame_size = self.format.frame_size()
        self.commands: list[dict[str, Any]] = []
        self.heard: list[Heard] = []
        self.flushes: list[float] = []
        self._voiced_at: list[float] = []
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._ws: ClientConnection | None = None
        self._playout: deque[bytes | str] = deque()
        self._outgoing: deque[bytes] = deque()
        self._speech_done: asyncio.Event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.last_speech_end: float | None = None
        """When the last frame of the last utterance was sent."""
        self.last_voiced_sent: float | None = None
        """When the last frame with speech in it was sent: the end of the caller's speech."""

    # -------------------------------------------------------------- connection
    async def __aenter__(self) -> SimulatedCall:
        params = {"line": self.line, "call": self.call_id, **self.extra_params}
        if self.caller:
            params["caller"] = self.caller
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        self._ws = await connect(
            f"{self.url}?{urlencode(params)}",
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {token}"},
            compression=None,
            open_timeout=10,
        )
        self._tasks = [
            asyncio.create_task(self._reader()),
            asyncio.create_task(self._player()),
            asyncio.create_task(self._sender()),
        ]
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.hang_up()

    @property
    def ws(self) -> ClientConnection:
        if self._ws is None:
            raise RuntimeError("not connected")
        return self._ws

    async def send_text(self, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(text)

    async def start_media(self, channel_variables: dict[str, str] | None = None) -> None:
        await self.send_text(json.dumps({
            "event": "MEDIA_START", "connection_id": self.call_id, "channel": "PJSIP/sim",
            "channel_id": self.call_id, "format": self.fmt,
            "optimal_frame_size": self.frame_size, "ptime": 20,
            "channel_variables": channel_variables or {},
        }))  # fmt: skip

    async def dtmf(self, digit: str) -> None:
        await self.send_text(json.dumps({"event": "DTMF_END", "digit": digit}))

    async def hang_up(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await task
        self._tasks = []
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.close()

    # -------------------------------------------------------------- caller side
    async def say(self, pcm16: bytes) -> None:
        """Queue speech (16-bit PCM at the call's rate); returns when it has all been sent."""
        self._speech_done.clear()
        size = self.format.sample_rate_hz // 50 * 2
        for start in range(0, len(pcm16), size):
            chunk = pcm16[start : start + size]
            self._outgoing.append(chunk + b"\x00" * (size - len(chunk)))
        await self._speech_done.wait()

    async def _sender(self) -> None:
        """One frame every 20 ms, like RTP: speech when there is some, else silence."""
        silence = b"\x00" * (self.format.sample_rate_hz // 50 * 2)
        next_at = time.monotonic()
        while True:
            if self._outgoing:
                pcm = self._outgoing.popleft()
                if _rms(pcm) > VOICED_RMS:
                    self.last_voiced_sent = time.monotonic()
                if not self._outgoing:
                    self.last_speech_end = time.monotonic()
                    self._speech_done.set()
            else:
                pcm = silence
            try:
                await self.ws.send(self.format.encode(pcm))
            except ConnectionClosed:
                self._speech_done.set()
                return
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    # -------------------------------------------------------------- bot side
    async def _reader(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    self._playout.append(self.format.decode(message))
                    continue
                data = json.loads(message)
                self.commands.append(data)
                name = data.get("command")
                if name == "MARK_MEDIA":
                    self._playout.append(str(data.get("correlation_id", "")))
                elif name == "FLUSH_MEDIA":
                    self.flushes.append(time.monotonic())
                    kept = [m for m in self._playout if isinstance(m, str)]
                    self._playout.clear()
                    self._playout.extend(kept)
        except ConnectionClosed:
            pass
        finally:
            self.closed_at = time.monotonic()
            if self._ws is not None and self._ws.close_code is not None:
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason or ""

    async def _player(self) -> None:
        """Play out at real-time pace; answer marks when playout reaches them."""
        next_at = time.monotonic()
        while True:
            while self._playout and isinstance(self._playout[0], str):
                mark = self._playout.popleft()
                await self.send_text(
                    json.dumps({"event": "MEDIA_MARK_PROCESSED", "correlation_id": mark})
                )
            if self._playout:
                item = self._playout.popleft()
                if isinstance(item, bytes):
                    at = time.monotonic()
                    self.heard.append(Heard(at, item))
                    if _rms(item) > VOICED_RMS:
                        self._voiced_at.append(at)
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    # -------------------------------------------------------------- observations
    def voiced_since(self, since: float) -> float | None:
        """When the caller first heard bot speech (not silence) after ``since``."""
        index = bisect.bisect_left(self._voiced_at, since)
        return self._voiced_at[index] if index < len(self._voiced_at) else None

    def heard_ms(self) -> int:
        """Milliseconds of bot speech (not silence) the caller has heard."""
        return 20 * len(self._voiced_at)

    def received_ms(self) -> int:
        return 20 * len(self.heard)

    async def wait_heard(self, ms: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.heard_ms() < ms:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.heard_ms()} ms of bot speech heard")
            await asyncio.sleep(0.05)

    async def wait_closed(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.closed_at is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not close the call")
            await asyncio.sleep(0.05)

    async def wait_quiet(self, timeout: float = 30.0) -> None:
        """Until everything the bot queued has been played."""
        deadline = time.monotonic() + timeout
        await asyncio.sleep(0.3)
        while self._playout and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


def _rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples))) if len(samples) else 0.0
