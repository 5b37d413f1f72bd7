"""The WebSocket endpoint Asterisk's chan_websocket connects to, one connection per call.

Credentials are checked before the handshake is accepted; the subprotocol is
``media`` and no extension is negotiated. The socket is read at all times
(Asterisk's writes block otherwise); audio may arrive before ``MEDIA_START``
and is kept until the format is known. A malformed, oversized or unsupported
message ends that call alone, with a close code and a reason; a call already
started then goes to a human.

Every wait is bounded: ``MEDIA_START`` must come within a few seconds of the
handshake, and a call during which Asterisk sends nothing at all for
``media_idle_timeout_s`` is closed. That limit is generous on purpose: with no
RTP from the caller Asterisk sends no frames, and the dialog's own silence
timers already end a silent call (three silences, well under a minute); the
idle limit only catches a leg that is gone without a close, or a call stuck
under it. Keys are limited by the session (all transports); control messages
other than marks and flow control, which a call cannot do without, are limited
here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import uuid
from typing import Any

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from voicebot.calls.admission import CAPACITY
from voicebot.calls.limits import CONTROL_PER_S, control_bucket
from voicebot.calls.session import CallSession
from voicebot.config import Settings
from voicebot.errors import AudioError, UsageError
from voicebot.server.state import AppState
from voicebot.telephony.chan_websocket import (
    MAX_BINARY_BYTES,
    SUBPROTOCOL,
    MediaFormat,
    command,
    media_format,
    parse_control,
)

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008
CLOSE_UNSUPPORTED = 1003
CLOSE_INVALID = 1007
CLOSE_TOO_BIG = 1009
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013
CLOSED_BY_ERROR = {1002, CLOSE_UNSUPPORTED, CLOSE_INVALID, CLOSE_TOO_BIG}
"""Disconnect codes that mean the socket was refused, by the server or by Asterisk."""
EARLY_AUDIO_LIMIT = 64 * 1024
ALWAYS_HANDLED = frozenset({"MEDIA_MARK_PROCESSED", "MEDIA_XOFF", "MEDIA_XON"})
"""Control events never rate-limited: a call stalls without them, and they cost nothing."""


def authorized(header: str | None, settings: Settings) -> bool:
    if settings.media_password is None or not header or not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = settings.media_password.get_secret_value()
    return hmac.compare_digest(user, settings.media_username) & hmac.compare_digest(
        password, expected
    )


class WebSocketSink:
    """Sends audio and commands to Asterisk over one call's socket."""

    supports_marks = True

    def __init__(self, websocket: WebSocket, fmt: MediaFormat) -> None:
        self.websocket = websocket
        self.format = fmt
        self.sample_rate_hz = fmt.sample_rate_hz
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.closed = False
        self.hangup_route: str | None = None

    async def _send_text(self, text: str) -> None:
        if not self.closed:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.send_text(text)

    async def send_command(self, name: str, **fields: str) -> None:
        await self._send_text(command(name, **fields))

    async def send_audio(self, pcm: bytes) -> None:
        await self.resumed.wait()  # MEDIA_XOFF: Asterisk has about 18 s queued
        if not self.closed:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.send_bytes(self.format.encode(pcm))

    async def flush(self) -> None:
        await self.send_command("FLUSH_MEDIA")

    async def mark(self, name: str) -> None:
        await self.send_command("MARK_MEDIA", correlation_id=name)

    async def hangup(self, route: str) -> None:
        """Hang up by closing; the dialplan (or ARI) then routes the caller."""
        self.hangup_route = route
        if not self.closed:
            self.closed = True
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(code=1000)


