"""Asset files a mirror keeps (`mirror sync --download-assets`, in assets/files/),
served beside the Delivery API so that a build reads them from the mirror too.

Answers name such a file `//HOST/files/<assetId>/<locale>/<fileName>` (HOST: the
address the client used), but only for a locale whose file the mirror holds at the
served commit and whose stored URL is the one in the answer; every other file keeps
its original URL (`//images.ctfassets.net/...`). A request's path segments are
checked (RevisionContent.asset_file) and only ever name git objects."""

from __future__ import annotations

import mimetypes
import re
import threading
from typing import Any
from urllib.parse import quote, unquote

from mirror.client.assets import FILES
from mirror.delivery.http import Response, not_found
from mirror.delivery.revision import RevisionContent

FILE_PATH = re.compile(r"^/files/([^/]+)/([^/]+)/([^/]+)$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$")
_FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # A served file never runs as a page of this origin (an SVG or HTML upload).
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
}


class LocalFiles:
    """The downloaded files of one served revision: URL rewriting and file answers."""

    def __init__(self, content: RevisionContent) -> None:
        self.content = content
        self._held: dict[str, dict[str, set[str]]] | None = None
        self._lock = threading.Lock()

    def held(self) -> dict[str, dict[str, set[str]]]:
        """asset id -> locale -> file names committed under assets/files/ (read once)."""
        with self._lock:
            if self._held is None:
                self._held = self._list()
            return self._held

    def _list(self) -> dict[str, dict[str, set[str]]]:
        folder = f"{self.content.prefix}{FILES}/"
        listing = self.content.objects.run(
            "ls-tree", "-r", "-z", "--name-only", self.content.commit, "--", folder
        )
        held: dict[str, dict[str, set[str]]] = {}
        for raw in filter(None, listing.split(b"\0")):
            parts = raw.decode("utf-8", "surrogateescape").removeprefix(folder).split("/")
            if len(parts) == 3:
                held.setdefault(parts[0], {}).setdefault(parts[1], set()).add(parts[2])
        return held

    # -- answers -------------------------------------------------------------------------

    def localize_urls(self, body: dict[str, Any], host: str, items_are_assets: bool) -> None:
        """Point the file URLs of every asset in an answer (the body itself, its items,
        its included assets) at this server, where the mirror holds the file."""
        if not self.held():
            return
        if (body.get("sys") or {}).get("type") == "Asset":
            body.update(self._asset(body, host))
            return
        if items_are_assets and isinstance(body.get("items"), list):
            body["items"] = [self._asset(item, host) for item in body["items"]]
        includes = body.get("includes")
        if isinstance(includes, dict) and isinstance(includes.get("Asset"), list):
            includes["Asset"] = [self._asset(item, host) for item in includes["Asset"]]

    def _asset(self, asset: Any, host: str) -> Any:
        """The asset with local URLs; a new object, never the one the content holds."""
        sys = asset.get("sys") if isinstance(asset, dict) else None
        fields = asset.get("fields") if isinstance(asset, dict) else None
        file = fields.get("file") if isinstance(fields, dict) else None
        if not (isinstance(sys, dict) and isinstance(fields, dict) and isinstance(file, dict)):
            return asset
        held = self.held().get(str(sys.get("id")))
        if not held:
            return asset
        stored = _stored_files(self.content.asset(str(sys["id"])))
        if "url" in file:  # one locale's file (a single-locale answer)
            hint = str(sys.get("locale") or "")
            new_file = self._local(sys["id"], file, [hint, *held], held, stored, host)
        else:
            new_file = {
                locale: self._local(sys["id"], spec, [locale], held, stored, host)
                for locale, spec in file.items()
            }
        return {**asset, "fields": {**fields, "file": new_file}}

    @staticmethod
    def _local(
        asset_id: str,
        spec: Any,
        locales: list[str],
        held: dict[str, set[str]],
        stored: dict[str, Any],
        host: str,
    ) -> Any:
        if not isinstance(spec, dict):
            return spec
        for locale in locales:
            original = stored.get(locale)
            if not isinstance(original, dict) or original.get("url") != spec.get("url"):
                continue
            name = original.get("fileName") or str(original.get("url") or "").rsplit("/", 1)[-1]
            if name in held.get(locale, ()):
                url = f"//{host}/files/{asset_id}/{locale}/{quote(name)}"
                return {**spec, "url": url}
        return spec

    # -- files ---------------------------------------------------------------------------

    def answer(self, path: str) -> Response:
        """GET /files/<assetId>/<locale>/<fileName>: the committed bytes, or 404."""
        match = FILE_PATH.match(path)
        if match is None:
            return not_found()
        asset_id, locale, name = (unquote(part) for part in match.groups())
        data = self.content.asset_file(asset_id, locale, name)
        if data is None:
            return not_found()
        spec = _stored_files(self.content.asset(asset_id)).get(locale) or {}
        media_type = spec.get("contentType") if isinstance(spec, dict) else None
        if not isinstance(media_type, str) or not _MEDIA_TYPE.match(media_type):
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(200, data, dict(_FILE_HEADERS), media_type, f"{len(data)} bytes")


def _stored_files(asset: dict[str, Any] | None) -> dict[str, Any]:
    file = ((asset or {}).get("fields") or {}).get("file")
    return file if isinstance(file, dict) else {}
