"""A failed model request becomes one ProviderError that carries what callers decide on (kind, HTTP status,
Retry-After, model, the server's reason); the batch's retry policy reads those fields, not exception chains."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import httpx
import openai
import pytest
from summarizer.schemas import ArticleExtraction

from summarizer.ask import Settings, ask, provider_error
from summarizer.batch.retry import classify
from summarizer.errors import ModelOutputError, ProviderError
from summarizer.providers import resolve
from tests.doubles.client import ScriptedClient, run_closing
from tests.doubles.server import Reply, ScriptedServer

REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
CLASSES: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    """As the openai client raises it: the error object of the body as ``body``."""
    detail = {"message": "the server's reason", "type": "scripted"}
    response = httpx.Response(status, headers=headers or {}, request=REQUEST, json={"error": detail})
    cls = CLASSES.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return cls(f"Error code: {status} - {detail}", response=response, body=detail)


@pytest.mark.parametrize(
    ("error", "kind", "status", "retry_after", "retryable"),
    [
        (status_error(429, {"retry-after": "3"}), "rate_limited", 429, 3.0, True),
        (status_error(503, {"retry-after-ms": "1500"}), "server_error", 503, 1.5, True),
        (status_error(500), "server_error", 500, None, True),
        (status_error(408), "server_error", 408, None, True),
        (status_error(401), "auth", 401, None, False),
        (status_error(403), "auth", 403, None, False),
        (status_error(404), "not_found", 404, None, False),
        (status_error(400), "bad_request", 400, None, False),
        (status_error(422), "bad_request", 422, None, False),
        (openai.APITimeoutError(request=REQUEST), "timeout", None, None, True),
        (openai.APIConnectionError(request=REQUEST), "connection", None, None, True),
        (json.JSONDecodeError("Expecting value", "{", 1), "malformed", None, None, True),
    ],
)
def test_each_failure_carries_its_fields_and_the_retry_policy_reads_them(
    error: BaseException, kind: str, status: int | None, retry_after: float | None, retryable: bool
) -> None:
    translated = provider_error(error, "gpt-test")
    assert (translated.kind, translated.status, translated.retry_after, translated.model) == (
        kind,
        status,
        retry_after,
        "gpt-test",
    )
    assert translated.unreachable == (kind in ("timeout", "connection"))
    found = classify(translated)
    assert found is translated and found.retryable == retryable
    assert found.retry_after == retry_after


def test_a_rejected_request_says_the_status_and_the_servers_reason() -> None:
    translated = provider_error(status_error(400), "m")
    assert translated.detail == "the server's reason"
    assert "HTTP 400" in str(translated) and "the server's reason" in str(translated)
    found = classify(translated)
    assert found is not None and found.summary == "HTTP 400: the server's reason"


def test_a_missing_model_is_named() -> None:
    assert "'gpt-test'" in str(provider_error(status_error(404), "gpt-test"))


def test_only_a_provider_errors_own_fields_make_a_transport_fault() -> None:
    assert classify(ModelOutputError("the model returned nothing parseable")) is None
    assert classify(ProviderError("the embedded model server exited with code 1")) is None
    try:
        raise ProviderError("raised by hand") from status_error(429)
    except ProviderError as exc:
        assert classify(exc) is None  # its cause is not read: whoever raises it says what it is


def _ask(server: ScriptedServer) -> Any:
    client = replace(resolve(base_url=server.base_url, model="m", env={}), max_retries=0).async_client()
    messages = [{"role": "user", "content": "[s1] The toll rose to 322."}]
    return run_closing(
        client,
        lambda c: ask(c, model="m", messages=messages, response_model=ArticleExtraction, settings=Settings()),
    )


def test_a_429_through_the_openai_client_arrives_with_its_retry_after_and_model() -> None:
    with ScriptedServer() as server:
        server.enqueue(Reply.error(429, retry_after=5, message="slow down"))
        with pytest.raises(ProviderError) as info:
            _ask(server)
    error = info.value
    assert (error.kind, error.status, error.retry_after, error.model, error.detail) == (
        "rate_limited",
        429,
        5.0,
        "m",
        "slow down",
    )


def test_a_provider_error_from_the_client_is_raised_as_it_is() -> None:
    failing = ProviderError("down for maintenance", kind="server_error", status=503, retry_after=30)
    client = ScriptedClient(failing)
    messages = [{"role": "user", "content": "hello"}]
    with pytest.raises(ProviderError) as info:
        asyncio.run(ask(client, model="m", messages=messages, response_model=ArticleExtraction, settings=Settings()))
    assert info.value is failing
