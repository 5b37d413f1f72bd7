"""`voicebot doctor`, the service's side: calls accepted, Asterisk's ARI, the database."""

from __future__ import annotations

import re

import httpx

from voicebot.commands.doctor import Check
from voicebot.config import Settings
from voicebot.errors import VoicebotError
from voicebot.store import Store

CHAN_WEBSOCKET_SINCE = (22, 6)


def media_credentials(settings: Settings) -> Check:
    label = "appels entrants (VOICEBOT_MEDIA_PASSWORD)"
    if settings.media_password is None:
        return Check(
            False,
            label,
            "aucun mot de passe : Asterisk sera refusé et ses appels iront aux agents",
            "choisissez un mot de passe, le même dans websocket_client.conf "
            "(voir telephony/README.md)",
            blocking=False,
        )
    return Check(True, label, f"identifiant « {settings.media_username} »")


def asterisk_version(text: str) -> tuple[int, int] | None:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def ari(settings: Settings, timeout_s: float = 3.0) -> Check:
    """Reach ARI with the configured account, and say whether Asterisk has chan_websocket."""
    label = "Asterisk (VOICEBOT_ARI_URL)"
    if settings.ari_url is None:
        return Check(
            True, label, "non configuré : mode Dial() simple ou AudioSocket", blocking=False
        )
    if settings.ari_password is None:
        return Check(False, label, "VOICEBOT_ARI_PASSWORD manquant", "le mot de passe d'ari.conf")
    url = f"{settings.ari_url.rstrip('/')}/asterisk/info"
    auth = (settings.ari_username, settings.ari_password.get_secret_value())
    try:
        response = httpx.get(url, auth=auth, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return Check(
            False,
            label,
            f"{settings.ari_url} injoignable ({exc.__class__.__name__})",
            "Asterisk tourne-t-il ? http.conf : enabled = yes, bindaddr, bindport",
        )
    if response.status_code == 401:
        return Check(
            False,
            label,
            f"identifiants refusés pour « {settings.ari_username} »",
            "VOICEBOT_ARI_USERNAME / VOICEBOT_ARI_PASSWORD doivent correspondre à ari.conf",
        )
    if response.status_code != 200:
        return Check(
            False, label, f"réponse {response.status_code}", "ari.conf : [general] enabled = yes"
        )
    raw = str(response.json().get("system", {}).get("version", "?"))
    version = asterisk_version(raw)
    if version is not None and version < CHAN_WEBSOCKET_SINCE:
        return Check(
            False,
            label,
            f"Asterisk {raw} : chan_websocket arrive avec 22.6",
            "mettez Asterisk à jour, ou utilisez AudioSocket (VOICEBOT_AUDIOSOCKET_PORT)",
        )
    return Check(True, label, f"Asterisk {raw}, application Stasis « {settings.ari_app} »")


def database(settings: Settings) -> list[Check]:
    """Open the store (which applies the migrations) and look for an administrator."""
    label = "base de données (VOICEBOT_DATABASE_URL)"
    try:
        store = Store.open(settings.database_url)
    except VoicebotError as exc:
        return [Check(False, label, exc.message, exc.hint or "")]
    try:
        admins = [u for u in store.users() if u.role == "admin" and u.active]
    finally:
        store.close()
    shown = settings.database_url or "SQLite, var/voicebot.db"
    checks = [Check(True, label, shown.split("@")[-1])]
    if not admins:
        checks.append(
            Check(
                False,
                "console de supervision",
                "aucun compte administrateur",
                "VOICEBOT_NEW_PASSWORD=… voicebot users add NOM --role admin",
                blocking=False,
            )
        )
    else:
        checks.append(Check(True, "console de supervision", f"{len(admins)} administrateur(s)"))
    return checks


def service_checks(settings: Settings) -> list[Check]:
    return [media_credentials(settings), ari(settings), *database(settings)]
