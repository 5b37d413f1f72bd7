"""AudioSocket (TCP) for PBXs older than Asterisk 22.6.

Each message: one byte of kind, two bytes of big-endian length, the payload.
Kinds: 0x00 hang-up, 0x01 the call's UUID (16 bytes), 0x03 a DTMF digit, 0x10
16-bit PCM at 8 kHz, 0x12 16-bit PCM at 16 kHz, 0xff an error. There is no
pacing (we send one 20 ms frame every 20 ms), no TLS and no authentication:
keep it on a private network or loopback.

Every wait is bounded: the UUID must come within a few seconds of the
connection, and a call during which Asterisk sends nothing for the idle limit
is closed (generous: without RTP from the caller no frames come, and the
dialog's silence timers end such a call first). A message is at most 65535
bytes by construction and is read once, never gathered. When a call ends, for
whatever reason, its pacer is stopped and its socket closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from voicebot.calls.admission import Admission
from voicebot.calls.session import CallSession, MediaSink
from voicebot.errors import UsageError

log = logging.getLogger(__name__)

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_SLIN8 = 0x10
KIND_SLIN16 = 0x12
KIND_ERROR = 0xFF
AUDIO_KINDS = {KIND_SLIN8: 8000, KIND_SLIN16: 16000}
MAX_PAYLOAD = 65535
START_TIMEOUT_S = 5.0
IDLE_TIMEOUT_S = 120.0


def message(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise UsageError(f"message AudioSocket trop long ({len(payload)} octets)")
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = await reader.readexactly(3)
    length = int.from_bytes(header[1:3], "big")
    return header[0], await reader.readexactly(length) if length else b""


class AudioSocketSink:
    """Paces audio toward Asterisk in real time: one 20 ms frame every 20 ms."""

    supports_marks = False

    def __init__(
        self, writer: asyncio.StreamWriter, sample_rate_hz: int, call_id: str = "?"
    ) -> None:
        self.writer = writer
        self.sample_rate_hz = sample_rate_hz
        self.kind = KIND_SLIN16 if sample_rate_hz == 16000 else KIND_SLIN8
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=5)  # 100 ms ahead at most
        self._pacer = asyncio.create_task(self._pace(), name=f"audiosocket-pacer-{call_id}")
        self.closed = False
        self.route: str | None = None

    async def _pace(self) -> None:
        next_at = time.monotonic()
        while True:
            pcm = await self._queue.get()
            if self.closed:
                return
            self.writer.write(message(self.kind, pcm))
            next_at = max(next_at + 0.02, time.monotonic())
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def send_audio(self, pcm: bytes) -> None:
        if not self.closed:
            await self._queue.put(pcm)  # waits while 100 ms are queued: sent ≈ played

    async def flush(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def mark(self, name: str) -> None:
        return None

    async def hangup(self, route: str) -> None:
        self.route = route
        if self.closed:
            return
        while not self._queue.empty() and not self._pacer.done():  # let the last words go out
            await asyncio.sleep(0.02)
        await self.close()
        with contextlib.suppress(ConnectionError):
            self.writer.write(message(KIND_HANGUP))
            await self.writer.drain()
        self.writer.close()

    async def close(self) -> None:
        """Stop the pacer (and drop what it had queued); the caller may be gone already."""
        self.closed = True
        self._pacer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pacer


class AudioSocketServer:
    """One TCP connection per call; ``new_session`` builds the call's CallSession."""

    def __init__(
        self,
        new_session: Callable[[str, MediaSink], CallSession],
        sample_rate_hz: int = 8000,
        start_timeout_s: float = START_TIMEOUT_S,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        admission: Admission | None = None,
        overflowed: Callable[[str], None] | None = None,
    ) -> None:
        self.new_session = new_session
        self.admission = admission
        self.overflowed = overflowed
        """Told of a call refused for capacity (it is recorded as handed over)."""
        self.sample_rate_hz = sample_rate_hz
        self.start_timeout_s = start_timeout_s
        self.idle_timeout_s = idle_timeout_s

    async def _next(
        self, reader: asyncio.StreamReader, started: bool, start_by: float
    ) -> tuple[int, bytes]:
        """The next message; ``TimeoutError`` past the UUID deadline or the idle limit."""
        if not started:
            async with asyncio.timeout_at(start_by):
                return await read_message(reader)
        async with asyncio.timeout(self.idle_timeout_s):
            return await read_message(reader)

    async def _refuse(self, writer: asyncio.StreamWriter, call_id: str) -> None:
        """No room: hang up at once; the dialplan goes on to the agents, and the route it
        asks for says ``queue,capacity``."""
        log.warning("audiosocket call %s: no room: closed, to the queue", call_id)
        if self.overflowed is not None:
            self.overflowed(call_id)
        with contextlib.suppress(ConnectionError):
            writer.write(message(KIND_HANGUP))
            await writer.drain()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session: CallSession | None = None
        task: asyncio.Task[object] | None = None
        sink: AudioSocketSink | None = None
        admitted: str | None = None
        start_by = asyncio.get_running_loop().time() + self.start_timeout_s
        try:
            while True:
                try:
                    kind, payload = await self._next(reader, session is not None, start_by)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except TimeoutError:
                    if session is None:
                        log.warning(
                            "audiosocket: no UUID %.0f s after the connection from %s: closed",
                            self.start_timeout_s,
                            writer.get_extra_info("peername"),
                        )
                    else:
                        log.warning(
                            "audiosocket call %s: nothing from Asterisk for %.0f s: closed",
                            session.call_id,
                            self.idle_timeout_s,
                        )
                        session.media_lost()
                    break
                if kind == KIND_UUID and session is None:
                    call_id = (
                        str(uuid.UUID(bytes=payload))
                        if len(payload) == 16
                        else (payload.hex() or str(uuid.uuid4()))
                    )
                    if self.admission is not None and not self.admission.admit(call_id):
                        await self._refuse(writer, call_id)
                        break
                    admitted = call_id
                    sink = AudioSocketSink(writer, self.sample_rate_hz, call_id)
                    session = self.new_session(call_id, sink)
                    task = asyncio.create_task(session.run(), name=f"call-{call_id}")
                    task.add_done_callback(lambda _: writer.close())  # the reader then ends
                elif kind in AUDIO_KINDS and session is not None:
                    if AUDIO_KINDS[kind] != self.sample_rate_hz:
                        log.warning(
                            "audiosocket: %s Hz audio on a %s Hz call, ignored",
                            AUDIO_KINDS[kind],
                            self.sample_rate_hz,
                        )
                        continue
                    session.feed_audio(payload)
                elif kind == KIND_DTMF and session is not None:
                    session.feed_dtmf(payload.decode(errors="replace")[:1])
                elif kind == KIND_HANGUP:
                    break
                elif kind == KIND_ERROR:
                    log.warning("audiosocket: Asterisk reports an error %s", payload.hex())
        finally:
            if admitted is not None and self.admission is not None:
                self.admission.release(admitted)
            if session is not None and not session.ended.is_set():
                session.caller_hung_up()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if sink is not None:
                await sink.close()  # the caller may have hung up first: no pacer left behind
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
