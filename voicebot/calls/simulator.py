"""A simulated Asterisk chan_websocket leg, for tests and the `voicebot bench` commands.

It speaks the real protocol over a real WebSocket: HTTP Basic credentials,
subprotocol ``media``, ``MEDIA_START``, caller audio as paced 20 ms binary
frames (silence between utterances, as an RTP stream sends), ``DTMF_END``,
and hang-up by closing. Toward the caller it behaves as Asterisk does: audio
from the bot is queued and played out at real-time pace, ``MARK_MEDIA``
answers ``MEDIA_MARK_PROCESSED`` when playout reaches it, ``FLUSH_MEDIA``
drops what is queued. What the caller heard is kept, with timestamps.

The line can be impaired (:class:`LineConditions`): background noise (white,
pink, or a babble of voices) at a given level, and an echo of what the leg
played toward the caller, delayed and attenuated, as a phone's acoustic or a
hybrid's electrical echo comes back. What the leg sends every 20 ms is the
caller's speech plus the noise plus the echo, clipped to 16 bits and encoded
with the call's format: in G.711 the echo has gone through the codec twice, as
on a real line. The caller's speech alone is the ground truth: when it was
voiced (``caller_voiced``) and when each utterance began (``speech_onsets``).
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import functools
import json
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from voicebot.audio.resample import resample
from voicebot.telephony.chan_websocket import SUBPROTOCOL, media_format

FRAME_S = 0.02
VOICED_RMS = 300.0
FULL_SCALE = 32768.0
NOISE_KINDS = ("white", "pink", "babble")
MAX_ECHO_DELAY_MS = 1000
NOISE_LOOP_S = 30
"""Pink noise and babble are made once and looped: long enough not to be heard repeating."""

BABBLE_VOICES = (
    # (espeak-ng voice, words per minute, pitch 0-99, text): different speakers, speeds
    # and pitches talking at once, as in a busy hall or a café behind the caller.
    ("fr+m3", 150, 35, "alors je lui ai dit que le marché du samedi avait changé de place "
     "et qu'il fallait passer par la rue des écoles pour trouver le boulanger"),
    ("fr+f2", 172, 62, "tu sais la réunion de mardi elle est repoussée à la semaine prochaine "
     "parce que la moitié de l'équipe est en congé jusqu'au quinze"),
    ("fr+m7", 138, 28, "le train de huit heures était encore en retard ce matin et personne "
     "ne savait sur quel quai il allait arriver"),
    ("fr+f4", 160, 74, "on pourrait aller au cinéma ce soir sauf si tu préfères rester "
     "à la maison avec les enfants et faire une soupe"),
    ("fr+m1", 182, 48, "il paraît que le nouveau parking ouvrira au printemps mais je n'y crois "
     "pas trop vu l'état du chantier en ce moment"),
)  # fmt: skip


@dataclass(frozen=True)
class LineConditions:
    """What the line adds to the caller's speech on its way to the bot."""

    echo_db: float | None = None
    """Gain of the echo of what the leg played toward the caller (-12.0: 12 dB below);
    ``None``: no echo."""
    echo_delay_ms: int = 0
    """Delay of that echo after the audio was played."""
    noise: str | None = None
    """``white``, ``pink`` or ``babble``; ``None``: a silent line."""
    noise_dbfs: float = -100.0
    """RMS level of the noise, in dB relative to full scale (32768)."""
    seed: int = 0
    """Which noise: the same seed gives the same samples."""

    def __post_init__(self) -> None:
        if self.noise is not None and self.noise not in NOISE_KINDS:
            raise ValueError(f"unknown noise {self.noise!r}: one of {', '.join(NOISE_KINDS)}")
        if not 0 <= self.echo_delay_ms <= MAX_ECHO_DELAY_MS:
            raise ValueError(f"echo delay {self.echo_delay_ms} ms: 0 to {MAX_ECHO_DELAY_MS}")
        if self.echo_db is not None and self.echo_db > 0:
            raise ValueError(f"echo gain {self.echo_db} dB: an echo is not louder than its source")


