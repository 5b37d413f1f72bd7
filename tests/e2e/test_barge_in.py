"""Barge-in through the real Asterisk: speech over the greeting stops it, a noise does not.

The times come from Asterisk's own recording of the call: MixMonitor's ``r()`` file
(what the caller sent) and ``t()`` file (what the caller heard, the bot's audio) start
at the same instant, so the caller's onset is measured in the first and the moment the
bot's audio stopped in the second. Between the two lie the caller's RTP, the bot's
voice detection, the ``FLUSH_MEDIA`` command and Asterisk dropping the audio it had
queued: the whole delay a caller lives. The two directions line up to within a frame
or two (20-40 ms: Asterisk keeps them in step as frames come, not by timestamps), which
is well inside the margin. Each test owns caller numbers 06000004xx.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.conftest import espeak_speech
from tests.e2e import sipp
from tests.e2e.conftest import Sandbox, finished, ports
from tests.e2e.test_calls import FRAME_S, active, envelope_db
from tests.serve_process import Bot

RATE_HZ = 8000
"""The caller's sounds are made at the line's rate, so their level is the one sent."""
SOUND_AT_S = 1.8
"""When the caller's sound starts, counted from the answer: the greeting (about 20 s)
is speaking then, and has no pause near it."""
BARGE_IN_LIMIT_S = 0.400
"""From the caller's speech onset to the bot's audio stopping, as the caller hears it."""
ONSET_DB = -40.0
"""A frame of the caller's side this loud is the caller's sound (the line's silence is
digital silence, and must stay 20 dB below this)."""
QUIET_DB = -50.0
"""A frame of the bot's side below this is silence."""
STOPPED_S = 0.300
"""A run of quiet this long in what the caller heard is the bot's audio stopped (the
greeting's own pauses near the caller's sound are shorter)."""
STAYS_QUIET_S = 1.0
"""After a real stop the bot is silent while the caller speaks (the greeting never
pauses this long, so a stop that is only a pause between words is told apart)."""
CALLER_SPEECH = "je voudrais parler de mon passeport s'il vous plaît"
SPEECH_DBFS = -18.0
NOISE_DBFS = -20.0
NOISE_S = 0.080


def frames_of(seconds: float) -> int:
    return round(seconds / FRAME_S)


def scaled(samples: npt.NDArray[np.float64], dbfs: float) -> bytes:
    """``samples`` with their voiced 20 ms frames averaging ``dbfs``, as 16-bit PCM."""
    size = int(RATE_HZ * FRAME_S)
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    power = np.mean(frames**2, axis=1)
    voiced = power > (np.max(np.abs(samples)) * 10 ** (-40 / 20)) ** 2
    gain = 32768.0 * 10 ** (dbfs / 20) / float(np.sqrt(np.mean(power[voiced])))
    return np.asarray(np.clip(samples * gain, -32768, 32767), dtype="<i2").tobytes()


def caller_speech() -> bytes:
    """A French sentence (espeak-ng), starting at its first sample, at ``SPEECH_DBFS``."""
    pcm = espeak_speech(CALLER_SPEECH, "fr", RATE_HZ, pad_s=0.0).pcm
    return scaled(np.frombuffer(pcm, dtype="<i2").astype(np.float64), SPEECH_DBFS)


def noise_burst() -> bytes:
    """A short burst of white noise at ``NOISE_DBFS``: a knock, a rustle, not a voice."""
    samples = np.random.default_rng(7).standard_normal(int(RATE_HZ * NOISE_S))
    return scaled(samples, NOISE_DBFS)


@dataclass
class Recorded:
    """One call over the greeting, as Asterisk recorded both directions."""

    said: npt.NDArray[np.float64]
    """Level of each 20 ms frame the caller sent (``r()``)."""
    heard: npt.NDArray[np.float64]
    """Level of each 20 ms frame the caller heard (``t()``), on the same clock."""

    def onset(self) -> int:
        """The first frame of the caller's sound."""
        loud = np.flatnonzero(self.said > ONSET_DB)
        assert len(loud), (
            f"the caller's sound is not in the recording (max {self.said.max():.0f} dBFS)"
        )
        first = int(loud[0])
        line = self.said[: first - 1]
        assert not len(line) or line.max() < ONSET_DB - 20, (
            f"the line is not silent before the caller's sound ({line.max():.0f} dBFS)"
        )
        return first

    def sound_end(self, onset: int) -> int:
        """The frame after the caller's sound (a short one: looked for within a second)."""
        loud = np.flatnonzero(self.said[onset : onset + frames_of(1.0)] > ONSET_DB)
        return onset + int(loud[-1]) + 1

    def bot_stop(self, since: int) -> int | None:
        """The first frame, from ``since``, of a run of ``STOPPED_S`` of quiet from the bot."""
        quiet = self.heard < QUIET_DB
        length = frames_of(STOPPED_S)
        run = 0
        for index in range(since, len(quiet)):
            run = run + 1 if quiet[index] else 0
            if run >= length:
                return index - length + 1
        return None

    def assert_bot_speaking_before(self, onset: int) -> None:
        onset_s = onset * FRAME_S
        share = active(self.heard, onset_s - 0.5, onset_s)
        assert share > 0.8, (
            f"the greeting was not playing in the 500 ms before the caller's sound "
            f"(voiced {share:.0%}): nothing to interrupt"
        )


