"""`voicebot serve`: settings checked first, then uvicorn."""

from __future__ import annotations

import uvicorn

from voicebot.config import load_settings
from voicebot.server.app import create_app


def serve(host: str | None = None, port: int | None = None) -> int:
    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = load_settings(**overrides)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,  # open console event streams do not hold a stop back
    )
    return 0
