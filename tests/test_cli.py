"""The `voicebot` command end to end, with the shipped test models."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from tests.cli import assert_clean_error, run_cli
from tests.conftest import espeak_speech
from tests.local_server import free_port
from voicebot.audio.wav import write_wav


@pytest.fixture
def test_models(korean_model_dir: Path, joe_voice_path: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "VOICEBOT_ASR_MODEL": str(korean_model_dir),
        "VOICEBOT_TTS_VOICE": str(joe_voice_path),
        "VOICEBOT_TTS_PHONEMIZER_VOICE": "fr",
        "VOICEBOT_MODELS_DIR": str(tmp_path / "models"),
        "VOICEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'voicebot.db'}",
    }


def test_help_is_french_and_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("models", "say", "transcribe", "doctor", "serve", "bench"):
        assert command in result.stdout
    assert "télécharger" in result.stdout


@pytest.mark.parametrize("rate", [8000, 16000, 22050])
def test_say_writes_a_wav_at_the_requested_rate(
    rate: int, test_models: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "bonjour.wav"
    result = run_cli(
        "say",
        "Bonjour, bienvenue à la mairie.",
        "--out",
        str(out),
        "--rate",
        str(rate),
        env=test_models,
    )
    assert result.returncode == 0, result.stderr
    assert "moteur piper" in result.stderr
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == rate and wav.getnchannels() == 1
        assert 1.0 < wav.getnframes() / rate < 4.0


def test_say_falls_back_to_espeak_and_says_so(test_models: dict[str, str], tmp_path: Path) -> None:
    env = {**test_models, "VOICEBOT_TTS_VOICE": "fr_FR-siwis-medium"}  # not installed
    out = tmp_path / "b.wav"
    result = run_cli("say", "Bonjour.", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert "moteur espeak-ng" in result.stderr and "indisponible" in result.stderr
    assert out.stat().st_size > 1000


def test_transcribe_any_rate_plain_and_json(test_models: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "ko.wav"
    write_wav(path, espeak_speech("라디오 음악", "ko", 22050))
    plain = run_cli("transcribe", str(path), env=test_models)
    assert plain.returncode == 0, plain.stderr
    assert "라디오" in plain.stdout
    as_json = run_cli("transcribe", str(path), "--json", env=test_models)
    document = json.loads(as_json.stdout)
    segment = document["segments"][0]
    assert "라디오" in document["text"]
    assert segment["words"][0]["word"] == "라디오"
    assert {"start_s", "end_s", "confidence"} <= set(segment["words"][0])
    assert segment["alternatives"] and 0 < segment["confidence"] <= 1


def test_transcribe_with_a_grammar(test_models: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "ko.wav"
    write_wav(path, espeak_speech("안녕하세요", "ko", 8000))
    result = run_cli(
        "transcribe", str(path), "--grammar", "안녕하세요", "라디오", "우유", env=test_models
    )
    assert result.returncode == 0, result.stderr
    heard = result.stdout.split()
    assert heard[0] == "안녕하세요"
    assert set(heard) <= {"안녕하세요", "라디오", "우유"}  # nothing outside the grammar


def test_bad_inputs_get_one_clear_line(test_models: dict[str, str], tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("pas du son")
    assert_clean_error(
        run_cli("transcribe", str(text_file), env=test_models), "n'est pas un fichier WAV"
    )
    assert_clean_error(
        run_cli("transcribe", str(tmp_path / "absent.wav"), env=test_models), "introuvable"
    )
    wav = tmp_path / "ok.wav"
    write_wav(wav, espeak_speech("안녕하세요", "ko", 16000))
    assert_clean_error(
        run_cli("transcribe", str(wav), "--model", "vosk-inconnu", env=test_models),
        "vosk-inconnu",
        "voicebot models list",
    )
    incomplete = tmp_path / "incomplete-model"
    (incomplete / "conf").mkdir(parents=True)
    assert_clean_error(
        run_cli("transcribe", str(wav), "--model", str(incomplete), env=test_models), "am/final.mdl"
    )
    assert_clean_error(
        run_cli("say", "  ", "--out", str(tmp_path / "x.wav"), env=test_models), "texte vide"
    )
    assert_clean_error(
        run_cli("transcribe", str(wav), env={**test_models, "VOICEBOT_ASR_WORKERS": "zéro"}),
        "VOICEBOT_ASR_WORKERS",
    )
    # A warm-up recording that is not one stops `serve` before anything starts.
    port = str(free_port())
    for warmup, said in (
        (text_file, "n'est pas un fichier WAV"),
        (tmp_path / "x.wav", "introuvable"),
    ):
        assert_clean_error(
            run_cli(
                "serve",
                env={
                    **test_models,
                    "VOICEBOT_PORT": port,
                    "VOICEBOT_ASR_WARMUP_AUDIO": str(warmup),
                },
            ),
            "VOICEBOT_ASR_WARMUP_AUDIO",
            said,
        )
    doctor = run_cli("doctor", env={**test_models, "VOICEBOT_PORT": "99999"})
    assert doctor.returncode == 1 and "VOICEBOT_PORT" in doctor.stdout
    bad_arg = run_cli("say", "Bonjour", "--out", str(tmp_path / "x.wav"), "--rate", "11025")
    assert bad_arg.returncode == 2 and "Traceback" not in bad_arg.stderr


def test_doctor_reports_usable_engines(test_models: dict[str, str]) -> None:
    result = run_cli("doctor", env=test_models)
    assert result.returncode == 0, result.stdout
    assert "[ok ] espeak-ng" in result.stdout
    assert "[ok ] reconnaissance vocale" in result.stdout
    assert "[ok ] synthèse vocale" in result.stdout
    assert "[ok ] détection de la parole (VOICEBOT_VAD) : Silero VAD" in result.stdout


def test_doctor_says_how_to_get_a_missing_voice_detector(
    test_models: dict[str, str], tmp_path: Path
) -> None:
    env = {**test_models, "VOICEBOT_VAD_MODEL": str(tmp_path / "silero_vad.onnx")}
    result = run_cli("doctor", env=env)
    assert result.returncode == 0, result.stdout  # the energy detector serves meanwhile
    assert "[!! ] détection de la parole (VOICEBOT_VAD)" in result.stdout
    assert "pip install --no-deps silero-vad" in result.stdout


def test_doctor_checks_the_telephony_and_the_database(test_models: dict[str, str]) -> None:
    closed = free_port()  # nothing listens there: Asterisk is down
    env = {
        **test_models,
        "VOICEBOT_ARI_URL": f"http://127.0.0.1:{closed}/ari",
        "VOICEBOT_ARI_PASSWORD": "x",
    }
    result = run_cli("doctor", env=env)
    assert result.returncode == 1, result.stdout
    assert f"[ERR] Asterisk (VOICEBOT_ARI_URL) : http://127.0.0.1:{closed}/ari injoignable" in (
        result.stdout
    )
    assert "http.conf" in result.stdout
    # No media password and no administrator yet: warnings that say what to do.
    assert "[!! ] appels entrants (VOICEBOT_MEDIA_PASSWORD)" in result.stdout
    assert "[ok ] base de données" in result.stdout
    assert "voicebot users add NOM --role admin" in result.stdout


def test_doctor_explains_keypad_only_mode(test_models: dict[str, str]) -> None:
    env = {**test_models, "VOICEBOT_ASR_MODEL": "vosk-model-small-fr-0.22"}
    result = run_cli("doctor", env=env)
    assert result.returncode == 0  # the service still starts
    assert "mode clavier seul" in result.stdout
    assert "voicebot models pull vosk-model-small-fr-0.22" in result.stdout


def test_models_list_shows_the_french_models(test_models: dict[str, str]) -> None:
    result = run_cli("models", "list", env=test_models)
    assert result.returncode == 0
    for name in (
        "vosk-model-small-fr-0.22",
        "vosk-model-fr-0.22",
        "fr_FR-siwis-medium",
        "fr_FR-upmc-medium",
        "fr_FR-tom-medium",
    ):
        assert name in result.stdout
    assert "absent" in result.stdout


def test_models_path_of_a_missing_model(test_models: dict[str, str]) -> None:
    assert_clean_error(
        run_cli("models", "path", "fr_FR-tom-medium", env=test_models),
        "pas installé",
        "voicebot models pull fr_FR-tom-medium",
    )