class LineMixer:
    """The line of one call: the audio played toward the caller kept in a ring buffer, and
    each frame the caller sends mixed with noise and with that audio's delayed echo.

    Both streams share one sample clock: the played stream gets one frame for every
    frame mixed (silence when nothing plays), :meth:`played` before :meth:`mix` in each
    20 ms tick. Sample ``i`` of what is mixed then carries the echo of played sample
    ``i - delay``: the delay is exact to the sample, whatever the scheduling jitter.
    """

    def __init__(self, conditions: LineConditions, sample_rate_hz: int) -> None:
        self.conditions = conditions
        self.sample_rate_hz = sample_rate_hz
        self.delay_samples = round(conditions.echo_delay_ms * sample_rate_hz / 1000)
        self._gain = None if conditions.echo_db is None else 10.0 ** (conditions.echo_db / 20.0)
        self._ring: npt.NDArray[np.float64] = np.zeros(self.delay_samples + sample_rate_hz)
        self._written = 0
        self._mixed = 0
        self._noise = (
            NoiseSource(conditions.noise, conditions.noise_dbfs, sample_rate_hz, conditions.seed)
            if conditions.noise is not None
            else None
        )

    @property
    def impaired(self) -> bool:
        return self._gain is not None or self._noise is not None

    def played(self, pcm: bytes) -> None:
        """What the leg played toward the caller during one tick (16-bit PCM)."""
        samples = np.frombuffer(pcm, dtype="<i2")
        if self._gain is not None:
            positions = (self._written + np.arange(len(samples))) % len(self._ring)
            self._ring[positions] = samples
        self._written += len(samples)

    def mix(self, caller_pcm: bytes) -> bytes:
        """What the line carries to the bot for one tick of the caller's speech."""
        caller = np.frombuffer(caller_pcm, dtype="<i2")
        start = self._mixed - self.delay_samples
        self._mixed += len(caller)
        if not self.impaired:
            return caller_pcm
        line = caller.astype(np.float64)
        if self._gain is not None:
            line += self._gain * self._echo(start, len(caller))
        if self._noise is not None:
            line += self._noise.take(len(caller))
        return np.clip(np.round(line), -32768, 32767).astype("<i2").tobytes()

    def _echo(self, start: int, count: int) -> npt.NDArray[np.float64]:
        positions = start + np.arange(count)
        oldest = self._written - len(self._ring)
        kept = (positions >= max(0, oldest)) & (positions < self._written)
        echo = np.zeros(count)
        echo[kept] = self._ring[positions[kept] % len(self._ring)]
        return echo


