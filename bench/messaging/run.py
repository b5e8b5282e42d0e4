"""Messaging benchmark: sends to 2,000 and 10,000 people, and the inbox of a 10,000-message mailbox.

    .venv/bin/python bench/messaging/run.py                       # everything (about 15 minutes)
    .venv/bin/python bench/messaging/run.py --quiet 1.5           # wait for a calmer machine before each phase
    .venv/bin/python bench/messaging/run.py --reuse --phases inbox  # keep the seeded database, inbox only

On PostgreSQL + Redis + a real Celery worker + gunicorn, all with `preau.settings.production`:

1. setup (unless --reuse): drops and recreates the database `--db` (default preau_bench_msg), empties Redis db
   `--redis-db` (default 9), migrates, collects static files, `preau seed --seed 1 --establishments 8 --pupils
   1350` (collèges of up to 16 classes a level, the seed's largest), moves the families of the further collèges into
   the first one until its guardians number `--big` (10,000; see `merge_families`), `VACUUM ANALYZE`;
2. starts `celery -A preau worker -Q celery,notifications,imports --concurrency 2` (prefork, one process per
   core; no beat) and
   `gunicorn preau.wsgi --workers 2` (sync) on a free loopback port;
3. the head teacher (staff, function head: a messaging moderator, so never held for review) gets a personal API
   token; two address sets are resolved and their recipients counted with `addresses.resolve` (what the send
   counts): the guardians of the first classes reaching 2,000 people, and the establishment's guardians;
4. queries per send request: the API's send in-process (Django's test client, `CaptureQueriesContext`), for each
   address set; then a few unmeasured sends over HTTP warm the gunicorn workers up;
5. sends (phase "send"): client-side request latency of POST /api/v1/messaging/messages over HTTP, and the time
   until every inbox has the message = Message.delivered_at (set by the worker once the last chunk of recipient
   copies is committed and announced) − the wall-clock instant the request was started. Sequential sends spaced
   `--spacing-2k` / `--spacing-10k` seconds apart, then a concurrency variant (`--clients` clients sending
   `--per-client` messages back to back). Each message's recipient copies are counted afterwards (all present);
6. inbox (phase "inbox"): three teachers get a mailbox of `--mailbox` (10,000), 50 and 10 received messages (a
   page shows 50: the 50-message mailbox shows the same rows as the big one, without its size), written in
   bulk (conversation, message, the recipient's inbox copy — 30 % unread — and the sender's sent copy); queries
   per request of GET /messagerie/ and of the API mailbox list for each (in-process, first and steady request
   after logging in: they must be equal), then wrk (`-t2 -c16`, `--duration`) on each path for each mailbox with
   4 logged-in sessions of its owner (bench/messaging/inbox.lua).

The 1-minute load average and CPU steal are sampled during each phase (bench/imports/run.py's LoadSampler), with
the busiest processes before it, because other work on a shared machine skews the figures. Results go to
bench/results/messaging-<timestamp>/: results.json, summary.md, machine.txt, the worker and gunicorn logs, wrk
outputs. See docs/performance.md, "Messaging".
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("VENV", ROOT / ".venv"))
SEND_PATH = "/api/v1/messaging/messages"
MAILBOX_API_PATH = "/api/v1/messaging/mailbox?box=inbox"
INBOX_PATH = "/messagerie/"
USER_AGENT = "preau-bench/1 (messaging)"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Reused as they are: the load sampling of the import benchmark, the HTTP login and wrk data of the foundation one.
imports_run = _load("bench_imports_run", ROOT / "bench" / "imports" / "run.py")
prepare = _load("bench_prepare", ROOT / "bench" / "prepare.py")


# --- Figures ------------------------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats(values: list[float]) -> dict:
    return {"n": len(values), "min": min(values, default=None), "p50": percentile(values, 50),
            "p95": percentile(values, 95), "p99": percentile(values, 99), "max": max(values, default=None)}


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f}"


# --- Processes ----------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes of a process group (a server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class Services:
    """The Celery worker and gunicorn, each in its own process group, stopped on exit (only what we started)."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.port = int(os.environ.get("BENCH_PORT") or free_port())
        self.base = f"http://127.0.0.1:{self.port}"

    def _start(self, name: str, cmd: list[str]) -> None:
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's life
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                            cwd=ROOT)

    def start(self, worker_concurrency: int, gunicorn_workers: int) -> None:
        if _answers(self.base):
            sys.exit(f"bench: something already answers on {self.base}; set BENCH_PORT to a free port")
        self._start("worker", [str(VENV / "bin" / "celery"), "-A", "preau", "worker", "-Q",
                               "celery,notifications,imports", "--pool", "prefork",
                               "--concurrency", str(worker_concurrency), "--loglevel", "WARNING",
                               "-n", f"bench-messaging-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
                               "--without-heartbeat"])
        self._start("gunicorn", [str(VENV / "bin" / "gunicorn"), "preau.wsgi", "--workers", str(gunicorn_workers),
                                 "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _answers(self.base + "/healthz"):
            if any(p.poll() is not None for p in self.procs.values()):
                break
            time.sleep(0.2)
        dead = [name for name, p in self.procs.items() if p.poll() is not None]
        if dead or not _answers(self.base + "/healthz"):
            sys.exit(f"bench: {', '.join(dead) or 'gunicorn'} did not start; see the logs in {self.run_dir}")

    def cpu(self) -> dict[str, float]:
        return {name: process_group_cpu(p.pid) for name, p in self.procs.items()}

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs.clear()


def _answers(url: str) -> bool:
    """Whether an HTTP server answers `url` (http://host:port/path) with less than a 500."""
    host_port, _slash, path = url.split("//", 1)[1].partition("/")
    host, port = host_port.split(":")
    try:
        conn = http.client.HTTPConnection(host, int(port), timeout=2)
        conn.request("GET", "/" + path)
        ok = conn.getresponse().status < 500
        conn.close()
        return ok
    except OSError:
        return False


class Phase:
    """Load average, CPU steal and the servers' CPU time during a phase."""

    def __init__(self, name: str, services: Services | None, quiet: float | None, quiet_wait: int):
        self.name, self.services = name, services
        imports_run.wait_for_quiet(quiet, quiet_wait)
        self.info = {"load_before": imports_run.load_average(), "busiest_before": imports_run.busiest_processes()}

    def __enter__(self) -> Phase:
        self._cpu = self.services.cpu() if self.services else {}
        self._sampler = imports_run.LoadSampler().__enter__()
        self._started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self._sampler.__exit__(*exc)
        after = self.services.cpu() if self.services else {}
        self.info.update({"seconds": time.monotonic() - self._started, "load_during_mean": self._sampler.mean,
                          "load_during_max": self._sampler.max, "steal_percent": self._sampler.steal_percent,
                          "cpu_s": {k: after[k] - self._cpu.get(k, 0) for k in after}})


# --- Setup --------------------------------------------------------------------------------------------------------

def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, check=False, text=True, capture_output=True, cwd=ROOT, **kwargs)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return proc


def setup_database(args, run_dir: Path) -> None:
    for sql in (f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)', f'CREATE DATABASE "{args.db}"'):
        run(["psql", f"{args.pg}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql])
    run(["redis-cli", "-n", str(args.redis_db), "FLUSHDB"])
    preau = str(VENV / "bin" / "preau")
    run([preau, "migrate", "--noinput", "-v0"])
    started = time.monotonic()
    seeded = run([preau, "seed", "--seed", "1", "--establishments", str(args.establishments), "--pupils",
                  str(args.pupils)])
    (run_dir / "seed.txt").write_text(seeded.stdout)
    print(f"  seeded {args.establishments} establishments of about {args.pupils} pupils in "
          f"{time.monotonic() - started:.1f} s", flush=True)


def everyone(establishment_id: int) -> list[dict]:
    return [{"type": "establishment_guardians", "id": establishment_id}]


def small_school(small: int):
    """The further seeded collège whose guardians (all of them: one address) come closest above `small` people —
    the 2020 case, a head teacher writing to every family of a collège — or the largest when none reaches it.
    Collèges merged into the first one (no pupil left) are never chosen."""
    from preau.directory.models import Establishment

    first, _head = head_teacher()
    found = []
    for school in Establishment.objects.filter(kind=Establishment.Kind.COLLEGE).exclude(pk=first.pk):
        school, head = head_teacher(school)
        found.append((recipient_count(everyone(school.pk), school.pk, head.pk), school.pk, school, head))
    above = sorted(f for f in found if f[0] >= small)
    chosen = above[0] if above else max(found, default=None)
    if chosen is None or chosen[0] == 0:
        sys.exit("bench: no collège left for the 2,000-recipient send (seed more establishments)")
    return chosen[2], chosen[3]


def merge_families(small: int, big: int) -> list[dict]:
    """Make the first collège's families number at least `big` reachable guardians.

    The seed makes collèges of 16 classes a level at most (about 1,650 pupils, 2,700 guardians), and an address
    reaches people of one establishment. The pupil and guardian memberships of the further seeded collèges are
    moved into the first one, collège by collège, until its establishment-wide guardian address reaches `big`
    people (their classes stay where they were: establishment-wide addresses resolve through memberships and
    guardian links only). The collège chosen for the 2,000-recipient send (`small_school`) is kept as it is.
    Returns what was moved."""
    from preau.directory.models import Establishment, Membership, Role

    first, head = head_teacher()
    kept, _head = small_school(small)
    others = (Establishment.objects.filter(kind=Establishment.Kind.COLLEGE).exclude(pk__in=[first.pk, kept.pk])
              .order_by("pk"))
    moved = []
    for other in others:
        if recipient_count(everyone(first.pk), first.pk, head.pk) >= big:
            break
        n = Membership.objects.filter(establishment=other, role__in=[Role.PUPIL, Role.GUARDIAN]).update(
            establishment=first)
        moved.append({"from": other.name, "memberships": n})
    return moved


def analyze() -> None:
    # Planner statistics, as autovacuum would have them on a live server (bulk-inserted tables have none yet).
    run(["psql", os.environ["DATABASE_URL"], "-qc", "VACUUM ANALYZE"])


def environment(args, run_dir: Path) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "preau.settings.production",
        "SECRET_KEY": "bench-only-" + secrets.token_hex(16), "ALLOWED_HOSTS": "127.0.0.1",
        # Plain http on loopback: no redirect to https (the cookies stay Secure; see bench/prepare.py).
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"{args.pg}/{args.db}", "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "STATIC_ROOT": str(run_dir / "static"), "PREAU_DATA_DIR": str(run_dir / "var"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "PYTHONPATH": str(ROOT / "src"),
        # One person's four sessions drive the inbox at hundreds of requests a second: the per-person API rate
        # (1,200 a minute by default) would answer 429 (a cheap refusal, not the page). The throttle still runs
        # (its cache round trip is counted), with a limit wrk does not reach.
        "PREAU_API_RATE": os.environ.get("PREAU_API_RATE", "1000000/min"),
    })
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def machine_info(args) -> dict:
    def out(cmd: list[str]) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT).stdout.strip()

    return {
        "started": f"{datetime.now():%Y-%m-%d %H:%M}", "commit": out(["git", "rev-parse", "--short", "HEAD"]),
        # Other people's work in progress in the same tree is what runs: say which files differ from the commit.
        "uncommitted": out(["git", "status", "--porcelain", "--", "src"]).splitlines(),
        "cores": os.cpu_count(),
        "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), ""),
        "memory_gib": round(int(Path("/proc/meminfo").read_text().split()[1]) / 1048576, 1),
        "python": sys.version.split()[0],
        "postgresql": out(["psql", f"{args.pg}/postgres", "-Atc", "SHOW server_version"]),
        "redis": re.sub(r".*redis_version:([^\s]+).*", r"\1", out(["redis-cli", "INFO", "server"]), flags=re.S),
        "wrk": (out(["wrk", "-v"]) or subprocess.run(["wrk", "-v"], capture_output=True, text=True,
                                                     check=False).stderr).split("\n")[0],
        "worker": f"celery prefork, concurrency {args.worker_concurrency}",
        "gunicorn": f"{args.gunicorn_workers} sync workers",
    }


