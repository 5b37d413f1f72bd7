"""The console's stylesheet and script, served from the package (the machines are offline)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from starlette.responses import Response

from voicebot.console.web import not_found

PREFIX = "/console"
MEDIA_TYPES = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    version: str


class Assets:
    """Files read once at start; URLs carry a content hash so browsers may cache them."""

    def __init__(self) -> None:
        folder = resources.files("voicebot.console") / "static"
        self.files: dict[str, Asset] = {}
        for name, media_type in MEDIA_TYPES.items():
            body = (folder / name).read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            self.files[name] = Asset(body, media_type, version)

    def url(self, name: str) -> str:
        return f"{PREFIX}/static/{name}?v={self.files[name].version}"

    def response(self, name: str) -> Response:
        asset = self.files.get(name)
        if asset is None:
            raise not_found("Ce fichier n'existe pas.")
        return Response(
            asset.body,
            media_type=asset.media_type,
            headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{asset.version}"'},
        )
