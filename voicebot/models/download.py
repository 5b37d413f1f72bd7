"""Download, verify and install models: ``voicebot models pull`` / ``install``.

A pull goes through three steps, each of which can fail without harming an
existing install:

1. download every file of the model into ``models_dir/.partial/<file>.part``,
   resuming a previous partial file with an HTTP ``Range`` request;
2. check its size and sha256 against the manifest (an unpinned sha256 is
   computed, returned and recorded, and checked by ``verify`` from then on);
3. unpack into a temporary folder beside the destination, check it is a usable
   model, write the install record, and only then move it into place.

:func:`install_archive` does steps 2 and 3 with files the user brought by hand,
for machines without Internet access.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import tarfile
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

import httpx

from voicebot import __version__
from voicebot.errors import DownloadError, ModelError, UsageError
from voicebot.models.manifest import ModelFile, ModelSpec
from voicebot.models.store import (
    ModelStore,
    SourceFile,
    check_model_folder,
    sha256_file,
    write_install_record,
)

ProgressCallback = Callable[[int, int | None], None]

_COPY_BUFFER = 1024 * 1024
_CONTENT_RANGE_RE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_IGNORED_ARCHIVE_DIRS = ("__MACOSX",)


@dataclass(frozen=True, slots=True)
class PullResult:
    """What :func:`pull` or :func:`install_archive` installed."""

    name: str
    path: Path
    files: list[SourceFile]
    bytes_downloaded: int
    resumed: bool

    @property
    def pinned(self) -> bool:
        """True when every sha256 was pinned by the manifest (nothing to report)."""
        return all(source.pinned for source in self.files)


# --------------------------------------------------------------------------- public API


def pull(
    spec: ModelSpec,
    store: ModelStore,
    *,
    progress: ProgressCallback | None = None,
    timeout_s: float = 30.0,
    retries: int = 3,
) -> PullResult:
    """Download, verify and install ``spec`` into ``store``.

    ``progress(done_bytes, total_bytes)`` is called as bytes arrive, over all
    the files of the model; ``total_bytes`` is ``None`` while a size is unknown.
    A connection dropped mid-way is resumed up to ``retries`` times. An existing
    install is replaced only once the new one is complete and checked.
    """
    if timeout_s <= 0:
        raise UsageError(f"délai réseau invalide : {timeout_s} s", hint="donnez un délai positif")
    if retries < 0:
        raise UsageError(f"nombre de reprises invalide : {retries}", hint="donnez 0 ou plus")
    destination = store.install_dir(spec.name)
    with _model_lock(store, spec.name):
        fetcher = _Fetcher(spec, progress, timeout_s, retries)
        parts = [store.partial_dir / f"{file.name}.part" for file in spec.files]
        fetcher.check_disk_space(parts, store.partial_dir)
        sources: list[SourceFile] = []
        with fetcher.client() as client:
            for index, (file, part) in enumerate(zip(spec.files, parts, strict=True)):
                fetcher.fetch(client, index, file, part)
                sources.append(_verify_payload(spec, file, part, delete_on_failure=True))
        try:
            _install(spec, store, parts, sources, origin="pull", move=True)
        finally:
            # Installed, or not a usable model: either way, not worth resuming.
            for part in parts:
                part.unlink(missing_ok=True)
    return PullResult(
        name=spec.name,
        path=destination,
        files=sources,
        bytes_downloaded=fetcher.bytes_downloaded,
        resumed=fetcher.resumed,
    )


def install_archive(
    spec: ModelSpec,
    store: ModelStore,
    archive_path_or_paths: Path | Sequence[Path],
) -> PullResult:
    """Install ``spec`` from files downloaded by hand (no network).

    For an archive model, give the archive; for a plain-files model (Piper),
    give its files (in any order) or the folder holding them. The files are
    verified like a download (size and pinned sha256) and never modified.
    """
    given = (
        [archive_path_or_paths]
        if isinstance(archive_path_or_paths, str | os.PathLike)
        else list(archive_path_or_paths)
    )
    payloads = _match_local_files(spec, [Path(path).expanduser() for path in given])
    sources = [
        _verify_payload(spec, file, path, delete_on_failure=False)
        for file, path in zip(spec.files, payloads, strict=True)
    ]
    with _model_lock(store, spec.name):
        path = _install(spec, store, payloads, sources, origin="install", move=False)
    return PullResult(name=spec.name, path=path, files=sources, bytes_downloaded=0, resumed=False)


# --------------------------------------------------------------------------- download


class _Interrupted(Exception):
    """A transfer broke after it started; the partial file is kept for a resume."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Fetcher:
    """Downloads the files of one model, keeping count of the progress."""

    def __init__(
        self,
        spec: ModelSpec,
        progress: ProgressCallback | None,
        timeout_s: float,
        retries: int,
    ) -> None:
        self.spec = spec
        self.progress = progress
        self.timeout_s = timeout_s
        self.retries = retries
        self.sizes: list[int | None] = [file.size_bytes for file in spec.files]
        self.done_before = 0  # bytes of the files already fetched
        self.bytes_downloaded = 0
        self.resumed = False

    def client(self) -> httpx.Client:
        return httpx.Client(
            follow_redirects=True,
            timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0)),
            # Compressed transfers would make byte ranges meaningless.
            headers={"Accept-Encoding": "identity", "User-Agent": f"voicebot/{__version__}"},
        )

    def check_disk_space(self, parts: list[Path], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if any(size is None for size in self.sizes):
            return
        needed = sum(
            max(0, (size or 0) - (part.stat().st_size if part.exists() else 0))
            for size, part in zip(self.sizes, parts, strict=True)
        )
        free = shutil.disk_usage(folder).free
        if needed > free:
            raise DownloadError(
                f"espace disque insuffisant dans {folder} : {needed // 2**20} Mo à télécharger, "
                f"{free // 2**20} Mo libres",
                hint="libérez de la place ou choisissez un autre dossier (VOICEBOT_MODELS_DIR)",
            )

    def report(self, current: int) -> None:
        if self.progress is None:
            return
        known = [size for size in self.sizes if size is not None]
        total = sum(known) if len(known) == len(self.sizes) else None
        self.progress(self.done_before + current, total)

    def fetch(self, client: httpx.Client, index: int, file: ModelFile, part: Path) -> None:
        """Bring ``part`` to the complete content of ``file.url``."""
        attempts = 0
        while True:
            have = part.stat().st_size if part.exists() else 0
            expected = file.size_bytes
            if expected is not None and have > expected:
                part.unlink()
                have = 0
            if expected is not None and have == expected:
                self.report(have)  # already complete: nothing to ask the server
                break
            try:
                self._transfer(client, index, file, part, have)
                break
            except _Interrupted as exc:
                attempts += 1
                if attempts > self.retries:
                    received = part.stat().st_size if part.exists() else 0
                    raise DownloadError(
                        f"téléchargement interrompu : {file.url} ({exc.reason}) "
                        f"après {received} octets",
                        hint=f"le fichier partiel est conservé : relancez `voicebot models pull "
                        f"{self.spec.name}` pour reprendre là où il s'est arrêté",
                    ) from None
        self.done_before += part.stat().st_size

    def _transfer(
        self, client: httpx.Client, index: int, file: ModelFile, part: Path, have: int
    ) -> None:
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with client.stream("GET", file.url, headers=headers) as response:
                restart = self._receive(response, index, file, part, have)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _unreachable(self.spec, file, exc) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Interrupted(_describe_network_error(exc)) from None
        except httpx.HTTPError as exc:
            raise DownloadError(
                f"téléchargement impossible : {file.url} ({exc})",
                hint="vérifiez l'URL dans le manifeste (VOICEBOT_MANIFEST) ou installez le modèle "
                f"à la main : `voicebot models install {self.spec.name} FICHIER`",
            ) from None
        if restart:
            part.unlink(missing_ok=True)
            self._transfer(client, index, file, part, 0)

    def _receive(
        self, response: httpx.Response, index: int, file: ModelFile, part: Path, have: int
    ) -> bool:
        """Write the body of ``response`` to ``part``; return True to restart from zero."""
        status = response.status_code
        content_range = _parse_content_range(response.headers.get("content-range"))
        if have and status == 416:
            remote_size = content_range[2] if content_range else None
            if have in (remote_size, file.size_bytes):
                self.sizes[index] = have
                self.report(have)
                return False  # the partial file was already complete
            return True  # the partial file does not fit the remote one
        if have and status == 206:
            if content_range is None or content_range[0] != have:
                return True
            mode = "ab"
            self.resumed = True
            remote_total = content_range[2]
        elif status == 200:
            mode, have = "wb", 0
            length = response.headers.get("content-length")
            remote_total = int(length) if length and length.isdigit() else None
        else:
            raise _http_error(self.spec, file, response)
        if self.sizes[index] is None:
            self.sizes[index] = remote_total
        try:
            with part.open(mode) as out:
                self.report(have)
                # No re-chunking: every byte received is on disk if the link drops.
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    have += len(chunk)
                    self.bytes_downloaded += len(chunk)
                    self.report(have)
        except OSError as exc:
            raise DownloadError(
                f"écriture impossible dans {part} : {exc.strerror or exc}",
                hint="vérifiez l'espace disque et les droits du dossier des modèles "
                "(VOICEBOT_MODELS_DIR)",
            ) from None
        return False


def _parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    match = _CONTENT_RANGE_RE.fullmatch(value.strip()) if value else None
    if value and match is None and value.strip().startswith("bytes */"):
        total = value.strip().removeprefix("bytes */")
        return (0, 0, int(total)) if total.isdigit() else None
    if match is None:
        return None
    total = match.group(3)
    return int(match.group(1)), int(match.group(2)), int(total) if total.isdigit() else None


def _manual_install_hint(spec: ModelSpec) -> str:
    if spec.archive:
        return (
            f"sans accès à Internet, téléchargez {spec.files[0].url} sur un autre poste, "
            f"copiez le fichier ici puis lancez `voicebot models install {spec.name} FICHIER` ; "
            "ou décompressez l'archive vous-même et indiquez son dossier dans "
            + ("VOICEBOT_ASR_MODEL" if spec.kind == "asr" else "VOICEBOT_TTS_VOICE")
        )
    urls = " et ".join(file.url for file in spec.files)
    names = " ".join(file.name for file in spec.files)
    return (
        f"sans accès à Internet, téléchargez {urls} sur un autre poste, copiez les fichiers ici "
        f"puis lancez `voicebot models install {spec.name} {names}` ; ou placez-les dans un "
        "même dossier et indiquez le fichier .onnx dans "
        + ("VOICEBOT_ASR_MODEL" if spec.kind == "asr" else "VOICEBOT_TTS_VOICE")
    )


def _describe_network_error(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    errnos = {getattr(exc, "errno", None), getattr(cause, "errno", None)}
    lowered = text.lower()
    if isinstance(exc, httpx.TimeoutException):
        return f"délai dépassé : {text}"
    if errno.ECONNREFUSED in errnos or "refused" in lowered:
        return f"connexion refusée : {text}"
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("temporary failure in name resolution" in lowered)
    ):
        return f"nom de serveur introuvable (pas de DNS ?) : {text}"
    if "network is unreachable" in lowered or errno.ENETUNREACH in errnos:
        return f"réseau inaccessible : {text}"
    return text


def _unreachable(spec: ModelSpec, file: ModelFile, exc: httpx.HTTPError) -> DownloadError:
    return DownloadError(
        f"téléchargement impossible : {file.url} injoignable ({_describe_network_error(exc)})",
        hint=_manual_install_hint(spec),
    )


def _http_error(spec: ModelSpec, file: ModelFile, response: httpx.Response) -> DownloadError:
    status = response.status_code
    if status in (404, 410):
        hint = (
            "le fichier n'existe pas ou plus à cette adresse : corrigez l'URL du manifeste "
            f"(VOICEBOT_MANIFEST) ou {_manual_install_hint(spec)}"
        )
    elif status in (401, 403, 407):
        hint = "accès refusé (proxy ou pare-feu ?) : " + _manual_install_hint(spec)
    elif status == 429 or status >= 500:
        hint = "le serveur est indisponible pour l'instant : réessayez plus tard ; " + (
            _manual_install_hint(spec)
        )
    else:
        hint = _manual_install_hint(spec)
    return DownloadError(
        f"téléchargement refusé : le serveur a répondu {status} "
        f"{response.reason_phrase} pour {file.url}",
        hint=hint,
    )


# --------------------------------------------------------------------------- verification


def _verify_payload(
    spec: ModelSpec, file: ModelFile, path: Path, *, delete_on_failure: bool
) -> SourceFile:
    """Check the size and sha256 of a downloaded or hand-brought file."""
    size = path.stat().st_size
    if file.size_bytes is not None and size != file.size_bytes:
        if delete_on_failure:
            path.unlink(missing_ok=True)
        raise DownloadError(
            f"fichier tronqué ou inattendu : {file.name} fait {size} octets, "
            f"{file.size_bytes} attendus ({file.url})",
            hint=_retry_hint(spec, delete_on_failure),
        )
    digest = sha256_file(path)
    if file.sha256 is not None and digest != file.sha256:
        if delete_on_failure:
            path.unlink(missing_ok=True)
        raise DownloadError(
            f"fichier corrompu ou tronqué : {file.name} ({size} octets) a pour sha256 {digest}, "
            f"{file.sha256} attendu ({file.url})",
            hint=_retry_hint(spec, delete_on_failure),
        )
    return SourceFile(url=file.url, sha256=digest, pinned=file.sha256 is not None)


def _retry_hint(spec: ModelSpec, downloaded: bool) -> str:
    if downloaded:
        return (
            f"le fichier reçu a été supprimé : relancez `voicebot models pull {spec.name}` ; "
            "si l'erreur persiste, le fichier a changé à la source ou le manifeste est faux"
        )
    return (
        "ce n'est pas le fichier attendu par le manifeste (téléchargement incomplet ou autre "
        f"version) : téléchargez-le de nouveau depuis {spec.files[0].url}"
    )


def _match_local_files(spec: ModelSpec, given: list[Path]) -> list[Path]:
    """Map hand-brought files onto the files of ``spec`` (in manifest order)."""
    if not given:
        raise UsageError(
            f"aucun fichier donné pour installer {spec.name}",
            hint=f"`voicebot models install {spec.name} FICHIER`",
        )
    for path in given:
        if not path.exists():
            raise UsageError(
                f"fichier introuvable : {path}", hint="vérifiez le chemin du fichier téléchargé"
            )
    if spec.archive:
        if len(given) != 1 or not given[0].is_file():
            what = "un dossier" if given[0].is_dir() else f"{len(given)} chemins"
            raise UsageError(
                f"{spec.name} s'installe à partir de son archive {spec.archive} "
                f"({spec.files[0].name}), pas de {what}",
                hint="donnez le fichier d'archive téléchargé ; pour utiliser un dossier déjà "
                "décompressé, indiquez-le directement dans "
                + ("VOICEBOT_ASR_MODEL" if spec.kind == "asr" else "VOICEBOT_TTS_VOICE"),
            )
        return given
    if len(given) == 1 and given[0].is_dir():
        by_name = {file.name: given[0] / file.name for file in spec.files}
        missing = [name for name, path in by_name.items() if not path.is_file()]
    else:
        by_name = {path.name: path for path in given if path.is_file()}
        expected = {file.name for file in spec.files}
        unexpected = [str(path) for path in given if path.name not in expected or path.is_dir()]
        if unexpected:
            raise UsageError(
                f"fichiers inattendus pour {spec.name} : {', '.join(unexpected)}",
                hint=f"donnez exactement : {', '.join(sorted(expected))}",
            )
        missing = [file.name for file in spec.files if file.name not in by_name]
    if missing:
        raise UsageError(
            f"fichiers manquants pour installer {spec.name} : {', '.join(missing)}",
            hint="donnez tous les fichiers de la voix (ou le dossier qui les contient) : "
            + ", ".join(file.name for file in spec.files),
        )
    return [by_name[file.name] for file in spec.files]


# --------------------------------------------------------------------------- installation


@contextmanager
def _model_lock(store: ModelStore, name: str) -> Iterator[None]:
    """One pull or install of a given model at a time (advisory lock file)."""
    store.partial_dir.mkdir(parents=True, exist_ok=True)
    with (store.partial_dir / f"{name}.lock").open("a") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadError(
                f"une autre installation de {name} est déjà en cours",
                hint="attendez qu'elle se termine puis relancez la commande",
            ) from None
        try:
            _remove_leftovers(store, name)
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _remove_leftovers(store: ModelStore, name: str) -> None:
    """Temporary folders of an install that was killed half-way."""
    for pattern in (f".{name}.staging-*", f".{name}.old-*"):
        for leftover in store.models_dir.glob(pattern):
            _remove_path(leftover)


def _remove_path(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def _install(
    spec: ModelSpec,
    store: ModelStore,
    payloads: list[Path],
    sources: list[SourceFile],
    *,
    origin: str,
    move: bool,
) -> Path:
    """Unpack ``payloads`` into a temporary folder, check it, record it, move it in place."""
    destination = store.install_dir(spec.name)
    store.models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.staging-", dir=store.models_dir))
    try:
        if spec.archive:
            root = _extract(spec, payloads[0], staging)
        else:
            root = staging
            for file, payload in zip(spec.files, payloads, strict=True):
                if move:
                    os.replace(payload, root / file.name)
                else:
                    shutil.copyfile(payload, root / file.name)
        try:
            check_model_folder(spec, root)
        except ModelError as exc:
            raise ModelError(
                f"les fichiers téléchargés pour {spec.name} ne forment pas un modèle utilisable : "
                f"{exc.message}",
                hint="le manifeste désigne sans doute un mauvais fichier : corrigez son URL "
                "(VOICEBOT_MANIFEST) ; rien n'a été installé",
            ) from None
        write_install_record(root, spec, sources, origin=origin)
        _swap_into_place(root, destination)
    finally:
        _remove_path(staging)
    return destination


def _swap_into_place(new_root: Path, destination: Path) -> None:
    """Move ``new_root`` to ``destination``, replacing an old install only now."""
    if not (destination.exists() or destination.is_symlink()):
        os.replace(new_root, destination)
        return
    old = destination.with_name(f".{destination.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(destination, old)
    try:
        os.replace(new_root, destination)
    except OSError:
        os.replace(old, destination)
        raise
    _remove_path(old)


def _extract(spec: ModelSpec, archive: Path, staging: Path) -> Path:
    """Unpack ``archive`` into ``staging``; return the model root (the archive's
    single top folder if it has one)."""
    try:
        if spec.archive == "zip":
            _extract_zip(archive, staging)
        elif spec.archive == "tar.gz":
            _extract_tar(archive, staging)
        else:
            raise ModelError(
                f"format d'archive non pris en charge pour {spec.name} : {spec.archive!r}",
                hint='utilisez "zip" ou "tar.gz" dans le manifeste',
            )
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
        raise DownloadError(
            f"archive illisible ou tronquée : {archive} ({exc})",
            hint=f"téléchargez-la de nouveau : `voicebot models pull {spec.name}`",
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DownloadError(
                f"espace disque insuffisant pour décompresser {archive.name} dans {staging.parent}",
                hint="libérez de la place ou choisissez un autre dossier (VOICEBOT_MODELS_DIR)",
            ) from None
        raise DownloadError(
            f"décompression impossible de {archive} : {exc.strerror or exc}",
            hint="vérifiez l'archive et les droits du dossier des modèles (VOICEBOT_MODELS_DIR)",
        ) from None
    entries = [entry for entry in staging.iterdir() if entry.name not in _IGNORED_ARCHIVE_DIRS]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return staging


def _safe_member_path(staging: Path, member: str, archive: Path) -> Path | None:
    """Where an archive member goes; ``None`` to skip it; refuse escaping names."""
    normalised = member.replace("\\", "/")
    pure = PurePosixPath(normalised)
    if normalised.startswith("/") or re.match(r"^[A-Za-z]:", normalised) or ".." in pure.parts:
        raise DownloadError(
            f"archive refusée : {archive.name} contient un chemin dangereux ({member!r})",
            hint="cette archive n'est pas un modèle officiel : "
            "téléchargez le modèle depuis l'adresse du manifeste",
        )
    parts = [part for part in pure.parts if part not in ("", ".")]
    if not parts or parts[0] in _IGNORED_ARCHIVE_DIRS:
        return None
    return staging.joinpath(*parts)


def _copy_stream(source: IO[bytes], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, _COPY_BUFFER)


def _extract_zip(archive: Path, staging: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        needed = sum(info.file_size for info in members)
        free = shutil.disk_usage(staging).free
        if needed > free:
            raise DownloadError(
                f"espace disque insuffisant pour décompresser {archive.name} : "
                f"{needed // 2**20} Mo nécessaires, {free // 2**20} Mo libres",
                hint="libérez de la place ou choisissez un autre dossier (VOICEBOT_MODELS_DIR)",
            )
        targets = [(info, _safe_member_path(staging, info.filename, archive)) for info in members]
        for info, target in targets:
            if target is None:
                continue
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                # Reading a member to its end checks its CRC (BadZipFile if wrong).
                with bundle.open(info) as source:
                    _copy_stream(source, target)


def _extract_tar(archive: Path, staging: Path) -> None:
    with tarfile.open(archive, mode="r:gz") as bundle:
        for member in bundle:
            target = _safe_member_path(staging, member.name, archive)
            if target is None:
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                source = bundle.extractfile(member)
                if source is None:
                    continue
                with source:
                    _copy_stream(source, target)
            else:
                raise DownloadError(
                    f"archive refusée : {archive.name} contient un lien ou un fichier spécial "
                    f"({member.name!r})",
                    hint="un modèle ne contient que des fichiers et des dossiers : "
                    "téléchargez le modèle depuis l'adresse du manifeste",
                )
