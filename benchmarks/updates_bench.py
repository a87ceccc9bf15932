"""Benchmark ``summarizer batch updates`` over a store of many events, each with several brief versions.

    python benchmarks/updates_bench.py                       # 1,000 events, 3 versions each
    python benchmarks/updates_bench.py --events 200 --versions 2

The store is built by the real command (``summarizer batch --engine extractive``, no model), one run per
version: run k brings the k-th article of every event, so each event gets a new version in each run. Then
it times, in process (with the SQL statements counted) and as the real command:

1. ``batch updates`` after the last run: every event changed (a diff per event, version k-1 against k);
2. ``batch updates --version 1``: every event against its first version;
3. ``batch updates --event ID``: one event;
4. the last inbox again, then ``batch updates``: no changes (no diff is made).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from summarizer.batch.export import configuration  # noqa: E402
from summarizer.batch.history import updates  # noqa: E402
from summarizer.batch.store import Store  # noqa: E402
from tests.doubles.synthetic import synthetic_articles  # noqa: E402


def command(*argv: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "summarizer", *argv], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def build(store: Path, work: Path, events: int, versions: int) -> list[Path]:
    records = synthetic_articles(events * versions, per_event=versions, seed=7)
    feeds = []
    for k in range(versions):
        feed = work / f"run{k + 1}.jsonl"
        feed.write_text("".join(json.dumps(r) + "\n" for r in records[k::versions]), encoding="utf-8")
        feeds.append(feed)
    for feed in feeds:
        seconds = command("batch", str(feed), "--store", str(store), "--engine", "extractive",
                          "--min-event-articles", "1", "-q")  # fmt: skip
        print(f"  built {feed.name}: {seconds:.1f} s", file=sys.stderr)
    return feeds


def timed(store_path: Path, repeat: int, **options: Any) -> dict[str, Any]:
    """Median in-process time of ``updates(**options)`` and the SQL statements one call runs."""
    times, statements = [], 0
    for _ in range(repeat):
        with Store(store_path, readonly=True) as store:
            seen: list[str] = []
            store.db.set_trace_callback(seen.append)
            model, prompt_version = configuration(store, None, None)
            started = time.perf_counter()
            found = updates(store, model=model, prompt_version=prompt_version, **options)
            times.append(time.perf_counter() - started)
            statements = len(seen)
    changed = sum(1 for e in found.events if e.diff is not None and e.diff.changed)
    return {"seconds": statistics.median(times), "statements": statements, "events changed": changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = work / "batch.db"
        feeds = build(store, work, args.events, args.versions)
        with Store(store, readonly=True) as s:
            briefs = s.query("SELECT count(*) AS n, count(DISTINCT event_id) AS e FROM briefs WHERE status = 'done'")[0]
        print(f"store: {briefs['e']} events, {briefs['n']} brief versions, {store.stat().st_size / 1e6:.1f} MB")
        results = {
            "latest run": timed(store, args.repeat),
            "since version 1": timed(store, args.repeat, version=1),
            "one event": timed(store, args.repeat, event_id=1),
        }
        base = ["batch", "updates", "--store", str(store), "--format", "json", "-o", str(work / "out.json")]
        results["latest run"]["command seconds"] = command(*base)
        command("batch", str(feeds[-1]), "--store", str(store), "--engine", "extractive", "--min-event-articles", "1",
                "-q")  # fmt: skip
        results["no changes"] = timed(store, args.repeat)
        results["no changes"]["command seconds"] = command(*base)
        for name, row in results.items():
            shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
            print(f"{name:>16}: {shown}")


if __name__ == "__main__":
    main()
