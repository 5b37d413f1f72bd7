"""`voicebot serve`: settings checked first, then uvicorn."""

from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from voicebot.config import Settings, load_settings
from voicebot.server.app import create_app, end_calls
from voicebot.server.engines import read_warmup_audio
from voicebot.telephony.chan_websocket import MAX_MESSAGE_BYTES


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the app: for `voicebot serve` and the tests that check it."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "ws_per_message_deflate": False,
        # A longer message is refused from its frame header (close 1009), never buffered
        # whole: at uvicorn's default (16 MB) each socket could hold megabytes first.
        "ws_max_size": MAX_MESSAGE_BYTES,
        "timeout_graceful_shutdown": 5,  # open console event streams do not hold a stop back
    }


def serve(host: str | None = None, port: int | None = None) -> int:
    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = load_settings(**overrides)
    # VOICEBOT_LOG_LEVEL is the service's level, not only the web server's.
    logging.getLogger("voicebot").setLevel(settings.log_level.upper())
    if settings.asr_warmup_audio is not None:
        read_warmup_audio(settings.asr_warmup_audio)  # a bad file stops here, said plainly
    app = create_app(settings)
    DrainingServer(app, uvicorn.Config(app, **server_options(settings))).run()
    return 0


class DrainingServer(uvicorn.Server):
    """uvicorn, but a stop first hands every call in progress to the agents, while the
    sockets Asterisk and ARI use for those calls are still open (uvicorn closes them
    all at once, before the app's own shutdown)."""

    def __init__(self, app: FastAPI, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(self.app.state, "voicebot", None)
        if state is not None:
            await end_calls(state)
        await super().shutdown(sockets)
