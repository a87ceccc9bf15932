"""ThreadedTransport against a real loopback server: answers, the openai client's failures, slots, halting."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from typing import Any

import openai
import pytest

from summarizer.ask import HTTPModelClient, provider_error
from summarizer.batch.retry import classify
from summarizer.errors import ConfigurationError
from summarizer.transport import ThreadedTransport
from tests.doubles.server import Reply, ScriptedServer

BODY = {"model": "scripted", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10}


def transport(server: ScriptedServer, **kwargs: Any) -> ThreadedTransport:
    return ThreadedTransport(base_url=server.base_url, **kwargs)


async def closing(t: ThreadedTransport, work: Any) -> Any:
    try:
        return await work
    finally:
        await t.aclose()


def test_an_answer_comes_back_parsed_and_the_request_is_the_body_with_the_key() -> None:
    with ScriptedServer() as server:
        server.enqueue(Reply.tool({"headline": "x"}, usage=(12, 3)))
        t = transport(server, api_key="sk-secret-123")
        completion = asyncio.run(closing(t, t.complete(BODY)))
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert json.loads(call.function.arguments) == {"headline": "x"}  # type: ignore[union-attr]
    assert completion.usage is not None and completion.usage.prompt_tokens == 12
    sent = server.requests[0]
    assert sent["_authorized"] and {k: sent[k] for k in BODY} == BODY
    assert "sk-secret" not in repr(t)


def _outcome(run: Any) -> BaseException:
    try:
        asyncio.run(run)
    except BaseException as exc:
        return exc
    raise AssertionError("no failure was raised")


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply.error(429, retry_after=7, message="slow down"), "rate_limited"),
        (Reply.error(500, message="boom"), "server_error"),
        (Reply.error(400, message="bad request"), "bad_request"),
        (Reply.error(401, message="bad key"), "auth"),
        (Reply.hang(1.5), "timeout"),
        (Reply.drop(), "connection"),
        (Reply.malformed(), "malformed"),
    ],
)
def test_a_failure_is_raised_as_the_openai_client_raises_it(reply: Reply, kind: str) -> None:
    """The same reply through the openai client and through the transport: same exception type, same error."""
    with ScriptedServer() as server:
        server.enqueue(reply, reply)
        sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=0.5)
        by_sdk = _outcome(HTTPModelClient(sdk).complete(BODY))
        t = transport(server, api_key="k", timeout=0.5)
        by_transport = _outcome(closing(t, t.complete(BODY)))
    assert type(by_transport) is type(by_sdk)
    error, expected = provider_error(by_transport, "m"), provider_error(by_sdk, "m")
    assert (error.kind, error.status, error.retry_after, error.detail) == (
        expected.kind,
        expected.status,
        expected.retry_after,
        expected.detail,
    )
    assert classify(error) is error and error.kind == kind
    if kind == "rate_limited":
        assert error.retry_after == 7.0


def test_limit_bounds_the_requests_open_at_once() -> None:
    async def many(t: ThreadedTransport) -> None:
        await asyncio.gather(*(t.complete(BODY) for _ in range(7)))

    with ScriptedServer(default=lambda r: Reply.tool({"headline": "x"}, delay=0.1)) as server:
        t = transport(server, limit=3)
        asyncio.run(closing(t, many(t)))
    assert len(server.requests) == 7 and server.most_in_flight == 3
    assert t.in_flight == 0


def test_answers_free_their_slots_while_the_callers_loop_is_busy() -> None:
    """The point of the I/O thread: a second wave goes out while the caller's loop is blocked in CPU work."""

    async def busy_caller(t: ThreadedTransport) -> tuple[float, float]:
        tasks = [asyncio.create_task(t.complete(BODY)) for _ in range(4)]
        await asyncio.sleep(0.02)  # all four submitted; two hold the slots, two wait for one
        blocked = time.monotonic()
        time.sleep(0.6)  # CPU work on the caller's loop: nothing here reads an answer
        unblocked = time.monotonic()
        await asyncio.gather(*tasks)
        return blocked, unblocked

    with ScriptedServer(default=lambda r: Reply.tool({"headline": "x"}, delay=0.15)) as server:
        t = transport(server, limit=2)
        blocked, unblocked = asyncio.run(closing(t, busy_caller(t)))
    assert len(server.times) == 4
    assert all(blocked < arrived < unblocked for arrived in server.times[2:]), "the waiting requests went out late"


def test_a_refused_key_is_raised_to_every_waiting_request_without_sending_it() -> None:
    async def three(t: ThreadedTransport) -> list[Any]:
        return await asyncio.gather(*(t.complete(BODY) for _ in range(3)), return_exceptions=True)

    with ScriptedServer(default=lambda r: Reply.error(401, message="bad key")) as server:
        t = transport(server, limit=1)
        outcomes = asyncio.run(closing(t, three(t)))
    assert len(server.requests) == 1
    assert all(isinstance(o, openai.AuthenticationError) for o in outcomes), outcomes


