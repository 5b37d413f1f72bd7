"""`voicebot users add|list|unlock`: console accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from voicebot.commands.database import opened_store
from voicebot.errors import StoreError, UsageError
from voicebot.store.accounts import normalise_username

PASSWORD_VARIABLE = "VOICEBOT_NEW_PASSWORD"
ROLE_NAMES = {"agent": "agent", "supervisor": "superviseur", "admin": "administrateur"}


def read_password(username: str) -> str:
    """From VOICEBOT_NEW_PASSWORD, else typed twice (not echoed)."""
    given = os.environ.get(PASSWORD_VARIABLE)
    if given:
        return given
    if not sys.stdin.isatty():
        raise UsageError(
            "aucun terminal pour saisir le mot de passe",
            hint=f"donnez-le par la variable {PASSWORD_VARIABLE}, ou lancez la commande "
            "dans un terminal",
        )
    try:
        first = getpass.getpass(f"Mot de passe de {username} (12 caractères au moins) : ")
        second = getpass.getpass("Le même, une seconde fois : ")
    except EOFError:
        raise UsageError(
            "aucun mot de passe saisi",
            hint=f"tapez-le dans un terminal, ou donnez-le par la variable {PASSWORD_VARIABLE}",
        ) from None
    if first != second:
        raise UsageError("les deux saisies diffèrent", hint="relancez la commande")
    return first


def run(args: argparse.Namespace) -> int:
    if args.action == "add":
        return add(args)
    if args.action == "unlock":
        return unlock(args.username)
    return list_users()


def add(args: argparse.Namespace) -> int:
    password = read_password(args.username)
    with opened_store() as store:
        user = store.create_user(args.username, password, args.role, args.name)
        store.audit(None, "user_created", user.username, {"role": user.role})
    print(f"Compte créé : {user.username} ({user.display_name}), {ROLE_NAMES[user.role]}.")
    return 0


def list_users() -> int:
    with opened_store() as store:
        users = store.users()
        store.audit(None, "users_listed", "", {"count": len(users)})
    if not users:
        print("Aucun compte. Créez-en un : voicebot users add NOM --role admin")
        return 0
    width = max(len(u.username) for u in users)
    for user in users:
        state = "actif" if user.active else "désactivé"
        print(
            f"{user.id:>4}  {user.username:<{width}}  {ROLE_NAMES[user.role]:<14}  "
            f"{state:<9}  {user.display_name}"
        )
    return 0


def unlock(username: str) -> int:
    """Lift the sign-in locks of an account (its recent failures are cleared), audited."""
    username = normalise_username(username)
    with opened_store() as store:
        if username not in {u.username for u in store.users()}:
            raise StoreError(
                f"Compte inconnu : {username}",
                hint="vérifiez l'identifiant avec : voicebot users list",
            )
        cleared = store.unlock_logins(username)
        store.audit(None, "login_unlocked", username, {"failures_cleared": cleared})
    if cleared:
        print(f"Connexion débloquée : {username} ({cleared} échec(s) récent(s) effacé(s)).")
    else:
        print(f"Aucun blocage en cours pour {username} ; rien à débloquer.")
    return 0
