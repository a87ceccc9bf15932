"""Briefs saved as JSON files (``brief --format json``), read back to diff a fresh brief against."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from summarizer.errors import InputError
from summarizer.load import read_text
from summarizer.schemas import Brief
from summarizer.schemas.updates import BriefDiff, BriefVersion
from summarizer.updates.diff import diff_briefs

SAVED_MAX_BYTES = 200_000_000
"""A saved brief holds its articles' full text, so it may be far larger than one article."""


def read_brief(path: str | Path) -> Brief:
    """The brief saved at ``path``, or an InputError naming the file and what is wrong with it."""
    text = read_text(Path(path), max_bytes=SAVED_MAX_BYTES)
    try:
        return Brief.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "the top level"
        raise InputError(
            f"{path}: not a brief saved with --format json ({first.get('msg', 'invalid')} at {where})"
        ) from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to be a brief") from None


def version_of(brief: Brief, label: str) -> BriefVersion:
    return BriefVersion(
        label=label, model=brief.run.model, prompt_version=brief.run.prompt_version, articles=len(brief.articles)
    )


def since_saved(saved: Brief, path: str | Path, fresh: Brief) -> BriefDiff:
    """What ``fresh`` changes against the brief saved at ``path``."""
    return diff_briefs(saved, fresh, old_version=version_of(saved, str(path)), new_version=version_of(fresh, "now"))