def test_halting_cancels_the_requests_still_waiting_for_a_slot() -> None:
    async def halt_midway(t: ThreadedTransport) -> list[Any]:
        calls = [asyncio.create_task(t.complete(BODY)) for _ in range(3)]
        await asyncio.sleep(0.05)
        t.halt()
        return await asyncio.gather(*calls, return_exceptions=True)

    with ScriptedServer(default=lambda r: Reply.tool({"headline": "x"}, delay=0.2)) as server:
        t = transport(server, limit=1)
        outcomes = asyncio.run(closing(t, halt_midway(t)))
    assert len(server.requests) == 1
    assert [type(o).__name__ for o in outcomes] == ["ChatCompletion", "CancelledError", "CancelledError"]


def test_an_error_with_a_non_ascii_header_is_still_the_rate_limit_it_is() -> None:
    body = {"error": {"message": "slow down"}}
    with ScriptedServer() as server:
        server.enqueue(Reply("status", body, 429, {"Retry-After": "3", "X-Note": "café"}))
        t = transport(server)
        raised = _outcome(closing(t, t.complete(BODY)))
    error = provider_error(raised)
    assert isinstance(raised, openai.RateLimitError) and (error.kind, error.retry_after) == ("rate_limited", 3.0)


def test_a_key_with_a_line_break_is_a_configuration_error_not_a_failed_request() -> None:
    with pytest.raises(ConfigurationError, match="line break"):
        ThreadedTransport(base_url="http://127.0.0.1:9/v1", api_key="sk-abc\n")


def test_cancelling_the_caller_cancels_the_request_and_frees_its_slot() -> None:
    async def cancel_then_ask(t: ThreadedTransport) -> float:
        stuck = asyncio.create_task(t.complete(BODY))
        await asyncio.sleep(0.2)
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        started = time.monotonic()
        await t.complete(BODY)
        return time.monotonic() - started

    with ScriptedServer() as server:
        server.enqueue(Reply.hang(3.0), Reply.tool({"headline": "x"}))
        t = transport(server, limit=1, timeout=10.0)
        waited = asyncio.run(closing(t, cancel_then_ask(t)))
    assert waited < 1.5, "the cancelled request kept its slot"
    assert len(server.requests) == 2


def test_close_stops_the_io_thread_and_is_idempotent() -> None:
    async def use_and_close(t: ThreadedTransport) -> None:
        await t.complete(BODY)
        await t.aclose()
        await t.aclose()

    with ScriptedServer(default=lambda r: Reply.tool({"headline": "x"})) as server:
        t = transport(server)
        asyncio.run(use_and_close(t))
    assert not any(thread.name == "summarizer-io" for thread in threading.enumerate())


def _proxy_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_requests_go_through_the_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer() as proxy:
        _proxy_env(monkeypatch, HTTP_PROXY=proxy.base_url.rsplit("/", 1)[0].replace("//", "//user:pw@"))
        proxy.enqueue(Reply.tool({"headline": "via the proxy"}))
        t = ThreadedTransport(base_url="http://upstream.test:1/v1")  # reachable only through the proxy
        completion = asyncio.run(closing(t, t.complete(BODY)))
    assert completion.choices[0].message.tool_calls is not None
    assert proxy.requests[0]["_headers"]["host"] == "upstream.test:1"
    assert proxy.requests[0]["_headers"]["proxy-authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()


def test_no_proxy_exempts_a_host_and_a_dead_proxy_is_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer() as server:
        _proxy_env(monkeypatch, HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="localhost,127.0.0.1")
        server.enqueue(Reply.tool({"headline": "direct"}))
        t = transport(server, timeout=5)
        asyncio.run(closing(t, t.complete(BODY)))  # straight to the server, past the dead proxy
        assert len(server.requests) == 1
        _proxy_env(monkeypatch, HTTP_PROXY="http://127.0.0.1:9")
        t = transport(server, timeout=5)
        assert isinstance(_outcome(closing(t, t.complete(BODY))), openai.APIConnectionError)
        assert len(server.requests) == 1


def test_a_proxy_s_password_never_reaches_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer() as proxy:  # it cannot CONNECT: the https request fails at the proxy
        port = proxy.base_url.rsplit(":", 1)[1].split("/")[0]
        _proxy_env(monkeypatch, HTTPS_PROXY=f"http://user:s3cret@127.0.0.1:{port}")
        t = ThreadedTransport(base_url="https://upstream.test/v1", timeout=5)
        failure = _outcome(closing(t, t.complete(BODY)))
    assert isinstance(failure, openai.APIConnectionError)
    assert "s3cret" not in str(failure) and "s3cret" not in repr(t)


def test_the_proxy_is_chosen_when_the_transport_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer() as server:
        _proxy_env(monkeypatch)
        server.enqueue(Reply.tool({"headline": "direct"}))
        t = transport(server, timeout=5)
        _proxy_env(monkeypatch, HTTP_PROXY="127.0.0.1:9")  # set afterwards, and without a scheme
        asyncio.run(closing(t, t.complete(BODY)))
        assert len(server.requests) == 1
        assert transport(server).proxy == "http://127.0.0.1:9"
