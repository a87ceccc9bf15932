"""Read articles from files, directories, standard input and URLs.

Formats: the seed plain-text format (title line, optional repeated title, optional ISO date
line, body), Markdown (optional front matter, first ``#`` heading as title), JSON / JSONL
records (``title``, ``text``, optional ``url``, ``published``, ``source``) and HTML, whose main
text is extracted with trafilatura. Text is UTF-8, or UTF-8/16/32 with a byte-order mark; other
encodings are refused with the one charset-normalizer guesses named. Every failure is an
:class:`InputError` naming the input, one line each.

About 400 lines: one reader per format, sharing the size, encoding and error checks that make every failure one line.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from summarizer.errors import InputError
from summarizer.settings import MAX_BYTES

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".json", ".jsonl", ".ndjson", ".html", ".htm"}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_MD_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)


@dataclass(frozen=True)
class Document:
    """An article as read, before segmentation."""

    title: str
    text: str
    origin: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @functools.cached_property
    def sha256(self) -> str:
        """The content hash (title and text): computed once, a batch's ingest asks for it several times."""
        return hashlib.sha256(f"{self.title}\n\n{self.text}".encode()).hexdigest()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
"""Control characters other than tab, newline, form feed and carriage return: a sign of binary data."""


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),  # before UTF-16 LE, whose mark begins the same way
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
"""Byte-order marks, the codec that reads (and drops) each, and the encoding's name for messages."""


def decode(data: bytes, origin: str) -> str:
    """The text of ``data`` (UTF-8, or UTF-8/16/32 with a byte-order mark), or an InputError that says
    exactly what is wrong with it."""
    if not data.strip():
        raise InputError(f"{origin}: empty input")
    codec, name = next(((codec, name) for bom, codec, name in _BOMS if data.startswith(bom)), ("utf-8", "UTF-8"))
    if name == "UTF-8" and b"\x00" in data[:8192]:
        unmarked = _unmarked_utf16_or_32(data)
        if unmarked is not None:
            raise InputError(
                f"{origin}: {_encoding_name(unmarked)} text without a byte-order mark; {_convert(unmarked)}"
            )
        raise InputError(f"{origin}: binary data (NUL bytes), not a text article")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InputError(_undecodable(data, exc, name, origin)) from None
    control = len(_CONTROL.findall(text, 0, 8192))
    if control > 0.05 * min(len(text), 8192):
        raise InputError(f"{origin}: binary data (control characters), not a text article")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(f"{origin}: empty input (only whitespace)")
    return text


def _undecodable(data: bytes, exc: UnicodeDecodeError, name: str, origin: str) -> str:
    """Why ``data`` is not ``name`` text, naming the encoding it looks like when that can be guessed."""
    where = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
    if name != "UTF-8":
        return f"{origin}: not valid {name} after its byte-order mark ({where})"
    guess = _guess_encoding(data)
    if guess is None:
        return f"{origin}: not text: not valid UTF-8 ({where}), and no other encoding fits"
    # Refused, not decoded: single-byte encodings are told apart by guesswork, and a wrong one would
    # put wrong letters into quoted, cited sentences.
    return f"{origin}: not valid UTF-8 ({where}); it may be {_encoding_name(guess)} (a guess): {_convert(guess)}"


def _unmarked_utf16_or_32(data: bytes) -> str | None:
    """The UTF-16/32 codec that reads ``data`` (which has NUL bytes and no byte-order mark) as mostly ASCII
    text without control characters, or None: such text puts NULs beside every letter, binary data does not."""
    head = data[:8192]
    for codec in ("utf_32_le", "utf_32_be", "utf_16_le", "utf_16_be"):  # UTF-32 first: it reads as UTF-16 too
        try:
            text = head[: len(head) - len(head) % 4].decode(codec)
        except UnicodeDecodeError:
            continue
        if text and sum(c.isascii() for c in text) >= 0.9 * len(text) and not _CONTROL.search(text):
            return codec
    return None


def _guess_encoding(data: bytes) -> str | None:
    """The encoding charset-normalizer finds most likely for ``data`` (a Python codec name), or None."""
    from charset_normalizer import from_bytes  # here: only text that is not UTF-8 needs it

    best = from_bytes(data[:65536]).best()
    return None if best is None else str(best.encoding)


