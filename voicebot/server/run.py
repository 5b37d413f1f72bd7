"""`voicebot serve`: settings checked first, then uvicorn."""

from __future__ import annotations

from typing import Any

import uvicorn

from voicebot.config import Settings, load_settings
from voicebot.server.app import create_app
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
    uvicorn.run(create_app(settings), **server_options(settings))
    return 0
