"""The service: settings validated at start, engines loaded once, health and readiness."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.local_server import free_port
from voicebot.config import load_settings
from voicebot.server.app import create_app


def test_ready_with_speech_when_a_recogniser_is_installed(
    korean_model_dir: Path, joe_voice_path: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        asr_model=str(korean_model_dir),
        tts_voice=str(joe_voice_path),
        tts_phonemizer_voice="fr",
        models_dir=tmp_path,
        asr_workers=2,
        asr_warm_recognizers=2,
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["ready"] is True and body["mode"] == "speech"
        assert body["tts"]["engine"] == "piper"
        deadline = time.monotonic() + 120
        while client.get("/readyz").json()["asr"]["idle_recognizers"] < 2:  # warmed after
            assert time.monotonic() < deadline, "recognisers not warmed in the background"
            time.sleep(0.1)


def test_keypad_only_mode_without_a_french_model(tmp_path: Path) -> None:
    settings = load_settings(models_dir=tmp_path, tts_engine="espeak")
    with TestClient(create_app(settings)) as client:
        body = client.get("/readyz").json()
        assert body["ready"] is True and body["mode"] == "keypad_only"
        assert "voicebot models pull vosk-model-small-fr-0.22" in body["asr"]["problem"]
        assert body["tts"]["engine"] == "espeak-ng"


def test_serve_command_starts_and_answers(tmp_path: Path, korean_model_dir: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    env.update(
        VOICEBOT_PORT=str(port),
        VOICEBOT_MODELS_DIR=str(tmp_path),
        VOICEBOT_ASR_MODEL=str(korean_model_dir),
        VOICEBOT_TTS_ENGINE="espeak",
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            [sys.executable, "-m", "voicebot", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 300  # the suite's allowance for a busy machine
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.2)
        assert ready.json()["mode"] == "speech"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_refuses_a_bad_setting_before_starting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    env["VOICEBOT_TTS_ENGINE"] = "festival"
    result = subprocess.run(
        [sys.executable, "-m", "voicebot", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "VOICEBOT_TTS_ENGINE" in result.stderr and "Traceback" not in result.stderr
