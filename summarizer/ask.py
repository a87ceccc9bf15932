"""Call the model for one structured answer, re-asking on validation errors within a budget.

instructor does the re-asking: a pydantic or grounding error goes back to the model as a
message naming the exact problem. We bound it twice, by attempts and by tokens, and we keep
every raw answer the model gave, so that when the budget runs out the caller can still keep
the claims that *were* grounded from the best attempt instead of losing the whole article.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import instructor
import openai
from instructor.core.hooks import Hooks
from pydantic import BaseModel, ValidationError

from summarizer.cache import ResponseCache, cache_key
from summarizer.errors import ModelOutputError, ProviderError
from summarizer.schemas import CallStats
from summarizer.settings import Settings

__all__ = ["Answer", "Settings", "ask", "payload_of"]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


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


async def ask(
    client: instructor.AsyncInstructor,
    *,
    model: str,
    messages: list[dict[str, Any]],
    response_model: type[T],
    settings: Settings,
    context: dict[str, Any] | None = None,
    cache: ResponseCache | None = None,
) -> Answer[T]:
    """One structured answer from the model.

    Raises ProviderError when the backend cannot be reached or keeps failing (after the openai
    client's own retries). Validation failures never raise: they come back as an Answer with
    ``value=None`` and the payloads, for the caller to salvage. ``context`` is the pydantic
    validation context (``"grounding"``: the checker; ``"copy_text"``: copy mode's sentence
    texts by ID). With a ``cache``, an identical
    request (model, messages, schema, settings) is answered from it without a model call.
    """
    key = None
    if cache is not None:
        key = cache_key(
            model=model,
            messages=messages,
            schema=response_model.model_json_schema(),
            mode=str(getattr(client, "mode", "")),
            settings=asdict(settings),
        )
        if (hit := cache.get(key)) is not None:
            return _from_cache(hit, response_model, context)
    completions: list[Any] = []
    hooks = Hooks()
    hooks.on("completion:response", completions.append)
    started = time.perf_counter()
    value: T | None = None
    errors: list[str] = []
    try:
        value = await client.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            response_model=response_model,
            max_retries=max(settings.max_attempts - 1, 0),
            token_budget=settings.token_budget,
            context=context,
            temperature=settings.temperature,
            seed=settings.seed,
            max_tokens=settings.max_tokens,
            hooks=hooks,
        )
    except instructor.core.InstructorRetryException as exc:
        # instructor wraps transport failures too; those are the provider's fault, not the answer's.
        cause = exc.__cause__
        if isinstance(cause, openai.OpenAIError) and not exc.failed_attempts:
            raise _provider_error(cause, model) from cause
        if isinstance(cause, json.JSONDecodeError) and not exc.failed_attempts:
            raise ProviderError("the model server sent a malformed response body") from cause
        errors = [str(a.exception) for a in (exc.failed_attempts or [])] or [str(exc)]
        log.info("model answer failed validation after %d attempt(s)", len(completions))
    except openai.OpenAIError as exc:
        raise _provider_error(exc, model) from exc
    stats = CallStats(
        calls=len(completions),
        reasks=max(len(completions) - 1, 0),
        prompt_tokens=sum(_usage(c)[0] for c in completions),
        completion_tokens=sum(_usage(c)[1] for c in completions),
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "%s: %d call(s), %d+%d tokens, %.1fs%s",
        response_model.__name__,
        stats.calls,
        stats.prompt_tokens,
        stats.completion_tokens,
        stats.seconds,
        "" if value is not None else " (failed validation)",
    )
    if value is None and not completions:
        raise ModelOutputError("the model returned nothing parseable")
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


def _provider_error(exc: openai.OpenAIError, model: str) -> ProviderError:
    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return ProviderError(f"cannot reach the model server: {_describe(exc)}", unreachable=True)
    if isinstance(exc, openai.AuthenticationError):
        return ProviderError(f"the model server refused the API key (HTTP {exc.status_code})")
    if isinstance(exc, openai.NotFoundError):
        return ProviderError(f"model {model!r} not found on the server (HTTP 404)")
    if isinstance(exc, openai.APIStatusError):
        return ProviderError(f"the model server kept failing: HTTP {exc.status_code}: {_describe(exc)}")
    return ProviderError(f"model request failed: {_describe(exc)}")


def _describe(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:300]
