"""The simulated line: echo at the requested delay and level, noise at the requested level,
and the caller's speech kept apart as ground truth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import numpy.typing as npt
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from voicebot.audio.g711 import ulaw_decode, ulaw_encode
from voicebot.calls.simulator import LineConditions, LineMixer, SimulatedCall

RATE = 8000
FRAME = RATE // 50
Samples = npt.NDArray[np.float64]


def dbfs(samples: Samples) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples * samples)) / 32768))


def signal(seconds: float, level_dbfs: float = -14.0, seed: int = 7) -> npt.NDArray[np.int16]:
    """Broadband audio standing in for the bot's speech (a sharp correlation peak)."""
    rng = np.random.default_rng(seed)
    samples = rng.standard_normal(int(seconds * RATE)) * 32768 * 10 ** (level_dbfs / 20)
    return np.clip(samples, -32768, 32767).astype("<i2")


def g711(pcm: bytes) -> bytes:
    return ulaw_decode(ulaw_encode(pcm))


def run_line(mixer: LineMixer, played: npt.NDArray[np.int16], ticks: int) -> Samples:
    """One tick after the other, as the leg's clock does: play a frame, then send one.
    What is played and what is sent go through G.711, as on a ulaw call."""
    sent = []
    for tick in range(ticks):
        frame = played[tick * FRAME : (tick + 1) * FRAME]
        frame = np.pad(frame, (0, FRAME - len(frame)))
        mixer.played(g711(frame.tobytes()))
        sent.append(np.frombuffer(g711(mixer.mix(b"\x00\x00" * FRAME)), dtype="<i2"))
    return np.concatenate(sent).astype(np.float64)


def echo_lag(sent: Samples, played: Samples, max_lag: int) -> int:
    """The lag (in samples) at which what was sent best matches what was played."""
    scores = [float(np.dot(sent[lag : lag + len(played)], played)) for lag in range(max_lag)]
    return int(np.argmax(scores))


