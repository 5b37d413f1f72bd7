"""Turning a phrase the bot did not understand into an example of an intent.

The phrase is appended to ``<prompts_dir>/<line>/learned.yaml`` (``examples:
{intent_id: [phrases]}``), which the content loader merges into the line's
intents at the next start. A phrase that is already an example of another
intent is refused here, so that the file never stops the service from starting.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from voicebot.content.loader import LEARNED_FILE
from voicebot.content.model import Content
from voicebot.errors import ContentError

MAX_PHRASE_CHARS = 300
HEADER = (
    "# Exemples ajoutés depuis la console de supervision (Statistiques, phrases non comprises).\n"
    "# Format : examples: {intention: [phrases]} ; fusionnés avec intents.yaml au démarrage.\n"
)


def normalize(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def line_folder(prompts_dir: Path, line_id: str) -> Path:
    """The folder of a line: named after it, or the one whose intents.yaml names it."""
    direct = prompts_dir / line_id
    if (direct / "intents.yaml").is_file():
        return direct
    for folder in sorted(p for p in prompts_dir.iterdir() if (p / "intents.yaml").is_file()):
        data = yaml.safe_load((folder / "intents.yaml").read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and str(data.get("line")) == line_id:
            return folder
    raise ContentError(f"dossier de la ligne « {line_id} » introuvable dans {prompts_dir}")


def read_learned(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return {}
    return {
        str(intent): [str(p) for p in phrases]
        for intent, phrases in raw.items()
        if isinstance(phrases, list)
    }


def learned_phrases(prompts_dir: Path, content: Content) -> dict[str, tuple[str, str]]:
    """Every learned phrase (normalised) → (line, intent), to show what is already done."""
    found: dict[str, tuple[str, str]] = {}
    for line_id in content.lines:
        try:
            path = line_folder(prompts_dir, line_id) / LEARNED_FILE
        except ContentError:
            continue
        for intent, phrases in read_learned(path).items():
            for phrase in phrases:
                found.setdefault(normalize(phrase), (line_id, intent))
    return found


def add_example(
    prompts_dir: Path, content: Content, line_id: str, intent_id: str, phrase: str
) -> bool:
    """Append ``phrase`` to the intent's learned examples; False if it was already there.

    Raises :class:`ContentError` (message in French) when the line or intent is
    unknown, the phrase empty or too long, or already an example of another intent.
    """
    text = " ".join(phrase.split()).lower()
    if not text:
        raise ContentError("la phrase est vide")
    if len(text) > MAX_PHRASE_CHARS:
        raise ContentError(f"la phrase dépasse {MAX_PHRASE_CHARS} caractères")
    line = content.lines.get(line_id)
    if line is None:
        raise ContentError(f"ligne inconnue : « {line_id} »")
    intent = line.intents.get(intent_id)
    if intent is None:
        raise ContentError(f"intention inconnue sur cette ligne : « {intent_id} »")
    for other in line.intents.values():
        if text in {normalize(e) for e in other.examples}:
            if other.id == intent_id:
                return False
            raise ContentError(f"« {text} » est déjà un exemple de « {other.label or other.id} »")
    path = line_folder(prompts_dir, line_id) / LEARNED_FILE
    with _locked(path):
        learned = read_learned(path)
        for other_id, phrases in learned.items():
            if text in {normalize(p) for p in phrases}:
                if other_id == intent_id:
                    return False
                raise ContentError(f"« {text} » a déjà été ajoutée à « {other_id} »")
        learned.setdefault(intent_id, []).append(text)
        _write(path, learned)
    return True


class _locked:
    """An exclusive lock on the line's folder: several instances may add at once."""

    def __init__(self, path: Path) -> None:
        self.folder = path.parent
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _write(path: Path, learned: dict[str, list[str]]) -> None:
    body = yaml.safe_dump({"examples": learned}, allow_unicode=True, sort_keys=True, width=1000)
    fd, temporary = tempfile.mkstemp(prefix=".learned-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(HEADER + body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
