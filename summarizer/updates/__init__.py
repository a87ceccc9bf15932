"""What changed since the last brief: claim-level diffs between briefs of one event, and their versions."""

from summarizer.updates.diff import diff_briefs

__all__ = ["diff_briefs"]
