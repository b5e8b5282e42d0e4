"""Fan-out of small events to the open pages of logged-in people (docs/realtime.md).

`publish(user_ids, event, data)` hands one message to every stream (the `/temps-reel/` endpoint) those people have
open. Two brokers, chosen once per process from the settings:

- **in-process** (no `PREAU_REALTIME_REDIS_URL`/`REDIS_URL`): thread-safe mailboxes per open stream, for the
  embedded single-process default (runserver, the test suite's live server, eager Celery tasks);
- **Redis pub/sub**: one channel per person (`<prefix>:<db>:rt:u:<id>`), publishing to many people in one round
  trip (a server-side script); each server process keeps ONE pub/sub connection, read by one listener thread, and
  subscribes a person's channel while at least one of their streams is open in that process (never a pattern
  subscription).

Delivery is best effort: the database stays the source of truth, and clients resynchronise their counters each time
their stream (re)opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterable

from django.conf import settings

logger = logging.getLogger("preau.realtime")

EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")
MAX_EVENT_NAME = 64
MAX_MESSAGE_BYTES = 8 * 1024
# Most messages waiting for one slow stream; beyond, the stream is ended and the client reconnects and resyncs.
MAILBOX_SIZE = 256
# People per round trip to Redis: one script publishes to all of them (10,000: about 5 ms of Redis's time).
PUBLISH_BATCH = 10_000
# PUBLISH `<prefix><id>` for each id in ARGV but the last, which is the message: a send to 10,000 people is one
# command on the wire, about 5 times cheaper for the caller than a pipeline of 10,000 PUBLISH (docs/realtime.md).
FAN_OUT_SCRIPT = """
local message = ARGV[#ARGV]
for i = 1, #ARGV - 1 do
  redis.call('PUBLISH', KEYS[1] .. ARGV[i], message)
end
return #ARGV - 1
"""

CLOSE = object()  # a stream's mailbox signal: end the stream (the client reconnects)


class RealtimeUnavailable(Exception):
    """The broker cannot take a new stream right now (Redis unreachable)."""


def encode(event: str, data: dict) -> str:
    """The message for `event` carrying `data`: one line of JSON `{"event": ..., "data": ...}`.

    Raises ValueError for a malformed event name, data that is not a JSON object, or a message over 8 KiB: these are
    programming errors of the caller, which tests must catch.
    """
    if not isinstance(event, str) or len(event) > MAX_EVENT_NAME or not EVENT_NAME.fullmatch(event):
        raise ValueError(f"Invalid real-time event name: {event!r}")
    if not isinstance(data, dict):
        raise ValueError("Real-time event data must be a JSON object (a dict).")
    try:
        message = json.dumps({"event": event, "data": data}, separators=(",", ":"), ensure_ascii=False,
                             allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Real-time event data is not JSON-serialisable: {exc}") from exc
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        raise ValueError(f"Real-time message too large ({len(message.encode())} bytes, most {MAX_MESSAGE_BYTES}): "
                         "send an identifier and let the page fetch the rest.")
    return message


def _user_ids(user_ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(u) for u in user_ids if u is not None))


# --- Mailboxes of open streams -----------------------------------------------------------------------------------


class Subscription:
    """One open stream of one person: a bounded mailbox the broker fills (from any thread) and the stream drains."""

    def __init__(self, user_id: int):
        self.user_id = int(user_id)
        self.closed = False

    def put(self, message: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Make the stream end at its next read (the broker lost its connection, or the mailbox overflowed)."""
        self.closed = True


class ThreadSubscription(Subscription):
    """A mailbox read by a blocking thread (WSGI)."""

    def __init__(self, user_id: int):
        super().__init__(user_id)
        self._queue: queue.Queue = queue.Queue(MAILBOX_SIZE)

    def put(self, message: str) -> None:
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.close()

    def close(self) -> None:
        super().close()
        with contextlib.suppress(queue.Full):  # a full mailbox: the reader sees `closed` at its next read
            self._queue.put_nowait(CLOSE)

    def get(self, timeout: float):
        """The next message, None after `timeout` seconds without one, or CLOSE."""
        if self.closed:
            return CLOSE
        try:
            message = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return CLOSE if self.closed else message


class AsyncSubscription(Subscription):
    """A mailbox read by a coroutine (ASGI); filled from any thread through the event loop."""

    def __init__(self, user_id: int):
        super().__init__(user_id)
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue(MAILBOX_SIZE)

    def _put(self, message) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.closed = True

    def _call(self, message) -> None:
        try:
            self._loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # the loop is closed: the stream is gone
            self.closed = True

    def put(self, message: str) -> None:
        self._call(message)

    def close(self) -> None:
        super().close()
        self._call(CLOSE)

    async def get(self, timeout: float):
        """The next message, None after `timeout` seconds without one, or CLOSE."""
        if self.closed:
            return CLOSE
        try:
            message = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        return CLOSE if self.closed else message


class Hub:
    """The open streams of this process, by person, oldest first. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_user: dict[int, dict[Subscription, None]] = {}

    def add(self, sub: Subscription, limit: int = 0) -> bool:
        """Register a stream; True when it is the person's first in this process. With a `limit`, the person's
        oldest streams beyond it are ended (a page left without closing its connection lingers until the next
        heartbeat: the newest pages are the live ones)."""
        with self._lock:
            subs = self._by_user.setdefault(sub.user_id, {})
            subs[sub] = None
            evicted = []
            while limit and len(subs) > limit:
                oldest = next(iter(subs))
                del subs[oldest]
                evicted.append(oldest)
            first = len(subs) == 1 and not evicted
        for old in evicted:
            old.close()
        return first

    def remove(self, sub: Subscription) -> bool:
        """Forget a stream; True when it was the person's last in this process."""
        with self._lock:
            subs = self._by_user.get(sub.user_id)
            if not subs or sub not in subs:
                return False
            del subs[sub]
            if subs:
                return False
            del self._by_user[sub.user_id]
            return True

    def count(self, user_id: int) -> int:
        with self._lock:
            return len(self._by_user.get(int(user_id), ()))

    def users(self) -> list[int]:
        with self._lock:
            return list(self._by_user)

    def deliver(self, user_id: int, message: str) -> None:
        with self._lock:
            subs = tuple(self._by_user.get(user_id, ()))
        for sub in subs:
            sub.put(message)

    def drop_all(self) -> None:
        """End and forget every stream (their later `remove` is a no-op): the broker lost its connection."""
        with self._lock:
            subs = [sub for group in self._by_user.values() for sub in group]
            self._by_user = {}
        for sub in subs:
            sub.close()


# --- Brokers -----------------------------------------------------------------------------------------------------


class InProcessBroker:
    """Delivers within this process only: the embedded default (one server process)."""

    name = "in-process"

    def __init__(self):
        self.hub = Hub()

    def publish(self, user_ids: list[int], message: str) -> None:
        for user_id in user_ids:
            self.hub.deliver(user_id, message)

    def subscribe(self, sub: Subscription, limit: int = 0) -> None:
        self.hub.add(sub, limit)

    def unsubscribe(self, sub: Subscription) -> None:
        self.hub.remove(sub)


class RedisBroker:
    """Delivers across every server process through Redis pub/sub, one channel per person."""

    name = "redis"
    LISTEN_TIMEOUT = 10.0
    CONFIRM_TIMEOUT = 3.0
    PING_AFTER = 25.0  # seconds of silence on a subscribed connection before it is pinged
    DEAD_AFTER = 60.0  # seconds of silence, pings included, after which it counts as lost

    def __init__(self, url: str, prefix: str):
        import redis

        self._redis = redis
        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
        # Pub/sub channels are shared by every database number of a Redis server: the number is part of the prefix,
        # so that two deployments (or two test runs) on one server never hear each other.
        db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self.prefix = f"{prefix}:{db}:rt:u:"
        self._fan_out = self.client.register_script(FAN_OUT_SCRIPT)
        self.hub = Hub()
        self._lock = threading.Lock()  # orders (un)subscriptions and guards the listener's state
        self._pid = os.getpid()
        self._pubsub = None
        self._thread: threading.Thread | None = None
        self._confirmations: dict[str, threading.Event] = {}

    def channel(self, user_id: int) -> str:
        return f"{self.prefix}{user_id}"

    def publish(self, user_ids: list[int], message: str) -> None:
        try:
            for start in range(0, len(user_ids), PUBLISH_BATCH):
                self._fan_out(keys=[self.prefix], args=[*user_ids[start:start + PUBLISH_BATCH], message])
        except (self._redis.RedisError, OSError):
            logger.warning("Real-time publish to %d people failed (Redis unreachable)", len(user_ids), exc_info=True)

    # Listener side: one pub/sub connection and one thread per process, started with the first stream.

    def _new_pubsub(self):
        client = self._redis.Redis.from_url(self.url, socket_timeout=30, socket_connect_timeout=3,
                                            socket_keepalive=True, decode_responses=True,
                                            client_name=f"preau-realtime:{os.getpid()}")
        return client.pubsub()

    def _ensure_listener(self) -> None:
        if self._pid != os.getpid():  # forked (gunicorn/uvicorn workers): the parent's listener does not exist here
            self._pid = os.getpid()
            self.hub = Hub()
            self._pubsub = None
            self._thread = None
            self._confirmations = {}
        if self._thread is None or not self._thread.is_alive():
            self._pubsub = self._new_pubsub()
            self._thread = threading.Thread(target=self._listen, name="preau-realtime", daemon=True)
            self._thread.start()

    def subscribe(self, sub: Subscription, limit: int = 0) -> None:
        """Register a stream (see Hub.add for `limit`); returns once Redis confirmed the person's channel
        (RealtimeUnavailable otherwise)."""
        channel = self.channel(sub.user_id)
        with self._lock:
            self._ensure_listener()
            first = self.hub.add(sub, limit)
            confirmed = self._confirmations.get(channel)
            if first:
                confirmed = self._confirmations[channel] = threading.Event()
                try:
                    self._pubsub.subscribe(channel)
                except (self._redis.RedisError, OSError) as exc:
                    self.hub.remove(sub)
                    self._confirmations.pop(channel, None)
                    raise RealtimeUnavailable(str(exc)) from exc
        if confirmed is not None and not confirmed.wait(self.CONFIRM_TIMEOUT):
            self.unsubscribe(sub)
            raise RealtimeUnavailable("Redis did not confirm the subscription in time")

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if not self.hub.remove(sub) or self._pubsub is None or self._pid != os.getpid():
                return
            try:
                self._pubsub.unsubscribe(self.channel(sub.user_id))
            except (self._redis.RedisError, OSError):
                logger.warning("Real-time unsubscribe failed (Redis unreachable)", exc_info=True)

    def _listen(self) -> None:
        backoff = 0.5
        prefix_length = len(self.prefix)
        last_heard = time.monotonic()
        while True:
            pubsub = self._pubsub
            try:
                message = pubsub.get_message(timeout=self.LISTEN_TIMEOUT)
                now = time.monotonic()
                if message is not None or not pubsub.subscribed:
                    last_heard = now
                elif now - last_heard > self.DEAD_AFTER:
                    raise self._redis.ConnectionError(f"no answer from Redis for {self.DEAD_AFTER:.0f} s")
                elif now - last_heard > self.PING_AFTER:
                    # A connection cut silently (a NAT or firewall forgetting it) would otherwise leave this process
                    # deaf. PubSub.ping sends under the pub/sub's lock, unlike redis-py's own health checks, so it
                    # never interleaves with a (un)subscription sent from a request's thread.
                    pubsub.ping()
            except Exception as exc:  # this thread must survive anything and recover
                logger.warning("Real-time listener lost Redis (%s: %s): open streams end and reconnect",
                               type(exc).__name__, exc)
                self._recover(pubsub)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                last_heard = time.monotonic()
                continue
            backoff = 0.5
            if message is None:
                continue
            kind, channel = message["type"], message["channel"]
            if kind == "message" and channel.startswith(self.prefix):
                try:
                    user_id = int(channel[prefix_length:])
                except ValueError:
                    continue
                self.hub.deliver(user_id, message["data"])
            elif kind == "subscribe":
                with self._lock:
                    event = self._confirmations.pop(channel, None)
                if event is not None:
                    event.set()

    def _recover(self, failed) -> None:
        """After a lost connection: end every open stream (their clients reconnect and resync what they missed) and
        start again on a fresh pub/sub connection."""
        with self._lock:
            if self._pubsub is failed:
                self._pubsub = self._new_pubsub()
                self._confirmations = {}  # whoever waits for one times out: RealtimeUnavailable
            with contextlib.suppress(Exception):  # closing a broken connection may fail in any way
                failed.close()
        self.hub.drop_all()


_brokers: dict[tuple[str, str], InProcessBroker | RedisBroker] = {}
_brokers_lock = threading.Lock()


def get_broker():
    """This process's broker for the current settings: Redis when configured, in-process otherwise (one per
    configuration, so that a test overriding the settings finds the original again afterwards)."""
    key = (settings.PREAU_REALTIME_REDIS_URL or "", settings.PREAU_REALTIME_CHANNEL_PREFIX)
    broker = _brokers.get(key)
    if broker is None:
        with _brokers_lock:
            broker = _brokers.get(key)
            if broker is None:
                url, prefix = key
                broker = _brokers[key] = RedisBroker(url, prefix) if url else InProcessBroker()
    return broker


def publish(user_ids: Iterable[int], event: str, data: dict) -> None:
    """Send `event` with `data` (a small JSON object) to every open page of these people, in every server process.

    Call it after the data it announces is committed (from a task, or a `transaction.on_commit` callback): a page
    reacting to the event reads the database. Best effort: an unreachable Redis is logged, never raised.
    """
    if not settings.PREAU_REALTIME_ENABLED:
        return
    message = encode(event, data)
    ids = _user_ids(user_ids)
    if ids:
        get_broker().publish(ids, message)


def publish_to_user(user_id: int, event: str, data: dict) -> None:
    """`publish` to one person."""
    publish([user_id], event, data)
