"""Benchmark ``summarizer batch`` against a local server with a fixed latency.

    python benchmarks/batch_bench.py                     # 1,000 articles, 100 ms, concurrency 32
    python benchmarks/batch_bench.py --articles 200 --latency 0.05 --concurrency 16

One command, one process for the batch (the server runs in its own process, so it neither
competes for this process's GIL nor counts in its memory). It prints:

1. **full pipeline**: a fresh store, every article segmented, summarised through instructor
   and grounded, every multi-article event briefed. Wall time against the ideal
   ``calls x latency / concurrency`` (the issue's ``N x latency / concurrency`` counts only the
   N article calls; both are shown), and the CPU seconds the batch process used: when they
   approach the wall time, the run is CPU-bound, not waiting on the server. It runs ``--repeat``
   times (default 3), each on a fresh store, and reports the median run and the range: one run
   on a shared two-CPU machine varies by a few per cent. Once more as the real
   ``python -m summarizer batch`` command, interpreter start and imports included.
2. **summaries only**: the same without the event briefs, so the calls are exactly the N
   articles of the issue's ``N x latency / concurrency`` (also the median of ``--repeat`` runs).
3. **batch machinery**: the same run with the per-article work replaced by one plain chat
   request per article (no segmentation, no instructor, no grounding): what the store,
   queue, rate limiter, retry policy and HTTP client cost on their own.
4. **cached re-run** over the same inbox (zero model calls), in process and as the real
   ``python -m summarizer batch`` command including interpreter start-up.
5. **peak memory** (max RSS) of the batch process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from summarizer.schemas import ArticleSummary, CallStats  # noqa: E402

from summarizer import segment as segment_module  # noqa: E402
from summarizer import summarize as summarize_module  # noqa: E402
from summarizer.ask import Settings  # noqa: E402
from summarizer.batch import inbox  # noqa: E402
from summarizer.batch.config import BatchConfig, Counters  # noqa: E402
from summarizer.batch.runner import Batch  # noqa: E402
from summarizer.batch.store import Store  # noqa: E402
from summarizer.providers import resolve  # noqa: E402
from summarizer.segment import Sentence  # noqa: E402
from summarizer.summarize import summary_messages  # noqa: E402
from summarizer.templates import load_prompts  # noqa: E402
from tests.doubles.synthetic import synthetic_articles  # noqa: E402

SERVER_NICE = -10
"""The latency server's priority change: it stands in for a remote machine, whose answers do not
wait for the batch's CPU. At the default priority, on two CPUs both busy with the batch, its
answers went out 0.3-0.4 ms later on average (where the server can, i.e. as root; see the README)."""


@contextmanager
def latency_server(latency: float, trace: Path | None = None) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "latency_server.py"), "--latency", str(latency), "--nice", str(SERVER_NICE)]
        + (["--trace", str(trace)] if trace else []),
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("READY "):
            raise SystemExit(f"the latency server did not start: {line!r}")
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def cpu_seconds() -> float:
    """CPU used by this process and by its finished children (the batch's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_once(
    store_path: Path, feed: Path, base_url: str, concurrency: int, workers: int, *, briefs: bool = True
) -> tuple[Counters, float, float]:
    """One batch run (``workers`` processes): (counters, wall seconds, CPU seconds of all of them)."""
    provider = resolve(base_url=base_url, model="bench-model", timeout=60.0)
    with Store(store_path) as store:
        store.lock()
        batch = Batch(
            store,
            model=provider.model,
            prompts=load_prompts(),
            settings=Settings(),
            config=BatchConfig(concurrency=concurrency, workers=workers, briefs=briefs),
        )
        batch.start(inbox=str(feed), provider=provider.label)
        wall, cpu = time.perf_counter(), cpu_seconds()
        batch.run(inbox.read([str(feed)]), lambda: provider)  # as the command does
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        batch.finish("completed")
        return batch.counters, wall, cpu


# -- the machinery-only variant: one plain request per article --------------------------------------
def _trivial_segment(text: str) -> list[Sentence]:
    sentences, start = [], 0
    for i, piece in enumerate(text.split(". "), start=1):
        sentences.append(Sentence(id=f"s{i}", start=start, end=start + len(piece), text=piece))
        start += len(piece) + 2
    return sentences


async def _plain_summary(
    article: Any, *, client: Any, model: str, prompts: Any, settings: Any, cache: Any = None
) -> ArticleSummary:
    completion = await client.complete(
        {"model": model, "messages": summary_messages(article, prompts), "max_tokens": settings.max_tokens}
    )
    usage = completion.usage
    stats = CallStats(calls=1, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)
    return ArticleSummary(article_id=article.id, headline=article.title, stats=stats)


@contextmanager
def machinery_only() -> Iterator[None]:
    # The batch imports these where it calls them (so a run with nothing to do never loads them).
    saved = segment_module.segment, summarize_module.summarize_article
    segment_module.segment, summarize_module.summarize_article = _trivial_segment, _plain_summary  # type: ignore[assignment]
    try:
        yield
    finally:
        segment_module.segment, summarize_module.summarize_article = saved


