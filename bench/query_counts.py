"""SQL queries per request on the benchmarked URLs, measured in-process with Django's test client.

    python bench/query_counts.py --people bench/results/.../data.people.json --out queries.json

Runs against the same database and settings as the server (production settings, PostgreSQL, Redis). For one
person of each role it logs in through the login form (real password check) and requests each URL twice:
"first" is the first request after logging in (it runs the account-state checks, then remembered in the
session), "steady" the next one. The counts must not depend on the size of the school.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import django


def measure(people: list[dict], paths: list[str], password: str) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    results: dict[str, dict] = {}
    seen_roles: set[str] = set()
    for person in people:
        if person["role"] in seen_roles:
            continue
        seen_roles.add(person["role"])
        client = Client(HTTP_HOST="127.0.0.1")
        client.get("/compte/connexion/")
        with CaptureQueriesContext(connection) as login_queries:
            response = client.post("/compte/connexion/", {"username": person["username"], "password": password,
                                                          "next": "/"})
        if response.status_code != 302:
            sys.exit(f"{person['username']}: login answered {response.status_code}")
        row = {"username": person["username"], "login_post": len(login_queries)}
        for path in ["/", *paths]:
            counts = []
            for _ in range(2):
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path)
                if response.status_code != 200:
                    sys.exit(f"{person['username']}: GET {path} answered {response.status_code}")
                counts.append(len(queries))
            # The search fragment comes from the data; a stable label lets two runs be compared.
            label = path.split("?q=")[0] + "?q=…" if "?q=" in path else path
            row[label] = {"first": counts[0], "steady": counts[1], "path": path}
        results[person["role"]] = row
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", required=True, type=Path, help="The .people.json written by prepare.py")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--password", default=None)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preau.settings.production")
    django.setup()
    from preau.directory.seeding import DEMO_PASSWORD

    info = json.loads(args.people.read_text())
    results = measure(info["people"], info["api_paths"], args.password or DEMO_PASSWORD)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    for role, row in results.items():
        cells = [f"login POST {row['login_post']}"]
        cells += [f"{path} {v['first']}/{v['steady']}" for path, v in row.items() if isinstance(v, dict)]
        print(f"  {role:10} " + ", ".join(cells))


if __name__ == "__main__":
    main()
