"""A scripted OpenAI-compatible HTTP server on loopback, for HTTP behaviour through the real clients.

It speaks just enough of ``/v1/chat/completions`` and ``/v1/models`` for the real ``openai``
client (and the batch's transport) to work end to end, and answers from a queue of scripted
replies: a tool call with given arguments, plain content, an HTTP error (429 with Retry-After,
500), malformed JSON, a hang past the client's timeout, or a dropped connection. Every request
is recorded. :func:`responder` and :func:`faulty` are defaults that answer any request validly
(with faults mixed in, for :func:`faulty`).

    with ScriptedServer() as server:
        server.enqueue(Reply.tool({"headline": ...}), Reply.error(429, retry_after=0))
        provider = resolve(base_url=server.base_url, model="scripted")

A test that is not about HTTP is simpler with :class:`tests.doubles.client.ScriptedClient`.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.doubles.answers import answer


@dataclass(frozen=True)
class Reply:
    kind: str  # "tool" | "content" | "status" | "malformed" | "hang" | "drop"
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int] = (100, 50)
    finish: str | None = None
    """The choice's finish_reason when not the usual one ("length": cut off at max_tokens)."""

    @classmethod
    def tool(
        cls,
        arguments: dict[str, Any] | str,
        *,
        delay: float = 0.0,
        usage: tuple[int, int] = (100, 50),
        finish: str | None = None,
    ) -> Reply:
        """A completion whose first tool call carries ``arguments`` (a dict, or a raw string)."""
        return cls("tool", arguments, delay=delay, usage=usage, finish=finish)

    @classmethod
    def content(cls, text: str, *, delay: float = 0.0) -> Reply:
        return cls("content", text, delay=delay)

    @classmethod
    def error(cls, status: int, *, retry_after: float | None = None, message: str = "scripted error") -> Reply:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls("status", {"error": {"message": message, "type": "scripted", "code": status}}, status, headers)

    @classmethod
    def malformed(cls) -> Reply:
        return cls("malformed", '{"id": "x", "choices": [')

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        return cls("hang", delay=seconds)

    @classmethod
    def drop(cls) -> Reply:
        return cls("drop")


Responder = Callable[[dict[str, Any]], Reply]


class ScriptedServer:
    """Loopback server answering chat completions from a queue (then from ``default``)."""

    def __init__(self, default: Responder | None = None, model: str = "scripted-model") -> None:
        self.queue: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        """Monotonic arrival time of each request, in order."""
        self.in_flight = 0
        self.most_in_flight = 0
        """The most chat completion requests the server held at once."""
        self.default = default
        self.model = model
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.queue.extend(replies)

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.times.append(time.monotonic())
            if self.queue:
                return self.queue.popleft()
        if self.default is not None:
            return self.default(request)
        return Reply.error(500, message="script exhausted: no reply queued")

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> ScriptedServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": owner.model, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                with owner._lock:
                    owner.in_flight += 1
                    owner.most_in_flight = max(owner.most_in_flight, owner.in_flight)
                try:
                    self._post()
                finally:
                    with owner._lock:
                        owner.in_flight -= 1

            def _post(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    request = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    request = {"_raw": raw.decode(errors="replace")}
                request["_headers"] = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
                request["_authorized"] = bool(self.headers.get("Authorization"))
                reply = owner._next(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.kind == "hang":
                    return  # the client times out; the connection is closed afterwards
                if reply.kind == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if reply.kind == "status":
                    self._send(reply.status, reply.body, reply.headers)
                elif reply.kind == "malformed":
                    self._send_raw(200, str(reply.body).encode(), {})
                else:
                    self._send(200, owner._completion(request, reply))

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                self._send_raw(status, json.dumps(body).encode(), headers or {})

            def _send_raw(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        n = len(self.requests)
        if reply.kind == "tool":
            arguments = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            return chat_completion(
                request, n, arguments=arguments, usage=reply.usage, model=self.model, finish=reply.finish
            )
        return chat_completion(request, n, content=reply.body, usage=reply.usage, model=self.model, finish=reply.finish)


def requested_tool(request: dict[str, Any]) -> str:
    """The function a chat request forces (tool_choice) or offers first; "answer" if none."""
    choice = request.get("tool_choice")
    if isinstance(choice, dict):
        return str(choice.get("function", {}).get("name", "answer"))
    if request.get("tools"):
        return str(request["tools"][0]["function"]["name"])
    return "answer"


def chat_completion(
    request: dict[str, Any],
    n: int,
    *,
    arguments: str | None = None,
    content: str | None = None,
    usage: tuple[int, int] = (100, 50),
    model: str = "scripted-model",
    finish: str | None = None,
) -> dict[str, Any]:
    """A chat.completion body: a call of the requested tool with ``arguments``, or plain ``content``."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if arguments is not None:
        function = {"name": requested_tool(request), "arguments": arguments}
        message["tool_calls"] = [{"id": f"call_{n}", "type": "function", "function": function}]
    finish = finish or ("tool_calls" if arguments is not None else "stop")
    prompt_tokens, completion_tokens = usage
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", model),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


# -- defaults that answer any request --------------------------------------------------------
FAULTS = ("rate_limited", "server_error", "hang", "malformed", "drop")


def responder(delay: float = 0.0) -> Responder:
    """A ``ScriptedServer`` default that always answers validly, after ``delay`` seconds."""
    return lambda request: Reply.tool(answer(request), delay=delay)


def faulty(
    rates: Mapping[str, float],
    *,
    seed: int = 0,
    hang: float = 1.0,
    retry_after: float = 0.05,
    delay: float = 0.0,
) -> Responder:
    """A ``ScriptedServer`` default that injects faults at the given rates (per request), else answers validly.

    ``rates`` maps fault names from :data:`FAULTS` to probabilities: 429 with ``Retry-After``,
    500, a hang of ``hang`` seconds (past the client's timeout), a malformed JSON body, a
    dropped connection. The choice is drawn from a seeded generator, so a run is repeatable.
    """
    unknown = set(rates) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}: use {', '.join(FAULTS)}")
    rng = random.Random(seed)
    lock = threading.Lock()
    replies = {
        "rate_limited": Reply.error(429, retry_after=retry_after, message="rate limited (injected)"),
        "server_error": Reply.error(500, message="internal error (injected)"),
        "hang": Reply.hang(hang),
        "malformed": Reply.malformed(),
        "drop": Reply.drop(),
    }

    def respond(request: dict[str, Any]) -> Reply:
        with lock:
            draw = rng.random()
        for fault, rate in rates.items():
            if draw < rate:
                return replies[fault]
            draw -= rate
        return Reply.tool(answer(request), delay=delay)

    return respond
