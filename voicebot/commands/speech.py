"""`voicebot say` and `voicebot transcribe`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from voicebot.asr.transcript import Transcript
from voicebot.asr.vosk import VoskModel, VoskRecognizer
from voicebot.audio.framing import Framer
from voicebot.audio.resample import resample
from voicebot.audio.wav import read_wav, write_wav
from voicebot.config import load_settings
from voicebot.engines import load_asr_model, load_synthesizer
from voicebot.errors import AudioError, UsageError
from voicebot.executor import EnginePool
from voicebot.tts.base import render

RECOGNITION_RATE_HZ = 16000


def say(args: argparse.Namespace) -> int:
    settings = load_settings()
    out = Path(args.out)
    if not out.parent.exists():
        raise UsageError(
            f"dossier de sortie introuvable : {out.parent}",
            hint="créez-le ou choisissez un autre chemin",
        )
    pool = EnginePool("tts", 1)
    try:
        choice = load_synthesizer(settings, pool, args.voice)
        frame = asyncio.run(render(choice.synthesizer, args.text, args.rate, args.speed))
    finally:
        pool.shutdown()
    write_wav(out, frame)
    synth = choice.synthesizer
    print(
        f"{out} : {frame.duration_ms / 1000:.2f} s à {frame.sample_rate_hz} Hz, "
        f"moteur {synth.engine} ({synth.voice}) — {choice.reason}",
        file=sys.stderr,
    )
    return 0


def transcribe(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.alternatives < 0:
        raise UsageError("--alternatives doit être positif ou nul")
    audio = read_wav(Path(args.file))
    try:
        pcm = resample(audio.pcm, audio.sample_rate_hz, RECOGNITION_RATE_HZ)
    except AudioError as exc:
        raise AudioError(f"{args.file} : {exc.message}", hint=exc.hint) from None
    model = load_asr_model(settings, args.model)
    pool = EnginePool("asr", 1)
    try:
        results = asyncio.run(_decode(model, pool, pcm, args.grammar, args.alternatives))
    finally:
        pool.shutdown()
    finals = [r for r in results if r.text]
    if args.json:
        document = {
            "text": " ".join(r.text for r in finals),
            "duration_s": round(len(pcm) / 2 / RECOGNITION_RATE_HZ, 3),
            "segments": [r.to_dict() for r in finals],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(" ".join(r.text for r in finals))
    return 0


async def _decode(
    model: VoskModel, pool: EnginePool, pcm: bytes, grammar: list[str] | None, alternatives: int
) -> list[Transcript]:
    recognizer = VoskRecognizer(model, pool, RECOGNITION_RATE_HZ, alternatives)
    if grammar:
        kept = await recognizer.set_grammar(grammar)
        if not [w for w in kept if not w.startswith("[")]:
            raise UsageError(
                "aucun mot de --grammar n'est dans le vocabulaire du modèle",
                hint="vérifiez l'orthographe et la langue du modèle",
            )
    results = []
    framer = Framer(RECOGNITION_RATE_HZ)
    for frame in [*framer.push(pcm), *framer.flush()]:
        result = await recognizer.accept(frame)
        if result.is_final:
            results.append(result)
    results.append(await recognizer.finish())
    return results
