"""Real-time benchmark: the cost of a publish, and the time until every open page has it.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/preau_bench_rt BENCH_REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/realtime/streams.py --streams 1000 --rounds 10

1. publish(): the caller's time for a send to 2,000 and to 10,000 people (one Redis command per 10,000), against a
   pipeline of as many PUBLISH commands and against one round trip each;
2. one uvicorn process (the production ASGI entry point, `preau.asgi`) with N open `/temps-reel/` streams, one per
   person (sessions created in the database; the database is migrated, NOT emptied: use a scratch one): the server's
   resident memory before and after opening them, and, for rounds of one publish to all N people, the time from the
   publish until each stream received it (p50, p95, max).
Prints a summary; see docs/realtime.md. Loopback only; everything started here is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-realtime"


def server_env(database_url: str, redis_url: str, data_dir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREAU_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="preau.settings.production", SECRET_KEY=SECRET, ALLOWED_HOSTS="127.0.0.1",
               SECURE_SSL_REDIRECT="0", DATABASE_URL=database_url, REDIS_URL=redis_url, PREAU_DATA_DIR=data_dir,
               DATABASE_CONN_MAX_AGE="0", LOG_LEVEL="WARNING")
    return env


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    return proc_status(pid, "VmRSS")


def bench_publish(ms):
    from preau import realtime
    from preau.realtime.broker import encode, get_broker

    broker = get_broker()
    assert broker.name == "redis", "set BENCH_REDIS_URL"
    message = encode("message.new", {"conversation": 123456, "counter_deltas": {"messages": 1}})
    data = {"conversation": 123456, "counter_deltas": {"messages": 1}}
    results = {}
    for size in (2_000, 10_000):
        ids = list(range(10_000_000, 10_000_000 + size))

        def script(ids=ids):
            realtime.publish(ids, "message.new", data)

        def pipeline(ids=ids):
            with broker.client.pipeline(transaction=False) as pipe:
                for user_id in ids:
                    pipe.publish(broker.channel(user_id), message)
                pipe.execute()

        results[size] = {"script_ms": ms(script), "pipeline_ms": ms(pipeline)}
    one_by_one = ms(lambda: [broker.client.publish(broker.channel(u), message) for u in range(2_000)], repeat=3)
    results["one_round_trip_each_2000_ms"] = one_by_one
    return results


def timed(fn, repeat=9) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


async def open_stream(port: int, session: str, cookie_name: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
    writer.write(f"GET /temps-reel/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                 f"Cookie: {cookie_name}={session}\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    assert b" 200 " in status, status
    while await reader.readline() not in (b"\r\n", b""):
        pass
    return reader, writer


async def next_event(reader) -> dict:
    """The next `data:` line of a chunked event stream (chunk-size lines and heartbeats skipped)."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("stream closed")
        if line.startswith(b"data: "):
            return json.loads(line[6:])


async def run_streams(port: int, sessions: list[str], user_ids: list[int], cookie_name: str, rounds: int,
                      server_pid: int):
    from asgiref.sync import sync_to_async

    from preau import realtime

    first = await open_stream(port, sessions[0], cookie_name)  # warm the server up (Django loads lazily)
    await next_event(first[0])
    first[1].close()
    await asyncio.sleep(0.5)
    rss_before = rss_kib(server_pid)
    started = time.perf_counter()
    streams = []
    for start in range(0, len(sessions), 100):  # open in waves of 100 connections
        streams += await asyncio.gather(*(open_stream(port, s, cookie_name) for s in sessions[start:start + 100]))
    await asyncio.gather(*(next_event(reader) for reader, _ in streams))  # every stream is subscribed ("ready")
    open_seconds = time.perf_counter() - started
    rss_after = rss_kib(server_pid)
    threads = proc_status(server_pid, "Threads")
    latencies, publish_ms = [], []
    for round_number in range(rounds):
        sent = time.perf_counter()
        waits = [asyncio.create_task(next_event(reader)) for reader, _ in streams]
        await sync_to_async(realtime.publish, thread_sensitive=False)(
            user_ids, "message.new", {"round": round_number, "counter_deltas": {"messages": 1}})
        publish_ms.append((time.perf_counter() - sent) * 1000)
        arrivals = []
        for task in asyncio.as_completed(waits):
            event = await task
            assert event["data"]["round"] == round_number
            arrivals.append((time.perf_counter() - sent) * 1000)
        latencies.append(arrivals)
        await asyncio.sleep(0.3)
    for _, writer in streams:
        writer.close()
    every = [a for arrivals in latencies for a in arrivals]
    last = [max(arrivals) for arrivals in latencies]
    return {
        "streams": len(streams), "open_seconds": round(open_seconds, 2),
        "server_rss_mib_before": round(rss_before / 1024, 1), "server_rss_mib_after": round(rss_after / 1024, 1),
        "per_stream_kib": round((rss_after - rss_before) / max(1, len(streams)), 1), "server_threads": threads,
        "publish_call_ms_median": round(statistics.median(publish_ms), 1),
        "arrival_ms_p50": round(percentile(every, 50), 1), "arrival_ms_p95": round(percentile(every, 95), 1),
        "all_arrived_ms_median": round(statistics.median(last), 1), "all_arrived_ms_max": round(max(last), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    database_url, redis_url = os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_REDIS_URL"]
    data_dir = "/tmp/preau-bench-realtime"
    env = server_env(database_url, redis_url, data_dir)
    os.environ.update(env)
    subprocess.run([sys.executable, "-m", "preau", "migrate", "-v0"], env=env, check=True)
    subprocess.run([sys.executable, "-m", "preau", "collectstatic", "--noinput", "-v0"], env=env, check=True)

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    from preau.accounts.models import User

    print(json.dumps({"publish": bench_publish(timed)}, indent=1))

    existing = set(User.objects.filter(username__startswith="rtbench").values_list("username", flat=True))
    User.objects.bulk_create([User(username=f"rtbench{i}", first_name="R", last_name=str(i), is_active=True,
                                   activated_at=django.utils.timezone.now())
                              for i in range(args.streams) if f"rtbench{i}" not in existing])
    people = list(User.objects.filter(username__startswith="rtbench").order_by("pk")[:args.streams])
    sessions = []
    for user in people:
        store = SessionStore()
        store.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                      HASH_SESSION_KEY: user.get_session_auth_hash()})
        store.create()
        sessions.append(store.session_key)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "preau.asgi:application", "--host", "127.0.0.1",
                               "--port", str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
                              env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        ids = [u.pk for u in people]  # the people the streams belong to, in stream order
        result = asyncio.run(run_streams(port, sessions, ids, settings.SESSION_COOKIE_NAME, args.rounds, server.pid))
        print(json.dumps({"uvicorn_streams": result}, indent=1))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