async def media_endpoint(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.voicebot
    settings = state.settings
    if not authorized(websocket.headers.get("authorization"), settings):
        log.warning(
            "media: refused a connection from %s: bad or missing credentials",
            websocket.client.host if websocket.client else "?",
        )
        await websocket.close(code=CLOSE_POLICY)
        return
    if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
        log.warning("media: refused a connection without the « media » subprotocol")
        await websocket.close(code=CLOSE_POLICY)
        return
    params = websocket.query_params
    ticket = params.get("call") or f"media-{uuid.uuid4()}"
    # A call that comes faster than the pace waits its turn, its line ringing: the socket
    # is accepted (within Asterisk's connection timeout) and ANSWER waits.
    await websocket.accept(subprotocol=SUBPROTOCOL)
    if not await state.admission.enter(ticket, state.settings.admission_wait_ms / 1000.0):
        await refuse_for_capacity(websocket, state, params.get("call"))
        return
    try:
        call = MediaCall(websocket, state, ticket)
        await call.serve()
    finally:
        state.admission.release(ticket)


async def refuse_for_capacity(websocket: WebSocket, state: AppState, call_id: str | None) -> None:
    """No room for this call: the socket (accepted) is closed with 1013 (try again later),
    before any ``ANSWER``, so that Asterisk's ``Dial`` fails and the dialplan hands the
    caller to the agents; the route it then asks for says ``queue,capacity``. (A refused
    handshake would do too, but uvicorn logs a denial response as an error.)"""
    log.warning(
        "media: no room for call %s (%d calls in progress): refused, to the queue",
        call_id or "?",
        state.admission.active,
    )
    state.metrics.refused.labels(reason=CAPACITY).inc()
    if call_id:
        params = websocket.query_params
        line = params.get("line") or state.settings.default_line
        state.overflowed(call_id, line, params.get("caller"), "websocket")
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=CLOSE_TRY_AGAIN, reason="capacité atteinte")


