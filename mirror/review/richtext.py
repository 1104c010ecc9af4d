"""Rich text as the plain text a reviewer reads: one line per block (paragraphs,
headings as `## `, list items as `- ` or `1. `, quotes as `> `, table rows with `|`),
embedded and linked items by their title and id, so that a word diff of two versions
shows what a reader of the page would see change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (linkType, id) -> how a link reads: "Title (id)" or "id (missing)"
LinkLabel = Callable[[str, str], str]

_BLOCK_PREFIX = {f"heading-{n}": "#" * n + " " for n in range(1, 7)}


def blocks(document: Any, label: LinkLabel) -> list[str]:
    """The document's blocks as lines, in order; [] for anything that is not one."""
    if not isinstance(document, dict):
        return []
    lines: list[str] = []
    for node in _children(document):
        lines += _block(node, label, "")
    return [line for line in lines if line.strip()]


def text(document: Any, label: LinkLabel) -> str:
    return "\n".join(blocks(document, label))


def _block(node: dict[str, Any], label: LinkLabel, indent: str) -> list[str]:
    kind = node.get("nodeType")
    if kind in _BLOCK_PREFIX:
        return [indent + _BLOCK_PREFIX[str(kind)] + _inline(node, label)]
    if kind in ("unordered-list", "ordered-list"):
        return _list(node, label, indent, ordered=kind == "ordered-list")
    if kind == "blockquote":
        return [
            f"{indent}> {line}" for child in _children(node) for line in _block(child, label, "")
        ]
    if kind == "hr":
        return [indent + "---"]
    if kind == "table":
        return [indent + _row(row, label) for row in _children(node)]
    if kind in ("embedded-entry-block", "embedded-asset-block", "embedded-resource-block"):
        return [indent + f"[{_embedded(node, label)}]"]
    children = _children(node)
    if any(_is_block(child) for child in children):  # a list item, a document, a cell
        return [line for child in children for line in _block(child, label, indent)]
    return [indent + _inline(node, label)]


def _list(node: dict[str, Any], label: LinkLabel, indent: str, ordered: bool) -> list[str]:
    lines: list[str] = []
    for number, item in enumerate(_children(node), start=1):
        marker = f"{number}. " if ordered else "- "
        inner = _block(item, label, "")
        if not inner:
            continue
        lines.append(indent + marker + inner[0])
        lines += [indent + "  " + line for line in inner[1:]]
    return lines


def _row(row: dict[str, Any], label: LinkLabel) -> str:
    cells = [" ".join(_block(cell, label, "")) for cell in _children(row)]
    return "| " + " | ".join(cells) + " |"


def _inline(node: dict[str, Any], label: LinkLabel) -> str:
    kind = node.get("nodeType")
    if kind == "text":
        return str(node.get("value") or "")
    if kind in ("embedded-entry-inline", "embedded-resource-inline"):
        return f"[{_embedded(node, label)}]"
    children = _children(node)
    if any(_is_block(child) for child in children):
        return " ".join(line for child in children for line in _block(child, label, ""))
    inner = "".join(_inline(child, label) for child in children)
    if kind == "hyperlink":
        uri = str((node.get("data") or {}).get("uri") or "")
        return f"{inner} <{uri}>" if uri else inner
    if kind in ("entry-hyperlink", "asset-hyperlink", "resource-hyperlink"):
        return f"{inner} [→ {_target(node, label)}]"
    return inner


def _embedded(node: dict[str, Any], label: LinkLabel) -> str:
    kind = str(node.get("nodeType"))
    what = "asset" if "asset" in kind else "entry"
    return f"{what}: {_target(node, label)}"


def _target(node: dict[str, Any], label: LinkLabel) -> str:
    target = (node.get("data") or {}).get("target")
    sys = target.get("sys") if isinstance(target, dict) else None
    if not isinstance(sys, dict):
        return "(no target)"
    if sys.get("type") == "ResourceLink":
        return str(sys.get("urn") or "(no urn)")
    return label(str(sys.get("linkType")), str(sys.get("id")))


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [child for child in node.get("content") or () if isinstance(child, dict)]


def _is_block(node: dict[str, Any]) -> bool:
    kind = str(node.get("nodeType"))
    return kind not in ("text", "hyperlink") and not kind.endswith(("-inline", "-hyperlink"))
