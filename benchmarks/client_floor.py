"""What the HTTP client alone costs: the floor under the batch's throughput on this machine.

    python benchmarks/client_floor.py                  # 1,000 requests, 100 ms latency, concurrency 32

The same summary request, N times at concurrency C from one process, against the benchmark's
latency server, through each client stack in turn: a hand-written HTTP/1.1 client on raw
asyncio streams (the baseline: next to no client cost), aiohttp, httpx, and the openai client
three ways (``chat.completions.create`` over its default httpx transport, over aiohttp, and
``client.post`` over aiohttp, which is what ``summarizer.ask`` sends outside a batch), and
``summarizer.transport.ThreadedTransport``, the batch's (aiohttp on an I/O thread, answers parsed
by pydantic-core). Each line gives the wall time against the ideal ``N x latency / C`` and the
client's CPU per request (all threads of the process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from batch_bench import latency_server  # noqa: E402

from summarizer.load import Document  # noqa: E402
from summarizer.segment import Article, segment  # noqa: E402
from summarizer.summarize import summary_messages  # noqa: E402
from summarizer.templates import load_prompts  # noqa: E402
from tests.doubles.synthetic import synthetic_articles  # noqa: E402

Send = Callable[[dict[str, Any]], Awaitable[None]]


def requests(count: int) -> list[dict[str, Any]]:
    prompts = load_prompts()
    bodies = []
    for record in synthetic_articles(count, per_event=10, seed=1):
        doc = Document(title=record["title"], text=record["text"], origin="bench")
        article = Article(id="a1", doc=doc, sentences=tuple(segment(doc.text)))
        tool = {"type": "function", "function": {"name": "ArticleExtraction", "parameters": {"type": "object"}}}
        bodies.append(
            {
                "model": "bench-model",
                "messages": summary_messages(article, prompts),
                "max_tokens": 1500,
                "tools": [tool],
                "tool_choice": {"type": "function", "function": {"name": "ArticleExtraction"}},
            }
        )
    return bodies


async def measure(send: Send, bodies: list[dict[str, Any]], n: int, concurrency: int) -> tuple[float, float]:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await send(bodies[i % len(bodies)])

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def raw_streams(base: str, bodies: list[dict[str, Any]], n: int, c: int) -> tuple[float, float]:
    host, port = base.split("//")[1].split("/")[0].split(":")
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(c):
        pool.put_nowait(await asyncio.open_connection(host, int(port)))

    async def send(body: dict[str, Any]) -> None:
        reader, writer = await pool.get()
        data = json.dumps(body).encode()
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(data) + data)
        response = await reader.readuntil(b"\r\n\r\n")
        length = next(int(h.split(b":")[1]) for h in response.split(b"\r\n") if h.lower().startswith(b"content-length"))
        json.loads(await reader.readexactly(length))
        pool.put_nowait((reader, writer))

    try:
        return await measure(send, bodies, n, c)
    finally:
        while not pool.empty():
            pool.get_nowait()[1].close()


async def with_aiohttp(base: str, bodies: list[dict[str, Any]], n: int, c: int) -> tuple[float, float]:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:

        async def send(body: dict[str, Any]) -> None:
            async with session.post(base + "/chat/completions", json=body) as response:
                await response.json()

        return await measure(send, bodies, n, c)


async def with_httpx(base: str, bodies: list[dict[str, Any]], n: int, c: int) -> tuple[float, float]:
    import httpx

    async with httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=c)) as client:

        async def send(body: dict[str, Any]) -> None:
            (await client.post("/chat/completions", json=body)).json()

        return await measure(send, bodies, n, c)


def with_openai(how: str) -> Callable[..., Awaitable[tuple[float, float]]]:
    async def run(base: str, bodies: list[dict[str, Any]], n: int, c: int) -> tuple[float, float]:
        import openai
        from openai.types.chat import ChatCompletion

        http = openai.DefaultAioHttpClient() if how != "create-httpx" else None
        client = openai.AsyncOpenAI(base_url=base, api_key="x", max_retries=0, http_client=http)

        async def send(body: dict[str, Any]) -> None:
            if how == "post-aiohttp":
                await client.post("/chat/completions", body=body, cast_to=ChatCompletion)
            else:
                await client.chat.completions.create(**body)

        try:
            return await measure(send, bodies, n, c)
        finally:
            await client.close()

    return run


async def with_transport(base: str, bodies: list[dict[str, Any]], n: int, c: int) -> tuple[float, float]:
    from summarizer.transport import ThreadedTransport

    transport = ThreadedTransport(base_url=base, api_key="x", limit=c)
    try:
        return await measure(transport.complete, bodies, n, c)
    finally:
        await transport.aclose()


STACKS = {
    "raw asyncio streams (baseline)": raw_streams,
    "aiohttp": with_aiohttp,
    "httpx": with_httpx,
    "openai create, httpx": with_openai("create-httpx"),
    "openai create, aiohttp": with_openai("create-aiohttp"),
    "openai post, aiohttp": with_openai("post-aiohttp"),
    "ThreadedTransport (the batch's)": with_transport,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    bodies = requests(50)
    ideal = args.requests * args.latency / args.concurrency
    with latency_server(args.latency) as base:
        results = {
            name: asyncio.run(run(base, bodies, args.requests, args.concurrency)) for name, run in STACKS.items()
        }
    baseline_wall = results["raw asyncio streams (baseline)"][0]
    print(
        f"{args.requests} requests, latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency}: ideal {ideal:.2f} s"
    )
    for name, (wall, cpu) in results.items():
        print(
            f"{name:34s} {wall:5.2f} s  {wall / ideal:4.2f}x ideal  {wall / baseline_wall:4.2f}x baseline  "
            f"CPU {1000 * cpu / args.requests:4.2f} ms/request"
        )


if __name__ == "__main__":
    main()