# --- People and addresses -----------------------------------------------------------------------------------------

def head_teacher(establishment=None):
    """(establishment, its head teacher); the first seeded establishment by default."""
    from preau.directory.models import Establishment, Membership, Role, StaffFunction

    establishment = establishment or Establishment.objects.order_by("pk").first()
    membership = (Membership.objects.filter(establishment=establishment, role=Role.STAFF, is_active=True,
                                            functions__contains=[StaffFunction.HEAD.value], user__is_active=True)
                  .select_related("user").order_by("pk").first())
    if membership is None:
        sys.exit("bench: no head teacher in the seeded establishment")
    return establishment, membership.user


def api_token(user) -> str:
    from preau.access import policy
    from preau.api.services import api_token_create

    _token, clear = api_token_create(actor=policy.actor_for(user), name=f"bench {datetime.now():%H:%M:%S}",
                                     expires_in_days=1)
    return clear


def recipient_count(addresses: list[dict], establishment_id: int, sender_id: int) -> int:
    from preau.messaging import addresses as address_book

    return address_book.resolve(addresses, establishment_id=establishment_id, sender_id=sender_id).exclude(
        pk=sender_id).count()


@dataclass
class Target:
    """Who a send scenario writes to, and from whom."""

    name: str
    description: str
    establishment: object
    sender: object
    addresses: list[dict]
    people: int = 0
    token: str = ""

    def __post_init__(self):
        self.people = recipient_count(self.addresses, self.establishment.pk, self.sender.pk)


