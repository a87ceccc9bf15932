"""Generation settings: plain data, importable without the model client libraries."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 2_000_000
"""Largest input accepted per file or URL; larger ones are refused, never truncated silently."""


@dataclass(frozen=True)
class Settings:
    """Generation settings, set explicitly so runs are as repeatable as the backend allows."""

    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = 1500
    max_attempts: int = 3
    """First ask plus re-asks, per structured answer."""
    token_budget: int = 24_000
    """Prompt plus completion tokens one structured answer may spend over all its attempts."""
    copy_mode: bool = False
    """Constrain text fields to verbatim source sentences and names (for tiny grammar-constrained models)."""
