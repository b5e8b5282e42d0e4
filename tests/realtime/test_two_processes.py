"""Across server processes: two real uvicorn processes (the production ASGI entry point, preau.asgi) on one
PostgreSQL test database and one Redis. A person's stream on either process receives what any process publishes
for them, nobody else's; each process holds one pub/sub connection whatever the number of open streams, with
per-person channels and no pattern subscription.

Runs in the PostgreSQL + Redis pass (DATABASE_URL and REDIS_URL set); skipped otherwise."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from preau import realtime
from preau.directory.testing import UserFactory
from preau.realtime.broker import get_broker

pytestmark = pytest.mark.skipif(not settings.PREAU_REALTIME_REDIS_URL,
                                reason="needs Redis (REDIS_URL): the cross-process broker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    """`uvicorn preau.asgi:application` in a subprocess, on the test database."""

    def __init__(self, tmp_path, name: str):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREAU_", "DJANGO_"))}
        env.update(DJANGO_SETTINGS_MODULE="preau.settings.test", DATABASE_URL=database_url(),
                   REDIS_URL=settings.PREAU_REALTIME_REDIS_URL, PREAU_DATA_DIR=str(tmp_path / name),
                   PREAU_REALTIME_HEARTBEAT_SECONDS="1", CACHE_KEY_PREFIX=settings.PREAU_REALTIME_CHANNEL_PREFIX)
        self.log = open(tmp_path / f"{name}.log", "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "preau.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--lifespan", "off", "--log-level", "warning", "--no-access-log"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        raise AssertionError(f"server did not start:\n{self.log.read()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Stream:
    """A minimal EventSource: one `/temps-reel/` connection, read frame by frame."""

    def __init__(self, server: Server, session: str | None):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        headers = {"Accept": "text/event-stream"}
        if session:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session}"
        self.conn.request("GET", "/temps-reel/", headers=headers)
        self.response = self.conn.getresponse()

    def frame(self) -> list[bytes]:
        lines = []
        while (line := self.response.readline()) not in (b"\n", b""):
            lines.append(line.rstrip(b"\n"))
        return lines

    def next_event(self, within: float) -> dict | None:
        """The next event (heartbeats skipped), or None when `within` seconds pass without one."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in self.frame():
                if line.startswith(b"data: "):
                    return json.loads(line[6:])
        return None

    def close(self) -> None:
        self.conn.close()


def pubsub_connections(pid: int) -> list[dict]:
    return [c for c in get_broker().client.client_list() if c.get("name") == f"preau-realtime:{pid}"]


def numsub(user) -> int:
    return dict(get_broker().client.pubsub_numsub(get_broker().channel(user.pk)))[
        get_broker().channel(user.pk).encode()]


def threads_of(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(status.split("Threads:")[1].split()[0])


def wait_for(predicate, within=3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def servers(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database both server processes reach (PostgreSQL: DATABASE_URL)")
    pair = [Server(tmp_path, "a"), Server(tmp_path, "b")]
    try:
        deadline = time.monotonic() + 20
        for server in pair:
            server.wait_ready(deadline)
        yield pair
    finally:
        for server in pair:
            server.stop()


def session_of(user) -> str:
    client = Client()  # one browser per person: logging another person in would end the first one's session
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_events_cross_processes_to_their_person_only(servers):
    a, b = servers
    xavier, yasmine = UserFactory(), UserFactory()
    x_session = session_of(xavier)
    y_session = session_of(yasmine)

    refused = Stream(a, None)
    assert refused.response.status == 401
    refused.close()

    x_on_a, x_on_b, y_on_b = Stream(a, x_session), Stream(b, x_session), Stream(b, y_session)
    streams = [x_on_a, x_on_b, y_on_b]
    try:
        for stream in streams:
            assert stream.response.status == 200
            assert stream.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
            assert stream.next_event(5) == {"event": "realtime.ready", "data": {}}
        # A second page of Xavier's on A shares A's subscription.
        x_on_a_again = Stream(a, x_session)
        streams.append(x_on_a_again)
        assert x_on_a_again.next_event(5)["event"] == "realtime.ready"

        # One pub/sub connection per process, subscribed to one channel per person present, no pattern.
        for server, channels in ((a, 1), (b, 2)):
            [conn] = pubsub_connections(server.process.pid)
            assert (int(conn["sub"]), int(conn["psub"])) == (channels, 0)
        assert numsub(xavier) == 2 and numsub(yasmine) == 1

        # Published by another process (as a Celery worker would), received by Xavier's pages on both servers.
        realtime.publish([xavier.pk], "message.new", {"conversation": 12, "counter_deltas": {"messages": 1}})
        expected = {"event": "message.new", "data": {"conversation": 12, "counter_deltas": {"messages": 1}}}
        for stream in (x_on_a, x_on_a_again, x_on_b):
            assert stream.next_event(3) == expected
        assert y_on_b.next_event(1.5) is None  # never reaches Yasmine, although she is on the same process

        realtime.publish([yasmine.pk], "counters", {"notifications": 2})
        assert y_on_b.next_event(3) == {"event": "counters", "data": {"notifications": 2}}
        assert x_on_b.next_event(1.5) is None

        # More open pages cost no thread: six more of Yasmine's on B (a thread per stream would add six).
        threads_before = threads_of(b)
        for _ in range(6):
            streams.append(Stream(b, y_session))
            assert streams[-1].next_event(5)["event"] == "realtime.ready"
        assert threads_of(b) <= threads_before + 2

        # Xavier leaves B: B drops his channel at once (A keeps it).
        x_on_b.close()
        streams.remove(x_on_b)
        assert wait_for(lambda: numsub(xavier) == 1)
        assert int(pubsub_connections(b.process.pid)[0]["sub"]) == 1  # Yasmine's channel, once for her 7 pages
    finally:
        for stream in streams:
            stream.close()