def _encoding_name(codec: str) -> str:
    """A Python codec name (``cp1252``, ``utf_16_le``) as iconv spells it (``CP1252``, ``UTF-16LE``)."""
    name = codec.upper().replace("_", "-")
    return name.replace("-LE", "LE").replace("-BE", "BE").replace("ISO8859", "ISO-8859")


def _convert(codec: str) -> str:
    return f"convert it to UTF-8 first, e.g. iconv -f {_encoding_name(codec)} -t UTF-8"


def _check_size(size: int, origin: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise InputError(f"{origin}: {size:,} bytes is more than the {max_bytes:,}-byte limit (--max-bytes)")


def _body_or_error(text: str, origin: str) -> str:
    body = text.strip()
    if not body:
        raise InputError(f"{origin}: article has a title but no body text")
    return body


def parse_plain(text: str, origin: str) -> Document:
    lines = text.strip().split("\n")
    title = lines[0].strip()
    rest = lines[1:]
    # Skip blank lines, one repeat of the title, and an ISO date line, in that order.
    i = 0
    while i < len(rest) and not rest[i].strip():
        i += 1
    if i < len(rest) and rest[i].strip() == title:
        i += 1
    published = None
    if i < len(rest) and _ISO_DATE.match(rest[i].strip()):
        published = rest[i].strip()
        i += 1
    body = "\n".join(rest[i:])
    if not body.strip() and len(lines) == 1:
        # A single paragraph with no title line: the text is the body.
        return Document(title=title[:120], text=title, origin=origin)
    return Document(title=title, text=_body_or_error(body, origin), origin=origin, published=published)


def parse_markdown(text: str, origin: str) -> Document:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        import yaml

        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise InputError(f"{origin}: unreadable front matter: {exc}") from None
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[match.end() :]
    heading = _MD_HEADING.search(text)
    if heading and "title" not in meta:
        meta["title"] = heading.group(1)
        text = text[: heading.start()] + text[heading.end() :]
    if "title" not in meta:
        return parse_plain(text, origin)
    return Document(
        title=str(meta["title"]).strip(),
        text=_body_or_error(text, origin),
        origin=origin,
        url=_opt(meta.get("url")),
        source=_opt(meta.get("source")),
        published=_opt(meta.get("published") or meta.get("date")),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def record_to_document(record: Any, origin: str) -> Document:
    if not isinstance(record, dict):
        raise InputError(f"{origin}: expected a JSON object with 'title' and 'text', got {type(record).__name__}")
    text = record.get("text") or record.get("body") or record.get("content")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{origin}: record has no 'text'")
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        title = text.strip().split("\n", 1)[0][:120]
    return Document(
        title=title.strip(),
        text=text.replace("\r\n", "\n").strip(),
        origin=origin,
        url=_opt(record.get("url")),
        source=_opt(record.get("source")),
        published=_opt(record.get("published") or record.get("date")),
    )


def json_value(text: str, origin: str) -> Any:
    """``json.loads(text)``, with nesting too deep for its recursive parser as an InputError naming ``origin``.

    Invalid JSON stays a :class:`json.JSONDecodeError`: callers say where it is in their own terms.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(f"{origin}: JSON nested too deeply to read") from None


def parse_json(text: str, origin: str) -> list[Document]:
    try:
        data = json_value(text, origin)
    except json.JSONDecodeError as exc:
        # Not one JSON value: perhaps JSON Lines.
        return parse_jsonl(text, origin) if is_json_lines(text) else _bad_json(origin, exc)
    records = data if isinstance(data, list) else [data]
    return [record_to_document(r, f"{origin}[{i}]" if len(records) > 1 else origin) for i, r in enumerate(records)]


def is_json_lines(text: str) -> bool:
    """Whether ``text`` is JSON Lines: not one JSON value, but lines of which the first or second is one on
    its own (so a broken first line still counts). A pretty-printed document with a mistake is not."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return False
    try:
        json.loads(text)
        return False
    except (json.JSONDecodeError, RecursionError):
        pass
    return any(_is_json(line) for line in lines[:2])


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return False
    return True


def _bad_json(origin: str, exc: json.JSONDecodeError) -> list[Document]:
    raise InputError(f"{origin}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")


def jsonl_line(line: str, where: str) -> Document:
    """The article on one line of JSON Lines; an InputError naming ``where`` (``file:line``) if there is none."""
    try:
        record = json_value(line, where)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    return record_to_document(record, where)


def parse_jsonl(text: str, origin: str) -> list[Document]:
    docs = [jsonl_line(line, f"{origin}:{n}") for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not docs:
        raise InputError(f"{origin}: no records")
    return docs


def parse_html(html: str, origin: str, url: str | None = None) -> Document:
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=False, favor_precision=True, with_metadata=True
    )
    if extracted is None:
        raise InputError(f"{origin}: no article text found in the HTML")
    data = extracted if isinstance(extracted, dict) else extracted.as_dict()
    text = (data.get("text") or "").strip()
    if not text:
        raise InputError(f"{origin}: no article text found in the HTML")
    title = (data.get("title") or text.split("\n", 1)[0][:120]).strip()
    return Document(
        title=title,
        text=text,
        origin=origin,
        url=url or data.get("url"),
        source=data.get("sitename") or data.get("hostname"),
        published=data.get("date"),
    )


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith(("<!doctype html", "<html")) or ("<body" in head and "</" in text)


def parse_text(text: str, origin: str, suffix: str = "", url: str | None = None) -> list[Document]:
    """Documents in ``text``, choosing the format from ``suffix`` and then the content."""
    suffix = suffix.lower()
    stripped = text.lstrip()
    if suffix in {".jsonl", ".ndjson"}:
        return parse_jsonl(text, origin)
    if suffix == ".json" or (not suffix and stripped[:1] in "[{"):
        return parse_json(text, origin)
    if suffix in {".html", ".htm"} or _looks_like_html(text):
        return [parse_html(text, origin, url)]
    if suffix in {".md", ".markdown"} or _FRONT_MATTER.match(text) or _MD_HEADING.match(stripped):
        return [parse_markdown(text, origin)]
    return [parse_plain(text, origin)]


def fetch_url(url: str, *, timeout: float = 20.0, max_bytes: int = MAX_BYTES) -> list[Document]:
    import httpx  # here: most inputs are files, and httpx takes tens of milliseconds to import

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code >= 400:
                raise InputError(f"{url}: HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                _check_size(size, url, max_bytes)
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: could not fetch ({type(exc).__name__}: {exc})") from None
    text = decode(b"".join(chunks), url)
    suffix = ".html" if "html" in content_type else ".json" if "json" in content_type else ""
    docs = parse_text(text, url, suffix, url=url)
    return [d if d.url else replace(d, url=url) for d in docs]


def read_path(path: Path, *, max_bytes: int = MAX_BYTES) -> list[Document]:
    return parse_text(read_text(path, max_bytes=max_bytes), str(path), path.suffix)


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """The decoded text of the file at ``path``, or an InputError naming it."""
    origin = str(path)
    try:
        size = path.stat().st_size
        _check_size(size, origin, max_bytes)
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{origin}: no such file or directory") from None
    except IsADirectoryError:
        raise InputError(f"{origin}: is a directory") from None
    except PermissionError:
        raise InputError(f"{origin}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{origin}: cannot read ({exc.strerror or exc})") from None
    return decode(data, origin)


def expand(sources: Iterable[str]) -> Iterator[str]:
    """Each source, with directories replaced by the article files inside them (sorted)."""
    for source in sources:
        path = Path(source)
        if source != "-" and not _is_url(source) and path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
            if not files:
                raise InputError(f"{source}: directory holds no article files ({', '.join(sorted(TEXT_SUFFIXES))})")
            yield from (str(p) for p in files)
        else:
            yield source


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def load_one(source: str, *, max_bytes: int = MAX_BYTES, stdin: Any = None) -> list[Document]:
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(max_bytes + 1)
        _check_size(len(data), "<stdin>", max_bytes)
        return parse_text(decode(data, "<stdin>"), "<stdin>")
    if _is_url(source):
        return fetch_url(source, max_bytes=max_bytes)
    return read_path(Path(source), max_bytes=max_bytes)


def load(sources: Iterable[str], *, max_bytes: int = MAX_BYTES) -> list[Document]:
    """All documents from ``sources``. Every bad input is reported, not just the first."""
    docs: list[Document] = []
    errors: list[str] = []
    for source in expand(sources):
        try:
            docs.extend(load_one(source, max_bytes=max_bytes))
        except InputError as exc:
            errors.append(str(exc))
    if errors:
        raise InputError("\n".join(errors))
    if not docs:
        raise InputError("no input: give one or more files, directories, URLs or - for standard input")
    return docs
