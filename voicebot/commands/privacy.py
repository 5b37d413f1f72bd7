"""`voicebot purge`, `voicebot export --caller`, `voicebot erase --caller`: retention and a
caller's rights of access and erasure, from the command line.

The number is given as the person writes it ("0692 12 34 56", "+262692123456",
"00262 692 12 34 56"): every form finds the same calls (see :mod:`voicebot.phone`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from voicebot.commands.database import opened_store
from voicebot.commands.moment import parse_moment
from voicebot.config import load_settings
from voicebot.errors import UsageError
from voicebot.phone import caller_number
from voicebot.store.audit import masked_number


def parse_instant(text: str | None) -> datetime:
    """An ISO 8601 moment; without a zone, local time. None: now."""
    hint = "format ISO 8601, par exemple 2026-06-30T23:00"
    return parse_moment(text, f"date illisible : {text!r}", hint)


def caller_of(args: argparse.Namespace) -> str:
    """The ``--caller`` number in E.164; a usage error when it is none."""
    number = caller_number(args.caller)
    if number is None:
        raise UsageError(
            f"numéro d'appelant illisible : {args.caller!r}",
            hint="donnez le numéro tel qu'il s'affiche, par exemple 0612345678, "
            "+33612345678 ou 0692123456",
        )
    return number


def purge(args: argparse.Namespace) -> int:
    settings = load_settings()
    now = parse_instant(args.now)
    content_days = settings.retention_content_days
    stats_days = settings.retention_stats_days
    with opened_store() as store:
        report = store.purge(now, content_days, stats_days)
        store.audit(
            None,
            "purge",
            now.isoformat(),
            {
                "content_days": content_days,
                "stats_days": stats_days,
                "content_cleared": report.content_cleared,
                "calls_deleted": report.calls_deleted,
                "sessions_deleted": report.sessions_deleted,
            },
        )
    print(f"Purge au {now.isoformat(timespec='seconds')} :")
    print(
        f"  {report.content_cleared} appel(s) anonymisé(s) : contenu de plus de "
        f"{content_days} jours effacé (transcriptions, numéro, transfert)"
    )
    print(f"  {report.calls_deleted} appel(s) supprimé(s) : plus de {stats_days} jours")
    print(f"  {report.sessions_deleted} session(s) de console expirée(s) supprimée(s)")
    return 0


def export(args: argparse.Namespace) -> int:
    number = caller_of(args)
    with opened_store() as store:
        data = store.export_caller(number)
        store.audit(
            None,
            "caller_exported",
            masked_number(number),
            {"calls": len(data["calls"]), "output": "stdout" if args.output is None else "file"},
        )
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    path = Path(args.output)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise UsageError(
            f"impossible d'écrire {path} : {exc.strerror}", hint="vérifiez le chemin et les droits"
        ) from None
    print(f"{len(data['calls'])} appel(s) exporté(s) dans {path} (lisible par vous seul).")
    return 0


def erase(args: argparse.Namespace) -> int:
    number = caller_of(args)
    if not args.yes:
        raise UsageError(
            f"effacement non confirmé : tous les appels du {number} seraient supprimés",
            hint="relancez avec --yes pour confirmer (voicebot export --caller d'abord, "
            "si la personne demande aussi ses données)",
        )
    with opened_store() as store:
        erased = store.erase_caller(number)
        store.audit(None, "caller_erased", masked_number(number), {"calls": erased})
    print(f"{erased} appel(s) du {number} effacé(s), avec leurs transcriptions et transferts.")
    return 0
