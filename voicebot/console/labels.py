"""What supervisors read: outcomes, hand-over reasons, roles and audit actions in plain French."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from voicebot.content.model import Content

CONFORMITY = "non conforme"
"""RGAA status shown in every footer: without a full audit it is "non conforme"."""
OUTCOMES = {
    "resolved": "Résolu par le robot",
    "handed_over": "Transféré à un agent",
    "abandoned": "Raccroché par l'appelant",
    "closed": "Hors des heures d'ouverture",
    "failed": "Échec technique",
    "interrupted": "Interrompu (arrêt du service)",
    "unknown": "Inconnue",
}
REASONS = {
    "caller_request": "L'appelant a demandé un conseiller",
    "keypad_0": "L'appelant a appuyé sur la touche 0",
    "not_understood": "Le robot n'a pas compris la demande (trois essais)",
    "slot_not_understood": "Une information demandée n'a pas été comprise",
    "no_input": "L'appelant ne répondait plus (silences)",
    "too_long": "Échange trop long sans solution",
    "no_answer": "Aucune réponse prévue pour cette demande",
    "error": "Incident technique pendant l'appel",
    "unknown": "Motif inconnu",
}
ROLES = {"agent": "Agent", "supervisor": "Superviseur", "admin": "Administrateur"}
STATUSES = {"waiting": "En attente", "claimed": "Pris en charge", "handled": "Traité"}
SPEAKERS = {"caller": "Appelant", "bot": "Robot"}
TRANSPORTS = {"websocket": "WebSocket", "audiosocket": "AudioSocket", "ari": "ARI"}
AUDIT_ACTIONS = {
    "login": "Connexion",
    "login_failed": "Échec de connexion",
    "login_limited": "Connexion refusée (trop d'échecs)",
    "login_locked": "Connexion bloquée (trop d'échecs)",
    "login_unlocked": "Connexion débloquée",
    "logout": "Déconnexion",
    "claim": "Appel pris en charge",
    "handled": "Appel marqué traité",
    "user_created": "Compte créé",
    "role_changed": "Rôle modifié",
    "user_deactivated": "Compte désactivé",
    "user_activated": "Compte réactivé",
    "password_reset": "Mot de passe réinitialisé",
    "caller_exported": "Données d'un numéro exportées",
    "caller_erased": "Données d'un numéro effacées",
    "example_added": "Exemple ajouté à une intention",
}


def outcome_label(outcome: str | None) -> str:
    if outcome is None:
        return "En cours"
    return OUTCOMES.get(outcome, outcome)


def reason_label(reason: str | None) -> str:
    if not reason:
        return "—"
    return REASONS.get(reason, reason.replace("_", " "))


def duration_label(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: how long, for a person."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def percent_label(rate: float) -> str:
    return f"{rate * 100:.1f} %".replace(".", ",")


class Labels:
    """Names from the content (lines, intents, slots) and times in the service's zone."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.zone = ZoneInfo(content.service.timezone)

    def line(self, line_id: str | None) -> str:
        if line_id is None:
            return "—"
        line = self.content.lines.get(line_id)
        return line.name if line is not None else line_id

    def intent(self, line_id: str | None, intent_id: str | None) -> str:
        if not intent_id:
            return "—"
        line = self.content.lines.get(line_id or "")
        intent = line.intents.get(intent_id) if line is not None else None
        if intent is None or not intent.label:
            return intent_id.replace("_", " ")
        return intent.label

    def slot_name(self, line_id: str | None, name: str) -> str:
        return name.replace("_", " ").capitalize()

    def slot_value(self, line_id: str | None, name: str, value: str) -> str:
        line = self.content.lines.get(line_id or "")
        slot = line.slots.get(name) if line is not None else None
        return slot.label_of(value) if slot is not None else value

    def local(self, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        return moment.astimezone(self.zone)

    def when(self, moment: datetime | None) -> str:
        local = self.local(moment)
        return local.strftime("%d/%m/%Y à %H:%M:%S") if local is not None else "—"

    def clock(self, moment: datetime | None) -> str:
        local = self.local(moment)
        return local.strftime("%H:%M:%S") if local is not None else "—"

    def elapsed(self, start: datetime | None, end: datetime | None) -> str:
        if start is None or end is None:
            return "—"
        return duration_label((end - start) / timedelta(seconds=1))
