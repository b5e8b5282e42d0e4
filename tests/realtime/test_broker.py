"""publish → the open streams of the right people, with this process's broker (in-process, or Redis when REDIS_URL
is set), and the contract callers rely on."""

import asyncio
import json
import os

import pytest
from django.test import override_settings

from preau import realtime
from preau.realtime import broker
from preau.realtime.broker import CLOSE, AsyncSubscription, ThreadSubscription, get_broker


@pytest.fixture
def streams():
    """Open (and finally close) thread-read streams for people."""
    opened = []

    def _open(user_id):
        sub = ThreadSubscription(user_id)
        get_broker().subscribe(sub)
        opened.append(sub)
        return sub

    yield _open
    for sub in opened:
        get_broker().unsubscribe(sub)


def received(sub, timeout=2.0):
    message = sub.get(timeout)
    assert message is not None and message is not CLOSE, "no message arrived"
    return json.loads(message)


def test_publish_reaches_every_stream_of_the_people_named_and_nobody_else(streams):
    alice_tab1, alice_tab2, bob, carol = streams(101), streams(101), streams(102), streams(103)

    realtime.publish([101, 102, 101, None], "message.new", {"conversation": 7, "counter_deltas": {"messages": 1}})

    for sub in (alice_tab1, alice_tab2, bob):
        assert received(sub) == {"event": "message.new",
                                 "data": {"conversation": 7, "counter_deltas": {"messages": 1}}}
        assert sub.get(0.2) is None  # once each, although 101 was named twice
    assert carol.get(0.3) is None


def test_publish_to_user_and_generators_of_ids(streams):
    dan = streams(104)
    realtime.publish_to_user(104, "counters", {"notifications": 3})
    assert received(dan) == {"event": "counters", "data": {"notifications": 3}}
    realtime.publish((i for i in [104]), "notification.new", {"id": 1})
    assert received(dan)["event"] == "notification.new"


def test_a_closed_stream_receives_nothing_more(streams):
    erin = streams(105)
    get_broker().unsubscribe(erin)
    realtime.publish([105], "counters", {"messages": 1})
    assert erin.get(0.3) is None
    assert get_broker().hub.count(105) == 0


def test_async_streams_are_filled_from_other_threads():
    async def scenario():
        sub = AsyncSubscription(106)
        await asyncio.to_thread(get_broker().subscribe, sub)
        try:
            await asyncio.to_thread(realtime.publish, [106], "news.new", {"id": 9})
            return json.loads(await sub.get(2.0))
        finally:
            await asyncio.to_thread(get_broker().unsubscribe, sub)

    assert asyncio.run(scenario()) == {"event": "news.new", "data": {"id": 9}}


@pytest.mark.parametrize("event, data", [
    ("Message New", {}), ("message.new\ndata: x", {}), ("", {}), ("a" * 65, {}),
    ("message.new", ["not", "a", "dict"]), ("message.new", {"when": object()}), ("message.new", {"x": float("nan")}),
    ("message.new", {"body": "x" * 9000}),
])
def test_malformed_events_are_refused_loudly(event, data):
    with pytest.raises(ValueError):
        realtime.publish([1], event, data)


def test_a_slow_stream_is_ended_rather_than_growing_without_bound(streams):
    slow = streams(107)
    for i in range(broker.MAILBOX_SIZE + 5):
        realtime.publish([107], "counters", {"messages": i})
    messages = []
    while (message := slow.get(0.5)) not in (None, CLOSE):
        messages.append(message)
    assert slow.closed
    assert len(messages) <= broker.MAILBOX_SIZE


@override_settings(PREAU_REALTIME_ENABLED=False)
def test_disabled_publishes_nothing(streams):
    frank = streams(108)
    realtime.publish([108], "counters", {"messages": 1})
    assert frank.get(0.3) is None


def test_the_broker_follows_the_settings(settings):
    chosen = get_broker()
    if settings.PREAU_REALTIME_REDIS_URL:
        assert chosen.name == "redis"
        db = chosen.client.connection_pool.connection_kwargs.get("db", 0)
        # Channels are shared by all database numbers of one Redis server: the number is part of the prefix.
        assert chosen.channel(42) == f"{settings.PREAU_REALTIME_CHANNEL_PREFIX}:{db}:rt:u:42"
    else:
        assert chosen.name == "in-process"


def test_a_send_to_a_whole_school_reaches_everyone_across_batches(streams):
    everyone = list(range(200_000, 200_000 + 2 * broker.PUBLISH_BATCH + 5))
    watched = [everyone[0], everyone[broker.PUBLISH_BATCH - 1], everyone[broker.PUBLISH_BATCH], everyone[-1]]
    subs = [streams(user_id) for user_id in watched]
    realtime.publish(everyone, "news.new", {"id": 3})
    for sub in subs:
        assert received(sub) == {"event": "news.new", "data": {"id": 3}}


def test_a_lost_redis_connection_ends_the_streams_and_new_ones_work(streams, settings):
    if not settings.PREAU_REALTIME_REDIS_URL:
        pytest.skip("Redis broker only (REDIS_URL)")
    chosen = get_broker()
    before = streams(109)
    listeners = [c for c in chosen.client.client_list() if c.get("name") == f"preau-realtime:{os.getpid()}"]
    assert len(listeners) == 1
    chosen.client.client_kill_filter(_id=listeners[0]["id"])
    # The open stream ends (its page reconnects, and resynchronises what it may have missed)...
    assert before.get(3.0) is CLOSE
    # ... and the stream it opens again is subscribed on a fresh connection.
    after = streams(109)
    realtime.publish([109], "counters", {"messages": 2})
    assert received(after) == {"event": "counters", "data": {"messages": 2}}
