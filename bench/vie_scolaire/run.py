"""Timetable and attendance benchmark: week views and roll-call submissions, for two school sizes.

    .venv/bin/python bench/vie_scolaire/run.py                        # 1,000 and 1,600 pupils, about 8 minutes
    .venv/bin/python bench/vie_scolaire/run.py --sizes 1000:1 --duration 10s
    .venv/bin/python bench/vie_scolaire/run.py --reuse --quiet 1.5   # keep the seeded databases, calmer machine
    .venv/bin/python bench/vie_scolaire/run.py --report bench/results/vie-scolaire-<timestamp>

On PostgreSQL + Redis + gunicorn with `preau.settings.production`, for each size `PUPILS:ESTABLISHMENTS` of
`--sizes` (default `1000:1,1600:3`: a collège of 1,000 pupils alone, then the seed's largest collège, 16 classes a
level, 1,600 pupils, in a database that also holds the école and a further collège), in its own process:

1. setup (unless --reuse): drops and recreates the database `<--db>_<pupils>_<establishments>` (default
   preau_bench_vs_1000_1 and preau_bench_vs_1600_3), empties Redis db `--redis-db` (12; emptied with --reuse
   too: the calendars are cached there by school-year id, the same ids in every database), migrates, `preau seed
   --seed 1 --establishments E --pupils P` (which also makes the calendars, rooms, the weekly timetable and ten
   days of past roll calls and absences), `VACUUM ANALYZE`;
2. the bench day: today (Europe/Paris) if the first collège has courses today: its teachers take their own roll
   calls (a teacher may edit a roll call on the day of the course only). Otherwise the latest school day before
   today, and the roll calls are taken by the collège's CPE and vie scolaire assistants (who may take over any
   roll call from the day of the course on) — the summary says which;
3. people of the first collège holding that one role: `--people` pupils, guardians (of a child there whose
   timetable they may see) and teachers having courses on the bench day (or the vie scolaire accounts);
4. queries per request, in process (Django's test client after a real login, `CaptureQueriesContext`): the week
   pages (`/emploi-du-temps/` of a pupil and a teacher; the guardian's `/emploi-du-temps/` answers a redirect to
   the child's page `/emploi-du-temps/eleve/<id>/`, both counted), `/api/v1/timetable/me`, the roll-call page,
   its form POST (first submission, a changed re-submission, the same again) and the API's GET/PUT
   `/api/v1/attendance/roll-calls/<course>/<date>`. First request after logging in, then steady;
5. `gunicorn preau.wsgi --workers 2` (sync, one per core) on a free loopback port; no Celery worker (the absence
   notifications are queued in Redis by the request, as in production; delivering them is not measured);
6. the people log in over HTTP through the login form; each roll-call taker loads the roll-call page of each of
   their occurrences of the bench day for the CSRF token; for every occurrence three mark sets are prepared
   (seeded random: 1–3 absent, 0–2 late by 5–20 minutes, the others present) and each is submitted once (the
   roll calls exist before the measure: wrk measures re-submissions, which replace the marks);
7. wrk (`-t2 -c16 --latency`, `--duration`, after 3 s of warm-up) with bench/vie_scolaire/vs.lua, which draws
   every request at random among the prepared ones and checks its status:
   - `week-page`: GET of the week page of the current week by the pupils, guardians (their child's page) and
     teachers, 200 expected;
   - `week-api`: GET `/api/v1/timetable/me` (the current week) by the same people, 200;
   - `roll-call-page`: POST of the roll-call form (every pupil's status, minutes for the late ones, CSRF token)
     of a random occurrence with one of its three mark sets, 302 back to the roll-call page expected;
   - `roll-call-api`: PUT `/api/v1/attendance/roll-calls/<course>/<date>` with the JSON marks (absent and late
     pupils) and `X-CSRFToken`, session cookie, 200.

The 1-minute load average is sampled during each run (bench/imports/run.py's LoadSampler), with the busiest
processes before it. Results go to bench/results/vie-scolaire-<timestamp>/ (results.json, summary.md, per size:
the SQL of the counted requests, wrk outputs, gunicorn log). See docs/performance.md, "Timetable and attendance".
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("VENV", ROOT / ".venv"))
USER_AGENT = "preau-bench/1 (vie scolaire)"
WEEK_PATH = "/emploi-du-temps/"
WEEK_API = "/api/v1/timetable/me"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SCENARIOS = ("week-page", "week-api", "roll-call-page", "roll-call-api")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Reused as they are: processes, load sampling and environment of the messaging bench, HTTP login of the
# foundation one.
msg = _load("bench_messaging_run", ROOT / "bench" / "messaging" / "run.py")
prepare = msg.prepare
imports_run = msg.imports_run


# --- Processes ----------------------------------------------------------------------------------------------------

class Gunicorn(msg.Services):
    """gunicorn alone (no Celery worker), in its own process group, stopped on exit."""

    def start(self, workers: int) -> None:  # noqa: D102
        if msg._answers(self.base):
            sys.exit(f"bench: something already answers on {self.base}; set BENCH_PORT to a free port")
        self._start("gunicorn", [str(VENV / "bin" / "gunicorn"), "preau.wsgi", "--workers", str(workers),
                                 "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not msg._answers(self.base + "/healthz"):
            if self.procs["gunicorn"].poll() is not None:
                break
            time.sleep(0.2)
        if not msg._answers(self.base + "/healthz"):
            sys.exit(f"bench: gunicorn did not start; see {self.run_dir}/gunicorn.log")


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return msg.run(cmd, **kwargs)


# --- Setup --------------------------------------------------------------------------------------------------------

def setup_database(args, pupils: int, establishments: int, run_dir: Path) -> None:
    for sql in (f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)', f'CREATE DATABASE "{args.db}"'):
        run(["psql", f"{args.pg}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql])
    preau = str(VENV / "bin" / "preau")
    run([preau, "migrate", "--noinput", "-v0"])
    started = time.monotonic()
    seeded = run([preau, "seed", "--seed", "1", "--establishments", str(establishments), "--pupils", str(pupils)])
    (run_dir / "seed.txt").write_text(seeded.stdout)
    print(f"  seeded {establishments} establishment(s), {pupils} pupils in the collège, in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    msg.analyze()


def school():
    from preau.directory.models import Establishment

    est = Establishment.objects.filter(kind=Establishment.Kind.COLLEGE).order_by("pk").first()
    if est is None:
        sys.exit("bench: no seeded collège")
    return est


def school_size(est) -> dict:
    from preau.accounts.models import User
    from preau.attendance.models import AttendanceRecord
    from preau.directory.models import Membership, Role, SchoolClass
    from preau.timetable.models import Course

    active = Membership.objects.filter(establishment=est, is_active=True)
    from preau.directory.models import Establishment

    return {"establishment": est.name, "establishments_in_database": Establishment.objects.count(),
            "pupils": active.filter(role=Role.PUPIL).count(),
            "guardians": active.filter(role=Role.GUARDIAN).count(),
            "teachers": active.filter(role=Role.TEACHER).count(),
            "classes": SchoolClass.objects.filter(establishment=est, school_year__is_current=True).count(),
            "courses": Course.objects.filter(establishment=est).count(),
            "database": {"users": User.objects.count(), "courses": Course.objects.count(),
                         "attendance_records": AttendanceRecord.objects.count()}}


def bench_day(est):
    """(day, occurrences of the day not cancelled, by_teachers): today's if the collège has courses today."""
    from django.utils import timezone

    from preau.timetable import selectors

    today = timezone.localdate()
    for back in range(0, 40):
        day = today - dt.timedelta(days=back)
        occurrences = [o for o in selectors.occurrences_for_establishment(est, day) if o.status != "cancelled"]
        if occurrences:
            return day, occurrences, back == 0
    sys.exit("bench: no school day in the last 40 days")


