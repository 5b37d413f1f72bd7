"""Asterisk chan_websocket (22.6+): media formats, control events and commands.

Media are BINARY messages of raw codec payload; control is TEXT, JSON with
``f(json)``. Commands longer than 128 bytes are silently ignored by Asterisk,
so :func:`command` refuses to build one. A message longer than the limits here
is refused: the server does not even read one past ``MAX_MESSAGE_BYTES``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voicebot.errors import AudioError, UsageError

SUBPROTOCOL = "media"
MAX_COMMAND_BYTES = 128
MAX_TEXT_BYTES = 16 * 1024
MAX_BINARY_BYTES = 64 * 1024
"""Asterisk sends 20 ms frames (640 bytes of slin16); this is two seconds of it."""
MAX_MESSAGE_BYTES = max(MAX_TEXT_BYTES, MAX_BINARY_BYTES)
"""The largest message the server reads at all (uvicorn's ``ws_max_size``)."""


@dataclass(frozen=True)
class MediaFormat:
    name: str
    sample_rate_hz: int
    bytes_per_sample: int

    def frame_size(self, ptime_ms: int = 20) -> int:
        return self.sample_rate_hz * ptime_ms // 1000 * self.bytes_per_sample

    def decode(self, payload: bytes) -> bytes:
        """Codec payload to 16-bit PCM."""
        if self.name == "ulaw":
            return ulaw_decode(payload)
        if self.name == "alaw":
            return alaw_decode(payload)
        return payload[: len(payload) - len(payload) % 2]

    def encode(self, pcm: bytes) -> bytes:
        if self.name == "ulaw":
            return ulaw_encode(pcm)
        if self.name == "alaw":
            return alaw_encode(pcm)
        return pcm


FORMATS = {
    "slin16": MediaFormat("slin16", 16000, 2),
    "slin": MediaFormat("slin", 8000, 2),
    "ulaw": MediaFormat("ulaw", 8000, 1),
    "alaw": MediaFormat("alaw", 8000, 1),
}


def media_format(name: str) -> MediaFormat:
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise AudioError(
            f"format audio « {name} » non pris en charge",
            hint=f"configurez c({known.split(', ')[0]}) dans la chaîne Dial ; formats : {known}",
        ) from None


@dataclass(frozen=True)
class ControlEvent:
    event: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def channel_variables(self) -> dict[str, str]:
        variables = self.data.get("channel_variables") or {}
        return {str(k): str(v) for k, v in variables.items()} if isinstance(variables, dict) else {}


def parse_control(text: str) -> ControlEvent:
    """One TEXT message from Asterisk; a clear error when it is not a JSON event."""
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise UsageError(f"message de contrôle trop long ({len(text.encode())} octets)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"message de contrôle illisible (JSON invalide : {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise UsageError("message de contrôle sans champ « event »")
    return ControlEvent(data["event"], data)


def command(name: str, **fields: str) -> str:
    """A command for Asterisk, as compact JSON that fits its 128-byte limit."""
    text = json.dumps({"command": name, **fields}, separators=(",", ":"), ensure_ascii=True)
    if len(text.encode()) > MAX_COMMAND_BYTES:
        raise UsageError(f"commande {name} trop longue pour Asterisk ({len(text)} > 128 octets)")
    return text
