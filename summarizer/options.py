"""The options every command that calls a model shares (``brief``, ``summarize``, ``batch``, ``eval``), and what
they build: the provider, the settings, the prompt set. Parsing only; the commands live in their own modules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from summarizer.errors import ConfigurationError
from summarizer.settings import Settings

if TYPE_CHECKING:  # the model client libraries load only when a command needs them
    from summarizer.providers import Provider
    from summarizer.templates import PromptSet

MODE_NAMES = ("json", "json_schema", "md_json", "tools")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    from summarizer.templates import DEFAULT_VERSION

    g = parser.add_argument_group("model")
    g.add_argument(
        "--provider",
        choices=["openai", "compatible", "embedded"],
        help="default: decided from the options and environment",
    )
    g.add_argument(
        "--model", "-m", help="model name (default: gpt-4o-mini on OpenAI, the server's first model elsewhere)"
    )
    g.add_argument(
        "--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (env OPENAI_BASE_URL)"
    )
    g.add_argument("--api-key", help="API key (env OPENAI_API_KEY; prefer the environment: arguments show in ps)")
    g.add_argument("--mode", choices=MODE_NAMES, help="instructor mode (default: tools)")
    g.add_argument(
        "--prompts", default=None, help=f"prompt set: a bundled version or a folder (default: {DEFAULT_VERSION})"
    )
    g.add_argument(
        "--temperature", type=float, default=Settings.temperature, help=f"sampling (default {Settings.temperature})"
    )
    g.add_argument("--seed", type=int, default=Settings.seed, help=f"generation seed (default {Settings.seed})")
    g.add_argument("--max-tokens", type=int, default=Settings.max_tokens, help="per model response")
    g.add_argument("--max-attempts", type=int, default=Settings.max_attempts, help="first ask plus re-asks per answer")
    g.add_argument(
        "--token-budget", type=int, default=Settings.token_budget, help="tokens per answer over all attempts"
    )
    g.add_argument("--timeout", type=float, default=120.0, help="seconds per model request")
    g.add_argument(
        "--copy-mode",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="constrain summary sentences and facts to verbatim source sentences (default: on for the embedded model)",
    )


def provider_from_args(args: argparse.Namespace) -> Provider:
    from summarizer.providers import resolve

    return resolve(
        provider=args.provider, model=args.model, base_url=args.base_url, api_key=args.api_key, mode=args.mode,
        timeout=args.timeout,
    )  # fmt: skip


def settings_from_args(args: argparse.Namespace, provider: Provider | None = None) -> Settings:
    if args.max_attempts < 1:
        raise ConfigurationError("--max-attempts must be at least 1")
    if args.token_budget < 1 or args.max_tokens < 1:
        raise ConfigurationError("--token-budget and --max-tokens must be positive")
    return Settings(
        temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens, max_attempts=args.max_attempts,
        token_budget=args.token_budget,
        copy_mode=args.copy_mode if args.copy_mode is not None else bool(provider and provider.copy_mode),
    )  # fmt: skip


def prompts_from_args(args: argparse.Namespace) -> PromptSet:
    from summarizer.templates import load_prompts

    return load_prompts(args.prompts)


def print_notice(provider: Provider, err: Console) -> None:
    """Print the provider's notice, if it has one (the embedded model's: what a tiny model can do)."""
    if provider.notice:
        err.print(f"[yellow]note:[/] {provider.notice}", highlight=False, soft_wrap=True)


def write_output(text: str, output: str | None, err: Console) -> None:
    """A command's rendered output: to the ``--output`` file (saying so on stderr), else to standard output (a
    rich rendering already printed to the console comes as "")."""
    if output:
        Path(output).write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", highlight=False)
    elif text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
