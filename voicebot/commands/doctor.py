"""`voicebot doctor`: what is installed and usable, each problem with its fix."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from voicebot.audio.vad import SileroModel
from voicebot.config import Settings, load_settings
from voicebot.errors import VoicebotError
from voicebot.models import ModelStore, load_manifest
from voicebot.tts.espeak import espeak_binary


@dataclass(frozen=True)
class Check:
    ok: bool
    label: str
    detail: str = ""
    fix: str = ""
    blocking: bool = True


def run() -> int:
    checks = list(collect())
    for check in checks:
        mark = "ok " if check.ok else ("ERR" if check.blocking else "!! ")
        line = f"[{mark}] {check.label}"
        if check.detail:
            line += f" : {check.detail}"
        print(line)
        if not check.ok and check.fix:
            print(f"       → {check.fix}")
    failed = [c for c in checks if not c.ok and c.blocking]
    warned = [c for c in checks if not c.ok and not c.blocking]
    print()
    if failed:
        print(f"{len(failed)} problème(s) bloquant(s), {len(warned)} avertissement(s).")
        return 1
    print("Le service peut démarrer" + (f" ({len(warned)} avertissement(s))." if warned else "."))
    return 0


def collect() -> list[Check]:
    try:
        settings = load_settings()
    except VoicebotError as exc:
        return [Check(False, "réglages", exc.message, exc.hint or "")]
    checks = [Check(True, "réglages", "valides")]
    checks.append(_espeak())
    try:
        store = ModelStore(settings.models_dir, load_manifest(settings.manifest))
    except VoicebotError as exc:
        checks.append(Check(False, "manifeste des modèles", exc.message, exc.hint or ""))
        return checks
    checks.append(Check(True, "manifeste des modèles", str(settings.manifest)))
    checks.extend(_installed_models(store))
    checks.extend(_configured_engines(settings, store))
    checks.append(_voice_detector(settings))
    from voicebot.commands.doctor_service import service_checks  # after Check exists

    checks.extend(service_checks(settings))
    return checks


def _voice_detector(settings: Settings) -> Check:
    label = "détection de la parole (VOICEBOT_VAD)"
    if settings.vad == "energy":
        return Check(True, label, "par niveau (energy), choisie dans les réglages")
    try:
        model = SileroModel.load(settings.vad_model)
    except VoicebotError as exc:
        detail = f"{exc.message} — la détection par niveau servira (moins sûre si bruit)"
        return Check(False, label, detail, exc.hint or "", blocking=False)
    return Check(True, label, f"Silero VAD, {model.path}")


def _espeak() -> Check:
    binary = espeak_binary()
    if binary is None:
        return Check(False, "espeak-ng", "introuvable", "apt-get install espeak-ng")
    voices = subprocess.run([binary, "--voices=fr"], capture_output=True, text=True, check=False)
    if " fr" not in voices.stdout:
        return Check(False, "espeak-ng", "pas de voix française", "apt-get install espeak-ng-data")
    return Check(True, "espeak-ng", f"{binary}, voix française présente (synthèse de secours)")


def _installed_models(store: ModelStore) -> list[Check]:
    checks = []
    for name in store.manifest.names():
        if not store.is_installed(name):
            continue
        report = store.verify(name)
        if report.ok:
            checks.append(
                Check(
                    True,
                    f"modèle {name}",
                    f"{report.files_checked} fichiers, sommes SHA-256 conformes",
                )
            )
        else:
            checks.append(
                Check(
                    False,
                    f"modèle {name}",
                    "; ".join(report.problems),
                    f"réinstallez-le : voicebot models pull {name}",
                )
            )
    return checks


def _configured_engines(settings: Settings, store: ModelStore) -> list[Check]:
    checks = []
    try:
        path = store.resolve(settings.asr_model, "asr")
        checks.append(Check(True, "reconnaissance vocale (VOICEBOT_ASR_MODEL)", str(path)))
    except VoicebotError as exc:
        checks.append(
            Check(
                False,
                "reconnaissance vocale (VOICEBOT_ASR_MODEL)",
                f"{exc.message} — le service démarrera en mode clavier seul (touches DTMF)",
                exc.hint or f"voicebot models pull {settings.asr_model}",
                blocking=False,
            )
        )
    if settings.tts_engine == "espeak":
        checks.append(Check(True, "synthèse vocale", "espeak-ng (VOICEBOT_TTS_ENGINE=espeak)"))
        return checks
    try:
        onnx = store.resolve(settings.tts_voice, "tts")
        checks.append(Check(True, "synthèse vocale (VOICEBOT_TTS_VOICE)", f"Piper, {onnx}"))
    except VoicebotError as exc:
        blocking = settings.tts_engine == "piper"
        detail = exc.message if blocking else f"{exc.message} — espeak-ng sera utilisé"
        checks.append(
            Check(
                False,
                "synthèse vocale (VOICEBOT_TTS_VOICE)",
                detail,
                exc.hint or f"voicebot models pull {settings.tts_voice}",
                blocking=blocking,
            )
        )
    return checks


if __name__ == "__main__":
    sys.exit(run())
