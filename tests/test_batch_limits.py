import asyncio

import pytest

from summarizer.batch.limits import RateLimiter
from tests.doubles.clock import FakeTime


def make(rpm: float | None = None, tpm: float | None = None) -> tuple[RateLimiter, FakeTime]:
    time = FakeTime()
    return RateLimiter(rpm, tpm, clock=time.clock, sleep=time.sleep), time


def test_requests_beyond_the_minute_allowance_wait_for_the_refill() -> None:
    limiter, time = make(rpm=6)

    async def go() -> None:
        for _ in range(8):
            await limiter.acquire(0)

    asyncio.run(go())
    assert time.now == pytest.approx(20.0)  # 6 at once, then one every 10 seconds


def test_token_limit_waits_for_enough_tokens() -> None:
    limiter, time = make(tpm=1000)

    async def go() -> None:
        await limiter.acquire(600)
        await limiter.acquire(600)

    asyncio.run(go())
    assert time.now == pytest.approx(12.0)  # 200 tokens short at 1000/minute


def test_settling_real_usage_above_the_estimate_makes_later_callers_wait() -> None:
    limiter, time = make(tpm=1000)

    async def go() -> None:
        await limiter.acquire(100)
        limiter.settle(estimated_tokens=100, actual_tokens=1100)  # 1000 used in all: in debt by 100
        await limiter.acquire(100)

    asyncio.run(go())
    assert time.now == pytest.approx(12.0)


def test_extra_requests_count_against_the_request_limit() -> None:
    limiter, time = make(rpm=2)

    async def go() -> None:
        await limiter.acquire(0)
        limiter.settle(estimated_tokens=0, actual_tokens=0, extra_requests=1)  # a re-ask
        await limiter.acquire(0)

    asyncio.run(go())
    assert time.now == pytest.approx(30.0)


def test_a_request_larger_than_the_whole_allowance_waits_for_a_full_bucket_not_forever() -> None:
    limiter, time = make(tpm=100)

    async def go() -> None:
        await limiter.acquire(50)
        await limiter.acquire(500)

    asyncio.run(go())
    assert time.now == pytest.approx(30.0)


def test_no_limits_never_wait() -> None:
    limiter, time = make()

    async def go() -> None:
        for _ in range(1000):
            await limiter.acquire(10_000)

    asyncio.run(go())
    assert time.sleeps == []


def test_a_pause_holds_every_caller_even_without_limits() -> None:
    limiter, time = make()

    async def go() -> None:
        await limiter.acquire(0)
        limiter.pause(5.0)  # a 429 said: retry after 5 seconds
        await asyncio.gather(limiter.acquire(0), limiter.acquire(0))

    asyncio.run(go())
    assert time.now == pytest.approx(5.0) and time.sleeps == [pytest.approx(5.0)]


def test_concurrent_callers_are_served_in_order_within_the_rate() -> None:
    limiter, time = make(rpm=60)
    finished: list[tuple[int, float]] = []

    async def caller(i: int) -> None:
        await limiter.acquire(0)
        finished.append((i, time.now))

    async def go() -> None:
        await asyncio.gather(*(caller(i) for i in range(65)))

    asyncio.run(go())
    assert [i for i, _ in finished] == list(range(65))
    assert finished[-1][1] == pytest.approx(5.0)


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimiter(requests_per_minute=-1)
