"""The one error hierarchy of the project.

Every error a user can cause carries a message in French that says what is
wrong and what to do about it. The CLI prints that message on one line and
exits with the error's ``exit_code``; no traceback is shown for these.
"""

from __future__ import annotations


class VoicebotError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message


class UsageError(VoicebotError):
    """A command was given arguments it cannot use."""

    exit_code = 2


class ConfigError(VoicebotError):
    """A setting is invalid or missing."""

    exit_code = 3


class AudioError(VoicebotError):
    """Audio that cannot be read or is in a format we do not handle."""

    exit_code = 4


class ModelError(VoicebotError):
    """A model is unknown, missing, incomplete or corrupted."""

    exit_code = 5


class DownloadError(ModelError):
    """A model could not be downloaded or failed verification."""

    exit_code = 6


class EngineError(VoicebotError):
    """A speech engine (recogniser or synthesizer) failed at run time."""

    exit_code = 7


class ContentError(VoicebotError):
    """The content under prompts/ is invalid (unknown intent, missing answer...)."""

    exit_code = 8


class TelephonyError(VoicebotError):
    """Asterisk refused a request or cannot be reached (ARI)."""

    exit_code = 9

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        """The HTTP status Asterisk answered, or ``None`` when it could not be reached."""


class StoreError(VoicebotError):
    """The database refused an operation, cannot be reached, or the request breaks a rule."""

    exit_code = 10