def usable(users):
    return users.filter(is_active=True, activated_at__isnull=False, must_change_password=False,
                        is_global_admin=False).order_by("external_id", "username")


def single_role(est, role):
    from django.db.models import Count

    from preau.accounts.models import User
    from preau.directory.models import Membership

    single = (Membership.objects.filter(is_active=True).values("user_id").annotate(n=Count("id")).filter(n=1)
              .values("user_id"))
    return usable(User.objects.filter(
        pk__in=Membership.objects.filter(establishment=est, role=role, is_active=True).values("user_id"))
        .filter(pk__in=single))


def people(est, day, occurrences, by_teachers: bool, count: int) -> dict:
    """{"pupil": [...], "guardian": [...], "taker": [...]}: dicts with the user and what they request."""
    from preau.directory.models import GuardianLink, Role, Service, StaffFunction

    pupils = [{"user": u, "role": "pupil", "week": WEEK_PATH} for u in single_role(est, Role.PUPIL)[:count]]
    guardians = []
    for user in single_role(est, Role.GUARDIAN)[: count * 3]:
        links = [link for link in GuardianLink.objects.filter(guardian=user, pupil__is_active=True,
                                                              pupil__memberships__establishment=est)
                 .order_by("pupil_id") if Service.TIMETABLE not in (link.denied_services or [])]
        if links:
            guardians.append({"user": user, "role": "guardian", "child": links[0].pupil_id,
                              "children": len({link.pupil_id for link in links}),
                              "week": f"/emploi-du-temps/eleve/{links[0].pupil_id}/"})
        if len(guardians) >= count:
            break
    takers = []
    if by_teachers:
        by_teacher: dict[int, list] = {}
        for occ in occurrences:
            for teacher in occ.teachers:
                by_teacher.setdefault(teacher.pk, []).append(occ)
        for user in single_role(est, Role.TEACHER):
            if user.pk in by_teacher:
                takers.append({"user": user, "role": "teacher", "week": WEEK_PATH, "occurrences": by_teacher[user.pk]})
            if len(takers) >= count:
                break
    else:
        from preau.accounts.models import User
        from preau.directory.models import Membership

        staff = Membership.objects.filter(establishment=est, role=Role.STAFF, is_active=True)
        ids = [m.user_id for m in staff if {StaffFunction.CPE.value, StaffFunction.VIE_SCOLAIRE.value}
               & set(m.functions or [])]
        managers = list(usable(User.objects.filter(pk__in=ids)))
        pool = occurrences[: count * 5]
        for n, user in enumerate(managers):
            takers.append({"user": user, "role": "vie_scolaire", "week": None,
                           "occurrences": pool[n::len(managers)]})
    return {"pupil": pupils, "guardian": guardians, "taker": takers}


