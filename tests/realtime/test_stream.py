"""The `/temps-reel/` stream: the logged-in person's events only, heartbeats, an end, anonymous refused; under the
WSGI (test client) and ASGI (async client) handlers."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings
from django.urls import reverse

from preau import realtime
from preau.directory.testing import UserFactory
from preau.realtime.broker import get_broker

URL = "/temps-reel/"


def events_of(chunk: bytes) -> list[dict]:
    return [json.loads(line.removeprefix(b"data: ")) for line in chunk.splitlines() if line.startswith(b"data: ")]


@pytest.fixture
def person(db):
    return UserFactory()


def test_url_name():
    assert reverse("realtime:stream") == URL


def test_anonymous_is_refused(client, db):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "Connectez-vous" in response.json()["detail"]


def test_only_get(client, person):
    client.force_login(person)
    assert client.post(URL).status_code == 405


@override_settings(PREAU_REALTIME_HEARTBEAT_SECONDS=1)
def test_the_stream_carries_the_persons_events_only(client, person):
    other = UserFactory()
    client.force_login(person)
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    assert response["X-Accel-Buffering"] == "no"
    assert "script-src 'self'" in response["Content-Security-Policy"]  # the security headers still apply
    chunks = iter(response.streaming_content)
    try:
        opening = next(chunks)
        assert opening.startswith(b"retry: ")
        assert events_of(opening) == [{"event": "realtime.ready", "data": {}}]
        assert get_broker().hub.count(person.pk) == 1

        realtime.publish([other.pk], "message.new", {"conversation": 1})
        realtime.publish([person.pk], "message.new", {"conversation": 2, "counter_deltas": {"messages": 1}})
        assert events_of(next(chunks)) == [
            {"event": "message.new", "data": {"conversation": 2, "counter_deltas": {"messages": 1}}}]
        # Nothing else for this person: the next thing on the wire is a heartbeat comment, not the other's event.
        assert next(chunks) == b": ping\n\n"
    finally:
        response.close()
    assert get_broker().hub.count(person.pk) == 0  # closing the response unsubscribed


@override_settings(PREAU_REALTIME_MAX_SECONDS=1, PREAU_REALTIME_HEARTBEAT_SECONDS=1)
def test_the_stream_ends_after_its_lifetime(client, person):
    client.force_login(person)
    response = client.get(URL)
    chunks = list(response.streaming_content)  # returns: the stream ended by itself
    assert events_of(chunks[0])[0]["event"] == "realtime.ready"
    assert get_broker().hub.count(person.pk) == 0


@override_settings(PREAU_REALTIME_MAX_STREAMS_PER_USER=2, PREAU_REALTIME_HEARTBEAT_SECONDS=1)
def test_one_stream_too_many_ends_the_persons_oldest(client, person):
    """Pages left without closing their connection linger until a heartbeat fails: the newest pages are the live
    ones, so the oldest stream gives way."""
    client.force_login(person)
    oldest, middle, newest = (client.get(URL) for _ in range(3))
    try:
        next(iter(oldest.streaming_content))
        next(iter(middle.streaming_content))
        assert get_broker().hub.count(person.pk) == 2
        newest_chunks = iter(newest.streaming_content)
        next(newest_chunks)
        assert list(oldest.streaming_content) == []  # ended, without waiting for its lifetime
        assert get_broker().hub.count(person.pk) == 2
        realtime.publish([person.pk], "counters", {"messages": 1})
        assert events_of(next(newest_chunks)) == [{"event": "counters", "data": {"messages": 1}}]
    finally:
        for r in (oldest, middle, newest):
            r.close()
    assert get_broker().hub.count(person.pk) == 0


def test_no_stream_on_a_synchronous_gunicorn_worker(client, person):
    """A sync worker serves one request at a time: a stream would take it for minutes. 204: the browser does not
    reconnect (realtime.js tries again minutes later); threaded workers (gthread) stream."""
    client.force_login(person)
    assert client.get(URL, SERVER_SOFTWARE="gunicorn/27.0.1").status_code == 204
    threaded = client.get(URL, SERVER_SOFTWARE="gunicorn/27.0.1", **{"wsgi.multithread": True})
    assert threaded.status_code == 200
    threaded.close()


@override_settings(PREAU_REALTIME_ENABLED=False)
def test_switched_off(client, person):
    client.force_login(person)
    assert client.get(URL).status_code == 404


@override_settings(PREAU_REALTIME_HEARTBEAT_SECONDS=1)
def test_the_stream_under_asgi_is_asynchronous(person):
    """Through Django's ASGI handler the view hands out an asynchronous stream (a coroutine waits on the mailbox;
    preau.asgi also lets the request's thread go: test_asgi.py)."""
    client = AsyncClient()
    client.force_login(person)

    async def scenario():
        response = await client.get(URL)
        assert response.status_code == 200
        assert response.is_async
        chunks = aiter(response.streaming_content)
        try:
            opening = await anext(chunks)
            assert events_of(opening)[0]["event"] == "realtime.ready"
            await asyncio.to_thread(realtime.publish, [person.pk], "counters", {"notifications": 4})
            return events_of(await anext(chunks))
        finally:
            await chunks.aclose()

    assert async_to_sync(scenario)() == [{"event": "counters", "data": {"notifications": 4}}]
    assert get_broker().hub.count(person.pk) == 0


def test_an_unreachable_redis_sends_the_page_away_for_a_while(client, person, settings, caplog):
    """Nothing listens on port 1: the stream only tells the browser to come back in 30 s, and publishing logs the
    failure instead of breaking the caller (best effort)."""
    settings.PREAU_REALTIME_REDIS_URL = "redis://127.0.0.1:1/0"
    client.force_login(person)
    response = client.get(URL)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"retry: 30000\n\n"
    realtime.publish([person.pk], "counters", {"messages": 1})
    assert "Real-time publish to 1 people failed" in caplog.text


@override_settings(PREAU_REALTIME_HEARTBEAT_SECONDS=1)
def test_logging_out_tells_the_persons_pages_to_reconnect(client, person, django_capture_on_commit_callbacks):
    """The page of the browser that logged out then gets 401; the person's other devices come straight back."""
    client.force_login(person)
    other_device = Client()
    other_device.force_login(person)
    response = other_device.get(URL)
    chunks = iter(response.streaming_content)
    try:
        next(chunks)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("accounts:logout"))
        assert events_of(next(chunks)) == [{"event": "realtime.reconnect", "data": {}}]
    finally:
        response.close()
    assert client.get(URL).status_code == 401
