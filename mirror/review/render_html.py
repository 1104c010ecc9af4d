"""A review as one self-contained HTML page: inline CSS, no script, no font or
stylesheet to fetch; only asset thumbnails may come from the network, and not even
those when the mirror keeps the files (small ones are embedded as data: URIs).
Everything from content is escaped, and the page's Content-Security-Policy allows
no script at all, so a `<script>` in a title is only ever text. Readable on a
375-pixel phone: before and after stack there, side by side on wider screens."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from html import escape

from mirror.review.layout import (
    ReportOptions,
    count_columns,
    group_title,
    headline,
    left_out_note,
    totals,
    with_groups,
)
from mirror.review.model import ContentDiff, FieldChange, ItemChange, Thumbnail
from mirror.review.words import Segment

EMBED_BYTES = 200_000  # a local image up to this size is embedded in the page
ReadBlob = Callable[[str], bytes | None]
_IMAGE_TYPE = re.compile(r"^image/[a-z0-9.+-]+$")
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data: https: http:"

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2328;background:#f6f8fa}
main{max-width:980px;margin:0 auto;padding:12px}
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.05em;margin:.9em 0 .3em}
h3{font-size:1em;margin:0 0 .4em;overflow-wrap:anywhere}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace}
.meta{color:#59636e;margin:.2em 0;overflow-wrap:anywhere}
.model{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}
.model ul{margin:.3em 0;padding-left:1.2em}
table.counts{border-collapse:collapse;background:#fff;margin:.6em 0;font-size:.92em}
.counts th,.counts td{border:1px solid #d1d9e0;padding:3px 8px;text-align:right}
.counts th:first-child,.counts td:first-child{text-align:left}
.item{background:#fff;border:1px solid #d1d9e0;border-radius:6px;padding:8px 10px;
margin:8px 0}
.badge{display:inline-block;font-size:.75em;font-weight:600;text-transform:uppercase;
border-radius:10px;padding:1px 8px;margin-right:6px;vertical-align:1px}
.added .badge{background:#dafbe1;color:#116329}.changed .badge{background:#ddf4ff;color:#0550ae}
.deleted .badge{background:#ffebe9;color:#a40e26}.retyped .badge{background:#fbefff;color:#6639ba}
.field{border-top:1px solid #eef1f4;padding:4px 0}
.label{font-weight:600;font-size:.9em;overflow-wrap:anywhere}
.locale{font-weight:400;color:#59636e}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:0 8px}
.before,.after,.words{white-space:pre-wrap;overflow-wrap:anywhere;border-radius:4px;
padding:3px 6px;margin:2px 0}
.before{background:#fff5f5}.after{background:#f0fff4}.words{background:#f6f8fa}
.pair .before::before,.pair .after::before{display:block;font-size:.65em;line-height:1.2;
color:#59636e;text-transform:uppercase;white-space:normal}
.pair .before::before{content:"before"}.pair .after::before{content:"after"}
.none{color:#8c959f;font-style:italic}
del{background:#ffcecb;text-decoration:line-through}ins{background:#aceebb;text-decoration:none}
.thumbs{display:flex;gap:8px;flex-wrap:wrap;margin:.4em 0}
figure{margin:0;flex:1 1 140px;max-width:320px}
figure img{max-width:100%;height:auto;border:1px solid #d1d9e0;border-radius:4px;
background:#fff}
figcaption{font-size:.8em;color:#59636e}
.note{color:#59636e;font-style:italic}
.left-out{background:#fff;border:1px dashed #d1d9e0;border-radius:6px;padding:8px 12px}
@media (max-width:600px){main{padding:8px}}
"""


def render(diff: ContentDiff, options: ReportOptions, read_blob: ReadBlob) -> str:
    body = [f"<h1>Content changes</h1>\n<p class=meta>{escape(headline(diff))}</p>"]
    body.append(f"<p class=meta>{escape(totals(diff))}</p>")
    if diff.model:
        body.append(_model(diff))
    body.append(_counts(diff))
    if not options.stat:
        body += _items(diff, read_blob)
        if diff.omitted:
            # The note's own words are ours; only the command in it needs escaping.
            note = left_out_note(diff, diff.omitted, 0, lambda c: f"<code>{escape(c)}</code>")
            body.append(f'<p class="left-out">{note}</p>')
    return _page(f"Content changes: {headline(diff)}", "\n".join(body))


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        '<meta name=viewport content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _model(diff: ContentDiff) -> str:
    rows = "".join(
        f"<li><b>{escape(change.subject)}</b>: {escape(change.what)}</li>" for change in diff.model
    )
    return (
        '<section class="model"><h2>⚠ Content model changes</h2>'
        f"<p>These can break a build.</p><ul>{rows}</ul></section>"
    )