def mark_sets(occ, pupil_ids: list[int], variants: int) -> list[dict]:
    """`variants` realistic roll calls of an occurrence: 1–3 absent, 0–2 late (5–20 minutes), others present."""
    sets = []
    for k in range(variants):
        rng = random.Random(f"{occ.course.pk}:{occ.date.isoformat()}:{k}")
        chosen = rng.sample(pupil_ids, min(len(pupil_ids), rng.randint(1, 3) + rng.randint(0, 2)))
        absent = chosen[: max(1, len(chosen) - rng.randint(0, 2))]
        late = {p: rng.choice((5, 10, 15, 20)) for p in chosen if p not in absent}
        sets.append({"absent": absent, "late": late})
    return sets


def form_body(token: str, pupil_ids: list[int], marks: dict) -> str:
    fields = [("csrfmiddlewaretoken", token)]
    for pupil_id in pupil_ids:
        if pupil_id in marks["absent"]:
            fields.append((f"statut-{pupil_id}", "absent"))
        elif pupil_id in marks["late"]:
            fields += [(f"statut-{pupil_id}", "late"), (f"retard-{pupil_id}", str(marks["late"][pupil_id]))]
        else:
            fields.append((f"statut-{pupil_id}", "present"))
    return urllib.parse.urlencode(fields)


def api_body(marks: dict) -> str:
    return json.dumps({"marks": [{"pupil_id": p, "status": "absent"} for p in marks["absent"]]
                       + [{"pupil_id": p, "status": "late", "late_minutes": m} for p, m in marks["late"].items()]})


def roll_call_path(occ) -> str:
    return f"/vie-scolaire/appel/{occ.course.pk}/{occ.date.isoformat()}/"


