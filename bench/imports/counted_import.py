"""`preau import <kind> FILES...`, counting the SQL queries it sends and the CPU its database backend spends.

    python bench/imports/counted_import.py aaf FILES...        # same output and exit status as `preau import`

Runs the very `import` management command `preau` runs (same settings module default), inside a Django
`execute_wrapper` that counts every statement sent on the connection (an `executemany` counts once). At the end it
prints one JSON line on stderr: {"queries": N, "backend_cpu_s": S} where S is the user + system CPU time of the
PostgreSQL backend serving the connection (read from /proc: the database must run on this machine; null
otherwise, and on SQLite). The counter adds one Python call per query, nothing else.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def backend_cpu_seconds(connection) -> float | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preau.settings.dev")
    import django

    django.setup()
    from django.core.management import CommandError, call_command
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    status = 0
    with connection.execute_wrapper(count):
        try:
            call_command("import", *sys.argv[1:])
        except CommandError as exc:
            print(f"CommandError: {exc}", file=sys.stderr)
            status = 1
    print(json.dumps({"queries": queries, "backend_cpu_s": backend_cpu_seconds(connection)}), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