class NoiseSource:
    """A continuous noise at an RMS level: white drawn as it goes, pink and babble looped."""

    def __init__(self, kind: str, dbfs: float, sample_rate_hz: int, seed: int = 0) -> None:
        self.kind = kind
        self.rms = FULL_SCALE * 10.0 ** (dbfs / 20.0)
        self._rng = np.random.default_rng(seed)
        self._loop: npt.NDArray[np.float64] | None = None
        self._position = 0
        if kind == "pink":
            self._loop = pink_loop(sample_rate_hz, seed)
        elif kind == "babble":
            self._loop = babble_loop(sample_rate_hz)
            # Another seed, another moment of the same conversation.
            self._position = (seed * 7919 * sample_rate_hz // 1000) % len(self._loop)
        elif kind != "white":
            raise ValueError(f"unknown noise {kind!r}: one of {', '.join(NOISE_KINDS)}")

    def take(self, count: int) -> npt.NDArray[np.float64]:
        if self._loop is None:
            noise: npt.NDArray[np.float64] = self._rng.standard_normal(count) * self.rms
            return noise
        positions = (self._position + np.arange(count)) % len(self._loop)
        self._position = (self._position + count) % len(self._loop)
        looped: npt.NDArray[np.float64] = self._loop[positions] * self.rms
        return looped


def _unit_rms(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return samples / float(np.sqrt(np.mean(samples * samples)))


@functools.lru_cache(maxsize=8)
def pink_loop(sample_rate_hz: int, seed: int = 0) -> npt.NDArray[np.float64]:
    """Pink (1/f) noise of unit RMS: white noise shaped in the frequency domain, so the
    loop joins without a seam. Below 20 Hz the spectrum stays flat (no drifting offset)."""
    count = NOISE_LOOP_S * sample_rate_hz
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(count))
    frequencies = np.fft.rfftfreq(count, 1.0 / sample_rate_hz)
    spectrum /= np.sqrt(np.maximum(frequencies, 20.0))
    spectrum[0] = 0.0
    loop = _unit_rms(np.fft.irfft(spectrum, count))
    loop.flags.writeable = False  # shared by every call of the process
    return loop


@functools.lru_cache(maxsize=4)
def babble_loop(sample_rate_hz: int) -> npt.NDArray[np.float64]:
    """Several French voices talking at once (espeak-ng), of unit RMS; made once per
    process. Each voice says its text over and over, from its own starting point."""
    count = NOISE_LOOP_S * sample_rate_hz
    rng = np.random.default_rng(1)
    mixed = np.zeros(count)
    for voice, words_per_minute, pitch, text in BABBLE_VOICES:
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-p", str(pitch),
             "--stdout", text],
            capture_output=True, check=True, timeout=60,
        ).stdout[44:]  # fmt: skip
        pcm = resample(wav[: len(wav) - len(wav) % 2], 22050, sample_rate_hz)
        speech = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        gap = np.zeros(int(rng.uniform(0.2, 0.6) * sample_rate_hz))
        said = np.concatenate([speech, gap])
        track = np.tile(said, count // len(said) + 1)[:count]
        mixed += np.roll(_unit_rms(track), int(rng.integers(count)))
    loop = _unit_rms(mixed)
    loop.flags.writeable = False  # shared by every call of the process
    return loop


@dataclass
class Heard:
    at: float
    pcm: bytes
    tick: int = 0
    """The 20 ms tick of the leg's clock at which it was played (the first tick is 0)."""


@dataclass
class _Outgoing:
    pcm: bytes
    utterance: int


@dataclass
class SimulatedCall:
    url: str
    username: str
    password: str
    line: str = "mairie"
    call_id: str = "sim-1"
    fmt: str = "slin16"
    caller: str | None = None
    extra_params: dict[str, str] = field(default_factory=dict)
    conditions: LineConditions | None = None
    """Noise and echo on the line (``line`` is the service line the call is for)."""

    def __post_init__(self) -> None:
        self.format = media_format(self.fmt)
        self.frame_size = self.format.frame_size()
        self.commands: list[dict[str, Any]] = []
        self.heard: list[Heard] = []
        self.flushes: list[float] = []
        self._voiced_at: list[float] = []
        self.caller_voiced: list[float] = []
        """When each frame whose caller speech (before noise and echo) is voiced was sent."""
        self.speech_onsets: list[float] = []
        """When the first voiced frame of each :meth:`say` was sent."""
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._ws: ClientConnection | None = None
        self._playout: deque[bytes | str] = deque()
        self._outgoing: deque[_Outgoing] = deque()
        self._speech_done: asyncio.Event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pcm_frame = self.format.sample_rate_hz // 50 * 2
        self.mixer = LineMixer(self.conditions or LineConditions(), self.format.sample_rate_hz)
        self.ticks = 0
        """Ticks of the leg's 20 ms clock so far: one frame sent and one played each."""
        self._sending = True
        self._utterances = 0
        self._onset_of = 0
        self._last_played_at = time.monotonic()
        self.last_speech_end: float | None = None
        """When the last frame of the last utterance was sent."""
        self.last_voiced_sent: float | None = None
        """When the last frame with speech in it was sent: the end of the caller's speech."""

    # -------------------------------------------------------------- connection
    async def __aenter__(self) -> SimulatedCall:
        params = {"line": self.line, "call": self.call_id, **self.extra_params}
        if self.caller:
            params["caller"] = self.caller
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        self._ws = await connect(
            f"{self.url}?{urlencode(params)}",
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {token}"},
            compression=None,
            open_timeout=10,
        )
        self._last_played_at = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._reader()),
            asyncio.create_task(self._clock()),
        ]
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.hang_up()

    @property
    def ws(self) -> ClientConnection:
        if self._ws is None:
            raise RuntimeError("not connected")
        return self._ws

    async def send_text(self, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(text)

    async def start_media(self, channel_variables: dict[str, str] | None = None) -> None:
        await self.send_text(json.dumps({
            "event": "MEDIA_START", "connection_id": self.call_id, "channel": "PJSIP/sim",
            "channel_id": self.call_id, "format": self.fmt,
            "optimal_frame_size": self.frame_size, "ptime": 20,
            "channel_variables": channel_variables or {},
        }))  # fmt: skip

    async def dtmf(self, digit: str) -> None:
        await self.send_text(json.dumps({"event": "DTMF_END", "digit": digit}))

    async def hang_up(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await task
        self._tasks = []
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.close()

    # -------------------------------------------------------------- the leg's clock
    async def _clock(self) -> None:
        """Every 20 ms, as Asterisk does: play one frame toward the caller, then send one
        frame of the line (the caller's speech or silence, with the line's noise and echo)."""
        next_at = time.monotonic()
        while True:
            await self._play_tick()
            if self._sending:
                await self._send_tick()
            self.ticks += 1
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    # -------------------------------------------------------------- caller side
    async def say(self, pcm16: bytes) -> None:
        """Queue speech (16-bit PCM at the call's rate); returns when it has all been sent."""
        self._speech_done.clear()
        self._utterances += 1
        size = self._pcm_frame
        for start in range(0, len(pcm16), size):
            chunk = pcm16[start : start + size]
            self._outgoing.append(
                _Outgoing(chunk + b"\x00" * (size - len(chunk)), self._utterances)
            )
        if not self._sending:
            self._speech_done.set()
        await self._speech_done.wait()

    async def _send_tick(self) -> None:
        """One frame, like RTP: speech when there is some, else silence."""
        if self._outgoing:
            item = self._outgoing.popleft()
            pcm = item.pcm
            now = time.monotonic()
            if _rms(pcm) > VOICED_RMS:
                self.last_voiced_sent = now
                self.caller_voiced.append(now)
                if item.utterance != self._onset_of:
                    self._onset_of = item.utterance
                    self.speech_onsets.append(now)
            if not self._outgoing:
                self.last_speech_end = now
                self._speech_done.set()
        else:
            pcm = b"\x00" * self._pcm_frame
        try:
            await self.ws.send(self.format.encode(self.mixer.mix(pcm)))
        except ConnectionClosed:
            self._sending = False
            self._outgoing.clear()
            self._speech_done.set()

    # -------------------------------------------------------------- bot side
    async def _reader(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    # Played out in 20 ms frames, whatever the size of the message.
                    pcm = self.format.decode(message)
                    size = self._pcm_frame
                    for start in range(0, len(pcm), size):
                        chunk = pcm[start : start + size]
                        self._playout.append(chunk + b"\x00" * (size - len(chunk)))
                    continue
                data = json.loads(message)
                self.commands.append(data)
                name = data.get("command")
                if name == "MARK_MEDIA":
                    self._playout.append(str(data.get("correlation_id", "")))
                elif name == "FLUSH_MEDIA":
                    self.flushes.append(time.monotonic())
                    kept = [m for m in self._playout if isinstance(m, str)]
                    self._playout.clear()
                    self._playout.extend(kept)
        except ConnectionClosed:
            pass
        finally:
            self.closed_at = time.monotonic()
            if self._ws is not None and self._ws.close_code is not None:
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason or ""

    async def _play_tick(self) -> None:
        """Play out at real-time pace; answer marks when playout reaches them."""
        while self._playout and isinstance(self._playout[0], str):
            mark = self._playout.popleft()
            await self.send_text(
                json.dumps({"event": "MEDIA_MARK_PROCESSED", "correlation_id": mark})
            )
        played = b"\x00" * self._pcm_frame
        if self._playout:
            item = self._playout.popleft()
            if isinstance(item, bytes):
                at = time.monotonic()
                self.heard.append(Heard(at, item, self.ticks))
                self._last_played_at = at
                if _rms(item) > VOICED_RMS:
                    self._voiced_at.append(at)
                played = item
        self.mixer.played(played)

    # -------------------------------------------------------------- observations
    def voiced_since(self, since: float) -> float | None:
        """When the caller first heard bot speech (not silence) after ``since``."""
        index = bisect.bisect_left(self._voiced_at, since)
        return self._voiced_at[index] if index < len(self._voiced_at) else None

    def voiced_between(self, start: float, end: float) -> bool:
        """Whether the caller heard bot speech between ``start`` and ``end``."""
        heard = self.voiced_since(start)
        return heard is not None and heard <= end

    def caller_voiced_between(self, start: float, end: float) -> bool:
        """Whether the caller's own speech was voiced between ``start`` and ``end``."""
        index = bisect.bisect_left(self.caller_voiced, start)
        return index < len(self.caller_voiced) and self.caller_voiced[index] <= end

    def heard_ms(self) -> int:
        """Milliseconds of bot speech (not silence) the caller has heard."""
        return 20 * len(self._voiced_at)

    def received_ms(self) -> int:
        return 20 * len(self.heard)

    @property
    def bot_playing(self) -> bool:
        """Whether audio from the bot is queued toward the caller."""
        return any(isinstance(item, bytes) for item in self._playout)

    async def wait_heard(self, ms: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.heard_ms() < ms:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.heard_ms()} ms of bot speech heard")
            await asyncio.sleep(0.05)

    async def wait_closed(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.closed_at is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not close the call")
            await asyncio.sleep(0.05)

    async def wait_quiet(self, timeout: float = 30.0) -> None:
        """Until everything the bot queued has been played."""
        deadline = time.monotonic() + timeout
        await asyncio.sleep(0.3)
        while self._playout and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def wait_bot_done(self, quiet_s: float = 1.0, timeout: float = 30.0) -> bool:
        """Until the bot has finished speaking: nothing queued toward the caller and
        nothing played for ``quiet_s`` (a prompt's sentences come one after the other,
        with short gaps between them). False if it still spoke after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.monotonic()
            if not self.bot_playing and now - self._last_played_at >= quiet_s:
                return True
            if self.closed_at is not None and not self.bot_playing:
                return True
            await asyncio.sleep(0.02)
        return False


def _rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples))) if len(samples) else 0.0
