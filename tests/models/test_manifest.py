"""`load_manifest` and `Manifest` on the project's manifest and on broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.config import DEFAULT_MANIFEST
from voicebot.errors import ModelError
from voicebot.models import Manifest, load_manifest

VALID_ENTRY = """
[[model]]
name = "voix-test"
kind = "tts"
language = "fr"
sample_rate_hz = 22050
licence = "CC-BY-4.0"
description = "Voix de test"
approx_size_mb = 63
archive = ""

[[model.files]]
name = "voix-test.onnx"
url = "https://example.org/voix-test.onnx"
sha256 = ""
size_bytes = 0

[[model.files]]
name = "voix-test.onnx.json"
url = "https://example.org/voix-test.onnx.json"
sha256 = ""
size_bytes = 0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_project_manifest_lists_the_french_models() -> None:
    manifest = load_manifest(DEFAULT_MANIFEST)

    assert manifest.names("asr") == ["vosk-model-small-fr-0.22", "vosk-model-fr-0.22"]
    assert manifest.names("tts") == ["fr_FR-siwis-medium", "fr_FR-upmc-medium", "fr_FR-tom-medium"]
    small = manifest.get("vosk-model-small-fr-0.22")
    assert small.archive == "zip" and small.sample_rate_hz == 16000
    assert small.licence == "Apache-2.0" and small.language == "fr"
    assert len(small.files) == 1 and small.files[0].name == "vosk-model-small-fr-0.22.zip"
    siwis = manifest.get("fr_FR-siwis-medium")
    assert siwis.archive is None and siwis.sample_rate_hz == 22050
    assert [f.name for f in siwis.files] == [
        "fr_FR-siwis-medium.onnx",
        "fr_FR-siwis-medium.onnx.json",
    ]
    assert siwis.files[0].size_bytes == 63201294
    assert siwis.files[0].url.startswith("https://huggingface.co/rhasspy/piper-voices/")
    # Not pinned yet: empty strings in the file become None.
    assert all(f.sha256 is None for spec in manifest.specs for f in spec.files)
    assert manifest.get("fr_FR-upmc-medium").licence == "CC-BY-SA-4.0"


def test_unknown_name_lists_the_known_ones(manifest: Manifest) -> None:
    with pytest.raises(ModelError) as caught:
        manifest.get("vosk-model-inexistant")

    message = str(caught.value)
    assert "vosk-model-inexistant" in message
    assert all(name in message for name in manifest.names())
    assert "voicebot models list" in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="introuvable") as caught:
        load_manifest(tmp_path / "absent.toml")
    assert str(tmp_path / "absent.toml") in str(caught.value)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_ENTRY + "\n[[model]\nname = 3\n")

    with pytest.raises(ModelError, match="TOML invalide") as caught:
        load_manifest(path)
    assert str(path) in str(caught.value)


def test_missing_field_names_the_file_the_entry_and_the_field(tmp_path: Path) -> None:
    broken = VALID_ENTRY.replace("voix-test", "autre-voix").replace('licence = "CC-BY-4.0"\n', "")
    path = write(tmp_path, VALID_ENTRY + broken)

    with pytest.raises(ModelError) as caught:
        load_manifest(path)

    message = str(caught.value)
    assert str(path) in message and "entrée n°2" in message and "autre-voix" in message
    assert "licence" in message and "manquant" in message


def test_missing_file_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_ENTRY.replace('sha256 = ""\n', "", 1))

    with pytest.raises(ModelError, match=r"files\[1\]\.sha256"):
        load_manifest(path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('kind = "tts"', 'kind = "stt"'), "kind"),
        (('archive = ""', 'archive = "rar"'), "archive"),
        (('sha256 = ""', 'sha256 = "abc"'), "sha256"),
        (("size_bytes = 0", "size_bytes = -1"), "size_bytes"),
        (("sample_rate_hz = 22050", 'sample_rate_hz = "22050"'), "sample_rate_hz"),
        (('url = "https://example.org/voix-test.onnx"', 'url = "ftp://x/y.onnx"'), "url"),
        (('name = "voix-test.onnx"', 'name = "../voix-test.onnx"'), "name"),
        (('name = "voix-test.onnx.json"', 'name = "voix-test.json"'), ".onnx.json"),
    ],
)
def test_invalid_values_are_refused(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = write(tmp_path, VALID_ENTRY.replace(*change, 1))

    with pytest.raises(ModelError, match=r"entrée n°1") as caught:
        load_manifest(path)
    assert expected in str(caught.value)


def test_plain_file_without_name_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_ENTRY.replace('name = "voix-test.onnx"\n', "", 1))

    with pytest.raises(ModelError, match=r"files\[1\]\.name"):
        load_manifest(path)


def test_archive_model_has_exactly_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_ENTRY.replace('archive = ""', 'archive = "zip"'))

    with pytest.raises(ModelError, match="exactement un fichier"):
        load_manifest(path)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_ENTRY + VALID_ENTRY)

    with pytest.raises(ModelError, match="deux fois"):
        load_manifest(path)


def test_valid_entry_loads(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, VALID_ENTRY))

    spec = manifest.get("voix-test")
    assert spec.kind == "tts" and spec.archive is None and not spec.pinned
    assert manifest.source == tmp_path / "manifest.toml"
