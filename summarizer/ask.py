"""Call the model for one structured answer, re-asking on validation errors within a budget.

The loop is ours; the per-mode knowledge is instructor's. instructor's mode handlers (its
public ``instructor.v2.mode_registry``) shape the request for the chosen mode (a forced tool
call, ``response_format``, or a schema in the prompt), parse the answer into the pydantic
model with our validation context, and phrase the re-ask that sends a validation error back
to the model. We do not call ``AsyncInstructor.create``, for two reasons:

- **Article text is data, never a template.** Given a validation ``context``, instructor
  renders every message as a Jinja template, so an article containing ``{{ 7*7 }}`` reached
  the model as ``49`` and a stray ``{%`` failed the request.
- **Cost per call.** It rebuilds the request model and its JSON schema on every call; here
  the request shape is built once per response model.

We bound the re-asks twice, by attempts and by tokens, and keep every raw answer the model
gave, so that when the budget runs out the caller can still keep the claims that *were*
grounded from the best attempt instead of losing the whole article.

One module of about 400 lines: the loop, its two budgets and the mode handling share each call's state.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import instructor
import openai
from instructor.core import InstructorError
from instructor.v2 import Provider as InstructorProvider
from instructor.v2 import mode_registry
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from summarizer.cache import ResponseCache, cache_key
from summarizer.errors import ProviderError, parse_retry_after, status_failure
from summarizer.schemas import CallStats
from summarizer.schemas.llm import Scoped, wrappable
from summarizer.settings import Settings
from summarizer.transport import ThreadedTransport

__all__ = [
    "Answer",
    "HTTPModelClient",
    "ModelClient",
    "Settings",
    "ask",
    "payload_of",
    "provider_error",
    "warm_request_shapes",
]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

_FAILED_ANSWER = (ValidationError, json.JSONDecodeError, InstructorError, AssertionError)
"""What a bad answer raises while being parsed: invalid against the schema or the grounding, not
JSON, cut off at max_tokens (IncompleteOutputException), no tool call (ResponseParsingError), or
a refusal (instructor raises AssertionError for those)."""


class ModelClient(Protocol):
    """What :func:`ask`, the pipeline and the batch need of a model backend's client.

    :class:`HTTPModelClient` is the real one; ``tests/doubles/client.py`` has an in-process double.
    """

    mode: instructor.Mode
    """How requests are shaped and answers parsed (a forced tool call, ``response_format``, ...)."""

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        ...

    def halt(self) -> None:
        """Send nothing more: requests not yet sent are cancelled instead."""
        ...

    async def complete(self, body: dict[str, Any]) -> ChatCompletion:
        """Send one chat-completions request (a ready JSON body) and return the answer.

        Failures are raised as the openai package raises them (``openai.APIStatusError`` and its
        subclasses, ``APITimeoutError``, ``APIConnectionError``, ``json.JSONDecodeError`` for a
        garbled body), which :func:`ask` turns into :class:`ProviderError`, or as a ProviderError.
        """
        ...

    async def close(self) -> None: ...


@dataclass
class HTTPModelClient:
    """A :class:`ModelClient` that speaks the OpenAI chat-completions API over HTTP.

    Through the openai client, or, given a ``transport`` instead (the batch's), from an I/O
    thread of their own, at most its ``limit`` open at once, each slot freed the moment its
    answer is read, whatever this loop is busy with (see :mod:`summarizer.transport`).
    """

    openai: openai.AsyncOpenAI | None
    mode: instructor.Mode = instructor.Mode.TOOLS
    transport: ThreadedTransport | None = None
    halted: bool = False
    """Set by :meth:`halt`: a request not yet sent is cancelled instead."""
    _open: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.openai is None and self.transport is None:
            raise TypeError("an HTTPModelClient needs the openai client or a transport")

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        return self.transport.in_flight if self.transport is not None else self._open

    def halt(self) -> None:
        """Send nothing more (the server refused us for good): requests waiting for a slot are cancelled."""
        self.halted = True
        if self.transport is not None:
            self.transport.halt()

    async def complete(self, body: dict[str, Any]) -> ChatCompletion:
        """POST one chat completion request (a ready JSON body) and return the answer."""
        if self.halted:
            raise asyncio.CancelledError("the model client was halted")
        if self.transport is not None:
            return await self.transport.complete(body)
        assert self.openai is not None  # __post_init__: one or the other
        self._open += 1
        try:
            # client.post, not chat.completions.create: the body is already plain JSON, which create() re-checks.
            return await self.openai.post("/chat/completions", body=body, cast_to=ChatCompletion)
        finally:
            self._open -= 1

    async def close(self) -> None:
        if self.transport is not None:
            await self.transport.aclose()
        if self.openai is not None:
            await self.openai.close()


@dataclass
class Answer(Generic[T]):
    """What came back: the validated value, or the raw payloads of every failed attempt."""

    value: T | None
    payloads: list[dict[str, Any] | None] = field(default_factory=list)
    """The JSON object each attempt returned (None where it was not parseable JSON)."""
    errors: list[str] = field(default_factory=list)
    """The validation error of each failed attempt, in order."""
    stats: CallStats = field(default_factory=CallStats)


def payload_of(completion: Any) -> dict[str, Any] | None:
    """The JSON object in a chat completion: the first tool call's arguments, else the content."""
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return None
    candidates: list[str] = []
    for call in getattr(message, "tool_calls", None) or []:
        candidates.append(call.function.arguments or "")
    if message.content:
        candidates.append(message.content)
    for raw in candidates:
        text = raw.strip()
        if text.startswith("```"):
            text = text.strip("`").removeprefix("json").strip()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            start, end = text.find("{"), text.rfind("}")
            if start == -1 or end <= start:
                continue
            try:
                data = json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                continue
        if isinstance(data, dict):
            return data
    return None


def _usage(completion: Any) -> tuple[int, int]:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return 0, 0
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)


