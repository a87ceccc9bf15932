"""Chat-completion requests on an I/O thread of their own: the batch's transport.

A batch keeps ``concurrency`` requests open and does CPU work between them (segmenting the next
article, validating and grounding an answer). On one event loop an answer the server has sent
sits unread, still holding its slot, until the loop is done with the CPU work queued before it.
:class:`ThreadedTransport` holds the connections and the slots on a thread with its own event
loop: a slot is released the moment its answer is read, and a request waiting for a slot goes
out at once, whatever the caller's loop is busy with. The caller awaits the answer from its own
loop; the I/O thread's work per request is small, so the two rarely wait for the GIL.

It speaks HTTP with aiohttp directly, not through the openai client, whose request building and
response walking are a large share of a batch worker's CPU; the answer is parsed by pydantic-core
from the raw bytes. Failures are raised as the openai package's own exception types
(``RateLimitError`` with the response's headers, ``APITimeoutError``, ``APIConnectionError``, ...),
so :func:`summarizer.ask.provider_error` reads them as on the openai client path (checked side by
side in ``tests/test_transport.py``); the wording of some messages differs.

Proxies: ``HTTP(S)_PROXY`` and ``NO_PROXY`` are honoured as aiohttp's ``trust_env`` honours them
(the openai client's httpx also takes ``ALL_PROXY``, and CIDR ranges and wildcards in
``NO_PROXY``), looked up once when the transport is made, not on every request as ``trust_env`` does.
Numbers: ``benchmarks/README.md``.

Create it in the process that uses it: a batch worker builds its own after the fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import httpx
import openai
import yarl
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from summarizer import __version__
from summarizer.errors import REFUSING, ConfigurationError, status_failure

T = TypeVar("T")

_STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def env_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY`` or ``HTTP_PROXY`` names for ``url``'s scheme (a value without a scheme is
    taken as ``http://``), or None when there is none or ``NO_PROXY`` exempts its host. The variables are
    read as aiohttp's ``trust_env`` reads them; ``ALL_PROXY`` is not used."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies_environment().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.netloc.rpartition("@")[2]):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


class ThreadedTransport:
    """POST chat completions from a dedicated I/O thread, at most ``limit`` open at once.

    ``halt()`` stops it sending: requests still waiting for a slot raise CancelledError. A
    refusal that every request would get alike (401 or 403: the key; 404: the model or URL) is
    kept before its slot is freed, and every later request raises the same refusal without
    being sent: the caller sees why, and nothing goes out only to be refused too.
    ``in_flight`` is the number of requests sent and not yet answered.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        limit: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.timeout = timeout
        self.limit = limit
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"summarizer/{__version__}",
            **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
            **(headers or {}),
        }
        if any(c in value for value in self.headers.values() for c in "\r\n\0"):
            raise ConfigurationError("the API key or a header holds a line break or NUL: check OPENAI_API_KEY")
        proxy = env_proxy(self.url)
        # Its credentials apart, as a header (aiohttp's errors quote the proxy URL it was given): on the
        # CONNECT of an https tunnel, or on the request itself when the proxy forwards plain http.
        proxy_url = yarl.URL(proxy) if proxy else None
        auth = aiohttp.BasicAuth.from_url(proxy_url) if proxy_url else None
        self._proxy_headers = {"Proxy-Authorization": auth.encode()} if auth else None
        if self._proxy_headers and self.url.startswith("http:"):
            self.headers.update(self._proxy_headers)
        self.proxy = str(proxy_url.with_user(None)) if proxy_url else None
        self.in_flight = 0
        self.halted = False
        self._refusal: tuple[int, list[tuple[bytes, bytes]], bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._gate: asyncio.Semaphore | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the headers: they hold the key
        return f"ThreadedTransport(url={self.url!r}, limit={self.limit}, in_flight={self.in_flight})"

    def halt(self) -> None:
        """Send nothing more (the server refused us for good): requests waiting for a slot are cancelled."""
        self.halted = True

    async def complete(self, body: dict[str, Any]) -> ChatCompletion:
        """POST ``body`` (a chat-completions request) and return the parsed answer; awaitable from any loop."""
        data = json.dumps(body).encode()  # on the caller's thread: its CPU, not the I/O thread's
        return await self._on_thread(self._post(data))

    async def aclose(self) -> None:
        """Close the connections and stop the thread (idempotent)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already gone (interpreter shutdown)
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._shutdown(), loop))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5.0)  # the loop stops at once: nothing is left on it
        if not thread.is_alive():
            loop.close()

    # -- the I/O thread ------------------------------------------------------------------------
    async def _on_thread(self, coroutine: Coroutine[Any, Any, T]) -> T:
        loop = self._start()
        # Cancelling the caller's await cancels the request on the I/O thread too (and frees its slot).
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None:
                return self._loop
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            failed: list[BaseException] = []

            def run() -> None:
                asyncio.set_event_loop(loop)
                try:
                    loop.run_until_complete(self._open())
                except BaseException as exc:
                    failed.append(exc)
                    return
                finally:
                    ready.set()
                loop.run_forever()

            thread = threading.Thread(target=run, name="summarizer-io", daemon=True)
            thread.start()
            ready.wait()
            if failed:
                loop.close()
                raise failed[0]
            self._loop, self._thread = loop, thread
            return loop

    async def _open(self) -> None:
        # Made inside the I/O loop: aiohttp and the semaphore bind to the loop they are made in.
        self._gate = asyncio.Semaphore(self.limit) if self.limit else None
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.limit or 100),
            timeout=aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_read=self.timeout),
            headers=self.headers,
        )

    async def _shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(self, data: bytes) -> ChatCompletion:
        assert self._session is not None
        async with self._gate or contextlib.nullcontext():
            if self._refusal is not None:  # what this request would get too: raised, not sent
                raise self._status_error(*self._refusal)
            if self.halted:
                raise asyncio.CancelledError("the transport was halted")
            self.in_flight += 1
            try:
                async with self._session.post(
                    self.url, data=data, proxy=self.proxy, proxy_headers=self._proxy_headers
                ) as response:
                    raw = await response.read()
                    status, headers = response.status, list(response.raw_headers)
                    if status_failure(status) in REFUSING:  # every further request would be refused too
                        self._refusal = (status, headers, raw)
            except asyncio.TimeoutError:
                raise openai.APITimeoutError(request=self._request()) from None
            except (aiohttp.ClientError, OSError) as exc:
                message = f"{type(exc).__name__}: {exc}"
                raise openai.APIConnectionError(message=message, request=self._request()) from exc
            finally:
                self.in_flight -= 1
        if status >= 400:
            raise self._status_error(status, headers, raw)
        return self._parse(status, headers, raw)

    # -- answers and errors, as the openai client reports them ------------------------------
    def _request(self) -> Any:
        # openai's exceptions keep the request and response they came from (they only read
        # status, headers and body); httpx's types stand in for the openai package's own.
        return httpx.Request("POST", self.url)

    def _response(self, status: int, headers: list[tuple[bytes, bytes]], raw: bytes) -> Any:
        return httpx.Response(status, headers=headers, content=raw, request=self._request())

    def _status_error(self, status: int, headers: list[tuple[bytes, bytes]], raw: bytes) -> openai.APIStatusError:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        detail = body.get("error", body) if isinstance(body, dict) else body
        message = detail.get("message") if isinstance(detail, dict) else None
        text = f"Error code: {status} - {message or body}"
        kind = _STATUS_ERRORS.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
        return kind(text, response=self._response(status, headers, raw), body=detail)

    def _parse(self, status: int, headers: list[tuple[bytes, bytes]], raw: bytes) -> ChatCompletion:
        try:
            return ChatCompletion.model_validate_json(raw)
        except ValidationError:
            pass
        data = json.loads(raw)  # not JSON: json.JSONDecodeError, as from the openai client
        if not isinstance(data, dict):
            raise openai.APIResponseValidationError(
                response=self._response(status, headers, raw), body=data, message="the answer is not a JSON object"
            )
        # Valid JSON that is not quite a ChatCompletion (a server's own variant): taken as the
        # openai client takes it, leniently, and left for the answer's parser to judge.
        return ChatCompletion.model_construct(**data)  # openai's model_construct builds nested models too
