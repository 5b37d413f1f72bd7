"""Speech models: the manifest, the installed store, and downloads.

Typical use::

    manifest = load_manifest(settings.manifest)
    store = ModelStore(settings.models_dir, manifest)
    pull(manifest.get("vosk-model-small-fr-0.22"), store)
    model_dir = store.resolve(settings.asr_model, "asr")
"""

from voicebot.models.download import ProgressCallback, PullResult, install_archive, pull
from voicebot.models.manifest import (
    Manifest,
    ModelFile,
    ModelKind,
    ModelSpec,
    load_manifest,
)
from voicebot.models.store import (
    RECORD_FILE,
    ModelStore,
    SourceFile,
    VerifyReport,
    check_model_folder,
    check_piper_voice,
    check_vosk_model_dir,
)

__all__ = [
    "RECORD_FILE",
    "Manifest",
    "ModelFile",
    "ModelKind",
    "ModelSpec",
    "ModelStore",
    "ProgressCallback",
    "PullResult",
    "SourceFile",
    "VerifyReport",
    "check_model_folder",
    "check_piper_voice",
    "check_vosk_model_dir",
    "install_archive",
    "load_manifest",
    "pull",
]
