"""`voicebot models list|pull|verify|path|install`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voicebot.commands.progress import ProgressBar
from voicebot.config import load_settings
from voicebot.errors import UsageError
from voicebot.models import ModelStore, load_manifest
from voicebot.models.download import PullResult, install_archive, pull


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    store = ModelStore(settings.models_dir, load_manifest(settings.manifest))
    action = args.action
    if action == "list":
        return _list(store)
    if action == "pull":
        spec = store.manifest.get(args.name)
        print(
            f"Téléchargement de {spec.name} (~{spec.approx_size_mb} Mo, licence {spec.licence})",
            file=sys.stderr,
        )
        result = pull(spec, store, progress=ProgressBar(spec.name))
        return _report_install(result)
    if action == "install":
        spec = store.manifest.get(args.name)
        files = [Path(f) for f in args.files]
        for file in files:
            if not file.is_file():
                raise UsageError(f"fichier introuvable : {file}", hint="vérifiez le chemin")
        return _report_install(install_archive(spec, store, files))
    if action == "verify":
        return _verify(store, args.name)
    if action == "path":
        store.manifest.get(args.name)
        if not store.is_installed(args.name):
            raise UsageError(
                f"le modèle {args.name} n'est pas installé",
                hint=f"installez-le : voicebot models pull {args.name}",
            )
        print(store.install_dir(args.name))
        return 0
    raise AssertionError(f"unhandled action {action}")  # argparse enforces the choices


def _list(store: ModelStore) -> int:
    print(f"{'NOM':28} {'TYPE':4} {'Hz':>6} {'TAILLE':>8}  {'LICENCE':13} ÉTAT")
    for name in store.manifest.names():
        spec = store.manifest.get(name)
        state = "installé" if store.is_installed(name) else "absent"
        print(
            f"{name:28} {spec.kind:4} {spec.sample_rate_hz:>6} "
            f"{spec.approx_size_mb:>5} Mo  {spec.licence:13} {state}"
        )
    print(f"\nDossier des modèles : {store.models_dir}")
    return 0


def _report_install(result: PullResult) -> int:
    print(f"{result.name} installé dans {result.path}")
    for source in result.files:
        if not source.pinned:
            print(
                f"attention : somme SHA-256 non fixée dans le manifeste pour {source.url}\n"
                f"  calculée : {source.sha256} (enregistrée ; ajoutez-la au manifeste "
                "après l'avoir comparée à une source de confiance)",
                file=sys.stderr,
            )
    return 0


def _verify(store: ModelStore, name: str | None) -> int:
    if name is not None:
        store.manifest.get(name)
        names = [name]
    else:
        names = [n for n in store.manifest.names() if store.is_installed(n)]
        if not names:
            print("Aucun modèle installé. Installez-en un : voicebot models pull NOM")
            return 1
    failures = 0
    for model in names:
        report = store.verify(model)
        if report.ok:
            print(f"[ok ] {model} : {report.files_checked} fichiers conformes")
        else:
            failures += 1
            print(f"[ERR] {model} : " + "; ".join(report.problems))
            print(f"       → {report.advice}")
    return 1 if failures else 0