def roll_call_api(occ) -> str:
    return f"/api/v1/attendance/roll-calls/{occ.course.pk}/{occ.date.isoformat()}"


# --- Queries per request ------------------------------------------------------------------------------------------

def counted(client, method: str, path: str, run_dir: Path, label: str, **kwargs) -> tuple[int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = getattr(client, method)(path, **kwargs)
        elapsed = time.perf_counter() - started
    sql = "\n\n".join(f"-- {float(q['time']) * 1000:.1f} ms\n{q['sql']}" for q in queries.captured_queries)
    (run_dir / "sql").mkdir(exist_ok=True)
    (run_dir / "sql" / f"{label}.sql").write_text(f"-- {method.upper()} {path}: {response.status_code}, "
                                                  f"{len(queries)} queries, {elapsed * 1000:.1f} ms\n\n{sql}\n")
    return len(queries), response


def logged_in_client(user, password: str):
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)
    client.get("/compte/connexion/")
    response = client.post("/compte/connexion/", {"username": user.username, "password": password, "next": "/"})
    if response.status_code != 302:
        sys.exit(f"bench: logging {user.username} in answered {response.status_code}")
    return client


def query_counts(chosen: dict, pupils_of: dict, password: str, run_dir: Path) -> dict:
    """{label: {"first": n, "steady": n, "status": code}}; exits on an unexpected status."""
    results: dict[str, dict] = {}

    def twice(label, user, method, path, expect, **kwargs):
        client = logged_in_client(user, password)
        counts = []
        for name in ("first", "steady"):
            count, response = counted(client, method, path, run_dir, f"{label}-{name}", **kwargs)
            if response.status_code != expect:
                sys.exit(f"bench: {method.upper()} {path} as {user.username} answered {response.status_code}")
            counts.append(count)
        results[label] = {"first": counts[0], "steady": counts[1], "path": path}
        return client

    # Like with like in every school size: a guardian of one child (the API answers a week per child), fixed
    # mark sets by position in the list (2 absent and 1 late, then 2 others absent and 1 late).
    pupil, taker = chosen["pupil"][0], chosen["taker"][0]
    guardian = next((g for g in chosen["guardian"] if g["children"] == 1), chosen["guardian"][0])
    twice("week page, pupil", pupil["user"], "get", WEEK_PATH, 200)
    twice("week page, guardian: redirect", guardian["user"], "get", WEEK_PATH, 302)
    twice("week page, guardian: child's page", guardian["user"], "get", guardian["week"], 200)
    if taker["week"]:
        twice("week page, teacher", taker["user"], "get", WEEK_PATH, 200)
    for person, name in ((pupil, "pupil"), (guardian, "guardian"), (taker, taker["role"])):
        twice(f"week API, {name}", person["user"], "get", WEEK_API, 200, HTTP_ACCEPT="application/json")

    # The roll calls of the taker's last occurrence (not in the wrk pool's first submissions: a fresh one).
    occ = next(o for o in reversed(taker["occurrences"]) if len(pupils_of[o.key]) >= 9)
    ids = pupils_of[occ.key]
    path = roll_call_path(occ)
    # A clean slate (--reuse keeps the roll calls of earlier runs): the page before the roll call is taken, then a
    # true first submission. The records go with the roll call (CASCADE).
    from preau.attendance.models import RollCall

    RollCall.objects.filter(course_id=occ.course.pk, date=occ.date).delete()
    twice("roll-call page (GET)", taker["user"], "get", path, 200)
    client = logged_in_client(taker["user"], password)
    variants = [{"absent": ids[0:2], "late": {ids[2]: 10}}, {"absent": ids[3:5], "late": {ids[5]: 5}},
                {"absent": ids[6:8], "late": {ids[8]: 15}}]
    posts = {}
    for label, k in (("first submission", 0), ("changed marks", 1), ("same marks again", 1)):
        count, response = counted(client, "post", path, run_dir, f"roll-call-post-{label.replace(' ', '-')}",
                                  data=urllib.parse.parse_qs(form_body("x", ids, variants[k])))
        if response.status_code != 302:
            sys.exit(f"bench: POST {path} answered {response.status_code}: {response.content[:2000]!r}")
        posts[label] = count
    results["roll-call form POST"] = {**posts, "path": path}
    api = roll_call_api(occ)
    twice("roll-call API GET", taker["user"], "get", api, 200, HTTP_ACCEPT="application/json")
    client = logged_in_client(taker["user"], password)
    puts = {}
    for label, k in (("changed marks", 2), ("same marks again", 2)):
        count, response = counted(client, "put", api, run_dir, f"roll-call-put-{label.replace(' ', '-')}",
                                  data=api_body(variants[k]), content_type="application/json",
                                  HTTP_ACCEPT="application/json")
        if response.status_code != 200:
            sys.exit(f"bench: PUT {api} answered {response.status_code}: {response.content[:2000]!r}")
        puts[label] = count
    results["roll-call API PUT"] = {**puts, "path": api}
    return results


