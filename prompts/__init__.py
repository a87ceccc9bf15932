"""Prompt templates, one folder per version (``v1``, …). Ships inside the package as ``summarizer.prompts``."""
