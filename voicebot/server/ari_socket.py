"""``/ari``: where Asterisk connects for each call (ARI Outbound WebSockets).

``websocket_client.conf`` names this endpoint with ``protocols = ari`` and
``connection_type = per_call_config``; ``ari.conf`` ties it to the Stasis app
(``type = outbound_websocket``). When ``Stasis(voicebot)`` runs, Asterisk
opens one connection for that caller, registers an app named
``voicebot:<channel name>`` and sends ``ApplicationRegistered`` then
``StasisStart``; the connection closes when ``Stasis()`` returns.

The point of it is crash safety: if this process dies, Asterisk's reconnection
attempts fail, ``Stasis()`` returns ``FAILED`` and the dialplan sends the caller
to the queue, about a second later, with no help from us.

Credentials are those Asterisk presents to ``/media`` (checked before the
handshake). Events go to the :class:`AriController`; REST requests still go
to ``VOICEBOT_ARI_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from voicebot.server.media import CLOSE_INVALID, CLOSE_POLICY, authorized
from voicebot.server.state import AppState

log = logging.getLogger(__name__)

SUBPROTOCOL = "ari"
MAX_EVENT_CHARS = 256 * 1024


async def ari_endpoint(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.voicebot
    controller = state.ari
    peer = websocket.client.host if websocket.client else "?"
    if controller is None or not controller.outbound:
        log.warning("ari: refused a connection from %s: VOICEBOT_ARI_MODE is not outbound", peer)
        await websocket.close(code=CLOSE_POLICY)
        return
    if not authorized(websocket.headers.get("authorization"), state.settings):
        log.warning("ari: refused a connection from %s: bad or missing credentials", peer)
        await websocket.close(code=CLOSE_POLICY)
        return
    if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
        log.warning("ari: refused a connection without the « ari » subprotocol")
        await websocket.close(code=CLOSE_POLICY)
        return
    await websocket.accept(subprotocol=SUBPROTOCOL)
    app: str | None = None
    try:
        first = True
        while True:
            # Asterisk sends ApplicationRegistered at once; silence is not Asterisk.
            timeout = state.settings.media_start_timeout_ms / 1000 if first else None
            try:
                text = await asyncio.wait_for(websocket.receive_text(), timeout=timeout)
            except TimeoutError:
                log.warning("ari: no event %.0f s after the connection: closed", timeout)
                await websocket.close(code=CLOSE_POLICY)
                return
            first = False
            event = _parse(text)
            if event is None:
                log.warning("ari: a malformed event was ignored (%d characters)", len(text))
                continue
            if app is None and event.get("application"):
                app = str(event["application"])
                controller.socket_opened(app)
            if event.get("type") == "ApplicationRegistered":
                log.debug("ari: per-call app %s registered", app)
                continue
            controller.spawn(controller.on_event(event))
    except WebSocketDisconnect:
        pass
    except (RuntimeError, KeyError) as exc:  # a non-text message: not ARI
        log.warning("ari: unexpected message on the events socket (%s): closed", exc)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=CLOSE_INVALID)
    finally:
        if app:
            controller.spawn(controller.socket_closed(app))


def _parse(text: str) -> dict[str, Any] | None:
    if len(text) > MAX_EVENT_CHARS:
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
