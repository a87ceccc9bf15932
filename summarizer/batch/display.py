"""The batch's live progress bar on a terminal (``summarizer batch``'s display); nothing when not a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console

from summarizer.batch.config import Counters


class Display:
    """The live progress bar on a terminal; nothing otherwise."""

    def __init__(self, err: Console, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self._tasks: dict[str, Any] = {}
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[stats]}"),
                console=err,
                transient=False,
                auto_refresh=False,  # refreshed on the batch's ticks: no display thread, so workers can fork
            )

    @contextlib.contextmanager
    def shown(self) -> Iterator[None]:
        if self.progress is None:
            yield
            return
        with self.progress:
            yield

    def __call__(self, what: str, counters: Counters) -> None:
        """Called by the batch as it goes (a ``BatchProgress``); the totals grow while the inbox is read."""
        if self.progress is None:
            return
        if "ingest" not in self._tasks:
            self._tasks["ingest"] = self.progress.add_task("reading", total=None, stats="")
        if what in ("ingest", "ingested"):
            self.progress.update(
                self._tasks["ingest"],
                completed=counters.seen,
                stats=f"{counters.new} new, {counters.duplicates} duplicates, {counters.input_errors} unreadable",
            )
            if what == "ingested":
                self.progress.update(self._tasks["ingest"], total=counters.seen or 1, completed=counters.seen or 1)
            self.progress.refresh()
            return  # the reader's own counts: the articles' bars move on the runs' ticks
        if counters.queued or counters.briefs_queued:
            if "articles" not in self._tasks:
                self._tasks["articles"] = self.progress.add_task("articles", total=None, stats="")
                self._tasks["briefs"] = self.progress.add_task("briefs", total=None, stats="")
            self.progress.update(
                self._tasks["articles"],
                total=counters.queued,
                completed=counters.summarized + counters.failed,
                stats=f"[green]✓ {counters.summarized}[/] [red]✗ {counters.failed}[/] "
                f"↻ {counters.retries} retries · {counters.tokens:,} tokens · {counters.in_flight} in flight",
            )
            self.progress.update(
                self._tasks["briefs"],
                total=counters.briefs_queued,
                completed=counters.briefs + counters.briefs_failed,
                stats=f"[green]✓ {counters.briefs}[/] [red]✗ {counters.briefs_failed}[/]",
            )
        if what == "tick":
            self.progress.refresh()
