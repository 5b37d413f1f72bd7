"""Settings: one object, read from ``VOICEBOT_*`` variables (or a ``.env`` file),
validated once at start.

Every value has a strict type; a bad value is a :class:`ConfigError` naming
the variable and what it accepts.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from voicebot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = PROJECT_ROOT / "models" / "manifest.toml"

TtsEngineChoice = Literal["auto", "piper", "espeak"]
LogLevel = Literal["debug", "info", "warning", "error"]


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _default_instance() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """Everything an administration may set, with its default."""

    model_config = SettingsConfigDict(
        env_prefix="VOICEBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    models_dir: Path = Field(
        default=PROJECT_ROOT / "models",
        description="Dossier où `voicebot models pull` installe les modèles.",
    )
    manifest: Path = Field(default=DEFAULT_MANIFEST, description="Manifeste des modèles (TOML).")
    prompts_dir: Path = Field(
        default=PROJECT_ROOT / "prompts",
        description="Contenu du service (intentions, réponses, messages).",
    )
    asr_model: str = Field(
        default="vosk-model-small-fr-0.22",
        description="Modèle Vosk : un nom du manifeste ou le chemin d'un dossier.",
    )
    max_calls: int | None = Field(
        default=None,
        ge=1,
        le=2000,
        description="Appels pris en même temps ; au-delà, l'appel va aux agents (raison "
        "« capacity »). Par défaut, ce que la mesure des coûts au démarrage permet.",
    )
    new_calls_per_s: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="Nouveaux appels pris par seconde au plus ; un appel qui arrive plus vite "
        "attend son tour (la ligne sonne) jusqu'à VOICEBOT_ADMISSION_WAIT_MS. Par défaut, "
        "ce que la mesure des coûts au démarrage permet.",
    )
    admission_wait_ms: int = Field(
        default=3000,
        ge=0,
        le=10000,
        description="Attente au plus d'un appel arrivé plus vite que le rythme d'entrée, la "
        "ligne sonnant, avant de passer aux agents (raison « capacity »).",
    )
    asr_warmup_audio: Path | None = Field(
        default=None,
        description="Fichier WAV de parole comme celle des appelants (des appels enregistrés, "
        "dans leur langue) que chaque nouveau recogniseur décode une fois avant son premier "
        "appel. Par défaut, une phrase dite par la voix du service.",
    )
    asr_beam: float | None = Field(
        default=None,
        ge=1.0,
        le=40.0,
        description="Largeur du faisceau du décodeur (celle du modèle par défaut) : plus "
        "étroite, le décodage coûte moins et se trompe plus (voir « Capacité »).",
    )
    asr_max_active: int | None = Field(
        default=None,
        ge=50,
        le=100000,
        description="États actifs au plus par trame dans le décodeur (ceux du modèle par "
        "défaut) : moins, le décodage coûte moins et se trompe plus.",
    )
    asr_workers: int = Field(default_factory=_default_workers, ge=1, le=256)
    asr_alternatives: int = Field(default=3, ge=0, le=20)
    asr_warm_recognizers: int | None = Field(
        default=None,
        ge=0,
        le=2000,
        description="Recogniseurs prêts d'avance. Par défaut, autant que d'appels admis "
        "(les 12 premiers avant la mesure des coûts, les autres ensuite, sans passer devant "
        "les appels).",
    )
    tts_engine: TtsEngineChoice = "auto"
    tts_voice: str = Field(
        default="fr_FR-siwis-medium",
        description="Voix Piper : un nom du manifeste ou le chemin d'un fichier .onnx.",
    )
    tts_phonemizer_voice: str | None = Field(
        default=None,
        description="Voix espeak-ng utilisée par Piper pour phonétiser (ex. « fr »); "
        "par défaut celle de la voix.",
    )
    tts_workers: int = Field(default=1, ge=1, le=64)
    tts_threads: int = Field(default=1, ge=1, le=64)
    espeak_voice: str = "fr"
    media_username: str = Field(
        default="asterisk", description="Identifiant HTTP Basic qu'Asterisk présente (media)."
    )
    media_password: SecretStr | None = Field(
        default=None,
        description="Mot de passe HTTP Basic d'Asterisk ; sans lui, aucun appel n'est accepté.",
    )
    media_start_timeout_ms: int = Field(
        default=5000,
        ge=500,
        le=10000,
        description="Délai après la connexion pour MEDIA_START (WebSocket) ou l'UUID "
        "(AudioSocket) ; au-delà, la connexion est fermée.",
    )
    media_idle_timeout_s: int = Field(
        default=120,
        ge=30,
        le=3600,
        description="Appel fermé (et transféré) quand Asterisk n'envoie plus rien pendant ce "
        "délai ; sans RTP de l'appelant, Asterisk n'envoie aucune trame.",
    )
    default_line: str = Field(default="mairie", description="Ligne quand l'appel n'en nomme pas.")
    listen_timeout_ms: int = Field(
        default=7000,
        ge=1000,
        le=60000,
        description="Attente de la parole de l'appelant, une fois le message dit, "
        "avant une relance.",
    )
    max_call_s: int = Field(default=900, ge=30, le=7200)
    vad: Literal["silero", "energy"] = Field(
        default="silero",
        description="Détection de la parole : « silero » (réseau entraîné) ou « energy » (niveau).",
    )
    vad_model: Path | None = Field(
        default=None,
        description="Fichier silero_vad.onnx ; par défaut celui du paquet silero-vad.",
    )
    turn_confirm_ms: int = Field(
        default=180,
        ge=40,
        le=1000,
        description="Parole soutenue qui interrompt un message (une toux ne l'interrompt pas).",
    )
    turn_end_short_ms: int = Field(
        default=200,
        ge=100,
        le=2000,
        description="Silence qui termine le tour quand la demande entendue est complète "
        "(la détection de parole y ajoute environ 70 ms).",
    )
    turn_end_ms: int = Field(
        default=800, ge=200, le=3000, description="Silence qui termine un tour ordinaire."
    )
    turn_end_long_ms: int = Field(
        default=1200,
        ge=300,
        le=5000,
        description="Silence qui termine un tour resté en suspens (« euh », « c'est pour le », "
        "chiffres en cours).",
    )
    notice_protect_ms: int = Field(
        default=1000,
        ge=0,
        le=10000,
        description="Début de l'accueil (avec la mention d'information) que la voix de "
        "l'appelant n'interrompt pas ; une touche l'interrompt toujours.",
    )
    audiosocket_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port TCP AudioSocket (Asterisk antérieur à 22.6) ; aucun par défaut.",
    )
    audiosocket_rate_hz: int = Field(
        default=8000, description="Fréquence de l'audio AudioSocket : 8000 ou 16000 Hz."
    )
    ari_url: str | None = Field(
        default=None,
        description="ARI d'Asterisk (http://127.0.0.1:8088/ari) ; sans lui, mode Dial() simple.",
    )
    ari_username: str = "voicebot"
    ari_password: SecretStr | None = None
    ari_app: str = Field(default="voicebot", description="Nom de l'application Stasis.")
    ari_media_connection: str = Field(
        default="voicebot", description="Connexion de websocket_client.conf vers /media."
    )
    ari_media_format: Literal["slin16", "slin", "ulaw", "alaw"] = "slin16"
    handoff_context: str = Field(
        default="handoff", description="Contexte du plan de numérotation qui mène aux agents."
    )
    ari_overflow_context: str | None = Field(
        default=None,
        description="Avec plusieurs instances : contexte où va un appel que cette instance, "
        "complète, ne prend pas (il essaie l'instance suivante) ; par défaut, les agents.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: LogLevel = "info"
    api_docs: bool = Field(
        default=False,
        description="Documentation de l'API (/docs, /redoc, /openapi.json) ; fermée par défaut.",
    )
    database_url: str | None = Field(
        default=None,
        description="Base de données : sqlite:///chemin ou postgresql+psycopg://… ; "
        "par défaut var/voicebot.db (SQLite).",
    )
    retention_content_days: int = Field(
        default=183,
        ge=1,
        le=3650,
        description="Durée de conservation du contenu des appels (transcriptions, contexte).",
    )
    retention_stats_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="Durée de conservation des appels comme statistiques anonymes.",
    )
    purge_interval_s: int = Field(default=3600, ge=60, le=86400)
    instance_id: str = Field(
        default_factory=_default_instance,
        description="Nom de cette instance dans la base partagée (hôte-pid par défaut).",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("doit commencer par sqlite:/// ou postgresql+psycopg://")
        return value

    @field_validator("audiosocket_rate_hz")
    @classmethod
    def _telephone_rate(cls, value: int) -> int:
        # Not a Literal[8000, 16000]: a variable is a string, which an int Literal refuses.
        if value not in (8000, 16000):
            raise ValueError("doit valoir 8000 ou 16000")
        return value

    @field_validator("asr_model", "tts_voice", "espeak_voice", "instance_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("ne doit pas être vide")
        return value.strip()


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise :class:`ConfigError` on a bad value."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "?"
            variable = f"VOICEBOT_{field.upper()}"
            problems.append(f"{variable}: {error['msg']} (valeur reçue : {error.get('input')!r})")
        raise ConfigError(
            "Réglage invalide : " + " ; ".join(problems),
            hint="corrigez la variable d'environnement ou le fichier .env puis relancez",
        ) from None
