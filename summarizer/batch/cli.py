"""``summarizer batch``: run over an inbox (the default action), ``status``, ``export`` and ``updates``.

summarizer batch INBOX... --store PATH [options]     (same as: summarizer batch run INBOX...)
summarizer batch status --store PATH [--json]
summarizer batch export --store PATH [--format jsonl|md] [--history] [-o FILE]
summarizer batch updates --store PATH [--since TIME | --version N] [--event ID] [--format text|md|json|html]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from summarizer.batch.config import BatchConfig, Counters
from summarizer.load import MAX_BYTES

ACTIONS = ("run", "status", "export", "updates")
DEFAULT_ACTION = "run"
"""What ``summarizer batch INBOX...`` does: the command line spells it out before parsing (``cli.main``)."""


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, metavar="PATH", help="the SQLite batch store (created if missing)")


def add_parser(sub: Any) -> None:
    description = (
        "Summarise the new articles of an inbox into a SQLite store, many at once within rate limits; "
        "retry transient faults; group related articles into events, each with a cross-article brief. "
        "Safe to kill at any moment: run the same command again to resume."
    )
    batch = sub.add_parser(
        "batch",
        help="Summarise an inbox incrementally into a store; group articles into events.",
        description=description,
        usage="summarizer batch [run] INBOX... --store PATH [options]\n"
        "       summarizer batch status --store PATH [--json]\n"
        "       summarizer batch export --store PATH [--format jsonl|md] [--history] [-o FILE]\n"
        "       summarizer batch updates --store PATH [--since TIME | --version N] [--event ID] [--format FMT]",
    )
    # prog: each action's usage line starts "summarizer batch ACTION", not with the batch parser's own usage.
    actions = batch.add_subparsers(
        dest="batch_action", metavar="[run] INBOX | status | export | updates", prog="summarizer batch"
    )

    def show_help(args: argparse.Namespace, out: Console, err: Console) -> int:
        batch.print_help(sys.stderr)
        return 2

    batch.set_defaults(handler=show_help)

    run = actions.add_parser("run", help="summarise what is new in INBOX (the default action)", description=description)
    run.add_argument(
        "inbox", nargs="+", metavar="INBOX", help="a directory, a glob, files, a JSONL stream, or - (JSONL on stdin)"
    )
    _store_option(run)
    work = run.add_argument_group("batch")
    work.add_argument("--concurrency", "-c", type=int, default=8, help="model requests in flight at once (default 8)")
    work.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes sharing the work and the concurrency (default: one per CPU, Linux; 1 elsewhere)",
    )
    work.add_argument("--rpm", type=float, help="at most this many requests per minute (default: unlimited)")
    work.add_argument("--tpm", type=float, help="at most this many tokens per minute (default: unlimited)")
    work.add_argument("--retries", type=int, default=6, help="attempts per model call for transient faults (default 6)")
    work.add_argument("--backoff", type=float, default=1.0, help="first retry wait in seconds, doubled each time")
    work.add_argument("--max-backoff", type=float, default=60.0, help="longest retry wait in seconds (default 60)")
    work.add_argument("--retry-failed", action="store_true", help="also retry articles whose answers were unusable")
    work.add_argument(
        "--duplicate-threshold",
        type=float,
        default=BatchConfig.duplicate_threshold,
        metavar="J",
        help=f"Jaccard similarity at which an article is a near-duplicate (default {BatchConfig.duplicate_threshold})",
    )
    work.add_argument(
        "--event-threshold",
        type=float,
        default=BatchConfig.event_threshold,
        metavar="COSINE",
        help=f"cosine similarity at which an article joins an event (default {BatchConfig.event_threshold})",
    )
    work.add_argument(
        "--event-window",
        type=float,
        default=BatchConfig.event_window_days,
        metavar="DAYS",
        help=f"an article joins only events active within this many days (default {BatchConfig.event_window_days:g})",
    )
    work.add_argument("--no-briefs", action="store_true", help="group into events but do not brief them")
    work.add_argument(
        "--min-event-articles",
        type=int,
        default=BatchConfig.min_event_articles,
        metavar="N",
        help=f"fewest articles an event needs to be briefed (default {BatchConfig.min_event_articles})",
    )
    work.add_argument(
        "--max-brief-articles",
        type=int,
        default=BatchConfig.max_brief_articles,
        metavar="N",
        help=f"most articles one event brief reads, the latest (default {BatchConfig.max_brief_articles})",
    )
    work.add_argument("--max-bytes", type=int, default=MAX_BYTES, help="largest article accepted, in bytes")
    work.add_argument("--quiet", "-q", action="store_true", help="no progress display or summary line")
    work.add_argument(
        "--engine",
        choices=["llm", "extractive"],
        default="llm",
        help="extractive: no model at all, lead and fact-bearing sentences (stored apart from any model's results)",
    )
    from summarizer.options import add_model_options

    add_model_options(run)
    run.set_defaults(handler=cmd_run)

    says = "What the store holds and what is left to do."
    status = actions.add_parser("status", help=says, description=says)
    _store_option(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--model", help="report this model (default: the latest run's)")
    status.set_defaults(handler=cmd_status)

    says = "Write every summary and event brief as JSONL or Markdown."
    export = actions.add_parser("export", help=says, description=says)
    _store_option(export)
    export.add_argument("--format", "-f", choices=["jsonl", "md"], default="jsonl", help="default jsonl")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    export.add_argument("--model", help="export this model's results (default: the latest run's)")
    export.add_argument("--prompt-version", help="e.g. v1@e5c5e4c6 (default: the latest run's)")
    export.add_argument(
        "--history", action="store_true", help="also every version of each event's brief, with what each changed"
    )
    export.set_defaults(handler=cmd_export)

    says = "What changed in each event's brief: in the latest run, since a time, or since a version."
    updates = actions.add_parser("updates", help=says, description=says + " Reads stored briefs; asks no model.")
    _store_option(updates)
    when = updates.add_mutually_exclusive_group()
    when.add_argument("--since", metavar="TIME", help="changes since TIME: 2026-03-02T18:00 (UTC) or '2 hours ago'")
    when.add_argument("--version", type=int, metavar="N", help="changes since each event's version N")
    updates.add_argument("--event", type=int, metavar="ID", help="this event only")
    updates.add_argument(
        "--format", "-f", choices=["text", "md", "json", "html"], default="text", help="output format (default text)"
    )
    updates.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    updates.add_argument("--model", help="these results (default: the latest run's model)")
    updates.add_argument("--prompt-version", help="e.g. v1@e5c5e4c6 (default: the latest run's)")
    updates.set_defaults(handler=cmd_updates)


# -- run ----------------------------------------------------------------------------------------
def config_from_args(args: argparse.Namespace) -> BatchConfig:
    from summarizer.batch.retry import RetryPolicy
    from summarizer.errors import ConfigurationError

    if args.concurrency < 1 or args.retries < 1 or (args.workers is not None and args.workers < 1):
        raise ConfigurationError("--concurrency, --retries and --workers must be at least 1")
    if (args.rpm is not None and args.rpm <= 0) or (args.tpm is not None and args.tpm <= 0):
        raise ConfigurationError("--rpm and --tpm must be positive")
    return BatchConfig(
        concurrency=args.concurrency,
        requests_per_minute=args.rpm,
        tokens_per_minute=args.tpm,
        retry=RetryPolicy(attempts=args.retries, initial=args.backoff, maximum=args.max_backoff),
        duplicate_threshold=args.duplicate_threshold,
        event_threshold=args.event_threshold,
        event_window_days=args.event_window,
        briefs=not args.no_briefs,
        min_event_articles=args.min_event_articles,
        max_brief_articles=args.max_brief_articles,
        retry_failed=args.retry_failed,
        max_bytes=args.max_bytes,
        workers=args.workers or os.cpu_count() or 1,
        engine=args.engine,
    )


def _model_name(provider: Any) -> str:
    """The model the results will be stored under, known without starting an embedded server."""
    from summarizer.providers import first_served_model

    if provider.model:
        return str(provider.model)
    return first_served_model(provider.base_url or "", provider.api_key)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer.batch import inbox
    from summarizer.batch.display import Display
    from summarizer.batch.runner import Batch
    from summarizer.batch.store import Store
    from summarizer.options import print_notice, prompts_from_args, provider_from_args, settings_from_args
    from summarizer.providers import Provider, running
    from summarizer.settings import Settings

    config = config_from_args(args)
    provider = None if config.engine == "extractive" else provider_from_args(args)
    settings = Settings() if provider is None else settings_from_args(args, provider)
    prompts = prompts_from_args(args)
    items = inbox.read(args.inbox, max_bytes=config.max_bytes)  # a missing inbox fails here, before the store
    model = "" if provider is None else _model_name(provider)
    display = Display(err, enabled=err.is_terminal and not args.quiet)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with Store(args.store) as store:
            store.lock()
            batch = Batch(store, model=model, prompts=prompts, settings=settings, config=config, progress=display)
            batch.start(inbox=" ".join(args.inbox), provider="none" if provider is None else provider.label)
            try:
                with display.shown(), contextlib.ExitStack() as stack:

                    def ready() -> Provider:  # called once there is work: nothing new, nothing started
                        assert provider is not None
                        print_notice(provider, err)
                        return stack.enter_context(running(replace(provider, model=model)))

                    batch.run(items, ready)
            except (KeyboardInterrupt, asyncio.CancelledError):
                batch.finish("interrupted")
                err.print(_interrupted_message(batch.counters, args), highlight=False, markup=False, soft_wrap=True)
                return 130
            except BaseException as exc:
                batch.finish("failed", f"{type(exc).__name__}: {exc}")
                raise
            batch.finish("completed")
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not args.quiet:
        err.print(_summary_line(batch.counters, args.store), highlight=False, soft_wrap=True)
    c = batch.counters
    attempted = c.summarized + c.failed
    return 1 if attempted and c.failed == attempted else 0


def _summary_line(c: Counters, store: str) -> str:
    return (
        f"{c.seen} item(s) read: {c.new} new ({c.duplicates} near-duplicate), {c.skipped} already summarised, "
        f"{c.input_errors} unreadable · {c.summarized} summarised, {c.failed} failed · "
        f"{c.briefs} event brief(s) · {c.calls} model call(s), {c.retries} retries, {c.tokens:,} tokens · "
        f"store {store}"
    )


def _interrupted_message(c: Counters, args: argparse.Namespace) -> str:
    inbox = " ".join(args.inbox)
    return (
        f"interrupted: {c.summarized} article(s) summarised and {c.briefs} brief(s) saved in this run are in "
        f"{args.store}; nothing is lost. To resume: summarizer batch {inbox} --store {args.store}"
    )


# -- status -------------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer.batch.export import status
    from summarizer.batch.store import Store

    with Store(args.store, readonly=True) as store:
        report = status(store, model=args.model)
    if args.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
        return 0
    states = report.states
    out.print(
        f"[bold]{report.path}[/] · model {report.model} · prompts {report.prompt_version}",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"articles {report.articles}: {states.get('done', 0)} summarised, {states.get('failed', 0)} failed, "
        f"{report.pending} pending, {report.duplicates} near-duplicate · {report.input_errors} unreadable input(s)",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"events {report.events}: {report.multi_article_events} with several articles, {report.briefed_events} briefed",
        highlight=False,
    )
    for r in report.runs:
        out.print(
            f"run {r['id']}  {str(r['started_at'])[:16].replace('T', ' ')}  {r['status']}: read {r['seen']}, "
            f"new {r['new']}, summarised {r['summarized']}, failed {r['failed']}, briefs {r['briefs']}, "
            f"{r['calls']} calls, {r['retries']} retries, {r['prompt_tokens'] + r['completion_tokens']:,} tokens",
            highlight=False,
            soft_wrap=True,
        )
    for failure in report.failures:
        out.print(
            f"[red]failed[/] a{failure['article_id']} {failure['origin']} "
            f"({failure['attempts']} attempt(s), {failure['error_kind']}): {failure['error']}",
            highlight=False,
        )
    last = report.runs[0] if report.runs else None
    if report.pending or (last and last["status"] in ("interrupted", "abandoned", "running")):
        inbox = last["inbox"] if last else "INBOX"
        out.print(
            f"[yellow]{report.pending} article(s) pending[/]: run `summarizer batch {inbox} --store {args.store}` "
            "to resume",
            highlight=False,
            soft_wrap=True,  # keep the command on one line, ready to copy
        )
    return 0


# -- export -------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer.batch.export import export_jsonl, export_markdown
    from summarizer.batch.store import Store

    write = export_jsonl if args.format == "jsonl" else export_markdown
    options = {"model": args.model, "prompt_version": args.prompt_version, "history": args.history}
    with Store(args.store, readonly=True) as store:
        if args.output:
            with open(Path(args.output), "w", encoding="utf-8") as handle:
                count = write(store, handle, **options)
            err.print(f"wrote {args.output} ({count} {'records' if args.format == 'jsonl' else 'events'})")
        else:
            try:
                write(store, sys.stdout, **options)
                sys.stdout.flush()
            except BrokenPipeError:  # e.g. `| head`: the reader has what it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_updates(args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer.batch.export import configuration
    from summarizer.batch.history import updates
    from summarizer.batch.store import Store
    from summarizer.errors import ConfigurationError
    from summarizer.options import write_output
    from summarizer.updates.render import render

    if args.version is not None and args.version < 1:
        raise ConfigurationError("--version must be at least 1")
    with Store(args.store, readonly=True) as store:
        model, prompt_version = configuration(store, args.model, args.prompt_version)
        found = updates(
            store,
            model=model,
            prompt_version=prompt_version,
            since=args.since,
            version=args.version,
            event_id=args.event,
        )
    fmt = "rich" if args.format == "text" else args.format
    text = render(found, fmt, console=out if args.output is None else None)
    write_output(text, args.output, err)
    return 0
