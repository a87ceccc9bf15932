"""Eval data shipped with the package as ``summarizer.evals``: labelled cases and example prompt sets."""
