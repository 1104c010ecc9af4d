"""Asset files a mirror keeps (`mirror sync --download-assets`, in assets/files/),
served beside the Delivery API so that a build reads them from the mirror too.

Answers name such a file `//HOST/files/<assetId>/<locale>/<fileName>` (HOST: the
address the client used), but only for a locale whose file the mirror holds at the
served commit and whose stored URL is the one in the answer; every other file keeps
its original URL (`//images.ctfassets.net/...`). A request's path segments are
checked (RevisionContent.asset_file) and only ever name git objects.

With Images API parameters (`?w=800&fm=webp`), an image file is transformed
(mirror.images) and the result kept in the mirror's image cache, under a key made of
the file's blob id and the parameters, never of a name from the request; a file that
is no image (a PDF, a GPX track, an SVG) is sent as it is, as Contentful sends such
files from its asset CDN whatever the query."""

from __future__ import annotations

import mimetypes
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from mirror.client.assets import FILES
from mirror.delivery.http import Response, error, not_found
from mirror.delivery.revision import RevisionContent
from mirror.images.cache import ImageCache, blob_id, cache_key, images_folder
from mirror.images.params import ImageParamError, ImageParams, ImageRefused, parse_params
from mirror.images.transform import MEDIA_TYPES, SourceImage, identify, render

FILE_PATH = re.compile(r"^/files/([^/]+)/([^/]+)/([^/]+)$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$")
_FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # A served file never runs as a page of this origin (an SVG or HTML upload).
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
}


_SOURCES_KEPT = 10_000  # files remembered per served revision (then forgotten at once)


@dataclass(frozen=True)
class _Source:
    """A file of the served commit: its blob id and, for an image, its format (as `fm`
    names it)."""

    blob_id: str
    format: str | None


class LocalFiles:
    """The downloaded files of one served revision: URL rewriting and file answers."""

    def __init__(self, content: RevisionContent) -> None:
        self.content = content
        self.images = ImageCache(images_folder(content.objects.git_dir, content.prefix))
        # Image files read once: what they are, so that a cached result needs no read.
        self._sources: dict[tuple[str, str, str], _Source] = {}
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

    def answer(self, path: str, query: Sequence[tuple[str, str]] = ()) -> Response:
        """GET /files/<assetId>/<locale>/<fileName>: the committed bytes, or 404; with
        Images API parameters in `query`, an image transformed as they say (or 400 or 422
        in Contentful's error shape)."""
        match = FILE_PATH.match(path)
        if match is None:
            return not_found()
        asset_id, locale, name = (unquote(part) for part in match.groups())
        if query:
            try:
                transformed = self._transformed((asset_id, locale, name), query)
            except ImageRefused as refusal:
                return error(refusal.status, refusal.code, str(refusal))
            if transformed is not None:
                return transformed
        data = self.content.asset_file(asset_id, locale, name)
        if data is None:
            return not_found()
        spec = _stored_files(self.content.asset(asset_id)).get(locale) or {}
        media_type = spec.get("contentType") if isinstance(spec, dict) else None
        if not isinstance(media_type, str) or not _MEDIA_TYPE.match(media_type):
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(200, data, dict(_FILE_HEADERS), media_type, f"{len(data)} bytes")

    def _transformed(
        self, where: tuple[str, str, str], query: Sequence[tuple[str, str]]
    ) -> Response | None:
        """The image at `where` (asset id, locale, file name) as the Images API parameters
        of `query` make it, from the cache when it holds it; None when there is nothing
        to do (no such file, no image, no parameter of the Images API)."""
        try:
            params, problem = parse_params(query), None
        except ImageParamError as refusal:
            params, problem = ImageParams(), refusal
        if params.empty and problem is None:
            return None
        known, source = self._known(where)
        if known is None or known.format is None:  # no such file, or no image: as it is
            return None
        if problem is not None:
            raise problem
        image_format = params.format or known.format
        key = cache_key(known.blob_id, params.query())
        result, summary = self.images.get(key, image_format), "image from cache"
        if result is None:
            source = source or identify(self.content.asset_file(*where) or b"")
            if source is None:
                return None
            result = render(source, params)
            kept = self.images.put(key, image_format, result)
            summary = "image transformed" + ("" if kept else " (not cached: read-only)")
        media_type = MEDIA_TYPES[image_format]
        headers = dict(_FILE_HEADERS)
        return Response(200, result, headers, media_type, f"{summary}, {len(result)} bytes")

    def _known(self, where: tuple[str, str, str]) -> tuple[_Source | None, SourceImage | None]:
        """What the file at `where` is, read once per served revision (None: there is no
        such file); and the image, header read, when it was read now."""
        known = self._sources.get(where)
        if known is not None:
            return known, None
        data = self.content.asset_file(*where)
        if data is None:
            return None, None
        source = identify(data)
        if len(self._sources) >= _SOURCES_KEPT:
            self._sources.clear()
        known = _Source(blob_id(data), source.format if source is not None else None)
        self._sources[where] = known
        return known, source


def _stored_files(asset: dict[str, Any] | None) -> dict[str, Any]:
    file = ((asset or {}).get("fields") or {}).get("file")
    return file if isinstance(file, dict) else {}