def first_classes(establishment, head, small: int) -> list[dict]:
    """The guardians of the first classes (by code) of the establishment until `small` people are reached."""
    from preau.directory.models import SchoolClass

    classes = list(SchoolClass.objects.filter(establishment=establishment, school_year__is_current=True)
                   .order_by("code", "pk").values_list("pk", flat=True))
    chosen: list[dict] = []
    for pk in classes:
        chosen.append({"type": "class_guardians", "id": pk})
        if (len(chosen) % 5 == 0 or len(chosen) >= 40) and recipient_count(chosen, establishment.pk,
                                                                             head.pk) >= small:
            break
    while len(chosen) > 1 and recipient_count(chosen[:-1], establishment.pk, head.pk) >= small:
        chosen = chosen[:-1]  # one class too many: step back while it stays above
    return chosen


def targets(small: int) -> dict[str, Target]:
    """The three address sets: every family of a collège of about `small` guardians (one address), the families
    of the first classes of the big collège until `small` people (one address per class), and every family of the
    big collège (one address)."""
    big_school, big_head = head_teacher()
    school, head = small_school(small)
    result = {
        "2k": Target("2k", "tous les responsables d'un collège", school, head, everyone(school.pk)),
        "2k-classes": Target("2k-classes", "responsables de classes, une adresse par classe", big_school, big_head,
                             first_classes(big_school, big_head, small)),
        "10k": Target("10k", "tous les responsables du grand collège", big_school, big_head, everyone(big_school.pk)),
    }
    tokens: dict[int, str] = {}
    for target in result.values():
        if target.sender.pk not in tokens:
            tokens[target.sender.pk] = api_token(target.sender)
        target.token = tokens[target.sender.pk]
    return result


