"""``summarizer eval``: score the pipeline on labelled cases; ``--compare A B`` gates a prompt change.

    summarizer eval                                  # bundled seed cases, embedded model, prompts v1
    summarizer eval --engine extractive              # the no-model baseline only
    summarizer eval --compare v1 evals/prompts/v1-worse --tolerance 0.02
    summarizer eval --compare v1 v2 --temperature 0.7 --repeat 3   # a stochastic provider, three runs each
    summarizer eval my-cases/ --model gpt-4o-mini --prompts prompts/v2 --corpus ~/corpus

Writes report.json, report.md and report.html (plus every scored brief) to ``--output-dir`` and
prints one side-by-side table with 95 % intervals over cases. With ``--compare`` the exit code
is 1 when the interval of B − A lies wholly below −tolerance on a gated metric (``--gate-mode
tolerance``: when B is below A by more than the tolerance).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from summarizer.errors import ConfigurationError
from summarizer.evaluate.compare import DEFAULT_TOLERANCE, Gate, compare, table
from summarizer.evaluate.intervals import DEFAULT_SEED
from summarizer.evaluate.metrics import METRICS

if TYPE_CHECKING:  # imported when the command runs, not when `summarizer --help` builds the parser
    from summarizer.evaluate.compare import Comparison
    from summarizer.evaluate.gold import LoadedCase
    from summarizer.evaluate.run import RunOutcome, Step

DEFAULT_OUTPUT = "out/eval"


def add_parser(sub: Any) -> None:
    from summarizer.options import add_model_options

    description = (
        "Run the pipeline over hand-labelled eval cases and score facts, citations, numbers, consensus and "
        "discrepancies against the labels, beside a no-model extractive baseline. With --compare, run two "
        "prompt sets on the same cases and fail (exit 1) when the second is worse on a gated metric."
    )
    gated = ", ".join(m.name for m in METRICS if m.gated)
    others = ", ".join(m.name for m in METRICS if not m.gated)
    epilog = f"Gated by default: {gated}. Not gated unless --gate names them: {others}. Rules: evals/README.md."
    p = sub.add_parser(
        "eval",
        help="Score prompts and models on labelled cases; gate prompt changes.",
        description=description,
        epilog=epilog,
    )
    p.add_argument("cases", nargs="*", metavar="CASE", help="case files or folders (default: the bundled cases)")
    p.add_argument(
        "--corpus",
        metavar="DIR",
        help="folder holding the third-party article text that corpus cases refer to (default: "
        "$SUMMARIZER_CORPUS, else shared/corpus beside a checkout); cases without their text are skipped",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("PROMPTS_A", "PROMPTS_B"),
        help="run two prompt sets (bundled versions like v1, or folders) and gate B against A",
    )
    p.add_argument(
        "--engine",
        choices=["llm", "extractive"],
        default="llm",
        help="llm: the model pipeline (default); extractive: only the no-model baseline",
    )
    p.add_argument("--no-baseline", action="store_true", help="leave the extractive baseline row out")
    p.add_argument("--output-dir", "-o", default=DEFAULT_OUTPUT, help=f"where reports go (default: {DEFAULT_OUTPUT})")
    p.add_argument(
        "--cache", metavar="PATH", help="response cache file (default: ~/.cache/summarizer/responses.sqlite)"
    )
    p.add_argument("--no-cache", action="store_true", help="always ask the model; neither read nor write the cache")
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"largest allowed drop of a gated rate metric (default: {DEFAULT_TOLERANCE})",
    )
    p.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="METRIC=TOL",
        help="per-metric tolerance (repeatable), e.g. fact_recall=0.05, reasks=2, schema_valid_rate=off",
    )
    p.add_argument(
        "--gate-mode",
        choices=["paired", "tolerance"],
        default="paired",
        help="paired (default): fail only when the 95 %% interval of the per-case difference B−A lies below "
        "−tolerance; tolerance: the old gate, fail when B's overall value is below A's by more than the tolerance",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each prompt set N times (needs --temperature > 0, or --no-cache); every run goes into the intervals",
    )
    p.add_argument(
        "--bootstrap-seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the bootstrap resampling, so reports are reproducible (default {DEFAULT_SEED})",
    )
    p.add_argument("--concurrency", type=int, default=1, help="articles summarised at once (default 1)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    add_model_options(p)
    p.set_defaults(handler=lambda args, out, err: cmd_eval(args, out, err))


def _cache(args: argparse.Namespace) -> Any:
    if args.no_cache:
        if args.cache:
            raise ConfigurationError("--cache and --no-cache cannot be combined")
        return None
    from summarizer.cache import DEFAULT_PATH, ResponseCache

    return ResponseCache(args.cache or DEFAULT_PATH)


class _Display:
    """Which run, case and article a model run is on: a rich progress bar on a terminal, else plain lines."""

    def __init__(self, err: Console, total: int, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.err, self.quiet = err, quiet
        self.bar: Progress | None = None
        if err.is_terminal and not quiet:
            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=err, transient=True,
            )  # fmt: skip
            self.task = self.bar.add_task("starting", total=total)

    def __enter__(self) -> _Display:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, step: Step) -> None:
        run = step.run + (f" run {step.repeat + 1}/{step.repeats}" if step.repeats > 1 else "")
        if step.stage == "summarize":
            text = f"{run}: {step.case_id} {step.detail}"
        elif step.stage == "brief":
            text = f"{run}: {step.case_id} cross-article brief from {step.detail}"
        elif step.stage == "summarized" and self.bar is not None:
            self.bar.advance(self.task)
            return
        else:
            return
        if self.bar is not None:
            self.bar.update(self.task, description=text[:90])
        elif not self.quiet:
            self.err.print(f"[dim]{escape(text)}[/]", highlight=False, markup=True, soft_wrap=True)


def _llm_runs(args: argparse.Namespace, cases: list[LoadedCase], err: Console) -> list[RunOutcome]:
    from summarizer.evaluate.run import run_llm
    from summarizer.options import print_notice, provider_from_args, settings_from_args
    from summarizer.providers import running
    from summarizer.templates import load_prompts

    specs = list(args.compare) if args.compare else [args.prompts]
    prompt_sets = [load_prompts(spec) for spec in specs]
    labels = [ps.label for ps in prompt_sets]
    if args.compare:
        labels = [f"A: {labels[0]}", f"B: {labels[1]}"]
    provider = provider_from_args(args)
    settings = settings_from_args(args, provider)
    if args.concurrency < 1:
        raise ConfigurationError("--concurrency must be at least 1")
    cache = _cache(args)
    print_notice(provider, err)
    articles = sum(len(c.articles) for c in cases) * args.repeat * len(prompt_sets)
    outcomes = []
    try:
        with running(provider) as ready, _Display(err, articles, args.quiet) as display:
            for prompts, label in zip(prompt_sets, labels, strict=True):
                outcomes.append(
                    run_llm(
                        cases,
                        provider=ready,
                        prompts=prompts,
                        settings=settings,
                        cache=cache,
                        concurrency=args.concurrency,
                        label=label,
                        progress=display,
                        repeats=args.repeat,
                        seed=args.bootstrap_seed,
                    )
                )
    finally:
        if cache is not None:
            cache.close()
    return outcomes


def _check_repeat(args: argparse.Namespace) -> None:
    if args.repeat < 1:
        raise ConfigurationError("--repeat must be at least 1")
    if args.repeat > 1 and args.engine == "extractive":
        raise ConfigurationError("--repeat runs a stochastic model; the extractive baseline is deterministic")
    if args.repeat > 1 and args.temperature == 0 and not args.no_cache:
        raise ConfigurationError(
            "--repeat with --temperature 0 repeats the same answers from the cache; "
            "set --temperature above 0, or --no-cache to measure the backend's own variation"
        )


def cmd_eval(args: argparse.Namespace, out: Console, err: Console) -> int:
    from summarizer.evaluate import report
    from summarizer.evaluate.gold import CaseError, default_corpus_dir, load_case_set
    from summarizer.evaluate.run import run_extractive

    if args.compare and args.prompts:
        raise ConfigurationError("give either --prompts (one run) or --compare PROMPTS_A PROMPTS_B, not both")
    if args.compare and args.engine == "extractive":
        raise ConfigurationError("--compare runs two prompt sets through the model; it needs --engine llm")
    _check_repeat(args)
    gate = Gate.from_options(args.tolerance, args.gate, args.gate_mode, args.bootstrap_seed)  # before any model call
    corpus = Path(args.corpus) if args.corpus else default_corpus_dir()
    if corpus is not None and not corpus.is_dir():
        raise ConfigurationError(f"--corpus {corpus}: no such folder")
    found = load_case_set(args.cases, corpus)
    for line in found.skipped:
        err.print(f"[yellow]skipped[/] {escape(line)}", highlight=False, soft_wrap=True)
    if not found.cases:
        raise CaseError("no case to run: every case was skipped because its article text is absent (--corpus DIR)")
    cases = found.cases
    outcomes: list[RunOutcome] = []
    if args.engine == "extractive" or not args.no_baseline:
        outcomes.append(run_extractive(cases, seed=args.bootstrap_seed))
    if args.engine == "llm":
        outcomes += _llm_runs(args, cases, err)
    runs = [o.result for o in outcomes]
    comparison: Comparison | None = compare(runs[-2], runs[-1], gate) if args.compare else None
    built = report.build(cases, runs, comparison, skipped=found.skipped, corpus=str(corpus) if corpus else None)
    paths = report.write(built, outcomes, args.output_dir)
    gold = built.cases
    out.print(
        f"{len(gold)} case(s), {sum(c.articles for c in gold)} articles; labelled: "
        f"{sum(c.gold_facts for c in gold)} facts, {sum(c.gold_consensus for c in gold)} consensus items, "
        f"{sum(c.gold_discrepancies for c in gold)} discrepancies, {sum(c.gold_timeline for c in gold)} timeline events"
        + (f"; {len(found.skipped)} case(s) skipped (text absent)" if found.skipped else ""),
        highlight=False,
    )
    out.print(table(runs, comparison))
    if not args.quiet:
        err.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
    if comparison is None:
        return 0
    if comparison.note:
        out.print(comparison.note, style="dim", markup=False, highlight=False)
    if comparison.passed:
        out.print(comparison.verdict_line(), style="green", markup=False, highlight=False)
        return 0
    err.print(comparison.failure_line(), style="red", markup=False, highlight=False)
    return 1
