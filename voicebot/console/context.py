"""What every console route reaches: the store, the content, the guard and the pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicebot.console.auth import Guard
from voicebot.console.templating import Pages
from voicebot.content.model import Content
from voicebot.store import Store


@dataclass(frozen=True, slots=True)
class Console:
    get_store: Callable[[], Store]
    get_content: Callable[[], Content]
    guard: Guard
    pages: Pages
    prompts_dir: Path | None
    """Where learned examples are written (``<prompts_dir>/<line>/learned.yaml``)."""
    poll_interval_s: float = 1.0
    """How often the live-update stream reads the store's version."""

    def store(self) -> Store:
        return self.get_store()

    def content(self) -> Content:
        return self.get_content()