class MediaCall:
    def __init__(self, websocket: WebSocket, state: AppState, ticket: str = "") -> None:
        self.websocket = websocket
        self.state = state
        self.ticket = ticket
        """The call's place in the admission count, given back as soon as its session ends."""
        self.params = dict(websocket.query_params)
        self.early_audio = bytearray()
        self.session: CallSession | None = None
        self.task: asyncio.Task[Any] | None = None
        self.sink: WebSocketSink | None = None
        self.controls = control_bucket()
        settings = state.settings
        self.start_timeout_s = settings.media_start_timeout_ms / 1000.0
        self.idle_timeout_s = float(settings.media_idle_timeout_s)

    async def refuse(self, code: int, reason: str) -> None:
        log.warning("media call %s: %s", self.params.get("call", "?"), reason)
        self.state.metrics.refused.labels(reason=str(code)).inc()
        self.media_failed()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            # A close reason fits in 123 bytes of UTF-8.
            short = reason.encode()[:120].decode(errors="ignore")
            await self.websocket.close(code=code, reason=short)

    def media_failed(self) -> None:
        """The socket broke under a started call: the caller goes to a human."""
        if self.session is not None:
            self.session.media_lost()

    async def receive(self, start_by: float) -> Message:
        """The next message; ``TimeoutError`` past the start deadline or the idle limit."""
        if self.session is None:
            async with asyncio.timeout_at(start_by):
                return await self.websocket.receive()
        async with asyncio.timeout(self.idle_timeout_s):
            return await self.websocket.receive()

    async def serve(self) -> None:
        start_by = asyncio.get_running_loop().time() + self.start_timeout_s
        try:
            while True:
                try:
                    message = await self.receive(start_by)
                except TimeoutError:
                    await self.timed_out()
                    break
                if message["type"] == "websocket.disconnect":
                    self.disconnected(message)
                    break
                data = message.get("bytes")
                if data is not None:
                    if not await self.on_audio(data):
                        break
                elif message.get("text") is not None and not await self.on_text(message["text"]):
                    break
        finally:
            await self.end()

    async def timed_out(self) -> None:
        if self.session is None:
            limit_ms = round(self.start_timeout_s * 1000)
            await self.refuse(CLOSE_POLICY, f"pas de MEDIA_START {limit_ms} ms après la connexion")
        else:
            limit_s = round(self.idle_timeout_s)
            await self.refuse(CLOSE_POLICY, f"aucun message d'Asterisk depuis {limit_s} s")

    def disconnected(self, message: Message) -> None:
        code = message.get("code")
        if code == CLOSE_SERVICE_RESTART and self.session is not None:
            # The service is stopping (uvicorn closes sockets first): not the caller.
            self.session.service_stopped()
        elif code in CLOSED_BY_ERROR:
            # Refused by the server itself (a message over ws_max_size: 1009), or by Asterisk.
            log.warning(
                "media call %s: connection closed with %s (%s)",
                self.params.get("call", "?"),
                code,
                message.get("reason") or "no reason given",
            )
            self.state.metrics.refused.labels(reason=str(code)).inc()
            self.media_failed()

    async def on_audio(self, data: bytes) -> bool:
        if len(data) > MAX_BINARY_BYTES:
            await self.refuse(CLOSE_TOO_BIG, f"trame audio trop grande ({len(data)} octets)")
            return False
        if self.session is None or self.sink is None:
            if len(self.early_audio) + len(data) <= EARLY_AUDIO_LIMIT:
                self.early_audio.extend(data)
            return True
        self.session.feed_audio(self.sink.format.decode(data))
        return True

    async def on_text(self, text: str) -> bool:
        try:
            event = parse_control(text)
        except UsageError as exc:
            await self.refuse(CLOSE_INVALID, exc.message)
            return False
        if event.event == "MEDIA_START":
            return await self.start(event.data, event.channel_variables)
        session = self.session
        if event.event == "DTMF_END":
            digit = str(event.data.get("digit", ""))
            ari = self.state.ari
            if session is not None and (ari is None or not ari.owns(session.call_id)):
                session.feed_dtmf(digit)  # checked and rate-limited there, for every transport
            return True
        if event.event not in ALWAYS_HANDLED and not self.controls.allow():
            if self.controls.first_refusal:
                log.warning(
                    "media call %s: control messages faster than %g a second: "
                    "ignored (logged once)",
                    self.params.get("call", "?"),
                    CONTROL_PER_S,
                )
            return True
        if event.event == "MEDIA_MARK_PROCESSED" and session is not None:
            session.mark_played(str(event.data.get("correlation_id", "")))
        elif event.event == "MEDIA_XOFF" and self.sink is not None:
            self.sink.resumed.clear()
        elif event.event == "MEDIA_XON" and self.sink is not None:
            self.sink.resumed.set()
        elif event.event == "ERROR":
            log.warning(
                "media call %s: Asterisk reports an error: %s",
                self.params.get("call", "?"),
                event.data,
            )
        return True

    async def start(self, data: dict[str, Any], variables: dict[str, str]) -> bool:
        if self.session is not None:
            return True
        try:
            fmt = media_format(str(data.get("format", "")))
        except AudioError as exc:
            await self.refuse(CLOSE_UNSUPPORTED, str(exc))
            return False
        line = self.params.get("line") or variables.get("line") or variables.get("VOICEBOT_LINE")
        line = line or self.state.settings.default_line
        if line not in self.state.understander.content.lines:
            await self.refuse(CLOSE_POLICY, f"ligne inconnue : {line}")
            return False
        call_id = (
            self.params.get("call")
            or variables.get("call")
            or str(data.get("channel_id") or uuid.uuid4())
        )
        caller = (
            self.params.get("caller") or variables.get("caller") or variables.get("CALLERID(num)")
        )
        self.sink = WebSocketSink(self.websocket, fmt)
        self.session = self.state.new_session(call_id, line, self.sink, caller, "websocket")
        await self.sink.send_command("ANSWER")
        self.task = asyncio.create_task(self.session.run(), name=f"call-{call_id}")
        self.task.add_done_callback(lambda _: asyncio.ensure_future(self.close_socket()))
        if self.early_audio:
            self.session.feed_audio(fmt.decode(bytes(self.early_audio)))
            self.early_audio.clear()
        return True

    async def close_socket(self) -> None:
        # The call is over: its place is free before Asterisk even sees the socket close.
        self.state.admission.release(self.ticket)
        if self.sink is not None and not self.sink.closed:
            await self.sink.hangup(self.session.record.route or "hangup" if self.session else "")
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(code=1000)

    async def end(self) -> None:
        session = self.session
        if session is None or self.task is None:
            return
        if not session.ended.is_set():
            session.caller_hung_up()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
