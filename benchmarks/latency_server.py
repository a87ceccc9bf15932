"""A fast OpenAI-compatible loopback server that answers valid scripted completions after a fixed latency.

    python benchmarks/latency_server.py --latency 0.1      # prints "READY http://127.0.0.1:PORT/v1"

The test suite's ``ScriptedServer`` is thread-per-connection and shares the caller's GIL; for
a benchmark the server must not compete with the code being measured, so this one is a
single asyncio process of its own, holding any number of keep-alive connections, each answer
sent ``--latency`` seconds after its request arrived (``asyncio.sleep``, so concurrent requests
overlap; the answer is made during the wait).
``--trace FILE`` records when each completion arrived and was answered, so a benchmark can
tell how many requests the server actually held at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from typing import Any

from summarizer.batch.fakemodel import answer
from summarizer.fakeserver import chat_completion

_count = 0
TRACE: list[tuple[float, float]] | None = None
"""With ``--trace FILE``: each chat completion's (arrival, answer) wall-clock times, written to FILE at exit."""


def completion(request: dict[str, Any]) -> dict[str, Any]:
    global _count
    _count += 1
    arguments = json.dumps(answer(request))
    prompt_tokens = sum(len(str(m.get("content") or "")) for m in request.get("messages") or []) // 4
    return chat_completion(
        request, _count, arguments=arguments, usage=(prompt_tokens, len(arguments) // 4), model="bench-model"
    )


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float, model: str) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            if method == "GET" and path.rstrip("/").endswith("/models"):
                payload: dict[str, Any] = {"object": "list", "data": [{"id": model, "object": "model"}]}
            elif method == "POST" and path.rstrip("/").endswith("/chat/completions"):
                arrived, started = time.time(), time.monotonic()
                payload = completion(json.loads(body or b"{}"))
                # The answer is made while the request waits: it goes out ``latency`` after the request
                # arrived, not that plus the time this process took to make it.
                await asyncio.sleep(max(0.0, latency - (time.monotonic() - started)))
                if TRACE is not None:
                    TRACE.append((arrived, time.time()))
            else:
                payload = {"error": {"message": "not found"}}
            data = json.dumps(payload).encode()
            status = "404 Not Found" if "error" in payload else "200 OK"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                + data
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    except asyncio.CancelledError:
        pass  # shutting down: Python 3.11's stream callback logs a cancelled handler as an error
    finally:
        writer.close()


async def serve(host: str, port: int, latency: float, model: str, trace: str | None = None) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, latency, model), host, port, backlog=1024, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"READY http://{host}:{bound}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    if TRACE is not None and trace:
        with open(trace, "w") as out:
            json.dump(TRACE, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each completion (default 0.1)")
    parser.add_argument("--model", default="bench-model")
    parser.add_argument("--trace", help="write each completion's (arrival, answer) times to this JSON file at exit")
    args = parser.parse_args()
    global TRACE
    TRACE = [] if args.trace else None
    asyncio.run(serve(args.host, args.port, args.latency, args.model, args.trace))


if __name__ == "__main__":
    main()
