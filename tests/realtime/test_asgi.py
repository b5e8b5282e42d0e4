"""preau.asgi: the stream's path is served by RealtimeStreams (the request goes through Django's middleware and
view, then the event loop alone carries the events); every other path goes to Django unchanged."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.test import Client

from preau import realtime
from preau.directory.testing import UserFactory
from preau.realtime.asgi import RealtimeStreams
from preau.realtime.broker import get_broker


def scope_for(path: str, cookie: str | None = None) -> dict:
    headers = [(b"host", b"127.0.0.1"), (b"accept", b"text/event-stream")]
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}


class Exchange:
    """Plays the ASGI server's part: a request without body, a client that may hang up, what was sent."""

    def __init__(self):
        self.sent: list[dict] = []
        self.hang_up = asyncio.Event()
        self.received_body = asyncio.Event()
        self._requested = False

    async def receive(self):
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        self.sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            self.received_body.set()

    def status(self) -> int:
        return self.sent[0]["status"]

    def headers(self) -> dict:
        return {k.decode().lower(): v.decode() for k, v in self.sent[0]["headers"]}

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


@pytest.fixture
def app():
    return RealtimeStreams(get_asgi_application())


def test_the_stream_through_preau_asgi(app, transactional_db, settings):
    settings.PREAU_REALTIME_HEARTBEAT_SECONDS = 1
    person, other = UserFactory(), UserFactory()
    client = Client()
    client.force_login(person)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    async def scenario():
        exchange = Exchange()
        served = asyncio.create_task(app(scope_for("/temps-reel/", cookie), exchange.receive, exchange.send))
        await asyncio.wait_for(exchange.received_body.wait(), 5)  # the opening: subscribed
        threads_while_open = threading.active_count()
        await asyncio.to_thread(realtime.publish, [other.pk], "counters", {"messages": 9})
        await asyncio.to_thread(realtime.publish, [person.pk], "counters", {"messages": 1})
        for _ in range(50):
            if b'"messages":1' in exchange.body():
                break
            await asyncio.sleep(0.05)
        exchange.hang_up.set()  # the page is closed
        await asyncio.wait_for(served, 5)
        return exchange, threads_while_open

    before = threading.active_count()
    exchange, threads_while_open = async_to_sync(scenario)()
    assert exchange.status() == 200
    headers = exchange.headers()
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "script-src 'self'" in headers["content-security-policy"]  # Django's middleware ran
    assert headers["x-content-type-options"] == "nosniff"
    events = [json.loads(line[6:]) for line in exchange.body().splitlines() if line.startswith(b"data: ")]
    assert events == [{"event": "realtime.ready", "data": {}}, {"event": "counters", "data": {"messages": 1}}]
    assert get_broker().hub.count(person.pk) == 0  # hanging up unsubscribed
    # No thread was kept for the open stream (Django's own handler would keep the request's thread).
    assert threads_while_open <= before + 2


def test_anonymous_and_other_paths(app, transactional_db):
    async def call(path):
        exchange = Exchange()  # a client that stays until the answer is complete
        await app(scope_for(path), exchange.receive, exchange.send)
        return exchange

    refused = async_to_sync(call)("/temps-reel/")
    assert refused.status() == 401
    assert json.loads(refused.body())["detail"].startswith("Connectez-vous")
    health = async_to_sync(call)("/healthz")  # not the stream: plain Django
    assert health.status() == 200
    assert json.loads(health.body())["database"] is True
