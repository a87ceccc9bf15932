"""The one Markdown escaper: every Markdown output (brief, batch export, eval report) passes text through it.

Article text is hostile input, so it must reach a Markdown reader as text: never a link, an
image, raw HTML, emphasis, code, a heading, a list item or a broken table cell.
"""

from __future__ import annotations

import html
import re

_INLINE = re.compile(r"([\\`*_{}\[\]|~!#])")
_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)](?:\s|$)))")
_BACKTICKS = re.compile(r"`+")


def md(text: object) -> str:
    """Text as inert Markdown: one line, HTML as entities, link, emphasis, code and table syntax escaped."""
    flat = " ".join(str(text).split())
    flat = html.escape(flat, quote=False)  # raw HTML and autolinks (<javascript:…>) become text
    flat = _INLINE.sub(r"\\\1", flat)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), flat)


def code(text: object) -> str:
    """Text as one inline code span, fenced by more backticks than it contains so it cannot close early."""
    flat = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"
