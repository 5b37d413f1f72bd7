"""`voicebot models ...` through the real command, against the local model server."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.cli import assert_clean_error, run_cli
from tests.conftest import espeak_speech
from tests.models.conftest import KO_NAME, KO_UNPINNED, ModelServer
from voicebot.audio.wav import write_wav
from voicebot.models import Manifest


def env_for(manifest: Manifest | Path, models_dir: Path) -> dict[str, str]:
    source = manifest if isinstance(manifest, Path) else manifest.source
    return {"VOICEBOT_MANIFEST": str(source), "VOICEBOT_MODELS_DIR": str(models_dir)}


def test_pull_shows_progress_installs_and_the_model_is_then_usable(
    server: ModelServer, manifest: Manifest, tmp_path: Path
) -> None:
    env = env_for(manifest, tmp_path / "models")
    pulled = run_cli("models", "pull", KO_NAME, env=env, timeout=300)
    assert pulled.returncode == 0, pulled.stderr
    progress = [line for line in pulled.stderr.splitlines() if line.startswith(KO_NAME)]
    assert len(progress) >= 3 and "100%" in progress[-1]
    assert f"{KO_NAME} installé dans" in pulled.stdout

    listed = run_cli("models", "list", env=env)
    assert f"{KO_NAME}" in listed.stdout and "installé" in listed.stdout
    path = run_cli("models", "path", KO_NAME, env=env)
    assert path.stdout.strip() == str(tmp_path / "models" / KO_NAME)
    verified = run_cli("models", "verify", env=env)
    assert verified.returncode == 0 and f"[ok ] {KO_NAME}" in verified.stdout

    # The pulled model, named in settings, recognises speech.
    wav = tmp_path / "ko.wav"
    write_wav(wav, espeak_speech("라디오 음악", "ko", 16000))
    heard = run_cli("transcribe", str(wav), env={**env, "VOICEBOT_ASR_MODEL": KO_NAME})
    assert "라디오" in heard.stdout, heard.stderr

    # Damage one file: verify says so and how to repair.
    (tmp_path / "models" / KO_NAME / "conf" / "model.conf").write_text("--beam=1\n")
    damaged = run_cli("models", "verify", KO_NAME, env=env)
    assert damaged.returncode == 1
    assert "conf/model.conf" in damaged.stdout and "voicebot models pull" in damaged.stdout


def test_unpinned_checksum_is_printed(
    server: ModelServer, manifest: Manifest, tmp_path: Path
) -> None:
    env = env_for(manifest, tmp_path / "models")
    pulled = run_cli("models", "pull", KO_UNPINNED, env=env, timeout=300)
    assert pulled.returncode == 0, pulled.stderr
    assert "SHA-256 non fixée" in pulled.stderr and "calculée :" in pulled.stderr


def test_offline_pull_fails_fast_with_the_url_and_the_manual_way(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/vosk-model-small-fr-0.22.zip"
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        f"""
[[model]]
name = "vosk-model-small-fr-0.22"
kind = "asr"
language = "fr"
sample_rate_hz = 16000
licence = "Apache-2.0"
description = "Petit modèle français"
approx_size_mb = 41
archive = "zip"

[[model.files]]
url = "{url}"
sha256 = ""
size_bytes = 0
""",
        encoding="utf-8",
    )
    started = time.monotonic()
    result = run_cli(
        "models", "pull", "vosk-model-small-fr-0.22", env=env_for(manifest, tmp_path / "models")
    )
    assert time.monotonic() - started < 10
    lines = [line for line in result.stderr.splitlines() if line.startswith("erreur")]
    assert result.returncode != 0 and len(lines) == 1 and "Traceback" not in result.stderr
    assert url in lines[0] and "voicebot models install" in lines[0]


def test_unknown_model_name(tmp_path: Path) -> None:
    assert_clean_error(
        run_cli("models", "pull", "vosk-model-xx", env={"VOICEBOT_MODELS_DIR": str(tmp_path)}),
        "vosk-model-xx",
        "voicebot models list",
    )
