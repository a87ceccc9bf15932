"""Find and read the articles of an inbox: a directory, a glob, files, or a JSONL stream.

Everything is read with :mod:`summarizer.load`, so the formats are those of ``summarizer
brief``. JSON Lines files (``.jsonl``/``.ndjson``) and standard input (``-``) are streamed a
line at a time: a stream can be larger than the per-file size limit, and a bad line is
reported (as an :class:`Item` with an error) without losing the lines around it; so is a bad
line of a ``.json`` file that holds JSON Lines. Every item names its origin — a path,
``path:line`` or ``<stdin>:line`` — so the store can say where each article (or each problem)
came from.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from summarizer.errors import InputError
from summarizer.load import (
    MAX_BYTES,
    TEXT_SUFFIXES,
    Document,
    decode,
    expand,
    is_json_lines,
    jsonl_line,
    load_one,
    parse_json,
    read_text,
)

STREAM_SUFFIXES = {".jsonl", ".ndjson"}
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Item:
    """One article read from the inbox, or the reason one could not be read."""

    origin: str
    document: Document | None = None
    error: str | None = None


def discover(spec: str) -> list[str]:
    """The article sources ``spec`` names: itself for a file or ``-``, the files in a directory or matching a glob."""
    if spec == "-":
        return ["-"]
    path = Path(spec)
    if path.is_dir():
        return list(expand([spec]))
    if path.is_file():
        return [spec]
    if _GLOB_CHARS & set(spec):
        matches = sorted(
            p for p in glob.glob(spec, recursive=True) if Path(p).is_file() and Path(p).suffix.lower() in TEXT_SUFFIXES
        )
        if not matches:
            raise InputError(f"{spec}: no article files match ({', '.join(sorted(TEXT_SUFFIXES))})")
        return matches
    raise InputError(f"{spec}: no such file or directory")


def read_stream(stream: IO[bytes], origin: str, *, max_bytes: int = MAX_BYTES) -> Iterator[Item]:
    """One item per non-blank line of a JSON Lines stream."""
    for lineno, raw in enumerate(stream, start=1):
        where = f"{origin}:{lineno}"
        if not raw.strip():
            continue
        if len(raw) > max_bytes:
            yield Item(where, error=f"{where}: {len(raw):,} bytes is more than the {max_bytes:,}-byte limit")
            continue
        try:
            yield _line_item(decode(raw.rstrip(b"\r\n"), where), where)  # its end is not part of the JSON
        except InputError as exc:
            yield Item(where, error=str(exc))


def _line_item(line: str, where: str) -> Item:
    """The item on one line of JSON Lines: its article, or why it has none."""
    try:
        return Item(where, document=jsonl_line(line, where))
    except InputError as exc:
        return Item(where, error=str(exc))


def read_json(path: str, *, max_bytes: int = MAX_BYTES) -> Iterator[Item]:
    """The items of a ``.json`` file: its records, or one per line when it holds JSON Lines (so a bad
    line is one bad item, not a whole file lost)."""
    try:
        text = read_text(Path(path), max_bytes=max_bytes)
        if not is_json_lines(text):
            yield from (Item(doc.origin, document=doc) for doc in parse_json(text, path))
            return
    except InputError as exc:
        yield Item(path, error=str(exc))
        return
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield _line_item(line, f"{path}:{lineno}")


def read(specs: Iterable[str], *, max_bytes: int = MAX_BYTES, stdin: IO[bytes] | None = None) -> Iterator[Item]:
    """Every item of every inbox ``spec``, in order: sorted files, then the lines or records within each.

    Every spec is resolved first, so a missing inbox is an InputError before anything is read.
    """
    sources = [source for spec in specs for source in discover(spec)]
    return _read_sources(sources, max_bytes=max_bytes, stdin=stdin)


def _read_sources(sources: list[str], *, max_bytes: int, stdin: IO[bytes] | None) -> Iterator[Item]:
    for source in sources:
        if source == "-":
            yield from read_stream(stdin if stdin is not None else sys.stdin.buffer, "<stdin>", max_bytes=max_bytes)
        elif Path(source).suffix.lower() in STREAM_SUFFIXES:
            try:
                with open(source, "rb") as stream:
                    yield from read_stream(stream, source, max_bytes=max_bytes)
            except OSError as exc:
                yield Item(source, error=f"{source}: cannot read ({exc.strerror or exc})")
        elif Path(source).suffix.lower() == ".json":
            yield from read_json(source, max_bytes=max_bytes)
        else:
            try:
                docs = load_one(source, max_bytes=max_bytes)
            except InputError as exc:
                yield Item(source, error=str(exc))
                continue
            yield from (Item(doc.origin, document=doc) for doc in docs)
