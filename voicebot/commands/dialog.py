"""`voicebot dialog --jsonl FICHIER`: the phone's dialog on scripted calls.

Each input line is one call, ``{"line", "at", "caller", "turns"}``; a turn is
what the recogniser heard, ``"#D"`` a key press (0-9, ``*``, ``#``) and ``""``
a silence until the listening timeout. Each call prints one JSON object on its
own line, in input order: what the bot said, how the call ended, what it dealt
with. A malformed line prints ``{"error": "ligne N : ..."}`` in its place, and
the next call goes on; other keys of a line (an expectation, a comment) are
ignored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from voicebot.calls.scripted import (
    ScriptedCall,
    dialog_context,
    fetch_live,
    gbfs_client,
    station_names,
)
from voicebot.commands.moment import parse_moment
from voicebot.commands.nlu import load_understander
from voicebot.config import load_settings
from voicebot.dialog.events import Event, Heard, Keypad, Silence
from voicebot.errors import UsageError

KEYS = frozenset("0123456789*#")


@dataclass(frozen=True, slots=True)
class Script:
    line: str
    at: datetime
    caller: str | None
    turns: tuple[Event, ...]


def run(args: argparse.Namespace) -> int:
    stream = _open(args.jsonl)  # an unreadable file is said before anything starts
    settings = load_settings()
    understander = load_understander()
    gbfs = gbfs_client(understander)
    stations = station_names(gbfs)
    live = partial(fetch_live, gbfs)
    service = understander.content.service
    for number, raw in _lines(stream):
        try:
            script = _script(raw, set(understander.content.lines), service.timezone)
        except UsageError as exc:  # this line is no call: say so in its place, go on
            _print({"error": f"ligne {number} : {exc}"})
            continue
        call = ScriptedCall(dialog_context(understander, script.line, settings, stations), live)
        call.start(script.at, script.caller)
        for event in script.turns:
            call.take(event)  # False once the call has ended: the rest is ignored
        _print(
            {
                "bot": call.bot,
                "outcome": call.outcome,
                "handover_reason": call.handover_reason,
                "intents": call.intents,
                "slots": call.slots,
                "sms": call.sms,
                "appointment": None,  # no calendar exists yet: nothing is ever written
            }
        )
    sys.stdout.flush()
    return 0


def _print(item: dict[str, Any]) -> None:
    print(json.dumps(item, ensure_ascii=False), flush=False)


def _open(name: str) -> TextIO:
    if name == "-":
        return sys.stdin
    try:
        return Path(name).open(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"impossible de lire {name} : {exc.strerror}") from None


def _lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    with stream:
        for number, raw in enumerate(stream, start=1):
            if raw.strip():
                yield number, raw


def _script(raw: str, lines: set[str], timezone: str) -> Script:
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"JSON invalide ({exc.msg})") from None
    if not isinstance(item, dict):
        raise UsageError("un objet JSON est attendu")
    line = item.get("line", "mairie")
    if not isinstance(line, str) or line not in lines:
        raise UsageError(
            f"ligne téléphonique inconnue {line!r}", hint=f"lignes : {', '.join(sorted(lines))}"
        )
    at = item.get("at")
    if at is not None and not isinstance(at, str):
        raise UsageError("« at » n'est pas un texte (date et heure ISO 8601)")
    try:
        moment = parse_moment(at, "", "", timezone)
    except UsageError:
        raise UsageError(f"« at » {at!r} n'est pas une date et heure ISO 8601") from None
    caller = item.get("caller")
    if caller is not None and not isinstance(caller, str):
        raise UsageError("« caller » n'est pas un texte")
    turns = item.get("turns")
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise UsageError("« turns » manque ou n'est pas une liste de textes")
    return Script(line, moment, caller, tuple(_event(t, i) for i, t in enumerate(turns, 1)))


def _event(turn: str, index: int) -> Event:
    text = turn.strip()
    if not text:
        return Silence()
    if text.startswith("#"):
        if len(text) != 2 or text[1] not in KEYS:
            raise UsageError(
                f"tour {index} : {turn!r} n'est pas une touche",
                hint="une touche s'écrit #0 à #9, #* ou ##",
            )
        return Keypad(text[1])
    # A script has no n-best list: what was heard is the only hypothesis, and a sure one.
    return Heard(text, ((text, 1.0),))