def cli_seconds(store_path: Path, feed: Path, base_url: str, *extra: str) -> tuple[float, str]:
    """Wall time of the real ``python -m summarizer batch`` command, and its summary line."""
    command = [
        sys.executable, "-m", "summarizer", "batch", str(feed), "--store", str(store_path),
        "--base-url", base_url, "--model", "bench-model", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def import_seconds() -> float:
    """Wall time of ``python -c "import summarizer.cli"``: the start-up every command pays."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import summarizer.cli"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def mean_in_flight(trace: Path, start: float, end: float) -> float:
    """Requests the server held at once, on average over [start, end] (wall clock), from its trace."""
    pairs = json.loads(trace.read_text())
    held = sum(max(0.0, min(answered, end) - max(arrived, start)) for arrived, answered in pairs)
    return held / max(end - start, 1e-9)


def edges(trace: Path, start: float, end: float) -> tuple[float, float]:
    """Seconds from ``start`` to the first request the server received, and from its last answer to ``end``."""
    pairs = [(a, b) for a, b in json.loads(trace.read_text()) if start <= a <= end]
    if not pairs:
        return 0.0, 0.0
    return round(min(a for a, _ in pairs) - start, 3), round(end - max(b for _, b in pairs), 3)


def busy_cpus(seconds: float = 1.0) -> float | None:
    """CPUs kept busy by other processes while this one sleeps (Linux /proc/stat), to flag a noisy machine."""
    try:

        def sample() -> tuple[int, int]:
            with open("/proc/stat") as stat:
                fields = [int(x) for x in stat.readline().split()[1:]]
            idle = fields[3] + fields[4]
            return sum(fields) - idle, sum(fields)

        busy0, total0 = sample()
        time.sleep(seconds)
        busy1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)


def rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1, help="server latency per request, seconds")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="batch processes (default: one per CPU, as the CLI)"
    )
    parser.add_argument("--per-event", type=int, default=10, help="articles per synthetic event (default 10)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="full-pipeline runs, each on a fresh store; the median is reported"
    )
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # instructor logs every failed validation at ERROR

    results: dict[str, Any] = {
        "articles": args.articles,
        "latency": args.latency,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "busy_cpus_before": busy_cpus(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "server-trace.json"
        measure(args, Path(tmp), trace, results)
        window = results.pop("full_window")
        results["full"]["server_in_flight"] = round(mean_in_flight(trace, *window), 1)
        results["full"]["first_request_s"], results["full"]["after_last_answer_s"] = edges(trace, *window)
    report(args, results)


def measure(args: argparse.Namespace, tmp: Path, trace: Path, results: dict[str, Any]) -> None:
    """The three runs against one latency server; its trace is complete once this returns."""
    with latency_server(args.latency, trace) as base_url:
        feed = Path(tmp) / "inbox.jsonl"
        records = synthetic_articles(args.articles, per_event=args.per_event, seed=1)
        feed.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        results["rss_before_mib"] = round(rss_mib(), 1)

        # Several runs, each on a fresh store: one run on a shared two-CPU machine varies by a few per cent.
        runs = []
        for n in range(max(args.repeat, 1)):
            counters, wall, cpu = run_once(Path(tmp) / f"full{n}.db", feed, base_url, args.concurrency, args.workers)
            ended = time.time()  # run_once returns right after its timed part (it only closes the run row)
            runs.append((wall, cpu, counters, (ended - wall, ended)))
        walls = sorted(wall for wall, *_ in runs)
        wall, cpu, counters, window = sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]  # the median run
        results["full_window"] = window
        ideal_calls = counters.calls * args.latency / args.concurrency
        ideal_articles = args.articles * args.latency / args.concurrency
        results["full"] = {
            "runs": len(runs),
            "wall_s": round(wall, 3),
            "walls_s": [round(w, 3) for w in walls],
            "cpu_s": round(cpu, 3),
            "calls": counters.calls,
            "summarized": counters.summarized,
            "failed": counters.failed,
            "briefs": counters.briefs,
            "ideal_calls_s": round(ideal_calls, 3),
            "ratio_vs_calls_ideal": round(wall / ideal_calls, 3),
            "ratio_range": [round(walls[0] / ideal_calls, 3), round(walls[-1] / ideal_calls, 3)],
            "ideal_articles_s": round(ideal_articles, 3),
            "ratio_vs_articles_ideal": round(wall / ideal_articles, 3),
            "cpu_ms_per_call": round(1000 * cpu / max(counters.calls, 1), 2),
        }
        results["peak_rss_mib"] = round(rss_mib(), 1)
        results["peak_worker_rss_mib"] = round(rss_mib(resource.RUSAGE_CHILDREN), 1)  # the largest worker

        # The ideal counts the N article calls only: the same pipeline without the event briefs.
        alone = []
        for n in range(max(args.repeat, 1)):
            counters, wall, _ = run_once(
                Path(tmp) / f"alone{n}.db", feed, base_url, args.concurrency, args.workers, briefs=False
            )
            alone.append(wall)
        alone.sort()
        results["summaries_only"] = {
            "runs": len(alone),
            "wall_s": round(alone[(len(alone) - 1) // 2], 3),
            "walls_s": [round(w, 3) for w in alone],
            "calls": counters.calls,
            "ratio_vs_articles_ideal": round(alone[(len(alone) - 1) // 2] / ideal_articles, 3),
            "ratio_range": [round(alone[0] / ideal_articles, 3), round(alone[-1] / ideal_articles, 3)],
        }

        cached, cached_wall, _ = run_once(Path(tmp) / "full0.db", feed, base_url, args.concurrency, args.workers)
        command_s, _ = cli_seconds(
            Path(tmp) / "command.db", feed, base_url, "--concurrency", str(args.concurrency),
            "--workers", str(args.workers),
        )  # fmt: skip
        results["full"]["command_s"] = round(command_s, 3)
        cli_s, cli_line = cli_seconds(Path(tmp) / "full0.db", feed, base_url)
        results["cached_rerun"] = {
            "in_process_s": round(cached_wall, 3),
            "cli_s": round(cli_s, 3),
            "import_summarizer_cli_s": round(import_seconds(), 3),
            "calls": cached.calls,
            "skipped": cached.skipped,
            "cli_summary": cli_line,
        }

        with machinery_only():
            counters, wall, cpu = run_once(Path(tmp) / "machinery.db", feed, base_url, args.concurrency, args.workers)
        ideal = counters.calls * args.latency / args.concurrency
        results["machinery"] = {
            "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "calls": counters.calls,
            "ideal_s": round(ideal, 3),
            "ratio": round(wall / ideal, 2),
        }


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(results, indent=2))
        return
    full, rerun, machinery = results["full"], results["cached_rerun"], results["machinery"]
    alone = results["summaries_only"]
    busy = results["busy_cpus_before"]
    if busy is not None and busy > 0.25:
        print(f"warning: other processes kept {busy:.1f} of {results['cpus']} CPUs busy before the run; timings suffer")
    print(
        f"{args.articles} articles, latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, "
        f"{results['cpus']} CPU(s), {args.workers} worker(s)\n"
        f"full pipeline    {full['wall_s']:.2f} s for {full['calls']} calls ({full['summarized']} summaries, "
        f"{full['briefs']} briefs, {full['failed']} failed); ideal {full['ideal_calls_s']:.2f} s -> "
        f"{full['ratio_vs_calls_ideal']:.3f}x (vs N*latency/concurrency {full['ideal_articles_s']:.2f} s: "
        f"{full['ratio_vs_articles_ideal']:.3f}x); CPU {full['cpu_s']:.2f} s = {full['cpu_ms_per_call']:.1f} ms/call;\n"
        f"                 the median of {full['runs']} runs ("
        + ", ".join(f"{w:.2f}" for w in full["walls_s"])
        + f" s: {full['ratio_range'][0]:.3f}-{full['ratio_range'][1]:.3f}x); "
        f"the server held {full['server_in_flight']:.1f} requests at once on average (of {args.concurrency});\n"
        f"                 the first request reached it {full['first_request_s']:.2f} s into the run, and the run "
        f"ended {full['after_last_answer_s']:.2f} s after its last answer;\n"
        f"                 as a command (`python -m summarizer batch`, a fresh store, interpreter start and "
        f"imports included): {full['command_s']:.2f} s\n"
        f"summaries only   {alone['wall_s']:.2f} s for {alone['calls']} calls (no event briefs); "
        f"N*latency/concurrency {full['ideal_articles_s']:.2f} s -> {alone['ratio_vs_articles_ideal']:.3f}x; "
        f"the median of {alone['runs']} runs ("
        + ", ".join(f"{w:.2f}" for w in alone["walls_s"])
        + f" s: {alone['ratio_range'][0]:.3f}-{alone['ratio_range'][1]:.3f}x)\n"
        f"batch machinery  {machinery['wall_s']:.2f} s for {machinery['calls']} calls; ideal "
        f"{machinery['ideal_s']:.2f} s -> {machinery['ratio']:.2f}x; CPU {machinery['cpu_s']:.2f} s\n"
        f"cached re-run    {rerun['in_process_s']:.3f} s in process, {rerun['cli_s']:.2f} s as a command "
        f"(of which {rerun['import_summarizer_cli_s']:.2f} s is `import summarizer.cli`); "
        f"{rerun['calls']} model calls, {rerun['skipped']} skipped\n"
        f"peak memory      {results['peak_rss_mib']:.0f} MiB max RSS"
        + (f", largest worker {results['peak_worker_rss_mib']:.0f} MiB " if args.workers > 1 else " ")
        + f"(after imports: {results['rss_before_mib']:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
