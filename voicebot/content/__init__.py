"""The service's content, read from `prompts/` and validated."""

from voicebot.content.loader import load_content
from voicebot.content.model import (
    Answer,
    Content,
    Intent,
    Line,
    Service,
    Slot,
    SlotValue,
)

__all__ = ["Answer", "Content", "Intent", "Line", "Service", "Slot", "SlotValue", "load_content"]
