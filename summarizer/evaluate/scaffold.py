"""Write the skeleton of a new eval case: the articles' text and sentence tables, with empty labels.

    python -m summarizer.evaluate.scaffold --id my-event a.txt b.html c.md > evals/cases/my-event.yaml
    python -m summarizer.evaluate.scaffold --id cantor --corpus CORPUS CORPUS/basil/cantor/*.txt > cantor.yaml
    python -m summarizer.evaluate.scaffold --sentences a.txt b.txt      # the sentence IDs to label against

The articles are read with ``summarizer.load`` (any format it reads) and segmented with
``summarizer.segment``, exactly as a run will. By default their text is stored in the case, so
the case runs wherever the package is installed. With ``--corpus`` (third-party text that must
not be copied into the repository) the case stores each article's path inside the corpus folder,
its sha256 and a digest per sentence instead. Then label the facts, consensus, discrepancies and
timeline by hand, citing the sentence IDs that ``--sentences`` prints (see ``evals/README.md``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from summarizer.errors import SummarizerError
from summarizer.evaluate.gold import FORMAT, sentence_digest
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


def article_entries(docs: Sequence[Document], root: Path, corpus: Path | None = None) -> list[dict[str, Any]]:
    entries = []
    for article in prepare(list(docs)):
        d = article.doc
        if corpus is not None:
            entries.append(
                {
                    "id": article.id,
                    "corpus_path": _relative(d.origin, corpus),
                    "sha256": d.sha256,
                    "published": d.published,
                    "sentence_digests": {s.id: sentence_digest(s.text) for s in article.citable},
                }
            )
            continue
        entry: dict[str, Any] = {"id": article.id, "path": _relative(d.origin, root), "sha256": d.sha256}
        entry.update({"title": d.title, "published": d.published, "source": d.source, "url": d.url})
        entry = {k: v for k, v in entry.items() if v is not None}
        entry["text"] = d.text
        entry["sentences"] = {s.id: s.text for s in article.citable}
        entries.append(entry)
    return entries


def skeleton(
    case_id: str, title: str, docs: Sequence[Document], root: Path, corpus: Path | None = None
) -> dict[str, Any]:
    entries = article_entries(docs, root, corpus)
    return {
        "format": FORMAT,
        "id": case_id,
        "title": title,
        "notes": "How the labels were made: …",
        "facts": {e["id"]: [] for e in entries},
        "consensus": [],
        "discrepancies": [],
        "timeline": [],
        "articles": entries,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m summarizer.evaluate.scaffold", description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", metavar="PATH", help="article files, folders or URLs, in case order")
    parser.add_argument("--id", help="case id: lower-case letters, digits, - and _ (required unless --sentences)")
    parser.add_argument("--title", default="", help="one line describing the event")
    parser.add_argument("--root", default=".", help="store article paths relative to this folder (default: .)")
    parser.add_argument(
        "--corpus",
        metavar="DIR",
        help="the articles are third-party text in this folder: store their paths in it, sha256 and sentence "
        "digests instead of their text",
    )
    parser.add_argument(
        "--sentences", action="store_true", help="print each article's citable sentences with their IDs, to label"
    )
    args = parser.parse_args(argv)
    if not args.sentences and not args.id:
        parser.error("--id is required to write a case")
    try:
        docs = load(args.inputs)
    except SummarizerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.sentences:
        for article in prepare(list(docs)):
            d = article.doc
            sys.stdout.write(f"== {article.id}  {d.origin}  published {d.published or 'unknown'}\n{d.title}\n")
            sys.stdout.writelines(f"{article.id} {s.id}: {s.text}\n" for s in article.citable)
        return 0
    corpus = Path(args.corpus) if args.corpus else None
    sys.stdout.write(dump(skeleton(args.id, args.title or docs[0].title, docs, Path(args.root), corpus)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
