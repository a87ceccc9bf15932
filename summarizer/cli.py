"""The terminal command: parses, calls the library, renders. ``main(argv) -> int`` so tests call it in-process."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from summarizer import __version__
from summarizer.errors import InputError, SummarizerError
from summarizer.options import (
    add_model_options,
    print_notice,
    prompts_from_args,
    provider_from_args,
    settings_from_args,
    write_output,
)
from summarizer.settings import MAX_BYTES

log = logging.getLogger("summarizer")

FORMATS = ("rich", "json", "md", "html")


# -- brief / summarize ----------------------------------------------------------------------
class _Display:
    """The live progress bar on a terminal, started at the first article: after any embedded server has
    started, since that server is forked and a display thread must not be running then."""

    def __init__(self, err: Console, enabled: bool) -> None:
        self.err = err
        self.enabled = enabled
        self.total: int | None = None
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, stage: str, detail: str) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=self.err, transient=True,
            )  # fmt: skip
            self._task = self._progress.add_task("starting", total=self.total)
            self._progress.start()
        if stage == "summarize":
            self._progress.update(self._task, description=f"summarizing {detail[:60]}")
        elif stage == "summarized":
            self._progress.advance(self._task)
        elif stage == "brief":
            self._progress.update(self._task, description=f"cross-article brief from {detail}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def cmd_brief(args: argparse.Namespace, out: Console, err: Console, *, cross_article: bool) -> int:
    from summarizer.pipeline import brief_sources
    from summarizer.segment import Article

    if not args.inputs:
        raise InputError("no input: give one or more files, directories, URLs, or - for standard input")
    if not cross_article and len(args.inputs) > 1:
        raise InputError("summarize takes one article; use 'summarizer brief' for several")
    saved = None
    if getattr(args, "since", None):
        from summarizer.updates.saved import read_brief

        saved = read_brief(args.since)  # before any model starts: a bad file fails at once
    provider = None if args.engine == "extractive" else provider_from_args(args)
    display = _Display(err, enabled=err.is_terminal and not args.quiet)

    def loaded(articles: Sequence[Article]) -> None:
        if not cross_article and len(articles) > 1:
            raise InputError(f"{args.inputs[0]} holds {len(articles)} articles; use 'summarizer brief' for several")
        display.total = len(articles)
        if provider is not None:
            print_notice(provider, err)

    try:
        brief = brief_sources(
            args.inputs, provider=provider, prompts=None if provider is None else prompts_from_args(args),
            settings=None if provider is None else settings_from_args(args, provider), concurrency=args.concurrency,
            cross_article=cross_article, max_bytes=args.max_bytes, progress=display, engine=args.engine,
            on_loaded=loaded,
        )  # fmt: skip
    finally:
        display.close()
    if getattr(args, "save", None):
        Path(args.save).write_text(brief.model_dump_json(indent=2) + "\n", encoding="utf-8")
        err.print(f"saved the brief to {args.save}", highlight=False)
    if saved is not None:
        return _emit_diff(saved, brief, args, out, err)
    return _emit(brief, args, out, err)


def _emit_diff(saved: Any, brief: Any, args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer.updates.render import render
    from summarizer.updates.saved import since_saved

    diff = since_saved(saved, args.since, brief)
    text = render(diff, args.format, console=out if args.output is None else None)
    write_output(text, args.output, err)
    if not args.quiet:
        err.print(f"[dim]{'changes' if diff.changed else 'no changes'} since {args.since}[/]", highlight=False)
    return 0


def _emit(brief: Any, args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer import render

    text = render.render(brief, args.format, console=out if args.output is None else None)
    write_output(text, args.output, err)
    if not args.quiet:
        s = brief.stats
        err.print(
            f"[dim]{len(brief.articles)} article(s), {s.calls} model call(s), {s.reasks} re-ask(s), "
            f"{s.prompt_tokens}+{s.completion_tokens} tokens, {len(brief.dropped)} claim(s) dropped, "
            f"{s.seconds:.1f}s[/]",
            highlight=False,
        )
    failed = [x for x in brief.summaries if x.status == "failed"]
    return 1 if failed and len(failed) == len(brief.summaries) else 0


def add_brief_parser(sub: Any, name: str, help_text: str, *, many: bool) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("inputs", nargs="*", metavar="PATH", help="files, directories, URLs, or - for stdin")
    p.add_argument("--format", "-f", choices=FORMATS, default="rich", help="output format (default: rich text)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.add_argument("--concurrency", type=int, default=1, help="articles summarised at once (default 1)")
    p.add_argument("--max-bytes", type=int, default=MAX_BYTES, help="largest input accepted, in bytes")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress or statistics on stderr")
    p.add_argument(
        "--engine",
        choices=["llm", "extractive"],
        default="llm",
        help="extractive: no model at all, lead and fact-bearing sentences (the eval baseline)",
    )
    if many:
        p.add_argument(
            "--since",
            metavar="OLD.json",
            help="show what changed since a brief saved with --format json (or --save), instead of the brief",
        )
        p.add_argument("--save", metavar="PATH", help="also save this brief as JSON, to diff against next time")
    add_model_options(p)
    p.set_defaults(handler=lambda a, o, e: cmd_brief(a, o, e, cross_article=many))


def cmd_schema(args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer import render

    text = render.json_schema(args.which)
    if args.write:
        for which in render.SCHEMAS:
            target = Path(args.write) / f"{which}.schema.json"
            target.write_text(render.json_schema(which), encoding="utf-8")
            err.print(f"wrote {target}", highlight=False)
        return 0
    sys.stdout.write(text)
    return 0


# -- entry point -----------------------------------------------------------------------------
Registrar = Callable[[Any], None]


def _extensions() -> list[Registrar]:
    """Subcommands that live in their own modules (evals, batch), registered if present."""
    registrars: list[Registrar] = []
    for module_name in ("summarizer.evaluate.cli", "summarizer.batch.cli"):
        try:
            module = __import__(module_name, fromlist=["add_parser"])
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        registrars.append(module.add_parser)
    return registrars


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summarizer",
        description="Grounded news briefs: every claim cites the exact source sentences it rests on.",
    )
    parser.add_argument("--version", action="version", version=f"summarizer {__version__}")
    parser.add_argument("--verbose", "-v", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_brief_parser(sub, "brief", "Summarise several articles about one event and brief across them.", many=True)
    add_brief_parser(sub, "summarize", "Summarise one article with cited sentences, facts and entities.", many=False)
    says = "Print the JSON Schema of the output (or of what the model must return)."
    p = sub.add_parser("schema", help=says, description=says)
    p.add_argument(
        "which",
        nargs="?",
        default="brief",
        choices=["brief", "brief-diff", "updates", "article-extraction", "brief-extraction"],
        help="the output (brief, the default), a diff (brief --since), batch updates,"
        " or one of the two answers asked of the model",
    )
    p.add_argument("--write", metavar="DIR", help="write all schemas into DIR")
    p.set_defaults(handler=cmd_schema)
    for register in _extensions():
        register(sub)
    return parser


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # instructor logs every failed validation at ERROR; we report those ourselves, as dropped claims.
    logging.getLogger("instructor").setLevel(logging.CRITICAL if verbose < 2 else logging.DEBUG)
    for noisy in ("httpx", "httpx2", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)


def with_default_action(argv: Sequence[str]) -> list[str]:
    """``argv`` with each command's default action spelled out (``batch INBOX`` is ``batch run INBOX``),
    decided on the words before parsing so the parser itself stays plain argparse."""
    from summarizer.batch.cli import ACTIONS, DEFAULT_ACTION

    words = list(argv)
    command = next((i for i, word in enumerate(words) if not word.startswith("-")), None)
    if command is None or words[command] != "batch" or command + 1 == len(words):
        return words
    following = words[command + 1]
    if following in ACTIONS or following in ("-h", "--help"):
        return words
    return [*words[: command + 1], DEFAULT_ACTION, *words[command + 1 :]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_default_action(sys.argv[1:] if argv is None else argv))
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    _configure_logging(args.verbose)
    out = Console()
    err = Console(stderr=True)
    try:
        return int(args.handler(args, out, err) or 0)
    except SummarizerError as exc:
        # Plain writes: one error is one line, never re-wrapped to the terminal width.
        for line in str(exc).splitlines() or [type(exc).__name__]:
            sys.stderr.write(f"summarizer: error: {line}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("summarizer: interrupted", highlight=False)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
