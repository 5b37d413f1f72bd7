"""The `voicebot` command: one entry point, subcommands, French help and messages.

A user's mistake ends in one line on stderr (what is wrong, what to do) and a
non-zero exit code; never in a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from voicebot import __version__
from voicebot.errors import VoicebotError

PASSWORD_VARIABLE = "VOICEBOT_NEW_PASSWORD"
ROLES = ("agent", "supervisor", "admin")  # voicebot.store.ROLES, not imported: --help stays instant

EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse in French, with usage errors on one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"erreur : {message} — voir `{self.prog} --help`\n")


def _counts(value: str) -> list[int]:
    """``16`` or ``4,8,16``: call counts, each at least 1."""
    try:
        counts = [int(part) for part in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"« {value} » : des entiers séparés par des virgules"
        ) from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"« {value} » : chaque nombre d'appels est au moins 1")
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="voicebot",
        description="Assistant téléphonique hors ligne pour les administrations.",
    )
    parser.add_argument("--version", action="version", version=f"voicebot {__version__}")
    parser.add_argument(
        "-v", "--verbeux", dest="verbose", action="store_true", help="journal détaillé"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMANDE", parser_class=_Parser)
    commands.required = True

    models = commands.add_parser("models", help="lister, télécharger, vérifier les modèles")
    actions = models.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    actions.add_parser("list", help="modèles du manifeste et leur état")
    pull = actions.add_parser("pull", help="télécharger et installer un modèle")
    pull.add_argument("name", metavar="NOM")
    verify = actions.add_parser("verify", help="revérifier les modèles installés")
    verify.add_argument("name", metavar="NOM", nargs="?")
    path = actions.add_parser("path", help="afficher le dossier d'un modèle installé")
    path.add_argument("name", metavar="NOM")
    install = actions.add_parser("install", help="installer un modèle depuis un fichier local")
    install.add_argument("name", metavar="NOM")
    install.add_argument("files", metavar="FICHIER", nargs="+")

    say = commands.add_parser("say", help="prononcer un texte français dans un fichier WAV")
    say.add_argument("text", metavar="TEXTE")
    say.add_argument("--out", required=True, metavar="FICHIER.wav")
    say.add_argument(
        "--rate",
        type=int,
        default=16000,
        choices=(8000, 16000, 22050),
        help="fréquence de sortie en Hz (16000 par défaut)",
    )
    say.add_argument("--voice", metavar="NOM|CHEMIN", help="voix Piper (nom ou fichier .onnx)")
    say.add_argument("--speed", type=float, default=1.0, help="vitesse, 0.5 à 2 (1 par défaut)")

    transcribe = commands.add_parser("transcribe", help="reconnaître la parole d'un fichier WAV")
    transcribe.add_argument("file", metavar="FICHIER.wav")
    transcribe.add_argument("--model", metavar="NOM|CHEMIN", help="modèle Vosk")
    transcribe.add_argument(
        "--grammar",
        nargs="+",
        metavar="MOT",
        help="limiter le vocabulaire à ces mots ou expressions",
    )
    transcribe.add_argument(
        "--json", action="store_true", help="mots, temps, confiances et alternatives en JSON"
    )
    transcribe.add_argument(
        "--alternatives",
        type=int,
        default=3,
        metavar="N",
        help="nombre d'hypothèses (0 : confiances Vosk par mot)",
    )

    understand = commands.add_parser(
        "understand", help="ce que le robot comprend d'une phrase (JSON sur la sortie)"
    )
    understand.add_argument("text", metavar="TEXTE", nargs="?")
    understand.add_argument("--line", default="mairie", help="ligne : mairie ou rh")
    understand.add_argument(
        "--jsonl",
        metavar="FICHIER",
        help='lot : un objet JSON par ligne ({"line", "text"}), - pour stdin',
    )

    dialog = commands.add_parser(
        "dialog", help="le dialogue du téléphone sur des appels écrits (JSON sur la sortie)"
    )
    dialog.add_argument(
        "--jsonl",
        metavar="FICHIER",
        required=True,
        help='un appel par ligne ({"line", "at", "caller", "turns"}), - pour stdin',
    )

    prompts = commands.add_parser("prompts", help="le contenu du service")
    prompt_actions = prompts.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    prompt_actions.required = True
    prompt_actions.add_parser("check", help="valider tout le contenu de prompts/")

    chat = commands.add_parser("chat", help="converser au clavier avec le robot (même dialogue)")
    chat.add_argument("--line", default="mairie", help="ligne : mairie ou rh")
    chat.add_argument(
        "--at",
        metavar="AAAA-MM-JJTHH:MM",
        help="simuler un appel à ce moment (heure de la mairie), "
        "par exemple pour essayer les heures de fermeture",
    )

    commands.add_parser("doctor", help="ce qui est installé et utilisable, et comment réparer")

    _add_store_commands(commands)

    serve = commands.add_parser("serve", help="démarrer le service")
    serve.add_argument("--host", help="adresse d'écoute (VOICEBOT_HOST)")
    serve.add_argument("--port", type=int, help="port d'écoute (VOICEBOT_PORT)")

    bench = commands.add_parser("bench", help="mesures de performance")
    kinds = bench.add_subparsers(dest="kind", metavar="TYPE", parser_class=_Parser)
    kinds.required = True
    engines = kinds.add_parser("engines", help="facteur temps réel, latence, mémoire des moteurs")
    engines.add_argument(
        "--seconds",
        type=float,
        default=15.0,
        help="durée de la parole de test par flux (15 s par défaut)",
    )
    engines.add_argument(
        "--streams",
        type=int,
        nargs="+",
        default=[1, 2, 4, 8],
        help="nombres de flux simultanés (1 2 4 8 par défaut)",
    )
    engines.add_argument("--model", metavar="NOM|CHEMIN", help="modèle Vosk")
    engines.add_argument("--voice", metavar="NOM|CHEMIN", help="voix Piper")
    calls = kinds.add_parser("calls", help="appels simultanés simulés : latence, CPU, mémoire")
    calls.add_argument(
        "--calls",
        type=_counts,
        default=[10],
        metavar="N[,N…]",
        help="appels simultanés (10) ; plusieurs (4,8,16) : une courbe, contre le même serveur",
    )
    calls.add_argument("--seconds", type=float, default=60.0, help="durée (60 s)")
    calls.add_argument(
        "--url",
        help="serveur existant (ws://hôte:port/media) ; "
        "sinon un serveur est lancé avec les modèles de test",
    )
    calls.add_argument(
        "--max-calls",
        type=int,
        metavar="N",
        help="limite d'appels du serveur lancé (par défaut, celle qu'il mesure au démarrage)",
    )
    calls.add_argument(
        "--baseline-seconds",
        type=float,
        default=30.0,
        help="durée de la référence à un appel, mesurée d'abord (30 s ; 0 : aucune)",
    )
    calls.add_argument(
        "--beam", type=float, help="faisceau du décodeur du serveur lancé (VOICEBOT_ASR_BEAM)"
    )
    calls.add_argument(
        "--max-active",
        type=int,
        help="états actifs au plus du serveur lancé (VOICEBOT_ASR_MAX_ACTIVE)",
    )
    calls.add_argument(
        "--new-calls-per-s",
        type=float,
        metavar="N",
        help="nouveaux appels par seconde au plus du serveur lancé (VOICEBOT_NEW_CALLS_PER_S ; "
        "par défaut, ce qu'il mesure)",
    )
    calls.add_argument("--username", default="asterisk", help="identifiant média")
    calls.add_argument("--password", help="mot de passe média (VOICEBOT_MEDIA_PASSWORD)")
    nlu = kinds.add_parser("nlu", help="exactitude et rapidité de la compréhension")
    nlu.add_argument(
        "--eval",
        metavar="DOSSIER|FICHIER",
        default=None,
        help="jeu d'évaluation JSONL (tests/nlu/eval par défaut)",
    )
    nlu.add_argument(
        "--calibrate",
        action="store_true",
        help="réestimer la calibration des confiances (validation croisée sur le contenu)",
    )
    turns = kinds.add_parser(
        "turns", help="prise de parole sur des lignes dégradées : écho, bruit, interruptions"
    )
    turns.add_argument(
        "--calls-per-condition", type=int, default=3, metavar="N", help="appels par condition (3)"
    )
    turns.add_argument(
        "--conditions",
        metavar="A,B,...",
        help="conditions à mesurer (toutes par défaut : clean, echo-6dB-20ms ... pause)",
    )
    turns.add_argument(
        "--vads", default="silero,energy", metavar="A,B", help="détecteurs (silero,energy)"
    )
    turns.add_argument("--json", action="store_true", help="résultats détaillés en JSON")
    turns.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NOM=VALEUR",
        help="réglage des serveurs mesurés, sans le préfixe VOICEBOT_ (TURN_END_MS=600) ; "
        "répétable",
    )
    turns.add_argument(
        "--quick",
        action="store_true",
        help="mesure rapide pour les essais : accueil abrégé, chaque réponse écoutée 2 s",
    )
    return parser


def _add_store_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    """Base de données, conservation, droits des appelants, comptes de la console."""
    purge = commands.add_parser(
        "purge", help="effacer ce qui dépasse les durées de conservation (et le dire)"
    )
    purge.add_argument(
        "--now",
        metavar="AAAA-MM-JJTHH:MM",
        help="faire comme s'il était ce moment (ISO 8601 ; heure locale sans fuseau)",
    )
    export = commands.add_parser(
        "export", help="tout ce qui est conservé sur un numéro d'appelant (JSON)"
    )
    export.add_argument("--caller", required=True, metavar="NUMÉRO", help="numéro de l'appelant")
    export.add_argument("--output", metavar="FICHIER", help="fichier JSON (sinon la sortie)")
    erase = commands.add_parser("erase", help="effacer tous les appels d'un numéro d'appelant")
    erase.add_argument("--caller", required=True, metavar="NUMÉRO", help="numéro de l'appelant")
    erase.add_argument("--yes", action="store_true", help="confirmer l'effacement")

    users = commands.add_parser("users", help="comptes de la console de supervision")
    user_actions = users.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    user_actions.required = True
    add = user_actions.add_parser(
        "add", help=f"créer un compte (mot de passe : ${PASSWORD_VARIABLE} ou saisi)"
    )
    add.add_argument("username", metavar="IDENTIFIANT")
    add.add_argument("--role", required=True, choices=ROLES, help="agent, supervisor ou admin")
    add.add_argument("--name", metavar="NOM", help="nom affiché (l'identifiant par défaut)")
    user_actions.add_parser("list", help="lister les comptes")
    unlock = user_actions.add_parser(
        "unlock", help="débloquer la connexion d'un compte (après trop d'échecs)"
    )
    unlock.add_argument("username", metavar="IDENTIFIANT")

    database = commands.add_parser("db", help="la base de données")
    db_actions = database.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    db_actions.required = True
    db_actions.add_parser("upgrade", help="appliquer les migrations du schéma")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return _dispatch(args)
    except VoicebotError as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrompu", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dispatch(args: argparse.Namespace) -> int:
    # Imports are local so that `voicebot --help` stays instant.
    if args.command == "models":
        from voicebot.commands import models

        return models.run(args)
    if args.command == "say":
        from voicebot.commands import speech

        return speech.say(args)
    if args.command == "transcribe":
        from voicebot.commands import speech

        return speech.transcribe(args)
    if args.command == "understand":
        from voicebot.commands import nlu

        return nlu.understand(args)
    if args.command == "dialog":
        from voicebot.commands import dialog

        return dialog.run(args)
    if args.command == "prompts":
        from voicebot.commands import nlu

        return nlu.check(args)
    if args.command == "chat":
        from voicebot.commands import chat

        return chat.run(args)
    if args.command == "doctor":
        from voicebot.commands import doctor

        return doctor.run()
    if args.command in ("purge", "export", "erase"):
        from voicebot.commands import privacy

        return {"purge": privacy.purge, "export": privacy.export, "erase": privacy.erase}[
            args.command
        ](args)
    if args.command == "users":
        from voicebot.commands import accounts

        return accounts.run(args)
    if args.command == "db":
        from voicebot.commands import database

        return database.upgrade(args)
    if args.command == "serve":
        from voicebot.server.run import serve

        return serve(host=args.host, port=args.port)
    if args.command == "bench" and args.kind == "calls":
        from voicebot.bench import calls as calls_bench

        return calls_bench.run(args)
    if args.command == "bench" and args.kind == "turns":
        from voicebot.bench import turns as turns_bench

        return turns_bench.run(args)
    if args.command == "bench" and args.kind == "nlu":
        from voicebot.bench import nlu as nlu_bench

        return nlu_bench.run(args)
    if args.command == "bench":
        from voicebot.bench import engines

        return engines.run(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
