"""`pull` against a real HTTP server on loopback, with real model archives."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from pathlib import Path

import pytest

from voicebot.errors import DownloadError
from voicebot.models import (
    RECORD_FILE,
    ModelFile,
    ModelStore,
    check_piper_voice,
    check_vosk_model_dir,
    install_archive,
    pull,
)

from .conftest import (
    JOE_JSON,
    JOE_NAME,
    JOE_ONNX,
    JOE_TGZ,
    JOE_UNPINNED,
    KO_NAME,
    KO_UNPINNED,
    Assets,
    Fault,
    ModelServer,
    leftovers,
    sha256_of,
)

ONNX_PATH = f"/voices/{JOE_ONNX.name}"


def part_path(store: ModelStore, name: str) -> Path:
    """Where pull keeps the first file of ``name`` while downloading it."""
    return store.partial_dir / f"{store.manifest.get(name).files[0].name}.part"


def test_pull_vosk_model_reports_progress_verifies_and_installs(
    server: ModelServer, store: ModelStore, assets: Assets
) -> None:
    calls: list[tuple[int, int | None]] = []
    total = assets.ko_zip.stat().st_size

    result = pull(store.manifest.get(KO_NAME), store, progress=lambda d, t: calls.append((d, t)))

    assert result.path == store.install_dir(KO_NAME)
    assert result.bytes_downloaded == total and not result.resumed
    assert result.files[0].sha256 == sha256_of(assets.ko_zip) and result.pinned
    assert len(calls) > 10
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == total
    assert all(t == total for _, t in calls)
    assert server.ranges("/ko.zip") == [None]
    # The archive's top folder was stripped; the model is at the install folder's root.
    assert (result.path / "am" / "final.mdl").is_file()
    check_vosk_model_dir(result.path)
    assert store.verify(KO_NAME).ok
    assert not (part_path(store, KO_NAME)).exists()
    assert leftovers(store) == []

    import vosk

    vosk.SetLogLevel(-1)
    model = vosk.Model(str(result.path))
    recognizer = vosk.KaldiRecognizer(model, 16000)
    recognizer.AcceptWaveform(b"\x00\x00" * 1600)
    assert "text" in json.loads(recognizer.FinalResult())


def test_pull_piper_voice_installs_a_loadable_voice(server: ModelServer, store: ModelStore) -> None:
    calls: list[tuple[int, int | None]] = []
    result = pull(store.manifest.get(JOE_NAME), store, progress=lambda d, t: calls.append((d, t)))

    onnx = result.path / JOE_ONNX.name
    assert check_piper_voice(onnx) == 22050
    assert store.resolve(JOE_NAME, "tts") == onnx
    total = JOE_ONNX.stat().st_size + JOE_JSON.stat().st_size
    assert calls[-1] == (total, total)
    assert store.verify(JOE_NAME).ok

    from piper import PiperVoice

    voice = PiperVoice.load(onnx)
    assert voice.config.sample_rate == 22050


def test_unpinned_checksum_is_computed_recorded_and_then_verified(
    server: ModelServer, store: ModelStore
) -> None:
    calls: list[tuple[int, int | None]] = []
    result = pull(
        store.manifest.get(JOE_UNPINNED), store, progress=lambda d, t: calls.append((d, t))
    )

    assert not result.pinned
    assert [(s.sha256, s.pinned) for s in result.files] == [
        (sha256_of(JOE_ONNX), False),
        (sha256_of(JOE_JSON), False),
    ]
    record = json.loads((result.path / RECORD_FILE).read_text(encoding="utf-8"))
    assert [s["sha256"] for s in record["sources"]] == [s.sha256 for s in result.files]
    # Sizes unknown to the manifest: total becomes known from the responses.
    total = JOE_ONNX.stat().st_size + JOE_JSON.stat().st_size
    assert calls[0][1] is None and calls[-1] == (total, total)
    assert store.verify(JOE_UNPINNED).ok

    with (result.path / JOE_ONNX.name).open("r+b") as stream:
        stream.seek(1000)
        byte = stream.read(1)
        stream.seek(1000)
        stream.write(bytes([byte[0] ^ 1]))
    report = store.verify(JOE_UNPINNED)
    assert not report.ok and any(JOE_ONNX.name in p for p in report.problems)


def test_pull_tar_gz_archive(server: ModelServer, store: ModelStore) -> None:
    result = pull(store.manifest.get(JOE_TGZ), store)

    assert store.resolve(JOE_TGZ, "tts") == result.path / JOE_ONNX.name
    assert store.verify(JOE_TGZ).ok


def test_partial_download_is_resumed_with_a_range_request(
    server: ModelServer, store: ModelStore, assets: Assets
) -> None:
    offset = assets.ko_zip.stat().st_size // 3
    part = part_path(store, KO_NAME)
    part.parent.mkdir(parents=True)
    with assets.ko_zip.open("rb") as source:
        part.write_bytes(source.read(offset))
    calls: list[tuple[int, int | None]] = []

    result = pull(store.manifest.get(KO_NAME), store, progress=lambda d, t: calls.append((d, t)))

    assert server.ranges("/ko.zip") == [f"bytes={offset}-"]
    assert result.resumed
    assert result.bytes_downloaded == assets.ko_zip.stat().st_size - offset
    assert calls[0][0] == offset
    assert store.verify(KO_NAME).ok
    assert not part.exists()


def test_server_ignoring_range_restarts_from_zero(server: ModelServer, store: ModelStore) -> None:
    part = part_path(store, JOE_NAME)
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that must not be kept")
    server.fault(ONNX_PATH, Fault("ignore_range"))

    result = pull(store.manifest.get(JOE_UNPINNED), store)

    assert server.ranges(ONNX_PATH) == ["bytes=29-"]
    assert not result.resumed
    assert result.files[0].sha256 == sha256_of(JOE_ONNX)
    assert store.verify(JOE_UNPINNED).ok


def test_complete_partial_file_with_unknown_size_gets_416_and_is_used(
    server: ModelServer, store: ModelStore
) -> None:
    part = part_path(store, JOE_NAME)
    part.parent.mkdir(parents=True)
    part.write_bytes(JOE_ONNX.read_bytes())

    result = pull(store.manifest.get(JOE_UNPINNED), store)

    assert server.ranges(ONNX_PATH) == [f"bytes={JOE_ONNX.stat().st_size}-"]
    assert result.bytes_downloaded == JOE_JSON.stat().st_size
    assert store.verify(JOE_UNPINNED).ok


def test_dropped_connection_is_resumed_automatically(
    server: ModelServer, store: ModelStore
) -> None:
    cut = 10_000_000
    server.fault(ONNX_PATH, Fault("drop", at=cut, times=1))

    result = pull(store.manifest.get(JOE_NAME), store)

    assert server.ranges(ONNX_PATH) == [None, f"bytes={cut}-"]
    assert result.resumed
    assert store.verify(JOE_NAME).ok


def test_dropped_connection_without_retry_keeps_the_partial_file(
    server: ModelServer, store: ModelStore
) -> None:
    cut = 10_000_000
    server.fault(ONNX_PATH, Fault("drop", at=cut, times=1))

    with pytest.raises(DownloadError) as caught:
        pull(store.manifest.get(JOE_NAME), store, retries=0)

    assert "interrompu" in str(caught.value) and f"voicebot models pull {JOE_NAME}" in str(
        caught.value
    )
    part = part_path(store, JOE_NAME)
    assert part.stat().st_size == cut
    assert not store.is_installed(JOE_NAME)

    pull(store.manifest.get(JOE_NAME), store)
    assert server.ranges(ONNX_PATH)[-1] == f"bytes={cut}-"
    assert store.verify(JOE_NAME).ok


def test_corrupted_download_is_refused_and_keeps_the_previous_install(
    server: ModelServer, store: ModelStore, assets: Assets
) -> None:
    install_archive(store.manifest.get(KO_NAME), store, assets.ko_zip)
    server.fault("/ko.zip", Fault("corrupt", at=assets.ko_zip.stat().st_size // 2))

    with pytest.raises(DownloadError) as caught:
        pull(store.manifest.get(KO_NAME), store)

    message = str(caught.value)
    assert "corrompu" in message and sha256_of(assets.ko_zip) in message
    assert f"voicebot models pull {KO_NAME}" in message
    assert not (part_path(store, KO_NAME)).exists()
    assert store.verify(KO_NAME).ok  # the previous install is untouched
    assert leftovers(store) == []


def test_truncated_download_is_refused_and_nothing_is_installed(
    server: ModelServer, store: ModelStore, assets: Assets
) -> None:
    size = assets.ko_zip.stat().st_size
    server.fault("/ko.zip", Fault("truncate", at=size // 2))

    with pytest.raises(DownloadError) as caught:
        pull(store.manifest.get(KO_NAME), store)

    assert "tronqué" in str(caught.value) and str(size) in str(caught.value)
    assert not store.is_installed(KO_NAME)
    assert not (part_path(store, KO_NAME)).exists()
    assert leftovers(store) == []


def test_truncated_unpinned_archive_is_refused_at_unpacking(
    server: ModelServer, store: ModelStore, assets: Assets
) -> None:
    server.fault("/ko.zip", Fault("truncate", at=assets.ko_zip.stat().st_size - 5000))

    with pytest.raises(DownloadError, match="archive illisible ou tronquée"):
        pull(store.manifest.get(KO_UNPINNED), store)

    assert not store.is_installed(KO_UNPINNED)
    assert leftovers(store) == []


def test_http_error_names_the_url_and_the_manual_install(
    server: ModelServer, store: ModelStore
) -> None:
    server.fault(ONNX_PATH, Fault("status", status=404))

    with pytest.raises(DownloadError) as caught:
        pull(store.manifest.get(JOE_NAME), store)

    message = str(caught.value)
    assert "404" in message and server.url(ONNX_PATH) in message
    assert f"voicebot models install {JOE_NAME}" in message


def test_offline_pull_fails_fast_with_the_manual_install_procedure(
    store: ModelStore, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/vosk-model-small-fr-0.22.zip"
    offline = dataclasses.replace(
        store.manifest.get(KO_NAME),
        files=(ModelFile(url, None, None, "vosk-model-small-fr-0.22.zip"),),
    )

    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        pull(offline, store, timeout_s=30.0)
    elapsed = time.monotonic() - started

    assert elapsed < 5.0
    message = str(caught.value)
    assert url in message
    assert f"voicebot models install {KO_NAME}" in message
    assert "VOICEBOT_ASR_MODEL" in message
    assert not store.is_installed(KO_NAME)
