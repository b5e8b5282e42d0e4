"""Summarise a bench/run_foundation.sh run as Markdown (the tables copied into docs/performance.md).

    python bench/report.py bench/results/<run>          # prints the summary; exit 1 with --strict if counts grew
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SCENARIOS = [("login", "(a) login POST + dashboard"), ("dashboard", "(b) dashboard, logged in"),
             ("api", "(c) directory API")]


def num(value: float) -> str:
    """A thousands-separated number, French style (narrow no-break space)."""
    return f"{value:,.0f}".replace(",", "\u202f")


def size_dirs(run: Path) -> list[tuple[int, Path]]:
    found = [(int(p.name.split("-")[1]), p) for p in run.glob("pupils-*") if p.is_dir()]
    return sorted(found)


def throughput_table(run: Path) -> list[str]:
    lines = ["| School | Scenario | Requests | req/s | p50 (ms) | p90 (ms) | p99 (ms) | Responses |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for size, folder in size_dirs(run):
        for key, label in SCENARIOS:
            path = folder / f"{key}.json"
            if not path.exists():
                continue
            r = json.loads(path.read_text())
            statuses = ", ".join(f"{num(n)} × {code}" for code, n in sorted(r["statuses"].items()))
            errors = {k: v for k, v in r["errors"].items() if v}
            if errors:
                statuses += " — errors: " + ", ".join(f"{k} {v}" for k, v in errors.items())
            lines.append(f"| {num(size)} pupils | {label} | {num(r['requests'])} | {num(r['rps'])} | "
                         f"{r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {statuses} |")
    return lines


def query_table(run: Path) -> tuple[list[str], bool]:
    sizes = [(size, json.loads((folder / "queries.json").read_text()))
             for size, folder in size_dirs(run) if (folder / "queries.json").exists()]
    if not sizes:
        return ["(no query counts)"], False
    header = "| Role | Request | " + " | ".join(f"{num(s)} pupils (first / steady)" for s, _ in sizes) + " | Same? |"
    lines = [header, "|---|---|" + "---:|" * len(sizes) + "---|"]
    grew = False
    for role, row in sizes[0][1].items():
        keys = ["login_post", *(k for k, v in row.items() if isinstance(v, dict))]
        for key in keys:
            values = [data.get(role, {}).get(key) for _, data in sizes]
            if key == "login_post":
                label = "POST /compte/connexion/"
                cells = [str(v) if v is not None else "—" for v in values]
                same = len(set(values)) <= 1
            else:
                label = f"GET {key}"
                cells = [f"{v['first']} / {v['steady']}" if v else "—" for v in values]
                same = all(values) and len({(v["first"], v["steady"]) for v in values}) <= 1
            grew = grew or not same
            lines.append(f"| {role} | {label} | " + " | ".join(cells) + f" | {'yes' if same else '**NO**'} |")
    return lines, grew


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a query count differs between sizes.")
    args = parser.parse_args()
    machine = args.run / "machine.txt"
    out = []
    if machine.exists():
        out += ["Machine:", "", *[f"    {line}" for line in machine.read_text().splitlines()], ""]
    out += ["Throughput (wrk, 2 threads, 16 connections, loopback):", "", *throughput_table(args.run), ""]
    queries, grew = query_table(args.run)
    out += ["SQL queries per request (Django test client, same database and settings):", "", *queries, ""]
    if grew:
        out.append("WARNING: some query counts differ between school sizes.")
    print("\n".join(out))
    if grew and args.strict:
        sys.exit(1)


if __name__ == "__main__":
    main()
