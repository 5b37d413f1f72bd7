"""`voicebot understand` and `voicebot prompts check`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from voicebot.calls.scripted import gbfs_client, station_names
from voicebot.config import load_settings
from voicebot.content import load_content
from voicebot.errors import ContentError, UsageError
from voicebot.nlu.understand import Understander, Understanding


def load_understander() -> Understander:
    return Understander(load_content(load_settings().prompts_dir))


def understand(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.jsonl is None):
        raise UsageError(
            "donnez soit un TEXTE, soit --jsonl FICHIER",
            hint='exemple : voicebot understand "je voudrais un passeport"',
        )
    understander = load_understander()
    understander.content.line(args.line)
    stations = _LiveStations(understander)
    if args.text is not None:
        result = stations.understood(args.text, args.line)
        print(json.dumps(result.to_contract(), ensure_ascii=False))
        return 0
    for number, item in _jsonl(args.jsonl):
        line = item.get("line", args.line)
        if not isinstance(line, str) or line not in understander.content.lines:
            raise UsageError(
                f"{args.jsonl}, ligne {number} : ligne téléphonique inconnue {line!r}",
                hint=f"lignes : {', '.join(sorted(understander.content.lines))}",
            )
        text = item.get("text")
        if not isinstance(text, str):
            raise UsageError(
                f"{args.jsonl}, ligne {number} : « text » manque ou n'est pas un texte"
            )
        result = stations.understood(text, line)
        print(json.dumps(result.to_contract(), ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 0


class _LiveStations:
    """The live station names, as a call has them (a station is matched to its real
    name), fetched once and only for a request about the bikes."""

    def __init__(self, understander: Understander) -> None:
        self.understander = understander
        self._names: tuple[str, ...] | None = None

    def understood(self, text: str, line: str) -> Understanding:
        result = self.understander.understand(text, line)
        intent = self.understander.content.line(line).intents.get(result.intent or "")
        if intent is None or "station" not in intent.slots:
            return result
        if self._names is None:
            self._names = station_names(gbfs_client(self.understander))
        return self.understander.understand(text, line, stations=self._names)


def _jsonl(name: str) -> Iterator[tuple[int, dict[str, object]]]:
    stream: TextIO
    if name == "-":
        stream = sys.stdin
    else:
        try:
            stream = Path(name).open(encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"impossible de lire {name} : {exc.strerror}") from None
    with stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{name}, ligne {number} : JSON invalide ({exc.msg})") from None
            if not isinstance(item, dict):
                raise UsageError(f"{name}, ligne {number} : un objet JSON est attendu")
            yield number, item


def check(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        content = load_content(settings.prompts_dir)
    except ContentError as exc:
        problems = getattr(exc, "problems", [exc.message])
        for problem in problems:
            print(f"[ERR] {problem}")
        print(f"\n{len(problems)} problème(s) dans {settings.prompts_dir}")
        return 1
    for line in content.lines.values():
        examples = sum(len(i.examples) for i in line.intents.values())
        print(
            f"[ok ] ligne {line.id} : {len(line.intents)} intentions, {examples} exemples, "
            f"{len(line.slots)} slots, {len(line.prompts)} messages"
        )
    print(f"[ok ] service : {content.service.name}, {len(content.service.facts)} faits")
    return 0
