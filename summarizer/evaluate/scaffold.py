"""Write the skeleton of a new eval case: the articles' text and sentence tables, with empty labels.

    python -m summarizer.evaluate.scaffold --id my-event a.txt b.html c.md > evals/cases/my-event.yaml

The articles are read with ``summarizer.load`` (any format it reads) and segmented with
``summarizer.segment``, exactly as a run will; their text is stored in the case, so the case
runs wherever the package is installed. Then label the facts, consensus and discrepancies by
hand, citing the sentence IDs in each article's ``sentences`` table (see ``evals/README.md``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from summarizer.errors import SummarizerError
from summarizer.evaluate.gold import FORMAT
from summarizer.load import Document, load
from summarizer.segment import prepare


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so article text stays readable (and round-trips exactly)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10**6)


def _relative(origin: str, root: Path) -> str:
    path = Path(origin)
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return origin


def article_entries(docs: Sequence[Document], root: Path) -> list[dict[str, Any]]:
    entries = []
    for article in prepare(list(docs)):
        d = article.doc
        entry: dict[str, Any] = {"id": article.id, "path": _relative(d.origin, root), "sha256": d.sha256}
        entry.update({"title": d.title, "published": d.published, "source": d.source, "url": d.url})
        entry = {k: v for k, v in entry.items() if v is not None}
        entry["text"] = d.text
        entry["sentences"] = {s.id: s.text for s in article.citable}
        entries.append(entry)
    return entries


def skeleton(case_id: str, title: str, docs: Sequence[Document], root: Path) -> dict[str, Any]:
    entries = article_entries(docs, root)
    return {
        "format": FORMAT,
        "id": case_id,
        "title": title,
        "notes": "How the labels were made: …",
        "facts": {e["id"]: [] for e in entries},
        "consensus": [],
        "discrepancies": [],
        "articles": entries,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m summarizer.evaluate.scaffold", description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", metavar="PATH", help="article files, folders or URLs, in case order")
    parser.add_argument("--id", required=True, help="case id: lower-case letters, digits, - and _")
    parser.add_argument("--title", default="", help="one line describing the event")
    parser.add_argument("--root", default=".", help="store article paths relative to this folder (default: .)")
    args = parser.parse_args(argv)
    try:
        docs = load(args.inputs)
    except SummarizerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    sys.stdout.write(dump(skeleton(args.id, args.title or docs[0].title, docs, Path(args.root))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