def call_over_greeting(
    sandbox: Sandbox, bot: Bot, tmp_path: Path, caller: str, sound: bytes, hang_up_s: float
) -> Recorded:
    """A caller who makes ``sound`` at ``SOUND_AT_S`` into the greeting, then hangs up."""
    voice = sipp.ulaw_voice(hang_up_s + 2, [(SOUND_AT_S, sound)], rate_hz=RATE_HZ)
    call = sipp.call(
        tmp_path / "caller",
        "100",
        voice,
        hang_up_at_ms=int(hang_up_s * 1000),
        local_port=ports(0),
        caller_number=caller,
    )
    finished(call, hang_up_s + 20)
    record = bot.record(caller)
    said, said_rate = sandbox.said(record["call_id"])
    heard, heard_rate = sandbox.heard(record["call_id"])
    said_s, heard_s = len(said) / 2 / said_rate, len(heard) / 2 / heard_rate
    # Both end at the hang-up: the same length means the same start, one clock.
    assert abs(said_s - heard_s) <= FRAME_S, (said_s, heard_s)
    return Recorded(envelope_db(said, said_rate), envelope_db(heard, heard_rate))


def test_speech_over_the_greeting_stops_it_within_400_ms(
    sandbox: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    recorded = call_over_greeting(sandbox, bot, tmp_path, "0600000401", caller_speech(), 7.0)
    onset = recorded.onset()
    recorded.assert_bot_speaking_before(onset)
    stop = recorded.bot_stop(onset)
    onset_s = onset * FRAME_S
    assert stop is not None, f"the greeting never stopped after the caller spoke at {onset_s:.2f} s"
    delay_s = (stop - onset) * FRAME_S
    print(
        f"barge-in: caller's speech at {onset_s:.2f} s, bot's audio stopped at "
        f"{stop * FRAME_S:.2f} s: {delay_s * 1000:.0f} ms"
    )
    assert 0 < delay_s <= BARGE_IN_LIMIT_S, (
        f"the bot's audio stopped {delay_s * 1000:.0f} ms after the caller's speech onset "
        f"(limit {BARGE_IN_LIMIT_S * 1000:.0f} ms)"
    )
    after = recorded.heard[stop : stop + frames_of(STAYS_QUIET_S)]
    assert np.all(after < QUIET_DB), (
        f"the bot's audio came back within {STAYS_QUIET_S:.1f} s of stopping at "
        f"{stop * FRAME_S:.2f} s: a pause of the greeting, not a barge-in"
    )


def test_a_short_noise_over_the_greeting_does_not_stop_it(
    sandbox: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    recorded = call_over_greeting(sandbox, bot, tmp_path, "0600000402", noise_burst(), 5.0)
    onset = recorded.onset()
    recorded.assert_bot_speaking_before(onset)
    end = recorded.sound_end(onset)
    stop = recorded.bot_stop(onset)
    until = end + frames_of(0.5)
    print(
        f"noise from {onset * FRAME_S:.2f} s to {end * FRAME_S:.2f} s; bot's audio "
        + ("never stopped" if stop is None else f"stopped at {stop * FRAME_S:.2f} s")
    )
    assert stop is None or stop > until, (
        f"a {(end - onset) * FRAME_S * 1000:.0f} ms noise at {onset * FRAME_S:.2f} s stopped "
        f"the greeting at {stop * FRAME_S:.2f} s, "
        f"{(stop - onset) * FRAME_S * 1000:.0f} ms after it started"
    )
    assert active(recorded.heard, end * FRAME_S, until * FRAME_S) > 0.8
