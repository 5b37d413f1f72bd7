"""The streaming recogniser on the real Korean Vosk model, fed real espeak-ng speech.

espeak-ng's Korean is robotic and the model is a small one, so open-vocabulary
accuracy on arbitrary sentences is poor; these sentences are ones the pair
decodes, and the bounds would fail if audio reached Vosk damaged (wrong rate,
wrong byte order, frames lost or reordered).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from tests.conftest import espeak_speech
from voicebot.asr import RecognizerPool, Transcript, VoskModel, VoskRecognizer
from voicebot.asr.vosk import _decoder_overlay, decoder_options
from voicebot.audio import Framer
from voicebot.audio.frame import AudioFrame
from voicebot.audio.g711 import ulaw_decode, ulaw_encode
from voicebot.errors import AudioError, ModelError
from voicebot.executor import EnginePool

PHRASES = ["라디오 음악", "안녕하세요", "전화 번호", "지하철 버스"]
DISTRACTORS = ["우유", "서울", "병원", "역사", "사과", "오늘", "커피", "은행"]


def cer(expected: str, heard: str) -> float:
    a, b = expected.replace(" ", ""), heard.replace(" ", "")
    return Levenshtein.distance(a, b) / len(a)


@pytest.fixture(scope="module")
def korean_model(korean_model_dir: Path) -> VoskModel:
    return VoskModel.load(korean_model_dir)


async def transcribe_stream(recognizer: VoskRecognizer, audio: AudioFrame) -> list[Transcript]:
    results = []
    framer = Framer(audio.sample_rate_hz)
    for frame in [*framer.push(audio.pcm), *framer.flush()]:
        results.append(await recognizer.accept(frame))
    results.append(await recognizer.finish())
    return results


def final_text(results: list[Transcript]) -> str:
    return " ".join(r.text for r in results if r.is_final and r.text)


async def test_open_vocabulary_16k_in_20ms_frames(
    korean_model: VoskModel, engine_pool: EnginePool
) -> None:
    recognizer = VoskRecognizer(korean_model, engine_pool, 16000, alternatives=0)
    results = await transcribe_stream(recognizer, espeak_speech("라디오 음악", "ko", 16000))
    assert any(not r.is_final and r.text for r in results), "no partial result came"
    final = [r for r in results if r.is_final and r.text]
    assert cer("라디오 음악", final_text(results)) <= 0.25
    words = [w for r in final for w in r.words]
    assert words and all(0.0 < w.confidence <= 1.0 for w in words)
    assert all(w.start_s < w.end_s for w in words)
    assert [w.start_s for w in words] == sorted(w.start_s for w in words)


async def test_telephone_path_8k_mulaw_with_a_grammar(
    korean_model: VoskModel, engine_pool: EnginePool
) -> None:
    recognizer = VoskRecognizer(korean_model, engine_pool, 8000, alternatives=3)
    kept = await recognizer.set_grammar([*PHRASES, *DISTRACTORS, "없는말"])
    assert "없는말" not in kept and "라디오 음악" in kept
    errors = []
    for phrase in PHRASES:
        speech = espeak_speech(phrase, "ko", 8000)
        # Through the phone codec, as a call from the network would be.
        telephone = AudioFrame(ulaw_decode(ulaw_encode(speech.pcm)), 8000)
        results = await transcribe_stream(recognizer, telephone)
        errors.append(cer(phrase, final_text(results)))
    # Measured here: two phrases exact, mean CER 0.375; damaged audio gives about 1.0.
    assert sum(errors) / len(errors) <= 0.5, errors
    assert errors.count(0.0) >= 2, errors


async def test_nbest_gives_posteriors_and_word_confidences(
    korean_model: VoskModel, engine_pool: EnginePool
) -> None:
    recognizer = VoskRecognizer(korean_model, engine_pool, 16000, alternatives=4)
    results = await transcribe_stream(recognizer, espeak_speech("지하철 버스", "ko", 16000))
    final = next(r for r in results if r.is_final and r.text)
    assert 1 <= len(final.alternatives) <= 4
    posteriors = [a.confidence for a in final.alternatives]
    assert posteriors == sorted(posteriors, reverse=True)
    assert 0.0 < sum(posteriors) <= 1.0 + 1e-9
    assert final.confidence == posteriors[0]
    assert all(0.0 < w.confidence <= 1.0 for w in final.words)


async def test_pool_reuses_warm_recognisers_and_retires_worn_ones(
    korean_model: VoskModel, engine_pool: EnginePool
) -> None:
    pool = RecognizerPool(korean_model, engine_pool, 16000, max_audio_s=1.0)
    await pool.warm(1)
    assert pool.idle == 1 and pool.created == 1
    first = await pool.acquire()
    await pool.release(first)
    assert await pool.acquire() is first  # reused
    await transcribe_stream(first, espeak_speech("안녕하세요", "ko", 16000))
    await pool.release(first)  # more than 1 s of audio: retired
    assert pool.retired == 1 and pool.idle == 0


async def test_a_call_during_warming_gets_a_recogniser_without_waiting_for_the_batch(
    korean_model: VoskModel,
) -> None:
    """Warming runs while calls are taken: one recogniser at a time, each one idle as
    soon as it is made; a call finding none gets a new one, warmed for it, first."""
    warmup = espeak_speech("안녕하세요 라디오 음악 전화 번호 지하철 버스", "ko", 16000)
    engines = EnginePool("warming-test", 2)
    try:
        pool = RecognizerPool(korean_model, engines, 16000, warmup=warmup)
        calling = asyncio.create_task(pool.acquire())  # nothing idle: one is made for it
        await asyncio.sleep(0)
        warming = asyncio.create_task(pool.warm(3))
        while not calling.done():
            assert engines.pending <= 1  # warming waits: the call has both workers' room
            await asyncio.sleep(0.05)
        cold = calling.result()
        text = final_text(await transcribe_stream(cold, espeak_speech("라디오 음악", "ko", 16000)))
        assert cer("라디오 음악", text) <= 0.4
        while pool.idle == 0:
            await asyncio.sleep(0.01)
        assert not warming.done()  # the first warm one is there before the batch is done
        await warming
        assert pool.idle == 3 and pool.created == 4
    finally:
        engines.shutdown()


async def test_wrong_rate_frame_is_refused(
    korean_model: VoskModel, engine_pool: EnginePool
) -> None:
    recognizer = VoskRecognizer(korean_model, engine_pool, 16000)
    with pytest.raises(AudioError, match="8000 Hz pour un recogniseur à 16000 Hz"):
        await recognizer.accept(AudioFrame(b"\x00" * 320, 8000))
    with pytest.raises(AudioError, match="pas 22050 Hz"):
        VoskRecognizer(korean_model, engine_pool, 22050)


def test_incomplete_model_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(ModelError):
        VoskModel.load(tmp_path)


async def test_decoder_options_reach_vosk_and_leave_the_model_folder_alone(
    korean_model_dir: Path, korean_model: VoskModel, engine_pool: EnginePool
) -> None:
    conf = (korean_model_dir / "conf" / "model.conf").read_bytes()
    overlay = _decoder_overlay(korean_model_dir, {"beam": 1.0, "max-active": 250})
    try:
        text = (overlay / "conf" / "model.conf").read_text(encoding="utf-8").splitlines()
        assert "--beam=1" in text and "--max-active=250" in text
        assert not any(line.startswith("--beam=10") for line in text)
        assert "--lattice-beam=2.0" in text  # the model's other options kept
        assert (overlay / "am").resolve() == (korean_model_dir / "am").resolve()
    finally:
        shutil.rmtree(overlay)
    narrow = VoskModel.load(korean_model_dir, {"beam": 1.0, "max-active": 250})
    assert (korean_model_dir / "conf" / "model.conf").read_bytes() == conf
    heard: dict[str, list[str]] = {"model": [], "narrow": []}
    for phrase in PHRASES:
        speech = espeak_speech(phrase, "ko", 16000)
        for name, model in (("model", korean_model), ("narrow", narrow)):
            recognizer = VoskRecognizer(model, engine_pool, 16000, alternatives=0)
            heard[name].append(final_text(await transcribe_stream(recognizer, speech)))
    # Decoding is deterministic: the same words from both would mean the options were lost.
    assert heard["narrow"] != heard["model"], heard
    errors = {name: sum(map(cer, PHRASES, texts)) for name, texts in heard.items()}
    assert errors["narrow"] >= errors["model"], heard


def test_decoder_options_the_model_refuses_are_a_clear_error(korean_model_dir: Path) -> None:
    with pytest.raises(ModelError, match="max-active=50") as raised:
        VoskModel.load(korean_model_dir, {"max-active": 50})  # below the model's min-active
    assert "min-active" in (raised.value.hint or "")


def test_decoder_options_are_only_the_ones_set() -> None:
    assert decoder_options(None, None) == {}
    assert decoder_options(8.0, 1000) == {"beam": 8.0, "max-active": 1000}
