"""Personal data kept out of what is stored: redaction of transcripts."""

from voicebot.privacy.redact import redact

__all__ = ["redact"]
