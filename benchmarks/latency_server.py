"""A fast OpenAI-compatible loopback server that answers valid scripted completions after a fixed latency.

    python benchmarks/latency_server.py --latency 0.1 [--nice -10]   # prints "READY http://127.0.0.1:PORT/v1"

The test suite's ``ScriptedServer`` is thread-per-connection and shares the caller's GIL; for
a benchmark the server must not compete with the code being measured, so this one is a
single asyncio process of its own, holding any number of keep-alive connections, each answer
sent ``--latency`` seconds after its request arrived (concurrent requests overlap; the answer is
made during the wait). The wait is timed by a thread (:class:`Alarm`), not by the event loop,
whose timers wake up to a millisecond late (epoll counts in milliseconds, rounded up): with
``asyncio.sleep`` the server held each request 101.1 ms on average at ``--latency 0.1``, which
the batch benchmark would have counted against the client.
``--trace FILE`` records when each completion arrived and was answered, so a benchmark can
tell how many requests the server actually held at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import itertools
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.doubles

from tests.doubles.answers import answer
from tests.doubles.server import chat_completion

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


class Alarm:
    """Futures of an event loop, resolved at given ``time.monotonic()`` instants by a thread of their own."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: list[tuple[float, int, asyncio.Future[None]]] = []
        self.order = itertools.count()
        self.changed = threading.Condition()
        threading.Thread(target=self._ring, name="alarm", daemon=True).start()

    def at(self, when: float) -> asyncio.Future[None]:
        future = self.loop.create_future()
        with self.changed:
            heapq.heappush(self.due, (when, next(self.order), future))
            self.changed.notify()
        return future

    def _ring(self) -> None:
        while True:
            with self.changed:
                while not self.due or (wait := self.due[0][0] - time.monotonic()) > 0:
                    self.changed.wait(None if not self.due else wait)
                _, _, future = heapq.heappop(self.due)
            with contextlib.suppress(RuntimeError):  # the loop has closed: the server is stopping
                self.loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float, model: str, alarm: Alarm
) -> None:
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
                await alarm.at(started + latency)
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
    # The alarm thread wakes on time, then waits for the GIL: a switch interval of 0.2 ms (not 5)
    # bounds that wait while the loop thread makes an answer.
    sys.setswitchinterval(0.0002)
    alarm = Alarm(asyncio.get_running_loop())
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, latency, model, alarm), host, port, backlog=1024, reuse_address=True
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
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="change this process's priority by this much (e.g. -10, as root): the server stands in for a "
        "remote machine, whose answers do not wait for the CPUs of the client it is measured with",
    )
    args = parser.parse_args()
    if args.nice:
        try:
            os.nice(args.nice)
        except OSError as exc:  # not allowed (not root): measured at the default priority
            print(f"latency_server: priority unchanged ({exc.strerror})", file=sys.stderr, flush=True)
    global TRACE
    TRACE = [] if args.trace else None
    asyncio.run(serve(args.host, args.port, args.latency, args.model, args.trace))


if __name__ == "__main__":
    main()
