"""The ASGI side of the stream: `/temps-reel/` without a thread per open page.

Django's ASGI handler runs a request's synchronous middleware (all of Préau's) in a thread that belongs to the
request for its whole life, and a stream lives minutes: 1,000 open pages would park 1,000 threads. `RealtimeStreams`
wraps Django's handler: for the stream's path it does what the handler does (body, request, the full middleware
chain and the view: sessions, authentication, account steps, security headers), but lets that thread go as soon as
the response exists; the event loop alone then carries the events. Every other request goes to Django unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import get_script_prefix as current_script_prefix
from django.urls import reverse, set_script_prefix

from .views import release_database_connections


class RealtimeStreams:
    def __init__(self, django: ASGIHandler):
        self.django = django
        self._path: str | None = None

    @property
    def path(self) -> str:
        if self._path is None:  # without any script prefix: the request's own is added in __call__
            self._path = "/" + reverse("realtime:stream").removeprefix(current_script_prefix())
        return self._path

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == get_script_prefix(scope).rstrip("/") + self.path:
            await self.stream(scope, receive, send)
        else:
            await self.django(scope, receive, send)

    async def stream(self, scope, receive, send):
        handler = self.django
        try:
            body = await handler.read_body(receive)
        except RequestAborted:
            return
        async with ThreadSensitiveContext():  # the request's thread: signals, middleware, session, view...
            set_script_prefix(get_script_prefix(scope))
            await signals.request_started.asend(sender=handler.__class__, scope=scope)
            request, response = handler.create_request(scope, body)
            if request is not None:
                response = await handler.run_get_response(request)
            # ... whose database connections are closed from that same thread, before it goes.
            await sync_to_async(release_database_connections)()
        body.close()
        pump = asyncio.create_task(handler.send_response(response, send))
        hang_up = asyncio.create_task(handler.listen_for_disconnect(receive))
        await asyncio.wait({pump, hang_up}, return_when=asyncio.FIRST_COMPLETED)
        for task in (pump, hang_up):
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                await task
        # request_finished: nothing is left open by then (see above), so any thread may send it.
        await sync_to_async(response.close, thread_sensitive=False)()