@functools.lru_cache(maxsize=1024)
def _request_shape(response_model: type[BaseModel], mode: instructor.Mode) -> tuple[type[BaseModel], dict[str, Any]]:
    """instructor's request for ``response_model`` in ``mode``, minus the messages, built once per model.

    The empty ``messages`` it returns tells whether the mode leaves the conversation alone
    (tools, json_schema) or writes the schema into it (json, md_json): then
    :func:`_request` asks the handler again for each conversation.
    """
    handlers = mode_registry.get_handlers(InstructorProvider.OPENAI, mode)
    prepared, kwargs = handlers.request_handler(response_model=wrappable(response_model), kwargs={"messages": []})
    return prepared, kwargs


def _request(
    response_model: type[BaseModel] | Scoped[Any], mode: instructor.Mode, messages: list[dict[str, Any]]
) -> tuple[type[BaseModel], dict[str, Any]]:
    """The model to parse answers with, and the request (without model name and settings)."""
    scope = response_model if isinstance(response_model, Scoped) else Scoped(response_model, response_model, {})
    prepared, _ = _request_shape(scope.model, mode)
    _, shape = _request_shape(scope.template, mode)
    if not shape["messages"]:
        # The schema sits in the request as JSON: the template's shape, this request's values filled in.
        return prepared, {**scope.fill_shared(shape), "messages": list(messages)}
    handlers = mode_registry.get_handlers(InstructorProvider.OPENAI, mode)
    _, kwargs = handlers.request_handler(response_model=scope.concrete(), kwargs={"messages": list(messages)})
    return prepared, kwargs


def load_handlers(mode: instructor.Mode) -> None:
    """Import instructor's handlers for ``mode`` now (they import ``requests``): e.g. once in a parent
    before it forks workers, which then share the loaded modules."""
    mode_registry.get_handlers(InstructorProvider.OPENAI, mode)


def warm_request_shapes(mode: instructor.Mode, response_models: list[type[BaseModel] | Scoped[Any]]) -> None:
    """Load instructor's handlers for ``mode`` and build the request shapes of ``response_models`` now,
    before the first request needs them (e.g. as a batch worker starts)."""
    for response_model in response_models:
        _request(response_model, mode, [])


def _schema(response_model: type[BaseModel] | Scoped[Any]) -> dict[str, Any]:
    if isinstance(response_model, Scoped):
        return response_model.json_schema()
    return json.loads(_schema_text(response_model))


@functools.lru_cache(maxsize=64)
def _schema_text(response_model: type[BaseModel]) -> str:
    return json.dumps(response_model.model_json_schema(), sort_keys=True)


