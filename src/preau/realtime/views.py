"""The Server-Sent Events stream of the logged-in person (`/temps-reel/`), under WSGI and ASGI alike.

The stream starts with a reconnection hint and a `realtime.ready` message (sent once the person's channel is
subscribed: a page may then resynchronise its counters without missing what follows), carries each published event
as `data: {"event": ..., "data": ...}`, a comment every PREAU_REALTIME_HEARTBEAT_SECONDS so that dead connections
are noticed, and ends after about PREAU_REALTIME_MAX_SECONDS; the browser then reconnects by itself.
"""

from __future__ import annotations

import asyncio
import random
import time

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .broker import CLOSE, AsyncSubscription, RealtimeUnavailable, ThreadSubscription, encode, get_broker

HEARTBEAT = b": ping\n\n"
READY = encode("realtime.ready", {})
# Reconnection delay hinted when the broker is unreachable.
UNAVAILABLE_RETRY_MS = 30_000


def frame(message: str) -> bytes:
    return f"data: {message}\n\n".encode()


def retry_frame(milliseconds: int) -> bytes:
    return f"retry: {milliseconds}\n\n".encode()


class StreamPlan:
    """One stream's timings, drawn once: lifetimes and reconnection delays are spread so that the pages opened
    together (a class in a computer room) do not all reconnect in the same second."""

    def __init__(self):
        self.lifetime = settings.PREAU_REALTIME_MAX_SECONDS * random.uniform(0.8, 1.0)
        self.heartbeat = settings.PREAU_REALTIME_HEARTBEAT_SECONDS
        retry = settings.PREAU_REALTIME_RETRY_MS
        self.retry_ms = retry + random.randint(0, retry)
        self.deadline = time.monotonic() + self.lifetime
        self.streams_per_user = settings.PREAU_REALTIME_MAX_STREAMS_PER_USER

    def wait(self) -> float:
        """Seconds to wait for the next message (0: the stream's life is over)."""
        return max(0.0, min(self.heartbeat, self.deadline - time.monotonic()))

    def opening(self) -> bytes:
        return retry_frame(self.retry_ms) + frame(READY)

    @staticmethod
    def chunk(message) -> bytes | None:
        """What to send for what the mailbox gave after a wait: an event, a heartbeat, or None to end."""
        if message is CLOSE:
            return None
        return HEARTBEAT if message is None else frame(message)


def release_database_connections() -> None:
    """A stream lives minutes and never reads the database: give its connections back now (a server with 1,000 open
    pages must not hold 1,000 PostgreSQL connections). A connection inside a transaction (the test suite's) stays."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


def thread_stream(user_id: int, plan: StreamPlan):
    """The stream for WSGI servers (runserver, the test suite's live server): a thread blocks on the mailbox."""
    release_database_connections()
    broker = get_broker()
    sub = ThreadSubscription(user_id)
    try:
        broker.subscribe(sub, plan.streams_per_user)
    except RealtimeUnavailable:
        yield retry_frame(UNAVAILABLE_RETRY_MS)
        return
    try:
        yield plan.opening()
        while (timeout := plan.wait()) > 0 and (chunk := plan.chunk(sub.get(timeout))) is not None:
            yield chunk
    finally:
        broker.unsubscribe(sub)


async def async_stream(user_id: int, plan: StreamPlan):
    """The stream for ASGI servers (uvicorn): a coroutine awaits the mailbox. Served through `preau.asgi`, the
    request's thread and database connections are let go before the first event (realtime/asgi.py)."""
    broker = get_broker()
    sub = AsyncSubscription(user_id)
    try:
        await asyncio.to_thread(broker.subscribe, sub, plan.streams_per_user)
    except RealtimeUnavailable:
        yield retry_frame(UNAVAILABLE_RETRY_MS)
        return
    try:
        yield plan.opening()
        while (timeout := plan.wait()) > 0 and (chunk := plan.chunk(await sub.get(timeout))) is not None:
            yield chunk
    finally:
        await asyncio.to_thread(broker.unsubscribe, sub)


@require_GET
@never_cache
def stream(request):
    if not settings.PREAU_REALTIME_ENABLED:
        raise Http404
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"detail": _("Connectez-vous pour recevoir les mises à jour en direct.")}, status=401)
    if request.META.get("SERVER_SOFTWARE", "").startswith("gunicorn") and not request.META.get("wsgi.multithread"):
        # A synchronous gunicorn worker serves one request at a time: a stream would hold it for minutes. Streams
        # belong on the ASGI service (docs/realtime.md); 204 tells the browser not to reconnect (realtime.js tries
        # again minutes later).
        return HttpResponse(status=204)
    plan = StreamPlan()
    events = async_stream(user.pk, plan) if isinstance(request, ASGIRequest) else thread_stream(user.pk, plan)
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