@pytest.mark.parametrize(
    ("echo_db", "delay_ms"), [(-6.0, 20), (-20.0, 120), (-12.0, 60), (-12.0, 7), (-6.0, 0)]
)
def test_echo_comes_back_at_the_delay_and_level_asked(echo_db: float, delay_ms: int) -> None:
    played = signal(2.0)
    mixer = LineMixer(LineConditions(echo_db=echo_db, echo_delay_ms=delay_ms), RATE)
    sent = run_line(mixer, played, ticks=150)  # 2 s of audio, then 1 s of silence
    reference = np.frombuffer(g711(played.tobytes()), dtype="<i2").astype(np.float64)
    lag = echo_lag(sent, reference, max_lag=RATE // 4)
    assert abs(lag - delay_ms * RATE // 1000) <= 1
    echo = sent[lag : lag + len(reference)]
    assert abs(dbfs(echo) - dbfs(reference) - echo_db) < 1.0
    assert not sent[lag + len(reference) :].any(), "echo after the played audio ended"
    if lag:
        assert not sent[:lag].any(), "echo before the audio was played"


def test_no_echo_without_an_echo_gain() -> None:
    mixer = LineMixer(LineConditions(echo_db=None, echo_delay_ms=60), RATE)
    assert not run_line(mixer, signal(1.0), ticks=60).any()


def test_a_clean_line_passes_the_caller_unchanged() -> None:
    mixer = LineMixer(LineConditions(), RATE)
    speech = signal(0.02, level_dbfs=-3.0).tobytes()
    mixer.played(signal(0.02, seed=3).tobytes())
    assert mixer.mix(speech) == speech


def test_echo_and_speech_add_and_clip() -> None:
    mixer = LineMixer(LineConditions(echo_db=0.0, echo_delay_ms=0), RATE)
    mixer.played((np.full(FRAME, 30000, dtype="<i2")).tobytes())
    out = np.frombuffer(mixer.mix(np.full(FRAME, 10000, dtype="<i2").tobytes()), dtype="<i2")
    assert (out == 32767).all()


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
@pytest.mark.parametrize("level", [-45.0, -35.0])
def test_noise_has_the_level_asked(kind: str, level: float) -> None:
    mixer = LineMixer(LineConditions(noise=kind, noise_dbfs=level, seed=2), RATE)
    sent = run_line(mixer, np.zeros(0, dtype="<i2"), ticks=250)  # 5 s, through G.711
    assert abs(dbfs(sent) - level) < 1.0


def band_energy(samples: Samples, low_hz: float, high_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    frequencies = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float(spectrum[(frequencies >= low_hz) & (frequencies < high_hz)].sum())


@pytest.mark.parametrize(("kind", "pink"), [("pink", True), ("white", False)])
def test_pink_noise_has_more_energy_low_than_high(kind: str, pink: bool) -> None:
    mixer = LineMixer(LineConditions(noise=kind, noise_dbfs=-35.0), RATE)
    sent = run_line(mixer, np.zeros(0, dtype="<i2"), ticks=150)
    low, high = band_energy(sent, 20, 500), band_energy(sent, 2000, 4000)
    assert (low > 2 * high) is pink


def test_noise_depends_on_the_seed_only() -> None:
    def noise(seed: int) -> bytes:
        mixer = LineMixer(LineConditions(noise="white", noise_dbfs=-40.0, seed=seed), RATE)
        return b"".join(mixer.mix(b"\x00\x00" * FRAME) for _ in range(5))

    assert noise(1) == noise(1) != noise(2)


@pytest.mark.parametrize(
    "conditions",
    [
        {"noise": "brown"},
        {"echo_delay_ms": -5},
        {"echo_delay_ms": 5000},
        {"echo_db": 3.0},
    ],
)
def test_impossible_conditions_are_refused(conditions: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LineConditions(**conditions)  # type: ignore[arg-type]


# ---------------------------------------------------------------- through a real socket
@asynccontextmanager
async def fake_bot(prompt: bytes) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A media endpoint that sends ``prompt`` (ulaw) at once after MEDIA_START, as the bot
    sends a prompt faster than it plays, and keeps every frame the leg sends, in order."""
    received: list[bytes] = []

    async def handler(connection: ServerConnection) -> None:
        try:
            async for message in connection:
                if isinstance(message, bytes):
                    received.append(message)
                elif json.loads(message).get("event") == "MEDIA_START":
                    for start in range(0, len(prompt), FRAME):
                        await connection.send(prompt[start : start + FRAME])
        except ConnectionClosed:
            pass

    async with serve(handler, "127.0.0.1", 0, subprotocols=["media"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/media", received


@pytest.mark.parametrize(("echo_db", "delay_ms"), [(-6.0, 20), (-20.0, 120), (-12.0, 7)])
async def test_the_leg_sends_the_echo_of_what_it_played(echo_db: float, delay_ms: int) -> None:
    played = signal(1.2)
    conditions = LineConditions(echo_db=echo_db, echo_delay_ms=delay_ms)
    async with fake_bot(ulaw_encode(played.tobytes())) as (url, received):
        async with SimulatedCall(url, "u", "p", fmt="ulaw", conditions=conditions) as call:
            await call.start_media()
            await call.wait_heard(1000, timeout=10)
            assert await call.wait_bot_done(quiet_s=0.3, timeout=10)
            await asyncio.sleep(delay_ms / 1000 + 0.1)
        heard = call.heard
    # Tick ``i`` sent the ``i``-th frame: the streams line up sample for sample.
    sent = np.frombuffer(ulaw_decode(b"".join(received)), dtype="<i2").astype(np.float64)
    first = heard[0].tick * FRAME
    reference = np.frombuffer(b"".join(h.pcm for h in heard), dtype="<i2").astype(np.float64)
    assert [h.tick for h in heard] == list(range(heard[0].tick, heard[0].tick + len(heard)))
    lag = echo_lag(sent[first:], reference, max_lag=RATE // 4)
    assert abs(lag - delay_ms * RATE // 1000) <= 1
    echo = sent[first + lag : first + lag + len(reference)]
    assert abs(dbfs(echo) - dbfs(reference) - echo_db) < 1.0


async def test_caller_speech_is_the_ground_truth_not_the_line() -> None:
    """A loud echo and noise on the line: only the caller's own speech is counted voiced."""
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(RATE // 2) / RATE)).astype("<i2")
    speech = np.concatenate([np.zeros(RATE * 3 // 10, dtype="<i2"), tone]).tobytes()
    conditions = LineConditions(echo_db=-6.0, echo_delay_ms=40, noise="white", noise_dbfs=-30)
    async with (
        fake_bot(ulaw_encode(signal(1.0).tobytes())) as (url, _received),
        SimulatedCall(url, "u", "p", fmt="ulaw", conditions=conditions) as call,
    ):
        await call.start_media()
        await call.wait_heard(500, timeout=10)
        await call.say(speech)
        await call.say(speech)
    assert len(call.speech_onsets) == 2
    assert len(call.caller_voiced) == 2 * 25  # 0.5 s of tone each time
    first_of_each = [t for t in call.caller_voiced if t in call.speech_onsets]
    assert first_of_each == call.speech_onsets
    assert call.speech_onsets[1] - call.speech_onsets[0] == pytest.approx(0.8, abs=0.1)
    assert call.last_voiced_sent == call.caller_voiced[-1]
