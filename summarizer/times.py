"""Times as the package writes and reads them: ISO dates and datetimes, a naive one meaning UTC."""

from __future__ import annotations

from datetime import datetime, timezone


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parse_datetime(value: str | None) -> datetime | None:
    """An ISO date or datetime ("2026-03-02", "2026-03-02T18:00:00Z") as an aware datetime; None if missing or
    unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of an ISO date or datetime; None if missing or unreadable."""
    parsed = parse_datetime(value)
    return None if parsed is None else parsed.timestamp()
