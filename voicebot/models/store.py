"""Where installed models live, and how we know they are whole and usable.

Layout of ``models_dir``::

    models_dir/
        <model name>/                 one folder per installed model
            .voicebot-install.json    the install record (see below)
            ...                       the model's own files
        .partial/                     downloads in progress (``<file>.part``)

The install record, written at install time, lists every file of the folder
with its sha256 and size, and the source files (URL, sha256, pinned or not).
:meth:`ModelStore.verify` re-hashes the folder against it.

A model setting (``VOICEBOT_ASR_MODEL``, ``VOICEBOT_TTS_VOICE``) is either a
manifest name or a path; :meth:`ModelStore.resolve` turns it into the folder
(Vosk) or the ``.onnx`` file (Piper) to load, after the structural checks
:func:`check_vosk_model_dir` and :func:`check_piper_voice`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from voicebot.errors import ModelError
from voicebot.models.manifest import Manifest, ModelKind, ModelSpec

RECORD_FILE = ".voicebot-install.json"
RECORD_FORMAT = 1
PARTIAL_DIR = ".partial"

_KIND_LABEL: dict[ModelKind, str] = {"asr": "de reconnaissance (asr)", "tts": "de synthèse (tts)"}
_SETTING: dict[ModelKind, str] = {"asr": "VOICEBOT_ASR_MODEL", "tts": "VOICEBOT_TTS_VOICE"}
_SAFE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


class SourceFile(NamedTuple):
    """A file a model was installed from: its URL, its sha256, and whether the
    manifest pinned that sha256 (``False``: computed on first download)."""

    url: str
    sha256: str
    pinned: bool


@dataclass(slots=True)
class VerifyReport:
    """Result of :meth:`ModelStore.verify`; ``ok`` is true only without problems."""

    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0

    @property
    def advice(self) -> str:
        """What to do when the check failed (empty when it passed)."""
        if self.ok:
            return ""
        return f"réinstallez le modèle : `voicebot models pull {self.name}`"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's content."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def digest_tree(root: Path) -> dict[str, dict[str, Any]]:
    """``{relative posix path: {"sha256", "size"}}`` for every file under ``root``
    except the install record itself."""
    table: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(root).as_posix()
        if relative == RECORD_FILE:
            continue
        table[relative] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return table


def write_install_record(
    root: Path,
    spec: ModelSpec,
    sources: Sequence[SourceFile],
    *,
    origin: str,
) -> dict[str, Any]:
    """Hash the folder ``root`` and write its install record; return the record."""
    record: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "name": spec.name,
        "kind": spec.kind,
        "origin": origin,
        "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "archive": spec.archive or "",
        "archive_sha256": sources[0].sha256 if spec.archive and sources else None,
        "sources": [
            {"name": file.name, "url": source.url, "sha256": source.sha256, "pinned": source.pinned}
            for file, source in zip(spec.files, sources, strict=True)
        ],
        "files": digest_tree(root),
    }
    (root / RECORD_FILE).write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return record


# --------------------------------------------------------------------------- checks


def check_vosk_model_dir(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a complete Vosk model folder."""
    if not path.exists():
        raise ModelError(
            f"dossier de modèle Vosk introuvable : {path}",
            hint=f"vérifiez le chemin ({_SETTING['asr']}) ou installez un modèle : "
            "`voicebot models pull NOM`",
        )
    if not path.is_dir():
        raise ModelError(
            f"{path} n'est pas un dossier : un modèle Vosk est un dossier décompressé",
            hint="décompressez l'archive et indiquez le dossier, "
            "ou installez-la avec `voicebot models install NOM ARCHIVE`",
        )
    missing = _missing_vosk_parts(path)
    if missing:
        verb = "manque" if len(missing) == 1 else "manquent"
        nested = [sub for sub in _subdirs(path) if not _missing_vosk_parts(sub)]
        if len(nested) == 1:
            hint = (
                f"le modèle semble être dans le sous-dossier {nested[0]} : "
                f"indiquez ce sous-dossier ({_SETTING['asr']})"
            )
        else:
            hint = (
                "le téléchargement ou la décompression a été interrompu : réinstallez le modèle "
                "(`voicebot models pull NOM`) ou décompressez de nouveau l'archive complète"
            )
        raise ModelError(
            f"dossier de modèle Vosk incomplet : {', '.join(missing)} {verb} dans {path}",
            hint=hint,
        )


