"""`voicebot bench engines`: real-time factors, time to first audio and memory of the engines.

Everything runs in this process with the installed (or given) models:
the recogniser alone, then 1, 2, 4, 8... streams decoding at once through the
engine pool, each stream's speed compared with the single-stream baseline;
the synthesizer on a short and a long French text, with espeak-ng as a
baseline; memory of the shared model and of each extra recogniser.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import time
from dataclasses import dataclass

import psutil

from voicebot.asr.vosk import VoskModel, VoskRecognizer
from voicebot.audio.frame import AudioFrame
from voicebot.audio.framing import Framer
from voicebot.audio.resample import resample
from voicebot.config import Settings, load_settings
from voicebot.content import load_content
from voicebot.dialog.render import fixed_prompts
from voicebot.engines import load_asr_model, load_synthesizer
from voicebot.errors import EngineError, UsageError, VoicebotError
from voicebot.executor import EnginePool
from voicebot.tts.base import Synthesizer
from voicebot.tts.cache import CachingSynthesizer
from voicebot.tts.espeak import EspeakSynthesizer

RATE_HZ = 16000
MB = 1024 * 1024
SHORT_TEXT = "Bonjour, que puis-je faire pour vous ?"
LONG_TEXT = (
    "Pour renouveler votre carte d'identité, prenez rendez-vous en mairie. "
    "Apportez votre ancienne carte, une photo d'identité de moins de six mois "
    "et un justificatif de domicile récent. Le délai est d'environ trois semaines, "
    "et vous recevrez un message quand la carte sera prête."
)
SPEECH_TEXT = (
    "Bonjour, je voudrais savoir quels sont les horaires d'ouverture de la mairie. "
    "Je dois aussi renouveler mon passeport et prendre un rendez-vous la semaine prochaine. "
)


@dataclass(frozen=True)
class StreamRun:
    streams: int
    wall_s: float
    audio_s: float

    @property
    def per_stream_speed(self) -> float:
        return self.audio_s / self.wall_s

    @property
    def aggregate_speed(self) -> float:
        return self.streams * self.audio_s / self.wall_s


def rss_mb() -> float:
    return float(psutil.Process(os.getpid()).memory_info().rss) / MB


def speech_audio(seconds: float) -> AudioFrame:
    """French speech from espeak-ng, repeated to about ``seconds``, at 16 kHz."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "fr", "--stdout", SPEECH_TEXT], capture_output=True, check=True
    ).stdout[44:]
    pcm = resample(wav[: len(wav) - len(wav) % 2], 22050, RATE_HZ)
    needed = int(seconds * RATE_HZ) * 2
    repeated = (pcm * (needed // len(pcm) + 1))[:needed]
    return AudioFrame(repeated, RATE_HZ)


async def decode_stream(recognizer: VoskRecognizer, audio: AudioFrame) -> None:
    framer = Framer(RATE_HZ)
    for frame in framer.push(audio.pcm):
        await recognizer.accept(frame)
    await recognizer.finish()


async def measure_streams(
    model: VoskModel, pool: EnginePool, audio: AudioFrame, streams: int
) -> StreamRun:
    recognizers = [VoskRecognizer(model, pool, RATE_HZ, alternatives=3) for _ in range(streams)]
    warm = AudioFrame(b"\x00" * 6400, RATE_HZ)
    await asyncio.gather(*(r.accept(warm) for r in recognizers))  # first decode is slow
    started = time.perf_counter()
    await asyncio.gather(*(decode_stream(r, audio) for r in recognizers))
    wall = time.perf_counter() - started
    return StreamRun(streams, wall, audio.duration_ms / 1000)


async def measure_synthesis(
    synthesizer: Synthesizer, text: str, runs: int
) -> tuple[list[float], list[float]]:
    """Time to first audio (ms) and speed (audio s / wall s) over ``runs`` renderings."""
    firsts, speeds = [], []
    for _ in range(runs):
        started = time.perf_counter()
        first = None
        audio_ms = 0.0
        async for frame in synthesizer.stream(text, RATE_HZ):
            if first is None:
                first = (time.perf_counter() - started) * 1000
            audio_ms += frame.duration_ms
        wall = time.perf_counter() - started
        firsts.append(first or 0.0)
        speeds.append(audio_ms / 1000 / wall)
    return firsts, speeds


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def bench(settings: Settings, args: argparse.Namespace) -> None:
    cores = psutil.cpu_count(logical=True) or 1
    print(f"Machine : {cores} cœurs logiques, pool de reconnaissance {settings.asr_workers} fils")
    audio = speech_audio(args.seconds)
    await bench_synthesis(settings, args)
    await bench_recognition(settings, args, audio)


async def bench_recognition(
    settings: Settings, args: argparse.Namespace, audio: AudioFrame
) -> None:
    gc.collect()
    base = rss_mb()
    started = time.perf_counter()
    model = await asyncio.to_thread(load_asr_model, settings, args.model)
    load_s = time.perf_counter() - started
    model_mb = rss_mb() - base
    print(f"\nReconnaissance : modèle {model.path}")
    print(f"  chargement {load_s:.2f} s, mémoire du modèle partagé {model_mb:.0f} Mo")
    pool = EnginePool("bench-asr", settings.asr_workers)
    try:
        # Memory first, while nothing freed by earlier work can hide a recogniser's growth.
        before = rss_mb()
        extra = [VoskRecognizer(model, pool, RATE_HZ) for _ in range(4)]
        await asyncio.gather(*(decode_stream(r, audio) for r in extra))
        extra_mb = (rss_mb() - before) / len(extra)
        del extra
        print(
            f"  mémoire par recogniseur (4 créés, {audio.duration_ms / 1000:.0f} s décodées "
            f"chacun) : {extra_mb:.0f} Mo"
        )
        baseline = await measure_streams(model, pool, audio, 1)
        print(
            f"\n  {'flux':>5} {'x temps réel/flux':>18} {'x temps réel total':>19} "
            f"{'RTF/flux':>9} {'vs 1 flux':>10}"
        )
        for streams in args.streams:
            run = baseline if streams == 1 else await measure_streams(model, pool, audio, streams)
            print(
                f"  {streams:>5} {run.per_stream_speed:>18.2f} {run.aggregate_speed:>19.2f} "
                f"{1 / run.per_stream_speed:>9.3f} "
                f"{run.per_stream_speed / baseline.per_stream_speed:>10.2f}"
            )
    finally:
        pool.shutdown()


async def bench_synthesis(settings: Settings, args: argparse.Namespace) -> None:
    tts_pool = EnginePool("bench-tts", settings.tts_workers)
    try:
        gc.collect()
        before = rss_mb()
        choice = await asyncio.to_thread(load_synthesizer, settings, tts_pool, args.voice)
        voice_mb = rss_mb() - before
        synth = choice.synthesizer
        print(
            f"\nSynthèse : {synth.engine} ({synth.voice}), {settings.tts_threads} fil(s) "
            f"onnxruntime, mémoire {voice_mb:.0f} Mo — {choice.reason}"
        )
        engines: list[tuple[str, Synthesizer]] = [(synth.engine, synth)]
        if synth.engine != "espeak-ng":
            engines.append(("espeak-ng (réf.)", EspeakSynthesizer(settings.espeak_voice)))
        print(
            f"  {'moteur':18} {'texte':6} {'1er son médian':>15} {'p95':>8} "
            f"{'x temps réel médian':>20}"
        )
        baseline_speed = None
        for label, engine in engines:
            await measure_synthesis(engine, SHORT_TEXT, 1)  # warm-up
            for name, text in (("court", SHORT_TEXT), ("long", LONG_TEXT)):
                firsts, speeds = await measure_synthesis(engine, text, 7)
                speed = statistics.median(speeds)
                ratio = ""
                if name == "long":
                    baseline_speed = baseline_speed or speed
                    ratio = f"  ({speed / baseline_speed:.2f}x le premier moteur)"
                print(
                    f"  {label:18} {name:6} {statistics.median(firsts):>12.0f} ms "
                    f"{p95(firsts):>5.0f} ms {speed:>20.1f}{ratio}"
                )
        await bench_prompts(settings, synth)
    finally:
        tts_pool.shutdown()


async def bench_prompts(settings: Settings, synth: Synthesizer) -> None:
    """The content's fixed prompts said once rendered, then from the service's cache (as
    every call after the first hears them): time to first audio and processor time."""
    try:
        texts = fixed_prompts(await asyncio.to_thread(load_content, settings.prompts_dir))
    except VoicebotError as exc:
        print(f"  messages fixes : non mesurés ({exc})")
        return
    cache = CachingSynthesizer(synth)
    figures = []
    for _ in ("rendered", "cached"):
        cpu = time.process_time()
        firsts = [(await measure_synthesis(cache, text, 1))[0][0] for text in texts]
        figures.append((firsts, time.process_time() - cpu))
    (rendered, rendered_cpu), (cached, cached_cpu) = figures
    print(
        f"  messages fixes ({len(texts)} du contenu, {cache.misses} phrases) : 1er son médian "
        f"{statistics.median(rendered):.0f} ms rendu, {statistics.median(cached):.2f} ms en "
        f"cache (p95 {p95(rendered):.0f} / {p95(cached):.2f} ms) ; processeur (ce processus) "
        f"{rendered_cpu:.2f} s / {cached_cpu:.3f} s, "
        f"{rendered_cpu / max(cached_cpu, 1e-6):.0f}x moins en cache"
    )


def run(args: argparse.Namespace) -> int:
    if args.seconds <= 0 or any(n < 1 for n in args.streams):
        raise UsageError("--seconds et --streams doivent être positifs")
    settings = load_settings()
    try:
        asyncio.run(bench(settings, args))
    except FileNotFoundError as exc:
        raise EngineError(
            f"outil introuvable : {exc.filename}",
            hint="installez espeak-ng : apt-get install espeak-ng",
        ) from None
    return 0
