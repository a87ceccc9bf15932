"""Time the cross-source analysis alone, per event, against the number of articles and comparable mentions.

    python benchmarks/analysis_bench.py                       # the seeds, repeated up to 12 articles
    python benchmarks/analysis_bench.py DIR [DIR ...]         # articles from these folders (e.g. a corpus)

Each line: articles, sentences, sentence pairs the detectors consider, median of --repeat runs (ms).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from summarizer.analysis import analyse
from summarizer.load import load
from summarizer.segment import prepare

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="*", help="folders of articles (default: examples/hasakah)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per size; the median is shown")
    args = parser.parse_args()
    docs = load([str(p) for p in (args.folders or [ROOT / "examples/hasakah"])])
    pool = [docs[i % len(docs)] for i in range(max(12, len(docs)))]
    analyse(prepare(pool[:2]))  # imports and caches warmed once
    print("articles  sentences  pairs  median_ms")
    for n in (2, 3, 5, 8, 10, 12):
        articles = prepare(pool[:n])
        sentences = sum(len(a.citable) for a in articles)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            analyse(articles)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{n:8d}  {sentences:9d}  {sentences * (sentences - 1) // 2:5d}  {statistics.median(times):9.1f}")


if __name__ == "__main__":
    main()