# --- Sending ------------------------------------------------------------------------------------------------------

def payload(establishment_id: int, addresses: list[dict], label: str, n: int) -> dict:
    return {"establishment_id": establishment_id, "to": addresses, "cc": [], "bcc": [],
            "subject": f"Bench {label} n°{n} : réunion parents-professeurs",
            "body": "Madame, Monsieur,\n\nLa réunion parents-professeurs aura lieu jeudi à 18 h.\n\nLa direction"}


def message_id_of(body: dict) -> int:
    return int(body["id"])


def post_send(base: str, token: str, data: dict) -> dict:
    """One send over HTTP: wall-clock start, client-side latency, status, the message id."""
    host, port = base.split("//", 1)[1].split(":")
    body = json.dumps(data)
    started_wall = time.time()
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("POST", SEND_PATH, body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json",
        "User-Agent": USER_AGENT, "Host": f"{host}:{port}"})
    response = conn.getresponse()
    content = response.read()
    latency = time.perf_counter() - started
    conn.close()
    result = {"started": started_wall, "latency": latency, "status": response.status}
    try:
        result["id"] = message_id_of(json.loads(content))
    except (ValueError, KeyError, TypeError):
        result["error"] = content[:300].decode("utf-8", "replace")
    return result


def wait_delivered(ids: list[int], timeout: float) -> None:
    from preau.messaging.models import Message

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Message.objects.filter(pk__in=ids, delivered_at__isnull=True).exists():
            return
        time.sleep(0.25)


def wait_idle(redis_db: int, timeout: float = 300) -> float:
    """Wait until the worker has nothing queued or running (the broker's queue lists — "celery", "notifications",
    "imports" — and its "unacked" hash are empty: notification tasks of earlier sends included); returns the
    seconds waited."""
    started = time.monotonic()
    depth_script = ("return redis.call('LLEN', 'celery') + redis.call('LLEN', 'notifications') "
                    "+ redis.call('LLEN', 'imports') + redis.call('HLEN', 'unacked')")
    while time.monotonic() - started < timeout:
        depth = subprocess.run(["redis-cli", "-n", str(redis_db), "EVAL", depth_script, "0"],
                               capture_output=True, text=True, check=False).stdout.strip()
        if depth == "0":
            break
        time.sleep(0.5)
    time.sleep(1)
    return time.monotonic() - started


def delivery_figures(sends: list[dict], expected: int) -> dict:
    """Time until every inbox has each message, and a check that every recipient's copy is there."""
    from django.db.models import Count

    from preau.messaging.models import Delivery, Message

    ids = [s["id"] for s in sends if "id" in s]
    rows = {m["pk"]: m for m in Message.objects.filter(pk__in=ids).values("pk", "state", "delivered_at",
                                                                        "recipient_count", "sent_at")}
    copies = dict(Delivery.objects.filter(message_id__in=ids).exclude(role=Delivery.Role.SENDER)
                  .values_list("message_id").annotate(n=Count("pk")).values_list("message_id", "n"))
    times, missing, states = [], [], {}
    for send in sends:
        row = rows.get(send.get("id"))
        if row is None:
            continue
        states[row["state"]] = states.get(row["state"], 0) + 1
        if row["delivered_at"] is not None:
            send["delivered_after"] = row["delivered_at"].timestamp() - send["started"]
            times.append(send["delivered_after"])
        if copies.get(row["pk"], 0) != expected:
            missing.append({"id": row["pk"], "copies": copies.get(row["pk"], 0)})
    return {"delivery": stats(times), "states": states, "incomplete": missing,
            "copies_checked": sum(copies.values())}


def send_series(services: Services, token: str, data_of, count: int, spacing: float, clients: int = 1) -> list:
    """`count` sends: one client, each started `spacing` s after the previous one; or `clients` clients sending
    back to back at the same time (count per client)."""
    if clients == 1:
        sends = []
        start = time.monotonic()
        for n in range(count):
            delay = start + n * spacing - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sends.append(post_send(services.base, token, data_of(n)))
        return sends

    barrier = threading.Barrier(clients)

    def client(c: int) -> list[dict]:
        barrier.wait()
        return [post_send(services.base, token, data_of(c * count + n)) for n in range(count)]

    with ThreadPoolExecutor(clients) as pool:
        return [s for batch in pool.map(client, range(clients)) for s in batch]