def _missing_vosk_parts(path: Path) -> list[str]:
    missing: list[str] = []
    if not _nonempty_file(path / "am" / "final.mdl"):
        missing.append("am/final.mdl")
    if not (
        _nonempty_file(path / "conf" / "model.conf") or (path / "conf" / "mfcc.conf").is_file()
    ):
        missing.append("conf/model.conf (ou conf/mfcc.conf)")
    graph = path / "graph"
    if not graph.is_dir():
        missing.append("le dossier graph/")
    elif not (
        _nonempty_file(graph / "HCLG.fst")
        or (_nonempty_file(graph / "HCLr.fst") and _nonempty_file(graph / "Gr.fst"))
    ):
        missing.append("graph/HCLG.fst (ou graph/HCLr.fst et graph/Gr.fst)")
    return missing


def check_piper_voice(onnx_path: Path) -> int:
    """Raise :class:`ModelError` unless ``onnx_path`` is a usable Piper voice
    (the ``.onnx`` and its ``.onnx.json`` beside it); return its sample rate."""
    if not onnx_path.exists():
        raise ModelError(
            f"fichier de voix Piper introuvable : {onnx_path}",
            hint=f"vérifiez le chemin ({_SETTING['tts']}) ou installez une voix : "
            "`voicebot models pull NOM`",
        )
    if not onnx_path.is_file() or onnx_path.suffix != ".onnx":
        raise ModelError(
            f"{onnx_path} n'est pas un fichier .onnx : une voix Piper est un fichier .onnx "
            "accompagné de son .onnx.json",
            hint=f"indiquez le fichier .onnx de la voix ({_SETTING['tts']})",
        )
    with onnx_path.open("rb") as stream:
        head = stream.read(64)
    if not head:
        raise ModelError(
            f"fichier de voix Piper vide : {onnx_path}",
            hint="le téléchargement a échoué : réinstallez la voix (`voicebot models pull NOM`)",
        )
    if head.lstrip().startswith(b"<"):
        raise ModelError(
            f"{onnx_path} contient une page HTML, pas un modèle ONNX",
            hint="le téléchargement a renvoyé une page d'erreur : réinstallez la voix "
            "(`voicebot models pull NOM`)",
        )
    config_path = onnx_path.with_name(onnx_path.name + ".json")
    if not config_path.is_file():
        raise ModelError(
            f"configuration de la voix manquante : {config_path.name} doit se trouver "
            f"à côté de {onnx_path.name} (dans {onnx_path.parent})",
            hint="téléchargez aussi le fichier .onnx.json de la voix, ou réinstallez-la",
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"configuration de voix illisible : {config_path} n'est pas du JSON valide ({exc})",
            hint="le fichier est abîmé : réinstallez la voix (`voicebot models pull NOM`)",
        ) from None
    audio = config.get("audio") if isinstance(config, dict) else None
    rate = audio.get("sample_rate") if isinstance(audio, dict) else None
    if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
        raise ModelError(
            f"configuration de voix incomplète : {config_path} n'indique pas audio.sample_rate",
            hint="ce fichier n'est pas la configuration d'une voix Piper : réinstallez la voix",
        )
    return rate


def find_voice_onnx(folder: Path) -> Path:
    """The single ``.onnx`` file of a voice folder."""
    candidates = sorted(folder.glob("*.onnx"))
    if len(candidates) != 1:
        found = ", ".join(path.name for path in candidates) or "aucun"
        raise ModelError(
            f"le dossier {folder} doit contenir exactement un fichier .onnx (trouvé : {found})",
            hint=f"indiquez directement le fichier .onnx de la voix ({_SETTING['tts']})",
        )
    return candidates[0]


def check_model_folder(spec: ModelSpec, folder: Path) -> Path:
    """Check an installed (or about to be installed) model folder; return the
    path to load: the folder for Vosk, the ``.onnx`` for Piper."""
    if spec.kind == "asr":
        check_vosk_model_dir(folder)
        return folder
    onnx_names = [file.name for file in spec.files if file.name.endswith(".onnx")]
    onnx = folder / onnx_names[0] if not spec.archive and onnx_names else find_voice_onnx(folder)
    check_piper_voice(onnx)
    return onnx