async def ask(
    client: ModelClient,
    *,
    model: str,
    messages: list[dict[str, Any]],
    response_model: type[T] | Scoped[T],
    settings: Settings,
    context: dict[str, Any] | None = None,
    cache: ResponseCache | None = None,
) -> Answer[T]:
    """One structured answer from the model.

    Raises ProviderError when the backend cannot be reached or keeps failing (after the openai
    client's own retries). Validation failures never raise: they come back as an Answer with
    ``value=None`` and the payloads, for the caller to salvage. ``context`` is the pydantic
    validation context (``"grounding"``: the checker; ``"copy_text"``: copy mode's sentence
    texts by ID); it never touches the messages. With a ``cache``, an identical request
    (model, messages, schema, settings) is answered from it without a model call.
    """
    key = None
    if cache is not None:
        key = cache_key(
            model=model,
            messages=messages,
            schema=_schema(response_model),
            mode=str(client.mode),
            settings=asdict(settings),
        )
        if (hit := cache.get(key)) is not None:
            return _from_cache(hit, _model_of(response_model), context)
    handlers = mode_registry.get_handlers(InstructorProvider.OPENAI, client.mode)
    prepared, request = _request(response_model, client.mode, messages)
    request.update(model=model, temperature=settings.temperature, max_tokens=settings.max_tokens)
    if settings.seed is not None:
        request["seed"] = settings.seed
    started = time.perf_counter()
    completions: list[ChatCompletion] = []
    errors: list[str] = []
    value: T | None = None
    spent = 0
    for attempt in range(1, max(settings.max_attempts, 1) + 1):
        try:
            completion = await client.complete(request)
        except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
            # A garbled body (a proxy or server glitch), not an answer: ask the same again, within the attempts.
            errors.append("the model server sent a malformed response body")
            if attempt < settings.max_attempts:
                continue
            if not completions:
                raise provider_error(exc, model) from exc
            break
        except (openai.OpenAIError, ProviderError) as exc:
            failure = exc if isinstance(exc, ProviderError) else provider_error(exc, model)
            if not completions or failure.refused:
                # A refused key or model refuses every request after this one too: the run stops here,
                # and an article it was working on stays unfinished rather than half-answered.
                if failure is exc:
                    raise
                raise failure from exc
            # Any other failure during a re-ask: keep the answers we have for the caller to salvage.
            errors.append(f"the re-ask failed: {failure}")
            break
        completions.append(completion)
        try:
            parsed = handlers.response_parser(
                response=completion, response_model=prepared, validation_context=context, strict=True, stream=False
            )
        except _FAILED_ANSWER as exc:
            errors.append(str(exc) or type(exc).__name__)
            spent += sum(_usage(completion))
            if attempt >= settings.max_attempts or spent >= settings.token_budget:
                break
            request = handlers.reask_handler(kwargs=request, response=completion, exception=exc)
            continue
        value = parsed
        break
    stats = CallStats(
        calls=len(completions),
        reasks=max(len(completions) - 1, 0),
        prompt_tokens=sum(_usage(c)[0] for c in completions),
        completion_tokens=sum(_usage(c)[1] for c in completions),
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "%s: %d call(s), %d+%d tokens, %.1fs%s",
        _model_of(response_model).__name__,
        stats.calls,
        stats.prompt_tokens,
        stats.completion_tokens,
        stats.seconds,
        "" if value is not None else " (failed validation)",
    )
    answer = Answer(value=value, payloads=[payload_of(c) for c in completions], errors=errors, stats=stats)
    if cache is not None and key is not None:
        cache.put(
            key,
            {
                "value": value.model_dump(mode="json") if value is not None else None,
                "payloads": answer.payloads,
                "errors": errors,
                "stats": stats.model_dump(),
            },
        )
    return answer


def _model_of(response_model: type[T] | Scoped[T]) -> type[T]:
    return response_model.model if isinstance(response_model, Scoped) else response_model


def _from_cache(hit: dict[str, Any], response_model: type[T], context: dict[str, Any] | None) -> Answer[T]:
    value = None
    if hit.get("value") is not None:
        # Validated again, with the same grounding, so a cached answer is held to today's rules.
        try:
            value = response_model.model_validate(hit["value"], context=context)
        except ValidationError:
            value = None
    stats = CallStats.model_validate({**hit.get("stats", {}), "cached": True})
    payloads = hit.get("payloads") or []
    return Answer(value=value, payloads=payloads, errors=list(hit.get("errors") or []), stats=stats)


def provider_error(exc: BaseException, model: str | None = None) -> ProviderError:
    """A failed request, as the openai client or the batch's transport raise it, as a :class:`ProviderError`."""
    if isinstance(exc, json.JSONDecodeError | openai.APIResponseValidationError):
        return ProviderError("the model server sent a malformed response body", kind="malformed", model=model)
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return ProviderError(f"cannot reach the model server: {_describe(exc)}", kind="timeout", model=model)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"cannot reach the model server: {_describe(exc)}", kind="connection", model=model)
    if not isinstance(exc, openai.APIStatusError):
        return ProviderError(f"model request failed: {_describe(exc)}", model=model)
    status, detail = exc.status_code, _server_said(exc)
    kind = status_failure(status)
    if status == 401:
        message = "the model server refused the API key (HTTP 401)"
    elif status == 403:
        message = f"the model server refused the request (HTTP 403): {detail}"
    elif status == 404:
        message = f"model {model!r} not found on the server (HTTP 404)"
    elif kind == "bad_request":
        message = f"the model server rejected the request (HTTP {status}): {detail}"
    else:
        message = f"the model server kept failing: HTTP {status}: {detail}"
    retry_after = parse_retry_after(exc.response.headers)
    return ProviderError(message, kind=kind, status=status, retry_after=retry_after, model=model, detail=detail)


def _server_said(exc: openai.APIStatusError) -> str:
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    return _describe(exc) if not isinstance(message, str) or not message.strip() else message.strip()[:300]


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:300]