def send_phase(label: str, services: Services, target: Target, count: int, spacing: float, clients: int,
               args) -> dict:
    people = target.people
    print(f"  {label}: {count * clients} sends to {people:,} people "
          f"({'spaced ' + str(spacing) + ' s' if clients == 1 else f'{clients} clients at once'})", flush=True)
    idle = wait_idle(args.redis_db)
    with Phase(label, services, args.quiet, args.quiet_wait) as phase:
        sends = send_series(services, target.token,
                            lambda n: payload(target.establishment.pk, target.addresses, label, n), count, spacing,
                            clients)
        ids = [s["id"] for s in sends if "id" in s]
        wait_delivered(ids, timeout=args.delivery_timeout)
    failed = [s for s in sends if s["status"] != 201 and s["status"] != 200]
    figures = delivery_figures(sends, people)
    result = {"label": label, "target": target.name, "description": target.description, "people": people,
              "addresses": len(target.addresses), "sends": len(sends), "clients": clients, "spacing_s": spacing,
              "latency": stats([s["latency"] for s in sends]), "statuses": _count_statuses(sends),
              "failed": failed[:5], **figures, **phase.info, "waited_for_idle_worker_s": idle, "raw": sends}
    d, lat = result["delivery"], result["latency"]
    print(f"    request p50/p95/p99 {fmt_ms(lat['p50'])}/{fmt_ms(lat['p95'])}/{fmt_ms(lat['p99'])} ms; "
          f"every inbox p50/p95/p99 {fmt_ms(d['p50'])}/{fmt_ms(d['p95'])}/{fmt_ms(d['p99'])} ms; "
          f"states {figures['states']}; incomplete {len(figures['incomplete'])}; load {phase.info['load_before']:.2f}"
          f" → {phase.info['load_during_mean']:.2f}; CPU {phase.info['cpu_s']}", flush=True)
    return result


def _count_statuses(items: list[dict]) -> dict:
    counted: dict[str, int] = {}
    for item in items:
        counted[str(item["status"])] = counted.get(str(item["status"]), 0) + 1
    return counted


def send_queries(sets: dict[str, Target]) -> dict:
    """Queries per send request, in-process (the API view, the services, the audit row; the delivery runs in the
    worker), and the request's time in-process (no HTTP). Three sends per address set: the first warms the
    caches (token, rules)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)
    counts, times, ids = {}, {}, []
    for name, target in sets.items():
        counts[name], times[name] = [], []
        for n in range(3):
            data = json.dumps(payload(target.establishment.pk, target.addresses, f"queries-{name}", n))
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.post(SEND_PATH, data=data, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {target.token}")
                times[name].append(time.perf_counter() - started)
            if response.status_code not in (200, 201):
                sys.exit(f"bench: the send answered {response.status_code}: {response.content[:500]!r}")
            ids.append(message_id_of(response.json()))
            counts[name].append(len(queries))
        (Path(os.environ["BENCH_RUN_DIR"]) / f"send-queries-{name}.sql").write_text(
            "\n\n".join(f"-- {float(q['time']) * 1000:.1f} ms\n{q['sql']}" for q in queries.captured_queries) + "\n")
    return {"counts": counts, "in_process_s": times, "ids": ids}


# --- Inbox --------------------------------------------------------------------------------------------------------

def build_mailbox(owner, size: int, senders: list, establishment, tag: str) -> None:
    """`size` received messages for `owner`, newest every 37 minutes back in time (10,000 span 257 days): one
    conversation, message and sender's copy each, the owner's inbox copy (read but for every third one)."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from preau.messaging.models import Conversation, Delivery, Message

    if Delivery.objects.filter(owner=owner, box=Delivery.Box.INBOX).count() >= size:
        return  # written by an earlier run (--reuse)
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, size, 2000):
            numbers = range(start, min(size, start + 2000))
            when = {n: now - dt.timedelta(minutes=37 * (n + 1)) for n in numbers}
            conversations = Conversation.objects.bulk_create([
                Conversation(establishment=establishment, subject=f"{tag} n°{n}", created_at=when[n],
                             last_message_at=when[n]) for n in numbers])
            messages = Message.objects.bulk_create([
                Message(conversation=c, establishment=establishment, sender=senders[n % len(senders)],
                        subject=f"{tag} n°{n}", body=f"<p>Message {n} de la boîte de test.</p>",
                        body_text=f"Message {n} de la boîte de test.", state=Message.State.DELIVERED,
                        created_at=when[n], sent_at=when[n], delivered_at=when[n], recipient_count=1,
                        addresses={"to": [{"type": "person", "id": owner.pk}], "cc": [], "bcc": []},
                        address_labels={"to": [owner.get_full_name() or owner.username], "cc": []})
                for n, c in zip(numbers, conversations, strict=True)])
            copies = []
            for n, m in zip(numbers, messages, strict=True):
                copies.append(Delivery(message=m, owner=owner, role=Delivery.Role.TO, box=Delivery.Box.INBOX,
                                       sent_at=when[n], read_at=None if n % 3 == 0 else when[n]))
                copies.append(Delivery(message=m, owner_id=m.sender_id, role=Delivery.Role.SENDER,
                                       box=Delivery.Box.SENT, sent_at=when[n], read_at=when[n]))
            Delivery.objects.bulk_create(copies, batch_size=4000)