def _counts(diff: ContentDiff) -> str:
    if not diff.counts:
        return "<p>No content changed.</p>"
    actions = count_columns(diff)
    head = "".join(f"<th>{action}</th>" for action in actions)
    rows = []
    for count in diff.counts:
        name = escape(count.group) if count.kind == "entry" else "<i>(assets)</i>"
        cells = "".join(f"<td>{getattr(count, a):,}</td>" for a in actions)
        rows.append(f"<tr><td>{name}</td>{cells}</tr>")
    return f'<table class="counts"><tr><th>content type</th>{head}</tr>{"".join(rows)}</table>'


def _items(diff: ContentDiff, read_blob: ReadBlob) -> list[str]:
    found = []
    for first, item in with_groups(diff.items):
        if first:
            found.append(f"<h2>{escape(group_title(item))}</h2>")
        found.append(_item(item, read_blob))
    return found


def _item(item: ItemChange, read_blob: ReadBlob) -> str:
    retyped = (
        f" <span class=note>(was {escape(str(item.old_content_type))})</span>"
        if item.action == "retyped"
        else ""
    )
    parts = [
        f'<article class="item {item.action}" id="{escape(item.kind)}-{escape(item.id)}">',
        f"<h3><span class=badge>{item.action}</span>{escape(item.title)} "
        f"<code>{escape(item.id)}</code>{retyped}</h3>",
    ]
    parts += [_thumbnails(locale, b, a, read_blob) for locale, b, a in item.thumbnails]
    parts += [_field(change, item.action == "added") for change in item.fields]
    if item.note:
        parts.append(f"<p class=note>{escape(item.note)}</p>")
    parts.append("</article>")
    return "\n".join(parts)


def _field(change: FieldChange, added: bool) -> str:
    locale = f" <span class=locale>{escape(change.locale)}</span>" if change.locale else ""
    label = f"<div class=label>{escape(change.field)}{locale}</div>"
    if change.note is not None:
        inner = f"<p class=note>({escape(change.note)})</p>"
    elif change.words is not None:
        inner = f"<div class=words>{_words(change.words)}</div>"
    elif added:
        inner = f"<div class=after>{_value(change.after)}</div>"
    else:
        inner = (
            f"<div class=pair><div class=before>{_value(change.before)}</div>"
            f"<div class=after>{_value(change.after)}</div></div>"
        )
    return f"<div class=field>{label}{inner}</div>"


def _value(text: str | None) -> str:
    return "<span class=none>(none)</span>" if text is None else escape(text)


def _words(segments: list[Segment]) -> str:
    tags = {"=": "{}", "-": "<del>{}</del>", "+": "<ins>{}</ins>"}
    return "".join(tags[op].format(escape(text)) for op, text in segments)


def _thumbnails(
    locale: str, before: Thumbnail | None, after: Thumbnail | None, read_blob: ReadBlob
) -> str:
    sources = (_source(before, read_blob), _source(after, read_blob))
    if sources[0] == sources[1] and sources[1]:
        figures = [_figure(sources[1], f"{locale} (file unchanged)")]
    else:
        figures = [
            _figure(source, f"{locale} {when}")
            for source, when in zip(sources, ("before", "after"), strict=True)
        ]
    return f"<div class=thumbs>{''.join(figures)}</div>"


def _figure(source: str | None, caption: str) -> str:
    if source is None:
        picture = "<span class=none>(no image)</span>"
    else:
        picture = f'<img src="{escape(source)}" alt="{escape(caption)}" loading=lazy>'
    return f"<figure>{picture}<figcaption>{escape(caption)}</figcaption></figure>"


def _source(thumbnail: Thumbnail | None, read_blob: ReadBlob) -> str | None:
    """A data: URI of the committed file when it is small, else the asset's URL."""
    if thumbnail is None:
        return None
    small = thumbnail.size is None or thumbnail.size <= EMBED_BYTES
    if thumbnail.blob and small and _IMAGE_TYPE.match(thumbnail.content_type):
        data = read_blob(thumbnail.blob)
        if data is not None and len(data) <= EMBED_BYTES:
            return f"data:{thumbnail.content_type};base64,{base64.b64encode(data).decode()}"
    return thumbnail.url
