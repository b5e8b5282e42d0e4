"""Prepare a wrk run: pick seeded people of every role, log each in over HTTP, write the Lua data file wrk reads.

    python bench/prepare.py --base-url http://127.0.0.1:8765 --out bench/results/small/data.lua --per-role 8

Runs with the same environment as the server (DJANGO_SETTINGS_MODULE, DATABASE_URL, ...): it reads the database
to choose people, and the settings for the cookie names. Logging in goes through the real login form (GET for the
CSRF cookie and token, POST username + password), exactly as a browser does. Cookies are read from the Set-Cookie
headers by hand: in production they are `Secure` and `__Host-` prefixed, which a client-side cookie jar
(curl, http.cookiejar) refuses to store over the plain-http loopback used here; the server does not care.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import urllib.parse
from pathlib import Path

import django
from django.conf import settings

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ROLES = ("pupil", "guardian", "teacher", "staff", "ent_admin")


def pick_people(per_role: int, password: str) -> list[dict]:
    """Active, activated seeded people with the demo password, `per_role` of each role, in a stable order."""
    from django.contrib.auth.hashers import check_password
    from django.db.models import Count

    from preau.accounts.models import User
    from preau.directory.models import Membership

    chosen: list[dict] = []
    seen: set[int] = set()
    verified: dict[str, bool] = {}  # seeded people share one hash: verify each distinct hash once
    # People holding one role only (the seed also has, say, teachers who are parents): the same kind of person
    # is then picked in every school size, and query counts compare like with like.
    single = (Membership.objects.filter(is_active=True).values("user_id").annotate(n=Count("id"))
              .filter(n=1).values("user_id"))
    for role in ROLES:
        users = (User.objects.filter(pk__in=Membership.objects.filter(role=role, is_active=True).values("user_id"),
                                     is_active=True, activated_at__isnull=False, is_global_admin=False)
                 .filter(pk__in=single).exclude(pk__in=seen).order_by("external_id", "username"))
        taken = 0
        for user in users.iterator():
            if taken >= per_role:
                break
            if user.password not in verified:
                verified[user.password] = check_password(password, user.password)
            if user.must_change_password or not verified[user.password]:
                continue
            chosen.append({"username": user.username, "role": role, "id": user.pk})
            seen.add(user.pk)
            taken += 1
    return chosen


def cookies_of(response: http.client.HTTPResponse) -> dict[str, str]:
    jar = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            jar[key.strip()] = val.strip()
    return jar


class Http:
    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80

    def request(self, method: str, path: str, *, cookies: dict | None = None, body: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Host": f"{self.host}:{self.port}" if self.port != 80 else self.host}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        content = response.read()
        conn.close()
        return response, content.decode("utf-8", "replace")


def csrf_pair(http: Http, csrf_cookie_name: str) -> tuple[str, str]:
    response, html = http.request("GET", "/compte/connexion/")
    if response.status != 200:
        sys.exit(f"GET /compte/connexion/ answered {response.status}")
    cookie = cookies_of(response).get(csrf_cookie_name)
    match = CSRF_INPUT.search(html)
    if not cookie or not match:
        sys.exit("The login page gave no CSRF cookie or token.")
    return cookie, match.group(1)


def log_in(http: Http, username: str, password: str, names: dict) -> tuple[str, dict]:
    csrf_cookie, token = csrf_pair(http, names["csrf"])
    response, html = http.request(
        "POST", "/compte/connexion/", cookies={names["csrf"]: csrf_cookie},
        body={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/"})
    session = cookies_of(response).get(names["session"])
    if response.status != 302 or not session:
        sys.exit(f"Logging in as {username} answered {response.status} without a session cookie.")
    return session, {"username": username, "password": password, "csrf_cookie": csrf_cookie, "csrf_token": token}


def check_session(http: Http, session: str, names: dict, paths: list[str], username: str) -> None:
    for path in ["/", *paths]:
        response, _ = http.request("GET", path, cookies={names["session"]: session})
        if response.status != 200:
            where = response.getheader("Location") or ""
            sys.exit(f"{username}: GET {path} answered {response.status} {where} (pending account step?)")


def lua_string(value: str) -> str:
    if not value.isascii():
        raise ValueError(f"non-ASCII value for Lua: {value!r}")
    return json.dumps(value)  # an ASCII JSON string literal is a valid Lua string literal


def write_lua(path: Path, data: dict) -> None:
    lines = ["-- Written by bench/prepare.py: sessions and login form data for the wrk scripts.", "return {"]
    lines.append(f"  session_cookie = {lua_string(data['session_cookie'])},")
    lines.append(f"  csrf_cookie = {lua_string(data['csrf_cookie'])},")
    lines.append("  sessions = {")
    for s in data["sessions"]:
        lines.append(f"    {{role = {lua_string(s['role'])}, cookie = {lua_string(s['cookie'])}}},")
    lines.append("  },")
    lines.append("  logins = {")
    for login in data["logins"]:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": login["csrf_token"], "username": login["username"],
                                       "password": login["password"], "next": "/"})
        lines.append(f"    {{cookie = {lua_string(login['csrf_cookie'])}, body = {lua_string(body)}}},")
    lines.append("  },")
    lines.append("  api_paths = {")
    for p in data["api_paths"]:
        lines.append(f"    {lua_string(p)},")
    lines.append("  },")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def api_paths(people: list[dict]) -> list[str]:
    from preau.accounts.models import User

    # A search that matches a handful of people: the first letters of a seeded pupil's last name.
    pupil = next((p for p in people if p["role"] == "pupil"), None)
    fragment = User.objects.get(pk=pupil["id"]).last_name[:4].lower() if pupil else "mar"
    return ["/api/v1/classes", "/api/v1/people?role=pupil", "/api/v1/people?role=teacher",
            f"/api/v1/people?q={urllib.parse.quote(fragment)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--per-role", type=int, default=8)
    parser.add_argument("--password", default=None, help="Demo password (default: the seed's).")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preau.settings.production")
    django.setup()
    from preau.directory.seeding import DEMO_PASSWORD

    password = args.password or DEMO_PASSWORD
    names = {"session": settings.SESSION_COOKIE_NAME, "csrf": settings.CSRF_COOKIE_NAME}
    people = pick_people(args.per_role, password)
    if not people:
        sys.exit("No seeded people found: run `preau seed` first.")
    http = Http(args.base_url)
    paths = api_paths(people)
    sessions, logins = [], []
    for person in people:
        session, login = log_in(http, person["username"], password, names)
        check_session(http, session, names, paths, person["username"])
        sessions.append({"role": person["role"], "cookie": session, "username": person["username"]})
        logins.append(login)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_lua(args.out, {"session_cookie": names["session"], "csrf_cookie": names["csrf"], "sessions": sessions,
                         "logins": logins, "api_paths": paths})
    people_file = args.out.with_suffix(".people.json")
    people_file.write_text(json.dumps({"people": people, "api_paths": paths}, indent=2, ensure_ascii=False))
    roles = ", ".join(f"{r}: {sum(1 for p in people if p['role'] == r)}" for r in ROLES)
    print(f"Logged in {len(sessions)} people ({roles}); wrk data in {args.out}")


if __name__ == "__main__":
    main()
