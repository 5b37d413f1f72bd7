"""`install_archive`: installing from files brought by hand, with the same checks."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from voicebot.errors import DownloadError, ModelError, UsageError
from voicebot.models import RECORD_FILE, ModelFile, ModelSpec, ModelStore, install_archive

from .conftest import (
    JOE_JSON,
    JOE_NAME,
    JOE_ONNX,
    JOE_TGZ,
    KO_MODEL_DIR,
    KO_NAME,
    KO_UNPINNED,
    Assets,
    leftovers,
    sha256_of,
)


def unpinned(spec: ModelSpec) -> ModelSpec:
    """The same archive model, with no checksum or size to enforce."""
    file = spec.files[0]
    return dataclasses.replace(spec, files=(ModelFile(file.url, None, None, file.name),))


def test_install_zip_from_a_local_file(store: ModelStore, assets: Assets) -> None:
    result = install_archive(store.manifest.get(KO_NAME), store, assets.ko_zip)

    assert result.path == store.install_dir(KO_NAME)
    assert result.bytes_downloaded == 0 and result.pinned
    assert result.files[0].sha256 == sha256_of(assets.ko_zip)
    assert store.resolve(KO_NAME, "asr") == result.path
    assert store.verify(KO_NAME).ok
    record = json.loads((result.path / RECORD_FILE).read_text(encoding="utf-8"))
    assert record["origin"] == "install" and record["archive_sha256"] == sha256_of(assets.ko_zip)
    assert record["files"]["am/final.mdl"]["size"] == (KO_MODEL_DIR / "am/final.mdl").stat().st_size
    assert assets.ko_zip.is_file()  # the user's file is left alone
    assert leftovers(store) == []


def test_install_unpinned_zip_returns_the_computed_checksum(
    store: ModelStore, assets: Assets
) -> None:
    result = install_archive(store.manifest.get(KO_UNPINNED), store, assets.ko_zip)

    assert not result.pinned and result.files[0].sha256 == sha256_of(assets.ko_zip)
    assert store.verify(KO_UNPINNED).ok


def test_install_piper_voice_from_its_files_or_their_folder(
    store: ModelStore, tmp_path: Path
) -> None:
    result = install_archive(store.manifest.get(JOE_NAME), store, [JOE_JSON, JOE_ONNX])
    assert store.resolve(JOE_NAME, "tts") == result.path / JOE_ONNX.name
    assert store.verify(JOE_NAME).ok

    install_archive(store.manifest.get(JOE_NAME), store, JOE_ONNX.parent)
    assert store.verify(JOE_NAME).ok
    assert JOE_ONNX.is_file() and JOE_JSON.is_file()


def test_install_tar_gz_from_a_local_file(store: ModelStore, assets: Assets) -> None:
    result = install_archive(store.manifest.get(JOE_TGZ), store, assets.joe_tgz)

    assert store.resolve(JOE_TGZ, "tts") == result.path / JOE_ONNX.name


def test_reinstall_replaces_the_old_folder_only_when_complete(
    store: ModelStore, assets: Assets
) -> None:
    first = install_archive(store.manifest.get(KO_NAME), store, assets.ko_zip).path
    (first / "stale.txt").write_text("old install", encoding="utf-8")

    install_archive(store.manifest.get(KO_NAME), store, assets.ko_zip)

    assert not (first / "stale.txt").exists()
    assert store.verify(KO_NAME).ok
    assert leftovers(store) == []


def test_wrong_local_file_is_refused_and_left_alone(
    store: ModelStore, assets: Assets, tmp_path: Path
) -> None:
    install_archive(store.manifest.get(KO_NAME), store, assets.ko_zip)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as bundle:
        bundle.writestr("vosk-model/README", "not the model")

    with pytest.raises(DownloadError) as caught:
        install_archive(store.manifest.get(KO_NAME), store, other)

    assert "tronqué" in str(caught.value) or "corrompu" in str(caught.value)
    assert other.is_file()
    assert store.verify(KO_NAME).ok


def test_archive_that_is_not_a_model_is_refused(store: ModelStore, tmp_path: Path) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as bundle:
        bundle.writestr("vosk-model/README", "not the model")

    with pytest.raises(ModelError, match="Vosk incomplet"):
        install_archive(store.manifest.get(KO_UNPINNED), store, other)

    assert not store.is_installed(KO_UNPINNED)
    assert leftovers(store) == []


@pytest.mark.parametrize("member", ["vosk-model/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt"])
def test_zip_with_escaping_member_is_refused(
    store: ModelStore, tmp_path: Path, member: str
) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as bundle:
        bundle.writestr("vosk-model/am/final.mdl", b"x")
        bundle.writestr(zipfile.ZipInfo(member), b"escaped")

    with pytest.raises(DownloadError, match="chemin dangereux"):
        install_archive(store.manifest.get(KO_UNPINNED), store, evil)

    assert not (tmp_path / "evil.txt").exists()
    assert not store.is_installed(KO_UNPINNED)
    assert leftovers(store) == []


def test_tar_with_a_symlink_is_refused(store: ModelStore, tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as bundle:
        link = tarfile.TarInfo(JOE_ONNX.name)
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        bundle.addfile(link)
        data = b'{"audio": {"sample_rate": 22050}}'
        config = tarfile.TarInfo(JOE_JSON.name)
        config.size = len(data)
        bundle.addfile(config, io.BytesIO(data))

    with pytest.raises(DownloadError, match="lien"):
        install_archive(unpinned(store.manifest.get(JOE_TGZ)), store, evil)

    assert not store.is_installed(JOE_TGZ)


def test_missing_or_unexpected_files_are_usage_errors(store: ModelStore, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="fichiers manquants"):
        install_archive(store.manifest.get(JOE_NAME), store, [JOE_ONNX])
    with pytest.raises(UsageError, match="introuvable"):
        install_archive(store.manifest.get(KO_NAME), store, tmp_path / "absent.zip")
    with pytest.raises(UsageError, match="VOICEBOT_ASR_MODEL"):
        install_archive(store.manifest.get(KO_NAME), store, KO_MODEL_DIR)
    stray = tmp_path / "stray.onnx"
    shutil.copyfile(JOE_JSON, stray)
    with pytest.raises(UsageError, match="inattendus"):
        install_archive(store.manifest.get(JOE_NAME), store, [JOE_ONNX, JOE_JSON, stray])
