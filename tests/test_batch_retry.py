import asyncio
import email.utils
import json
import time

import httpx
import openai
import pytest
from tenacity import RetryCallState

from summarizer.ask import provider_error
from summarizer.batch.retry import RetryPolicy, TransientFault, classify
from summarizer.errors import ModelOutputError, ProviderError, parse_retry_after

REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx.Response(status, headers=headers or {}, request=REQUEST, json={"error": {"message": "x"}})
    cls = {429: openai.RateLimitError, 401: openai.AuthenticationError, 404: openai.NotFoundError}.get(
        status, openai.InternalServerError if status >= 500 else openai.BadRequestError
    )
    return cls("scripted", response=response, body=None)


def wrapped(cause: BaseException) -> ProviderError:
    """What summarizer.ask raises: the openai exception read into a ProviderError."""
    return provider_error(cause, "m")


def test_retry_after_in_seconds_milliseconds_and_http_dates() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert parse_retry_after(httpx.Headers({"retry-after": "0.25"})) == 0.25
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (parse_retry_after(httpx.Headers({"retry-after": in_a_minute})) or 0) <= 61
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None


@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (status_error(429, {"retry-after": "3"}), "rate_limited", True),
        (status_error(500), "server_error", True),
        (status_error(503), "server_error", True),
        (openai.APITimeoutError(request=REQUEST), "timeout", True),
        (openai.APIConnectionError(request=REQUEST), "connection", True),
        (json.JSONDecodeError("Expecting value", "{", 1), "malformed", True),
        (status_error(401), "auth", False),
        (status_error(404), "not_found", False),
        (status_error(400), "bad_request", False),
    ],
)
def test_each_failure_says_its_kind_and_whether_a_retry_can_help(
    error: BaseException, kind: str, retryable: bool
) -> None:
    found = classify(wrapped(error))
    assert found is not None and (found.kind, found.retryable) == (kind, retryable)


def test_the_retry_after_header_travels_with_a_429() -> None:
    found = classify(wrapped(status_error(429, {"retry-after": "3"})))
    assert found is not None and found.retry_after == 3.0


def test_an_answer_problem_is_not_a_transport_fault() -> None:
    assert classify(ModelOutputError("the model returned nothing parseable")) is None


def state_after(exc: BaseException, attempt: int) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_the_wait_honours_retry_after_up_to_a_cap() -> None:
    policy = RetryPolicy(initial=1.0, maximum=60.0, max_retry_after=30.0)
    assert (
        policy.wait(state_after(TransientFault(ProviderError("429", kind="rate_limited", retry_after=7.0)), 1)) == 7.0
    )
    assert (
        policy.wait(state_after(TransientFault(ProviderError("429", kind="rate_limited", retry_after=900.0)), 1))
        == 30.0
    )


def test_without_retry_after_the_wait_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(initial=1.0, maximum=10.0, jitter=0.5)
    fault = TransientFault(ProviderError("500", kind="server_error", status=500))
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0), (5, 10.0), (9, 10.0)):
        wait = policy.wait(state_after(fault, attempt))
        assert base <= wait <= base + 0.5 or wait == 10.0, (attempt, wait)


def test_the_policy_retries_transient_faults_only_and_reraises_the_last() -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def attempt_until(fail: BaseException, attempts: int) -> int:
        calls = 0
        policy = RetryPolicy(attempts=attempts, initial=0.5, jitter=0.0)
        with pytest.raises(type(fail)):
            async for attempt in policy.retrying(sleep=fake_sleep):
                with attempt:
                    calls += 1
                    raise fail
        return calls

    assert asyncio.run(attempt_until(TransientFault(ProviderError("timed out", kind="timeout")), 4)) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert asyncio.run(attempt_until(ValueError("not transient"), 4)) == 1
