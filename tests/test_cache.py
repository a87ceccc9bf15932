"""The response cache: a real SQLite file, keys over what determines an answer, and no secrets stored."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from summarizer.ask import Settings, ask
from summarizer.cache import ResponseCache, cache_key
from summarizer.providers import resolve
from tests.doubles.client import run_closing
from tests.doubles.server import Reply

SECRET = "sk-secret-test"
MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "How many?"}]


class Count(BaseModel):
    number: int
    unit: str


def stored_bytes(path: Path) -> bytes:
    """Everything SQLite wrote for this database: the file and any WAL / shared-memory side files."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


# -- put / get ---------------------------------------------------------------------------------
def test_put_get_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "responses.sqlite"
    cache = ResponseCache(path)
    value: dict[str, Any] = {"value": {"text": "Ünïcode ✓ ذ 北京"}, "payloads": [{"a": 1}, None], "errors": []}
    key = cache_key(model="m", messages=MESSAGES)
    assert cache.get(key) is None
    cache.put(key, value)
    assert cache.get(key) == value
    assert len(cache) == 1
    assert (cache.hits, cache.misses) == (1, 1)
    cache.close()
    assert path.is_file()
    # A new handle on the same file sees the entry.
    again = ResponseCache(path)
    assert again.get(key) == value
    again.close()


def test_put_replaces(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k", {"n": 1})
    cache.put("k", {"n": 2})
    assert cache.get("k") == {"n": 2}
    assert len(cache) == 1
    cache.close()


def test_the_file_is_a_real_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    cache.put("k1", {"n": 1})
    cache.put("k2", {"n": 2})
    cache.close()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key FROM responses ORDER BY key").fetchall()
    assert rows == [("k1",), ("k2",)]


# -- keys --------------------------------------------------------------------------------------
def test_cache_key_is_deterministic_and_order_independent() -> None:
    a = cache_key(model="m", messages=MESSAGES, settings={"temperature": 0.0, "seed": 0})
    b = cache_key(settings={"seed": 0, "temperature": 0.0}, messages=MESSAGES, model="m")
    assert a == b
    assert re.fullmatch(r"[0-9a-f]{64}", a), a  # a SHA-256 hex digest, not the request itself


def test_cache_key_differs_when_the_model_differs() -> None:
    assert cache_key(model="m1", messages=MESSAGES) != cache_key(model="m2", messages=MESSAGES)


def test_cache_key_differs_when_the_messages_differ() -> None:
    changed = [MESSAGES[0], {"role": "user", "content": "How many? "}]
    assert cache_key(model="m", messages=MESSAGES) != cache_key(model="m", messages=changed)
    reordered = list(reversed(MESSAGES))
    assert cache_key(model="m", messages=MESSAGES) != cache_key(model="m", messages=reordered)


def test_cache_key_differs_when_settings_or_schema_differ() -> None:
    base = {"model": "m", "messages": MESSAGES}
    assert cache_key(**base, settings={"temperature": 0.0}) != cache_key(**base, settings={"temperature": 0.7})
    assert cache_key(**base, schema=Count.model_json_schema()) != cache_key(**base, schema={})


# -- through ask() -----------------------------------------------------------------------------
def run_ask(client: Any, cache: ResponseCache) -> Any:
    return run_closing(
        client,
        lambda client: ask(
            client,
            model="m",
            messages=MESSAGES,
            response_model=Count,
            settings=Settings(max_attempts=1),
            cache=cache,
        ),
    )


def test_ask_through_the_cache_stores_no_api_key(scripted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "responses.sqlite"
    cache = ResponseCache(path)
    scripted.enqueue(Reply.tool({"number": 42, "unit": "prisoners"}))
    provider = resolve(base_url=scripted.base_url, api_key=SECRET, model="m", env={})
    assert provider.api_key == SECRET

    first = run_ask(provider.async_client(), cache)
    assert first.value.model_dump() == {"number": 42, "unit": "prisoners"}
    assert first.stats.cached is False
    assert len(scripted.requests) == 1
    assert scripted.requests[0]["_authorized"]  # the key was really sent to the server...
    assert len(cache) == 1

    # ...and the same request is answered from the cache, without a model call.
    second = run_ask(provider.async_client(), cache)
    assert second.value.model_dump() == first.value.model_dump()
    assert second.stats.cached is True
    assert len(scripted.requests) == 1

    before_close = stored_bytes(path)
    cache.close()
    for raw in (before_close, stored_bytes(path)):
        assert b"prisoners" in raw or b"42" in raw  # the answer is stored...
        assert SECRET.encode() not in raw  # ...the key is not
        assert b"secret" not in raw.lower()
        assert b"Bearer" not in raw
    with sqlite3.connect(path) as db:
        for key, value in db.execute("SELECT key, value FROM responses"):
            assert SECRET not in key and SECRET not in value


def test_the_key_does_not_depend_on_the_api_key(scripted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = ResponseCache(tmp_path / "c.sqlite")
    scripted.enqueue(Reply.tool({"number": 7, "unit": "civilians"}))
    one = resolve(base_url=scripted.base_url, api_key="sk-one", model="m", env={})
    two = resolve(base_url=scripted.base_url, api_key="sk-two", model="m", env={})
    run_ask(one.async_client(), cache)
    answer = run_ask(two.async_client(), cache)
    assert answer.stats.cached is True
    assert answer.value.model_dump() == {"number": 7, "unit": "civilians"}
    assert len(scripted.requests) == 1
    cache.close()


def test_different_messages_miss_the_cache(scripted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = ResponseCache(tmp_path / "c.sqlite")
    scripted.enqueue(Reply.tool({"number": 1, "unit": "a"}), Reply.tool({"number": 2, "unit": "b"}))
    client = resolve(base_url=scripted.base_url, model="m", env={}).async_client()

    async def both() -> tuple[Any, Any]:
        settings = Settings(max_attempts=1)
        first = await ask(client, model="m", messages=MESSAGES, response_model=Count, settings=settings, cache=cache)
        more = [*MESSAGES, {"role": "user", "content": "And now?"}]
        second = await ask(client, model="m", messages=more, response_model=Count, settings=settings, cache=cache)
        return first, second

    first, second = run_closing(client, lambda _: both())
    assert (first.value.number, second.value.number) == (1, 2)
    assert second.stats.cached is False
    assert len(scripted.requests) == 2
    assert len(cache) == 2
    cache.close()