def inbox_people(password: str, sizes: list[int]) -> dict:
    """{mailbox size: owner}: teachers holding that role only (not reached by the guardians' sends)."""
    from preau.accounts.models import User

    teachers = [p for p in prepare.pick_people(len(sizes), password) if p["role"] == "teacher"]
    if len(teachers) < len(sizes):
        sys.exit("bench: not enough single-role teachers to own the mailboxes")
    return {size: User.objects.get(pk=p["id"]) for size, p in zip(sizes, teachers, strict=False)}


def inbox_queries(people: dict, password: str, paths: list[str]) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    results = {}
    for size, user in people.items():
        client = Client(HTTP_HOST="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)
        client.get("/compte/connexion/")
        response = client.post("/compte/connexion/", {"username": user.username, "password": password, "next": "/"})
        if response.status_code != 302:
            sys.exit(f"bench: logging {user.username} in answered {response.status_code}")
        row = {}
        for path in paths:
            counts = []
            for _ in range(2):
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path, HTTP_ACCEPT="application/json" if path.startswith("/api/")
                                          else "text/html")
                if response.status_code != 200:
                    sys.exit(f"bench: GET {path} as {user.username} answered {response.status_code}")
                counts.append(len(queries))
            row[path] = {"first": counts[0], "steady": counts[1]}
            run_dir = Path(os.environ["BENCH_RUN_DIR"])
            (run_dir / f"queries-{size}-{re.sub(r'[^a-z]+', '_', path).strip('_')}.sql").write_text(
                "\n\n".join(q["sql"] for q in queries.captured_queries) + "\n")
        results[size] = row
    return results


def wrk_run(services: Services, run_dir: Path, label: str, data_file: Path, path: str, args) -> dict:
    env = {**os.environ, "BENCH_DATA": str(data_file), "BENCH_LUA_DIR": str(ROOT / "bench" / "wrk"),
           "BENCH_PATH": path, "BENCH_ACCEPT": "application/json" if path.startswith("/api/") else "text/html"}
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", "--latency", "--timeout", "20s", "-s",
           str(HERE / "inbox.lua"), services.base + "/"]
    subprocess.run([*cmd[:3], "-d3s", *cmd[3:]], env={**env, "BENCH_SCENARIO": "warmup"}, capture_output=True,
                   check=True)
    result_file = run_dir / f"wrk-{label}.json"
    with Phase(label, services, args.quiet, args.quiet_wait) as phase:
        proc = subprocess.run([*cmd[:3], f"-d{args.duration}", *cmd[3:]], capture_output=True, text=True,
                              check=True, env={**env, "BENCH_SCENARIO": label, "BENCH_RESULT": str(result_file)})
    (run_dir / f"wrk-{label}.txt").write_text(proc.stdout + proc.stderr)
    result = json.loads(result_file.read_text())
    extra = next(line for line in proc.stdout.splitlines() if line.startswith("BENCH_EXTRA "))
    result.update(json.loads(extra.split(" ", 1)[1]))
    result.update(phase.info)
    print(f"    {label}: {result['rps']:.0f} req/s, p50/p95/p99 {result['p50_ms']:.1f}/{result['p95_ms']:.1f}/"
          f"{result['p99_ms']:.1f} ms, statuses {result['statuses']}, load {phase.info['load_during_mean']:.2f}",
          flush=True)
    return result


def inbox_phase(services: Services, run_dir: Path, establishment, args) -> dict:
    from django.conf import settings

    from preau.accounts.models import User
    from preau.directory.models import Membership, Role
    from preau.directory.seeding import DEMO_PASSWORD

    # The big mailbox, one of 10, and one of 50: the same 50 rows a page shows as the big one, without its size.
    owners = inbox_people(DEMO_PASSWORD, [args.mailbox, 10, 50])
    senders = list(User.objects.filter(pk__in=Membership.objects.filter(
        establishment=establishment, role__in=[Role.TEACHER, Role.STAFF], is_active=True).values("user_id"))
        .exclude(pk__in=[u.pk for u in owners.values()]).order_by("pk")[:25])
    started = time.monotonic()
    tags = {str(size): f"Boîte de {size}" for size in owners}
    for size, owner in owners.items():
        build_mailbox(owner, size, senders, establishment, tags[str(size)])
    analyze()
    print("  mailboxes " + ", ".join(f"of {size:,} ({u.username})" for size, u in owners.items())
          + f" written in {time.monotonic() - started:.1f} s", flush=True)
    people = {str(size): owners[size] for size in sorted(owners, reverse=True)}
    paths = [{"page": INBOX_PATH, "api": MAILBOX_API_PATH}[name] for name in args.inbox_paths.split(",")]
    queries = inbox_queries(people, DEMO_PASSWORD, paths)
    for size, row in queries.items():
        print(f"    queries, mailbox of {size}: " + ", ".join(f"{p} {v['first']}/{v['steady']}"
                                                           for p, v in row.items()), flush=True)

    names = {"session": settings.SESSION_COOKIE_NAME, "csrf": settings.CSRF_COOKIE_NAME}
    client = prepare.Http(services.base)
    runs = {}
    for size, user in people.items():
        sessions = []
        for _ in range(args.sessions):
            session, _login = prepare.log_in(client, user.username, DEMO_PASSWORD, names)
            sessions.append({"role": "teacher", "cookie": session, "username": user.username})
        response, html = client.request("GET", INBOX_PATH, cookies={names["session"]: sessions[0]["cookie"]})
        if response.status != 200 or f"{tags[size]} n°0" not in html:
            sys.exit(f"bench: {INBOX_PATH} as {user.username} answered {response.status} without its newest row")
        data_file = run_dir / f"inbox-{size}.lua"
        prepare.write_lua(data_file, {"session_cookie": names["session"], "csrf_cookie": names["csrf"],
                                      "sessions": sessions, "logins": [], "api_paths": paths})
        for path in paths:
            label = f"{'api' if path.startswith('/api/') else 'page'}-{size}"
            runs[label] = wrk_run(services, run_dir, label, data_file, path, args)
    return {"owners": {size: user.username for size, user in people.items()}, "queries": queries, "wrk": runs}