def _nonempty_file(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _subdirs(path: Path) -> list[Path]:
    try:
        return [child for child in path.iterdir() if child.is_dir()]
    except OSError:
        return []


# --------------------------------------------------------------------------- store


class ModelStore:
    """The installed models under ``models_dir``, described by ``manifest``."""

    def __init__(self, models_dir: Path, manifest: Manifest) -> None:
        self.models_dir = models_dir
        self.manifest = manifest

    @property
    def partial_dir(self) -> Path:
        """Where downloads in progress are kept (``<file>.part``)."""
        return self.models_dir / PARTIAL_DIR

    def install_dir(self, name: str) -> Path:
        """The folder a model is (or would be) installed in."""
        if not _SAFE_NAME_RE.fullmatch(name) or ".." in name:
            raise ModelError(
                f"nom de modèle invalide : {name!r}",
                hint="un nom de modèle ne contient que lettres, chiffres, « . », « _ », « - »",
            )
        return self.models_dir / name

    def is_installed(self, name: str) -> bool:
        """True when the model's folder exists (see :meth:`verify` for its integrity)."""
        return self.install_dir(name).is_dir()

    def read_record(self, name: str) -> dict[str, Any] | None:
        """The install record of a model, or ``None`` if absent or unreadable."""
        try:
            data = json.loads((self.install_dir(name) / RECORD_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def verify(self, name: str) -> VerifyReport:
        """Re-hash an installed model against its install record and check it is usable."""
        spec = self.manifest.get(name)
        report = VerifyReport(name=name, ok=False)
        folder = self.install_dir(name)
        if not folder.is_dir():
            report.problems.append(
                f"le modèle n'est pas installé ({folder} absent) : `voicebot models pull {name}`"
            )
            return report
        record_path = folder / RECORD_FILE
        record = self.read_record(name)
        if record is None:
            state = "illisible" if record_path.exists() else "absente"
            report.problems.append(
                f"fiche d'installation {RECORD_FILE} {state} : intégrité invérifiable"
            )
        else:
            self._check_record(spec, folder, record, report)
        try:
            check_model_folder(spec, folder)
        except ModelError as exc:
            report.problems.append(exc.message)
        report.ok = not report.problems
        return report

    def _check_record(
        self, spec: ModelSpec, folder: Path, record: dict[str, Any], report: VerifyReport
    ) -> None:
        files = record.get("files")
        if record.get("name") != spec.name or not isinstance(files, dict) or not files:
            report.problems.append(
                f"fiche d'installation {RECORD_FILE} invalide (autre modèle ou liste vide)"
            )
            return
        for relative, expected in sorted(files.items()):
            report.files_checked += 1
            parts = PurePosixPath(relative).parts
            if (
                PurePosixPath(relative).is_absolute()
                or ".." in parts
                or not isinstance(expected, dict)
            ):
                report.problems.append(f"entrée invalide dans {RECORD_FILE} : {relative!r}")
                continue
            path = folder.joinpath(*parts)
            if not path.is_file():
                report.problems.append(f"fichier manquant : {relative}")
                continue
            size = path.stat().st_size
            if size != expected.get("size"):
                report.problems.append(
                    f"fichier modifié : {relative} (taille {size} octets, "
                    f"{expected.get('size')} attendus)"
                )
                continue
            digest = sha256_file(path)
            if digest != expected.get("sha256"):
                report.problems.append(
                    f"fichier modifié : {relative} "
                    f"(sha256 {digest}, {expected.get('sha256')} attendu)"
                )
        sources = record.get("sources")
        recorded = {
            source.get("name"): source.get("sha256")
            for source in (sources if isinstance(sources, list) else [])
            if isinstance(source, dict)
        }
        for file in spec.files:
            if file.sha256 is not None and recorded.get(file.name) not in (None, file.sha256):
                report.problems.append(
                    f"installé depuis un fichier {file.name} dont le sha256 "
                    f"({recorded.get(file.name)}) diffère de celui du manifeste ({file.sha256})"
                )

    def resolve(self, value: str, kind: ModelKind) -> Path:
        """Turn a model setting (manifest name or path) into what the engine loads:
        the model folder for ``asr``, the ``.onnx`` file for ``tts``.

        A manifest name wins over a relative path of the same spelling.
        """
        value = value.strip()
        if value in self.manifest:
            spec = self.manifest.get(value)
            if spec.kind != kind:
                raise ModelError(
                    f"« {value} » est un modèle {_KIND_LABEL[spec.kind]}, "
                    f"pas un modèle {_KIND_LABEL[kind]}",
                    hint=f"choisissez pour {_SETTING[kind]} l'un de : "
                    + (", ".join(self.manifest.names(kind)) or "(aucun)"),
                )
            folder = self.install_dir(value)
            if not folder.is_dir():
                raise ModelError(
                    f"le modèle « {value} » n'est pas installé ({folder} absent)",
                    hint=f"installez-le : `voicebot models pull {value}` "
                    f"(sans Internet : `voicebot models install {value} FICHIER`)",
                )
            return check_model_folder(spec, folder)
        path = Path(value).expanduser()
        if not path.exists():
            known = ", ".join(self.manifest.names(kind)) or "(aucun)"
            raise ModelError(
                f"« {value} » n'est ni un modèle du manifeste ni un chemin existant",
                hint=f"indiquez dans {_SETTING[kind]} un modèle connu ({known}) "
                "ou le chemin d'un modèle décompressé ; `voicebot models list` les affiche",
            )
        path = path.resolve()
        if kind == "asr":
            check_vosk_model_dir(path)
            return path
        onnx = find_voice_onnx(path) if path.is_dir() else path
        check_piper_voice(onnx)
        return onnx
