"""ASGI layers around the emulator's Starlette app, for what a route cannot do by itself: close
the socket without answering, and send the HTTP ``Date`` from the emulator's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from starlette.responses import Response

TRANSPORT_KEY = "airflow_asyncjob.emulator.transport"
"""The ASGI scope key under which ExposeTransport puts uvicorn's transport."""


class ExposeTransport:
    """Outermost ASGI layer: puts uvicorn's asyncio transport into the scope so that a drop
    injection can close the socket before any byte of an answer (ASGI has no message for that)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            # uvicorn's send is a bound method of its request cycle, which holds the transport.
            scope[TRANSPORT_KEY] = getattr(getattr(send, "__self__", None), "transport", None)
        await self.app(scope, receive, send)


class ServerDate:
    """Sends the HTTP ``Date`` header from the emulator's clock, as a server's own clock would
    (RFC 9110, section 6.6.1): a client comparing clocks sees the skew the passport check sees."""

    def __init__(self, app: Callable[..., Any], clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.clock(), usegmt=True).encode("latin-1")
                message = {**message, "headers": [*message.get("headers", []), (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_with_date)


class DropConnection(Response):
    """Closes the connection instead of answering: the client sees "Server disconnected without
    sending a response" (httpx) or RemoteDisconnected (http.client / requests). Needs
    ExposeTransport outside the app."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        transport = scope.get(TRANSPORT_KEY)
        if transport is None:
            raise RuntimeError("a drop injection needs uvicorn's HTTP transport (h11 or httptools)")
        transport.close()
        # One loop turn lets uvicorn register the disconnect, so it does not send a 500 itself.
        await asyncio.sleep(0)


def wrap(app: Callable[..., Any], clock: Callable[[], float]) -> ExposeTransport:
    """``app`` inside both layers, as uvicorn should serve it."""
    return ExposeTransport(ServerDate(app, clock))