# --- Report -------------------------------------------------------------------------------------------------------

def markdown(machine: dict, results: dict) -> str:
    dirty = machine.get("uncommitted") or []
    lines = [f"Commit {machine['commit']}{f' + {len(dirty)} uncommitted files under src/' if dirty else ''}, "
             f"started {machine['started']}; {machine['cores']} cores ({machine['cpu']}),"
             f" {machine['memory_gib']} GiB; PostgreSQL {machine['postgresql']}, Redis {machine['redis']}, "
             f"Python {machine['python']}; {machine['worker']}; gunicorn {machine['gunicorn']}.", ""]
    for name, t in (results.get("targets") or {}).items():
        lines.append(f"- {name}: {t['people']:,} people, {t['description']} ({t['addresses']} addresses), sent by "
                     f"{t['sender']} from {t['establishment']}")
    if results.get("send_queries"):
        q = results["send_queries"]
        lines += ["", "Queries per send request (three sends): " + "; ".join(
            f"{k}: {'/'.join(map(str, v))}" for k, v in q["counts"].items()),
            "In-process send time (ms, no HTTP): " + "; ".join(
            f"{k}: {'/'.join(fmt_ms(x) for x in v)}" for k, v in q["in_process_s"].items())]
    lines.append("")
    if results.get("sends"):
        lines += ["| Scenario | Recipients | Sends | Request p50 / p95 / p99 (ms) | Every inbox p50 / p95 / p99 (ms) "
                  "| Max in inbox (ms) | Statuses | States | Load before / during | CPU s (worker, gunicorn) |",
                  "|---|---:|---:|---|---|---:|---|---|---|---|"]
        for r in results["sends"]:
            lat, d = r["latency"], r["delivery"]
            cpu = r.get("cpu_s", {})
            lines.append(
                f"| {r['label']} | {r['people']:,} | {r['sends']} | {fmt_ms(lat['p50'])} / {fmt_ms(lat['p95'])} / "
                f"{fmt_ms(lat['p99'])} | {fmt_ms(d['p50'])} / {fmt_ms(d['p95'])} / {fmt_ms(d['p99'])} | "
                f"{fmt_ms(d['max'])} | {r['statuses']} | {r['states']}"
                f"{' incomplete ' + str(len(r['incomplete'])) if r['incomplete'] else ''} | "
                f"{r['load_before']:.2f} / {r['load_during_mean']:.2f} | "
                f"{cpu.get('worker', 0):.1f}, {cpu.get('gunicorn', 0):.1f} |")
        lines.append("")
    inbox = results.get("inbox")
    if inbox:
        lines += ["| Mailbox | Path | Queries (first / steady) |", "|---:|---|---|"]
        for size, row in inbox["queries"].items():
            for path, v in row.items():
                lines.append(f"| {size} | {path} | {v['first']} / {v['steady']} |")
        lines += ["", "| wrk run | req/s | p50 / p95 / p99 (ms) | gunicorn CPU per request (ms) | Statuses | Errors | "
                  "Load before / during |", "|---|---:|---|---:|---|---|---|"]
        for label, w in inbox["wrk"].items():
            errors = {k: v for k, v in w["errors"].items() if v}
            cpu = w.get("cpu_s", {}).get("gunicorn", 0) * 1000 / max(1, w["requests"])
            lines.append(f"| {label} | {w['rps']:.0f} | {w['p50_ms']:.1f} / {w['p95_ms']:.1f} / {w['p99_ms']:.1f} | "
                         f"{cpu:.1f} | {w['statuses']} | {errors or '—'} | {w['load_before']:.2f} / "
                         f"{w['load_during_mean']:.2f} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "preau_bench_msg"),
                        help="PostgreSQL database, DROPPED and recreated (default preau_bench_msg)")
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("BENCH_REDIS_DB", 9)))
    parser.add_argument("--establishments", type=int, default=8, help="seeded (the collège, the école, collèges)")
    parser.add_argument("--pupils", type=int, default=1350,
                        help="pupils per seeded collège (±20 %%; above 1,370 the seed runs out of class letters)")
    parser.add_argument("--big", type=int, default=10000, help="recipients of the larger send (at least)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database (no drop, no seed; the commit's migrations are applied)")
    parser.add_argument("--phases", default="send,inbox")
    parser.add_argument("--small", type=int, default=2000, help="recipients of the smaller send (default 2,000)")
    parser.add_argument("--sends-2k", type=int, default=60)
    parser.add_argument("--spacing-2k", type=float, default=3.0)
    parser.add_argument("--sends-classes", type=int, default=20,
                        help="sends of the 2,000-recipient variant addressed class by class")
    parser.add_argument("--sends-10k", type=int, default=12)
    parser.add_argument("--spacing-10k", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4, help="concurrency variant: clients sending at once")
    parser.add_argument("--per-client", type=int, default=5)
    parser.add_argument("--delivery-timeout", type=float, default=600)
    parser.add_argument("--mailbox", type=int, default=10000)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--inbox-paths", default="page,api", help="page (/messagerie/), api (the mailbox list)")
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--quiet", type=float, default=None,
                        help="before each phase, wait until the 1-minute load average is below this")
    parser.add_argument("--quiet-wait", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report", type=Path, default=None, help="print the summary of an earlier run's results")
    args = parser.parse_args()
    if args.report:
        results = json.loads((args.report / "results.json").read_text())
        print(markdown(results.pop("machine"), results))
        return 0
    phases = set(args.phases.split(","))

    run_dir = args.out or ROOT / "bench" / "results" / f"messaging-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir.mkdir(parents=True, exist_ok=True)
    environment(args, run_dir)
    os.environ["BENCH_RUN_DIR"] = str(run_dir)
    machine = machine_info(args)
    (run_dir / "machine.txt").write_text(json.dumps(machine, indent=2) + "\n")
    print(f"bench messaging → {run_dir}\n  {machine}", flush=True)
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    import django

    if not args.reuse:
        with Phase("setup", None, None, 0) as phase:
            setup_database(args, run_dir)
            django.setup()
            results["merged"] = merge_families(args.small, args.big)
            analyze()
        results["setup"] = phase.info
    else:
        # The kept database gets the commit's migrations (a new index must be measured, not the old schema).
        run([str(VENV / "bin" / "preau"), "migrate", "--noinput", "-v0"])
        django.setup()
    run([str(VENV / "bin" / "preau"), "collectstatic", "--noinput", "-v0"])
    services = Services(run_dir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        services.start(args.worker_concurrency, args.gunicorn_workers)
        establishment, _head = head_teacher()
        if "send" in phases:
            sets = targets(args.small)
            results["targets"] = {k: {"description": t.description, "establishment": t.establishment.name,
                                      "sender": t.sender.username, "people": t.people, "addresses": len(t.addresses)}
                                  for k, t in sets.items()}
            for name, t in sets.items():
                print(f"  {name}: {t.people:,} people ({len(t.addresses)} addresses), from {t.sender.username} of "
                      f"{t.establishment.name}", flush=True)
            # Warm-up and the worker's readiness: the in-process sends of the query count, delivered by the worker.
            results["send_queries"] = send_queries(sets)
            print(f"  queries per send: {results['send_queries']['counts']}", flush=True)
            # The gunicorn workers' first requests (imports, first-time code paths, connections) are not what a
            # send costs: a few unmeasured sends per address set over HTTP first.
            warm = [post_send(services.base, t.token, payload(t.establishment.pk, t.addresses, f"warm-up-{k}", n))
                    for k, t in sets.items() for n in range(2 * args.gunicorn_workers)]
            results["warm_up_latency_s"] = [w["latency"] for w in warm]
            wait_delivered(results["send_queries"]["ids"] + [w["id"] for w in warm if "id" in w],
                           timeout=args.delivery_timeout)
            results["sends"] = [
                send_phase("2k-sequential", services, sets["2k"], args.sends_2k, args.spacing_2k, 1, args),
                send_phase("2k-concurrent", services, sets["2k"], args.per_client, 0, args.clients, args),
                send_phase("2k-classes-sequential", services, sets["2k-classes"], args.sends_classes,
                           args.spacing_2k, 1, args),
                send_phase("10k-sequential", services, sets["10k"], args.sends_10k, args.spacing_10k, 1, args),
            ]
        if "inbox" in phases:
            results["inbox"] = inbox_phase(services, run_dir, establishment, args)
    finally:
        services.stop()
        (run_dir / "results.json").write_text(json.dumps({"machine": machine, **results}, indent=2, default=str,
                                                         ensure_ascii=False) + "\n")
    summary = markdown(machine, results)
    (run_dir / "summary.md").write_text(summary)
    print(summary)
    print(f"Results in {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