# --- HTTP sessions ------------------------------------------------------------------------------------------------

def log_in(http, username: str, password: str, names: dict) -> dict:
    """Session and CSRF cookies after a login through the form (the login rotates the CSRF secret)."""
    csrf_cookie, token = prepare.csrf_pair(http, names["csrf"])
    response, _html = http.request(
        "POST", "/compte/connexion/", cookies={names["csrf"]: csrf_cookie},
        body={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/"})
    jar = prepare.cookies_of(response)
    if response.status != 302 or names["session"] not in jar:
        sys.exit(f"bench: logging in as {username} answered {response.status} without a session cookie")
    return {names["session"]: jar[names["session"]], names["csrf"]: jar.get(names["csrf"], csrf_cookie)}


def cookie_header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def sessions(base: str, chosen: dict, sets: dict, pupils_of: dict, password: str) -> dict:
    """The wrk requests of each scenario, every person logged in over HTTP; every roll call submitted once."""
    from django.conf import settings

    names = {"session": settings.SESSION_COOKIE_NAME, "csrf": settings.CSRF_COOKIE_NAME}
    http = Http(base)
    requests = {name: [] for name in SCENARIOS}
    for person in chosen["pupil"] + chosen["guardian"] + chosen["taker"]:
        jar = log_in(http, person["user"].username, password, names)
        cookie = cookie_header(jar)
        if person["week"]:
            response, html = http.request("GET", person["week"], cookies=jar)
            if response.status != 200 or "<h1" not in html:
                sys.exit(f"bench: GET {person['week']} as {person['user'].username} answered {response.status}")
            requests["week-page"].append({"method": "GET", "path": person["week"], "cookie": cookie,
                                          "accept": "text/html"})
            requests["week-api"].append({"method": "GET", "path": WEEK_API, "cookie": cookie,
                                         "accept": "application/json"})
        for occ in person.get("occurrences", []):
            path = roll_call_path(occ)
            response, html = http.request("GET", path, cookies=jar)
            match = CSRF_INPUT.search(html)
            if response.status != 200 or not match:
                sys.exit(f"bench: GET {path} as {person['user'].username} answered {response.status}")
            jar.update({k: v for k, v in prepare.cookies_of(response).items() if k == names["csrf"]})
            cookie = cookie_header(jar)
            for marks in sets[occ.key]:
                body = form_body(match.group(1), pupils_of[occ.key], marks)
                response, html = http.request_raw("POST", path, cookie, body,
                                                  "application/x-www-form-urlencoded")
                if response.status != 302:
                    sys.exit(f"bench: POST {path} as {person['user'].username} answered {response.status}: "
                             f"{html[:1500]}")
                requests["roll-call-page"].append({"method": "POST", "path": path, "cookie": cookie, "body": body,
                                                   "ctype": "application/x-www-form-urlencoded",
                                                   "accept": "text/html"})
                requests["roll-call-api"].append({"method": "PUT", "path": roll_call_api(occ), "cookie": cookie,
                                                  "body": api_body(marks), "ctype": "application/json",
                                                  "csrf": jar[names["csrf"]], "accept": "application/json"})
    return requests


class Http(prepare.Http):
    def request_raw(self, method: str, path: str, cookie: str, body: str, ctype: str):
        import http.client

        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request(method, path, body=body, headers={"Host": f"{self.host}:{self.port}", "Cookie": cookie,
                                                       "Content-Type": ctype, "User-Agent": USER_AGENT})
        response = conn.getresponse()
        content = response.read()
        conn.close()
        return response, content.decode("utf-8", "replace")



def write_lua(path: Path, requests: list[dict]) -> None:
    lines = ["-- Written by bench/vie_scolaire/run.py: the prepared requests vs.lua draws from.", "return {",
             "  requests = {"]
    for r in requests:
        fields = ", ".join(f"{k} = {prepare.lua_string(str(v))}" for k, v in r.items())
        lines.append(f"    {{{fields}}},")
    lines += ["  },", "}"]
    path.write_text("\n".join(lines) + "\n")


def wrk_run(base: str, services, run_dir: Path, name: str, data_file: Path, args) -> dict:
    expect = {"roll-call-page": 302}.get(name, 200)
    env = {**os.environ, "BENCH_DATA": str(data_file), "BENCH_EXPECT": str(expect),
           "BENCH_LOCATION": "/vie-scolaire/appel/" if expect == 302 else ""}
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", "--latency", "--timeout", "20s", "-s",
           str(HERE / "vs.lua"), base + "/"]
    subprocess.run([*cmd[:3], "-d3s", *cmd[3:]], env={**env, "BENCH_SCENARIO": "warmup"}, capture_output=True,
                   check=True)
    result_file = run_dir / f"wrk-{name}.json"
    with msg.Phase(name, services, args.quiet, args.quiet_wait) as phase:
        proc = subprocess.run([*cmd[:3], f"-d{args.duration}", *cmd[3:]], capture_output=True, text=True,
                              check=True, env={**env, "BENCH_SCENARIO": name, "BENCH_RESULT": str(result_file)})
    (run_dir / f"wrk-{name}.txt").write_text(proc.stdout + proc.stderr)
    result = json.loads(result_file.read_text())
    result.update(phase.info)
    result["command"] = " ".join([*cmd[:3], f"-d{args.duration}", *cmd[3:-1], "http://127.0.0.1:<port>/"])
    print(f"    {name}: {result['rps']:.0f} req/s, p50/p95/p99 {result['p50_ms']:.1f}/{result['p95_ms']:.1f}/"
          f"{result['p99_ms']:.1f} ms, statuses {result['statuses']}, unexpected {result['unexpected']}"
          f"+{result['bad_location']}, load {phase.info['load_during_mean']:.2f}", flush=True)
    return result


# --- One size -----------------------------------------------------------------------------------------------------

def one_size(args) -> int:
    pupils, establishments = (int(x) for x in args.size.split(":"))
    run_dir = args.out
    run_dir.mkdir(parents=True, exist_ok=True)
    args.db = f"{args.db}_{pupils}_{establishments}"
    msg.environment(args, run_dir)
    os.environ["BENCH_RUN_DIR"] = str(run_dir)
    results: dict = {"size": args.size, "db": args.db, "started": f"{dt.datetime.now():%Y-%m-%d %H:%M}",
                     "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                              check=False, cwd=ROOT).stdout.strip(),
                     "uptime": subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip(),
                     "load_before": imports_run.load_average(),
                     "busiest_before": imports_run.busiest_processes()}
    run(["redis-cli", "-n", str(args.redis_db), "FLUSHDB"])
    if not args.reuse:
        setup_database(args, pupils, establishments, run_dir)
    else:
        run([str(VENV / "bin" / "preau"), "migrate", "--noinput", "-v0"])
    run([str(VENV / "bin" / "preau"), "collectstatic", "--noinput", "-v0"])
    import django

    django.setup()
    from preau.directory.seeding import DEMO_PASSWORD
    from preau.timetable import selectors

    est = school()
    day, occurrences, by_teachers = bench_day(est)
    chosen = people(est, day, occurrences, by_teachers, args.people)
    taker_occ = [o for t in chosen["taker"] for o in t["occurrences"]]
    pupils_of = {o.key: list(selectors.pupils_of_occurrence(o).values_list("pk", flat=True)) for o in taker_occ}
    sets = {o.key: mark_sets(o, pupils_of[o.key], args.variants) for o in taker_occ}
    results["school"] = school_size(est)
    results["bench_day"] = {"day": day.isoformat(), "taken_by": "teachers" if by_teachers else "vie scolaire",
                            "occurrences_of_the_day": len(occurrences), "roll_calls": len(taker_occ),
                            "pupils_per_roll_call": [min(map(len, pupils_of.values()), default=0),
                                                     max(map(len, pupils_of.values()), default=0)]}
    results["people"] = {k: len(v) for k, v in chosen.items()}
    print(f"  {results['school']}\n  bench day {results['bench_day']}\n  people {results['people']}", flush=True)
    results["queries"] = query_counts(chosen, pupils_of, DEMO_PASSWORD, run_dir)
    for label, row in results["queries"].items():
        print(f"    queries {label}: " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "path"), flush=True)

    services = Gunicorn(run_dir)
    try:
        services.start(args.gunicorn_workers)
        requests = sessions(services.base, chosen, sets, pupils_of, DEMO_PASSWORD)
        results["wrk"] = {}
        for name in args.scenarios.split(","):
            data_file = run_dir / f"{name}.lua"
            write_lua(data_file, requests[name])
            results["wrk"][name] = wrk_run(services.base, services, run_dir, name, data_file, args)
            results["wrk"][name]["distinct_requests"] = len(requests[name])
    finally:
        services.stop()
        (run_dir / "results.json").write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n")
    return 0


