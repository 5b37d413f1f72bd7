"""The supervisor and agent web console (French, server-rendered, live by Server-Sent Events)."""

from voicebot.console.router import create_console_router

__all__ = ["create_console_router"]
