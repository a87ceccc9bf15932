"""An in-process model client: queued answers, recorded calls, no HTTP.

:class:`ScriptedClient` implements :class:`summarizer.ask.ModelClient`, so :func:`summarizer.ask.ask`,
the pipeline and the batch run against it exactly as against a server: instructor shapes each
request, parses the answer, phrases the re-asks; only the network is gone. Use it for what is not
about HTTP (validation, re-asks, grounding, the pipeline's flow); use :mod:`tests.doubles.server`
for what is (status codes, Retry-After, timeouts, garbled bodies through the real clients).

    client = ScriptedClient(ArticleExtraction(...), '{"headline": "cut off', ProviderError("down", kind="timeout"))
    brief = asyncio.run(brief_articles(articles, Job(provider=ScriptedProvider(client=client))))
    assert client.calls[0].response_model == "ArticleExtraction"
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

import instructor
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from summarizer.ask import ModelClient
from summarizer.providers import Provider
from tests.doubles.answers import user_text
from tests.doubles.server import chat_completion

T = TypeVar("T")

Scripted = Union[BaseModel, dict[str, Any], str, BaseException]  # noqa: UP007 (a runtime alias on Python 3.10)
"""One answer: a pydantic object or a dict (returned as the JSON the model sends), text (returned as it is,
JSON or not), or an exception (raised by the request: a ProviderError, an ``openai.RateLimitError``...)."""


@dataclass(frozen=True)
class Call:
    """One request the client was sent."""

    body: dict[str, Any]
    """The chat-completions body, as it would go over the wire."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def user_text(self) -> str:
        return user_text(self.body)

    @property
    def response_model(self) -> str | None:
        """The name of the structure asked for: the forced tool's (tools mode) or the JSON schema's."""
        choice = self.body.get("tool_choice")
        if isinstance(choice, dict):
            return str(choice.get("function", {}).get("name"))
        schema = (self.body.get("response_format") or {}).get("json_schema")
        return str(schema["name"]) if isinstance(schema, dict) and "name" in schema else None


class ScriptedClient:
    """A :class:`~summarizer.ask.ModelClient` that answers from a queue, then from ``default``, and records every call.

    An exhausted script with no ``default`` fails the test (AssertionError), never answers at random.
    """

    def __init__(
        self,
        *answers: Scripted,
        default: Callable[[Call], Scripted] | None = None,
        mode: instructor.Mode = instructor.Mode.TOOLS,
        usage: tuple[int, int] = (100, 50),
    ) -> None:
        self.mode = mode
        self.default = default
        self.usage = usage
        """Prompt and completion tokens each answer reports."""
        self.calls: list[Call] = []
        self.halted = False
        self.closed = False
        self._queue: deque[Scripted] = deque(answers)
        self._open = 0

    def enqueue(self, *answers: Scripted) -> None:
        self._queue.extend(answers)

    @property
    def pending(self) -> int:
        """Answers queued and not yet given."""
        return len(self._queue)

    @property
    def in_flight(self) -> int:
        return self._open

    def halt(self) -> None:
        self.halted = True

    async def complete(self, body: dict[str, Any]) -> ChatCompletion:
        if self.halted:
            raise asyncio.CancelledError("the model client was halted")
        call = Call(json.loads(json.dumps(body)))  # as sent: later changes to ``body`` do not reach the record
        self.calls.append(call)
        self._open += 1
        try:
            await asyncio.sleep(0)  # a request lets other tasks run, as a real one does
            scripted = self._next(call)
        finally:
            self._open -= 1
        if isinstance(scripted, BaseException):
            raise scripted
        if isinstance(scripted, BaseModel):
            text = scripted.model_dump_json()
        elif isinstance(scripted, dict):
            text = json.dumps(scripted)
        else:
            text = scripted
        n = len(self.calls)
        if call.body.get("tools"):
            completion = chat_completion(call.body, n, arguments=text, usage=self.usage)
        else:
            completion = chat_completion(call.body, n, content=text, usage=self.usage)
        return ChatCompletion.model_validate(completion)

    def _next(self, call: Call) -> Scripted:
        if self._queue:
            return self._queue.popleft()
        if self.default is not None:
            return self.default(call)
        raise AssertionError(f"the script is exhausted: no answer queued for call {len(self.calls)}")

    async def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class ScriptedProvider(Provider):
    """A provider whose every client is one :class:`ScriptedClient`: the pipeline or a batch without HTTP."""

    kind = "scripted"

    model: str = "scripted-model"
    client: ScriptedClient = field(default_factory=ScriptedClient, compare=False)

    @contextlib.contextmanager
    def running(self) -> Iterator[Provider]:
        yield self

    def async_client(self) -> ModelClient:
        return self.client

    def batch_client(self, limit: int) -> ModelClient:
        return self.client


def run_closing(client: ModelClient, work: Callable[[ModelClient], Awaitable[T]]) -> T:
    """``work(client)`` in a fresh event loop, closing the client's connections before the loop ends."""

    async def go() -> T:
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(go())
