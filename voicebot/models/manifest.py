"""The model manifest: which speech models exist, where to get them, how to check them.

The manifest is a TOML file (``models/manifest.toml`` by default, see
``VOICEBOT_MANIFEST``) with one ``[[model]]`` table per model and one
``[[model.files]]`` table per file to download. It is read once with
:func:`load_manifest`; every mistake in it is a :class:`ModelError` naming the
file and the entry.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, NoReturn, TypeAlias
from urllib.parse import unquote, urlsplit

from voicebot.errors import ModelError

ModelKind: TypeAlias = Literal["asr", "tts"]
MODEL_KINDS: tuple[ModelKind, ...] = ("asr", "tts")
ARCHIVE_FORMATS: tuple[str, ...] = ("zip", "tar.gz")
SUPPORTED_SCHEMA_VERSION = 1

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_FIX_HINT = "corrigez le manifeste (modèle d'écriture : models/manifest.toml du projet)"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One file to download for a model.

    ``sha256`` and ``size_bytes`` are ``None`` when the manifest does not pin
    them. ``name`` is the file's name once downloaded (for a plain-files model,
    its name in the installed folder).
    """

    url: str
    sha256: str | None
    size_bytes: int | None
    name: str


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model of the manifest.

    ``archive`` is ``"zip"`` or ``"tar.gz"`` for a model shipped as one archive
    (exactly one file), ``None`` for a model made of plain files.
    """

    name: str
    kind: ModelKind
    language: str
    sample_rate_hz: int
    licence: str
    description: str
    approx_size_mb: int
    archive: str | None
    files: tuple[ModelFile, ...]

    @property
    def is_archive(self) -> bool:
        return self.archive is not None

    @property
    def pinned(self) -> bool:
        """True when every file of the model has a pinned sha256."""
        return all(file.sha256 is not None for file in self.files)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The set of known models, looked up by name."""

    specs: tuple[ModelSpec, ...]
    source: Path | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for spec in self.specs:
            if spec.name in seen:
                where = f"{self.source}: " if self.source else ""
                raise ModelError(
                    f"{where}le modèle « {spec.name} » est déclaré deux fois dans le manifeste",
                    hint=_FIX_HINT,
                )
            seen.add(spec.name)

    def names(self, kind: ModelKind | None = None) -> list[str]:
        """Names of the models, in manifest order, optionally of one kind only."""
        return [spec.name for spec in self.specs if kind is None or spec.kind == kind]

    def __contains__(self, name: object) -> bool:
        return any(spec.name == name for spec in self.specs)

    def get(self, name: str) -> ModelSpec:
        """The model called ``name``; a :class:`ModelError` listing the known names if none."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        known = ", ".join(self.names()) or "(aucun)"
        raise ModelError(
            f"modèle inconnu : « {name} » ; modèles connus : {known}",
            hint="vérifiez l'orthographe ; `voicebot models list` affiche les modèles du manifeste",
        )


def load_manifest(path: Path) -> Manifest:
    """Read and validate the manifest at ``path``."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(
            f"manifeste des modèles introuvable : {path}",
            hint="vérifiez VOICEBOT_MANIFEST ou restaurez models/manifest.toml du projet",
        ) from None
    except OSError as exc:
        raise ModelError(
            f"manifeste des modèles illisible : {path} ({exc.strerror or exc})",
            hint="vérifiez les droits de lecture du fichier",
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelError(
            f"manifeste {path} : le fichier n'est pas en UTF-8", hint="réenregistrez-le en UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"manifeste {path} : TOML invalide ({exc})", hint=_FIX_HINT) from None
    return Manifest(specs=tuple(_parse_document(data, path)), source=path)


def _parse_document(data: Mapping[str, Any], path: Path) -> Iterable[ModelSpec]:
    version = data.get("schema_version", SUPPORTED_SCHEMA_VERSION)
    if version != SUPPORTED_SCHEMA_VERSION:
        raise ModelError(
            f"manifeste {path} : schema_version = {version!r} non pris en charge "
            f"(version attendue : {SUPPORTED_SCHEMA_VERSION})",
            hint="utilisez un manifeste écrit pour cette version de voicebot",
        )
    models = data.get("model")
    if not isinstance(models, list) or not models:
        raise ModelError(
            f"manifeste {path} : aucune entrée [[model]]",
            hint=_FIX_HINT,
        )
    for index, entry in enumerate(models, start=1):
        yield _EntryParser(path, index, entry).spec()


class _EntryParser:
    """Validates one ``[[model]]`` table; every error names the file and the entry."""

    def __init__(self, path: Path, index: int, entry: object) -> None:
        self.path = path
        self.index = index
        self.entry: Mapping[str, Any] = entry if isinstance(entry, dict) else {}
        name = self.entry.get("name")
        self.label = f"entrée n°{index}" + (f" (« {name} »)" if isinstance(name, str) else "")
        if not isinstance(entry, dict):
            self.fail("n'est pas une table TOML")

    def fail(self, problem: str) -> NoReturn:
        raise ModelError(f"manifeste {self.path}, {self.label} : {problem}", hint=_FIX_HINT)

    def field(self, table: Mapping[str, Any], key: str, kind: type, where: str = "") -> Any:
        if key not in table:
            self.fail(f"champ « {where}{key} » manquant")
        value = table[key]
        # bool is an int subclass: `size_bytes = true` must not pass as a number.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = {str: "une chaîne", int: "un entier", list: "une liste"}[kind]
            self.fail(f"champ « {where}{key} » : {expected} attendue, reçu {value!r}")
        return value

    def text(self, key: str) -> str:
        value: str = self.field(self.entry, key, str)
        if not value.strip():
            self.fail(f"champ « {key} » vide")
        return value.strip()

    def spec(self) -> ModelSpec:
        name = self.text("name")
        if not _is_safe_name(name):
            self.fail(f"nom « {name} » invalide (lettres, chiffres, « . », « _ », « - » seulement)")
        kind = self.text("kind")
        if kind not in MODEL_KINDS:
            self.fail(f"kind = {kind!r} inconnu (valeurs possibles : asr, tts)")
        sample_rate_hz: int = self.field(self.entry, "sample_rate_hz", int)
        if sample_rate_hz <= 0:
            self.fail(f"sample_rate_hz = {sample_rate_hz} doit être positif")
        approx_size_mb: int = self.field(self.entry, "approx_size_mb", int)
        if approx_size_mb < 0:
            self.fail(f"approx_size_mb = {approx_size_mb} ne peut pas être négatif")
        archive_raw: str = self.field(self.entry, "archive", str)
        if archive_raw and archive_raw not in ARCHIVE_FORMATS:
            self.fail(
                f'archive = {archive_raw!r} inconnu (valeurs possibles : "zip", "tar.gz", "")'
            )
        archive = archive_raw or None
        raw_files: list[Any] = self.field(self.entry, "files", list)
        files = tuple(self.file(i, raw, archive) for i, raw in enumerate(raw_files, start=1))
        self.check_files(kind, archive, files)
        return ModelSpec(
            name=name,
            kind="asr" if kind == "asr" else "tts",
            language=self.text("language"),
            sample_rate_hz=sample_rate_hz,
            licence=self.text("licence"),
            description=self.text("description"),
            approx_size_mb=approx_size_mb,
            archive=archive,
            files=files,
        )

    def file(self, position: int, raw: object, archive: str | None) -> ModelFile:
        where = f"files[{position}]."
        if not isinstance(raw, dict):
            self.fail(f"files[{position}] n'est pas une table [[model.files]]")
        url: str = self.field(raw, "url", str, where).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.fail(f"{where}url = {url!r} : une URL http:// ou https:// est attendue")
        sha256: str = self.field(raw, "sha256", str, where).strip().lower()
        if sha256 and not _SHA256_RE.match(sha256):
            self.fail(f'{where}sha256 = {sha256!r} : 64 chiffres hexadécimaux ou "" attendus')
        size_bytes: int = self.field(raw, "size_bytes", int, where)
        if size_bytes < 0:
            self.fail(f"{where}size_bytes = {size_bytes} ne peut pas être négatif")
        if "name" in raw:
            name: str = self.field(raw, "name", str, where).strip()
        elif archive is None:
            self.fail(f'champ « {where}name » manquant (obligatoire quand archive = "")')
        else:
            name = PurePosixPath(unquote(parts.path)).name
        if not _is_safe_name(name):
            self.fail(f"{where}name = {name!r} : un simple nom de fichier est attendu")
        return ModelFile(url=url, sha256=sha256 or None, size_bytes=size_bytes or None, name=name)

    def check_files(self, kind: str, archive: str | None, files: tuple[ModelFile, ...]) -> None:
        if not files:
            self.fail("aucun fichier [[model.files]]")
        if archive is not None and len(files) != 1:
            self.fail(f"archive = {archive!r} : exactement un fichier attendu, {len(files)} donnés")
        names = [file.name for file in files]
        if len(set(names)) != len(names):
            self.fail(f"noms de fichiers en double : {', '.join(names)}")
        if kind == "tts" and archive is None:
            onnx = [name for name in names if name.endswith(".onnx")]
            if len(onnx) != 1 or f"{onnx[0]}.json" not in names:
                self.fail("une voix Piper doit avoir exactement un fichier .onnx et son .onnx.json")


def _is_safe_name(name: str) -> bool:
    """A single path component we can create on disk (no separator, no dot-dot)."""
    return (
        bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name))
        and ".." not in name
        and not name.startswith(".voicebot")
    )
