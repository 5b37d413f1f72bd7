"""The cost model, measured once the engines are warm, before the first calls' load.

Each figure is processor time on this machine: warm recognisers decoding the
warm-up speech in turns on every engine thread at once, as calls do (each
thread's own CPU time, so another thread's work does not count), one call's
listening stage over the same audio while its echo guard has
a prompt to compare with, one reply synthesised, and one turn understood (requests
the content gives as examples). The service's admission
limit follows from them (:mod:`voicebot.calls.admission`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TypeVar

import numpy as np

from voicebot.asr.vosk import RecognizerPool, VoskRecognizer
from voicebot.audio.echo import EchoGuard
from voicebot.audio.resample import resample
from voicebot.audio.vad import SileroModel, new_gate
from voicebot.calls.admission import ASSUMED, JUDGED_PER_TURN, Costs
from voicebot.calls.recognition import BATCH_FRAMES
from voicebot.errors import VoicebotError
from voicebot.nlu.understand import Understander
from voicebot.tts.base import Synthesizer, render

log = logging.getLogger(__name__)

REPLY_TEXT = "La mairie est ouverte du lundi au vendredi, de huit heures trente à dix-sept heures."
STREAMS = 8
"""Recognisers decoding side by side for the measure: calls' decoders taking turns on
the cores evict each other's state from the caches, which one stream alone does not
show (16 calls in steps of 160 ms: 0.13 core-s per second of audio, one stream 0.06)."""


def _decode_cpu(recognizers: list[VoskRecognizer], pcm: bytes, rate_hz: int) -> float:
    """Thread CPU time per second of audio, the recognisers decoding ``pcm`` in turns, a
    step (:data:`BATCH_FRAMES` frames) each, as calls do (runs in the engine pool)."""
    step = rate_hz * 20 // 1000 * BATCH_FRAMES * 2
    started = time.thread_time()
    for start in range(0, len(pcm), step):
        for recognizer in recognizers:
            recognizer._accept_blocking(pcm[start : start + step])
    for recognizer in recognizers:
        recognizer._call("FinalResult")
    spent = time.thread_time() - started
    for recognizer in recognizers:
        recognizer._call("Reset")
    return spent / (len(recognizers) * len(pcm) / 2 / rate_hz)


def _listen_cpu(pcm: bytes, rate_hz: int, vad: SileroModel | None) -> float:
    """Thread CPU time of one call's listening stage over ``pcm`` (echo guard with the
    same audio as its prompt, voice gate)."""
    echo = EchoGuard(rate_hz)
    gate = new_gate(rate_hz, vad)
    echo.sent(pcm)
    samples = np.frombuffer(pcm, dtype="<i2")
    frame = rate_hz // 50
    started = time.thread_time()
    for start in range(0, len(samples) - frame + 1, frame):
        check = echo.process(samples[start : start + frame])
        gate.push(check.residual, check.echo_floor_dbfs)
    return time.thread_time() - started


def _understand_cpu(understander: Understander, requests: list[tuple[str, str]]) -> float:
    """Thread CPU time of understanding one turn (:data:`JUDGED_PER_TURN` utterances), on
    average over ``requests`` (line, words)."""
    started = time.thread_time()
    for line, text in requests:
        understander.understand(text, line)
    return (time.thread_time() - started) / len(requests) * JUDGED_PER_TURN


def _sample_requests(understander: Understander, count: int = 20) -> list[tuple[str, str]]:
    """Examples from the content, each line in turn and each of its intents in turn: what
    callers ask."""
    lines = [
        [(line.id, text) for text in _in_turn([list(i.examples) for i in line.intents.values()])]
        for line in understander.content.lines.values()
    ]
    return _in_turn(lines)[:count]


T = TypeVar("T")


def _in_turn(buckets: list[list[T]]) -> list[T]:
    """The first of each bucket, then the second of each, and so on."""
    longest = max((len(bucket) for bucket in buckets), default=0)
    return [bucket[i] for i in range(longest) for bucket in buckets if i < len(bucket)]


async def measure_costs(
    pool: RecognizerPool,
    synthesizer: Synthesizer,
    vad: SileroModel | None,
    understander: Understander | None = None,
) -> Costs:
    """The costs on this machine, from the pool's warm-up speech; the assumed ones when
    there is no speech to measure with or a measure fails (said in the log)."""
    sample = pool.warmup
    if sample is None:
        return ASSUMED
    rate = pool.sample_rate_hz
    pcm = (
        sample.pcm
        if sample.sample_rate_hz == rate
        else resample(sample.pcm, sample.sample_rate_hz, rate)
    )
    seconds = len(pcm) / 2 / rate
    recognizers: list[VoskRecognizer] = []
    try:
        # Every engine thread decodes at once, each its share of the streams.
        threads = pool.pool.max_workers
        try:
            for _ in range(max(threads, min(STREAMS, pool.idle))):
                recognizers.append(await pool.acquire())
            shares = [recognizers[i::threads] for i in range(threads)]
            per_thread = await asyncio.gather(
                *(pool.pool.run(_decode_cpu, share, pcm, rate) for share in shares)
            )
        finally:
            for recognizer in recognizers:
                await pool.release(recognizer)
        listen = await pool.pool.run(_listen_cpu, pcm, rate, vad)
        requests = _sample_requests(understander) if understander is not None else []
        understand = (
            await asyncio.to_thread(_understand_cpu, understander, requests)
            if understander is not None and requests
            else 0.0
        )
        started = time.process_time()
        await render(synthesizer, REPLY_TEXT, rate)
        reply = time.process_time() - started
    except VoicebotError as exc:
        log.warning("costs not measured, assumed instead: %s", exc)
        return ASSUMED
    return Costs(sum(per_thread) / len(per_thread), listen / seconds, reply, understand=understand)