# --- Report -------------------------------------------------------------------------------------------------------

def machine_info(args) -> dict:
    info = msg.machine_info(argparse.Namespace(pg=args.pg, worker_concurrency=0,
                                               gunicorn_workers=args.gunicorn_workers))
    info.pop("worker")
    info["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    return info


def markdown(machine: dict, sizes: dict) -> str:
    dirty = machine.get("uncommitted") or []
    lines = [f"Commit {machine['commit']}{f' + {len(dirty)} uncommitted files under src/' if dirty else ''}, "
             f"started {machine['started']} ({machine.get('uptime', '')}); {machine['cores']} cores "
             f"({machine['cpu']}), {machine['memory_gib']} GiB; PostgreSQL {machine['postgresql']}, Redis "
             f"{machine['redis']}, Python {machine['python']}; gunicorn {machine['gunicorn']}; {machine['wrk']}.", ""]
    for size, r in sizes.items():
        s, d = r["school"], r["bench_day"]
        lines.append(f"- {size}: {s['establishment']}: {s['pupils']:,} pupils, {s['classes']} classes, "
                     f"{s['teachers']} teachers, {s['guardians']:,} guardians, {s['courses']} weekly courses; database "
                     f"{s['database']['users']:,} users, {s['database']['courses']:,} courses. Bench day {d['day']}"
                     f" ({d['occurrences_of_the_day']} occurrences), roll calls taken by {d['taken_by']}: "
                     f"{d['roll_calls']} roll calls of {d['pupils_per_roll_call'][0]}–{d['pupils_per_roll_call'][1]}"
                     f" pupils; people {r['people']}; started {r.get('started', '?')}, commit {r.get('commit', '?')}, "
                     f"load before {r['load_before']:.2f}.")
    lines += ["", "| School | Scenario | Requests | req/s | p50 / p95 / p99 (ms) | max (ms) | Statuses | Unexpected | "
              "gunicorn CPU/request (ms) | Load before / during |", "|---|---|---:|---:|---|---:|---|---:|---:|---|"]
    for size, r in sizes.items():
        for name, w in (r.get("wrk") or {}).items():
            errors = {k: v for k, v in w["errors"].items() if v}
            cpu = w.get("cpu_s", {}).get("gunicorn", 0) * 1000 / max(1, w["requests"])
            lines.append(f"| {size} | {name} | {w['requests']:,} | {w['rps']:.0f} | {w['p50_ms']:.1f} / "
                         f"{w['p95_ms']:.1f} / {w['p99_ms']:.1f} | {w['max_ms']:.0f} | {w['statuses']}"
                         f"{' errors ' + str(errors) if errors else ''} | {w['unexpected'] + w['bad_location']} | "
                         f"{cpu:.1f} | {w['load_before']:.2f} / {w['load_during_mean']:.2f} |")
    labels = []
    for r in sizes.values():
        for label in r.get("queries", {}):
            if label not in labels:
                labels.append(label)
    lines += ["", "| Request | " + " | ".join(sizes) + " | Same? |", "|---|" + "---|" * len(sizes) + "---|"]
    for label in labels:
        cells = []
        for r in sizes.values():
            row = r.get("queries", {}).get(label)
            cells.append("—" if row is None else " / ".join(f"{v}" for k, v in row.items() if k != "path"))
        keys = [k for k in next(r["queries"][label] for r in sizes.values() if label in r.get("queries", {}))
                if k != "path"]
        lines.append(f"| {label} ({' / '.join(keys)}) | " + " | ".join(cells)
                     + f" | {'yes' if len(set(cells)) == 1 else '**NO**'} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "preau_bench_vs"),
                        help="database name prefix; <db>_<pupils>_<establishments> is DROPPED and recreated")
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("BENCH_REDIS_DB", 12)))
    parser.add_argument("--sizes", default="1000:1,1600:3", help="PUPILS:ESTABLISHMENTS, comma-separated")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded databases (migrations applied)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--people", type=int, default=16, help="pupils, guardians, roll-call takers (each)")
    parser.add_argument("--variants", type=int, default=3, help="mark sets per roll call")
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--quiet", type=float, default=None,
                        help="before each wrk run, wait until the 1-minute load average is below this")
    parser.add_argument("--quiet-wait", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--size", default=None, help=argparse.SUPPRESS)  # one size, in a child process
    parser.add_argument("--report", type=Path, default=None, help="print the summary of an earlier run")
    args = parser.parse_args()
    if args.size:
        return one_size(args)
    run_dir = args.report or args.out or ROOT / "bench" / "results" / f"vie-scolaire-{dt.datetime.now():%Y%m%d-%H%M%S}"
    if not args.report:
        run_dir.mkdir(parents=True, exist_ok=True)
        machine = machine_info(args)
        if not (run_dir / "machine.json").exists():  # a further size added to an earlier run keeps the first
            (run_dir / "machine.json").write_text(json.dumps(machine, indent=2) + "\n")
        print(f"bench vie scolaire → {run_dir}\n  {machine}", flush=True)
        passed = ["--pg", args.pg, "--db", args.db, "--redis-db", str(args.redis_db), "--scenarios", args.scenarios,
                  "--people", str(args.people), "--variants", str(args.variants), "--duration", args.duration,
                  "--threads", str(args.threads), "--connections", str(args.connections),
                  "--gunicorn-workers", str(args.gunicorn_workers), "--quiet-wait", str(args.quiet_wait),
                  *(["--quiet", str(args.quiet)] if args.quiet is not None else []),
                  *(["--reuse"] if args.reuse else [])]
        for size in args.sizes.split(","):
            print(f"=== {size} ===", flush=True)
            out = run_dir / f"pupils-{size.replace(':', '-')}"
            cmd = [sys.executable, str(Path(__file__)), *passed, "--size", size, "--out", str(out)]
            if subprocess.run(cmd, check=False, cwd=ROOT).returncode != 0:
                print(f"bench: the {size} run failed", file=sys.stderr)
                return 1
    machine = json.loads((run_dir / "machine.json").read_text())
    sizes = {}
    for folder in sorted(run_dir.glob("pupils-*"), key=lambda p: tuple(int(x) for x in p.name.split("-")[1:3])):
        if (folder / "results.json").exists():
            r = json.loads((folder / "results.json").read_text())
            n = r["school"].get("establishments_in_database", 1)
            sizes[f"{r['school']['pupils']:,} pupils" + (f" ({n} establishments in the database)" if n > 1 else "")] = r
    summary = markdown(machine, sizes)
    (run_dir / "summary.md").write_text(summary)
    print(summary)
    print(f"Results in {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
