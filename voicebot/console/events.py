"""Server-Sent Events: tell open consoles that something changed, whichever instance wrote it.

The stream polls ``store.version()`` (shared by every instance through the
database) about once a second and sends the new version when it moves; the
page's script then refreshes its live regions. The version a page was rendered
with comes as ``?v=`` and, on reconnection, as ``Last-Event-ID``: no change is
missed between the page and the stream. The stream ends when the session does,
and after a minute (the browser reconnects at once, resuming from its last
version), so that no connection holds a restart back for long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from voicebot.console.auth import Viewer
from voicebot.console.context import Console
from voicebot.store import Store

HEARTBEAT_S = 15.0
SESSION_CHECK_S = 10.0
STREAM_LIFETIME_S = 60.0
RETRY_MS = 2000


def parse_version(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


async def version_events(
    store: Store,
    token: str,
    known: int | None,
    poll_interval_s: float = 1.0,
    session_check_s: float = SESSION_CHECK_S,
    lifetime_s: float = STREAM_LIFETIME_S,
) -> AsyncGenerator[str, None]:
    """The stream's lines: ``version`` events, heartbeats, ``logout`` when the session ends."""
    yield f"retry: {RETRY_MS}\n\n"
    started = last_sent = last_check = time.monotonic()
    while True:
        version = await run_in_threadpool(store.version)
        now = time.monotonic()
        if version != known:
            known = version
            last_sent = now
            yield f"id: {version}\nevent: version\ndata: {version}\n\n"
        elif now - last_sent >= HEARTBEAT_S:
            last_sent = now
            yield ": ping\n\n"
        if now - last_check >= session_check_s:
            last_check = now
            if await run_in_threadpool(store.session, token) is None:
                yield "event: logout\ndata: session\n\n"
                return
        if now - started >= lifetime_s:
            return
        await asyncio.sleep(poll_interval_s)


def add_event_routes(router: APIRouter, console: Console) -> None:
    agent = Depends(console.guard.at_least("agent"))

    @router.get("/events")
    def events(request: Request, viewer: Viewer = agent, v: str = "") -> Response:
        known = parse_version(request.headers.get("last-event-id"))
        if known is None:
            known = parse_version(v)
        return StreamingResponse(
            version_events(console.store(), viewer.token, known, console.poll_interval_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
