"""Piper voices, run in the engine pool with an onnxruntime session we size ourselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voicebot.audio.resample import resample
from voicebot.errors import EngineError, ModelError
from voicebot.executor import EnginePool
from voicebot.tts.base import SentenceSynthesizer


class PiperSynthesizer(SentenceSynthesizer):
    engine = "piper"

    def __init__(self, voice: Any, name: str, pool: EnginePool) -> None:
        self._voice = voice
        self.voice = name
        self.pool = pool
        self.native_rate_hz = int(voice.config.sample_rate)

    @classmethod
    def load(
        cls,
        onnx_path: Path,
        pool: EnginePool,
        threads: int = 1,
        phonemizer_voice: str | None = None,
    ) -> PiperSynthesizer:
        """Load a voice (blocking, about 0.4 s). ``phonemizer_voice`` overrides its espeak voice."""
        import onnxruntime
        from piper.config import PiperConfig
        from piper.voice import PiperVoice

        from voicebot.models.store import check_piper_voice

        check_piper_voice(onnx_path)
        config = json.loads(Path(f"{onnx_path}.json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(
                str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(
                f"voix Piper illisible : {onnx_path} ({exc})",
                hint="le fichier est peut-être corrompu : lancez `voicebot models verify`",
            ) from None
        piper_config = PiperConfig.from_dict(config)
        if phonemizer_voice:
            piper_config.espeak_voice = phonemizer_voice
        voice = PiperVoice(session=session, config=piper_config)
        return cls(voice, onnx_path.name.removesuffix(".onnx"), pool)

    def _synthesize_blocking(self, sentence: str, speed: float) -> bytes:
        from piper.config import SynthesisConfig

        length_scale = (self._voice.config.length_scale or 1.0) / speed
        config = SynthesisConfig(length_scale=length_scale)
        try:
            chunks = [c.audio_int16_bytes for c in self._voice.synthesize(sentence, config)]
        except Exception as exc:
            raise EngineError(f"échec de la synthèse Piper : {exc}") from exc
        return b"".join(chunks)

    async def _sentence_pcm(self, sentence: str, speed: float) -> bytes:
        return await self.pool.run(self._synthesize_blocking, sentence, speed)

    async def _to_rate(self, pcm: bytes, sample_rate_hz: int) -> bytes:
        return await self.pool.run(resample, pcm, self.native_rate_hz, sample_rate_hz)
