"""Requests are read whole on the event loop before a worker thread sees them (slowloris).

Behind gunicorn's threaded worker a client that sent its headers or body a byte at a time held
a thread for as long as it liked: 8 such connections (2 workers x 4 threads) stopped the
service. Here uvicorn parses the headers on an event loop (a slow client costs a coroutine and a
socket, not a thread) and `BufferedRequests` reads the body, bounded in size and in time, before
the Flask app runs on a2wsgi's thread pool (SIGSVC_THREADS threads per worker). A body larger
than the limit is answered 413 TOO_LARGE, one not complete within `body_timeout` 408
REQUEST_TIMEOUT; neither reaches a thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from flask import Flask

from sigsvc.web.errors import ERROR_CODES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class BufferedRequests:
    """ASGI middleware: the request body read whole (bounded) before the app is called."""

    def __init__(self, app: Asgi, *, max_body: int, body_timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if announced.isdigit() and int(announced) > self.max_body:
            await _error(send, "TOO_LARGE")
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body = message.get("body", b"")
                    size += len(body)
                    if size > self.max_body:
                        await _error(send, "TOO_LARGE")
                        return
                    chunks.append(body)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _error(send, "REQUEST_TIMEOUT")
            return
        whole = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _error(send: Send, code: str) -> None:
    status, meaning = ERROR_CODES[code]
    body = json.dumps({"error": {"code": code, "message": meaning, "request_id": ""}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def asgi(app: Flask, *, threads: int, body_timeout: float) -> Asgi:
    """The Flask app on a pool of `threads` threads, behind the buffering front."""
    from a2wsgi import WSGIMiddleware

    return BufferedRequests(
        WSGIMiddleware(app, workers=threads),  # type: ignore[arg-type]
        max_body=int(app.config["MAX_CONTENT_LENGTH"]),
        body_timeout=body_timeout,
    )
