"""Directory import benchmark: people per second and peak memory of `preau import aaf` on generated AAF sets.

    .venv/bin/python bench/imports/run.py                          # 25,000 then 100,000 people, PostgreSQL
    .venv/bin/python bench/imports/run.py --sizes 10000 --engine sqlite
    .venv/bin/python bench/imports/run.py --quiet 1.0              # wait for a calmer machine before each import

For each size it generates (bench/imports/generate_aaf.py, seed 1) the full export, the next night's full export
(2 % of pupils change class, 1 % of families leave, 0.5 % more pupils arrive; variant seed 1) and a Delta of the
same proportions (variant seed 2); drops and recreates the database (PostgreSQL `--db`, default
preau_bench_import, or a fresh SQLite file), migrates, then runs four imports in a row, each as its own process
under `/usr/bin/time -v` (bench/imports/counted_import.py: the `preau import aaf` command plus a query counter):

  (a) first import of the full export into the empty directory;
  (b) the same files again: everything unchanged;
  (c) the next night's full export: movers, leavers marked leaving, arrivals;
  (d) the Delta: only the changes.

People per second = person records in the files (staff, pupils, guardians) / wall-clock time of the whole
command (Python start-up, establishments, MEFs, subjects, the pupils' second pass for the guardian links and the
leaving marks included). Peak memory = maximum resident set size of the import process (PostgreSQL's own memory
is not in it). Results: bench/results/imports-<timestamp>/ (summary.md, results.json, each import's report and
`time -v` output). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHANGES = ["--moves", "2", "--leavers", "1", "--arrivals", "0.5"]
SCENARIOS = [("a", "(a) first full import", "base"), ("b", "(b) same files again", "base"),
             ("c", "(c) next night, full (Complet)", "complet"), ("d", "(d) next night, Delta", "delta")]


def load_average() -> float:
    return os.getloadavg()[0]


def busiest_processes(count: int = 5) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pcpu,etime,args", "--sort=-pcpu"], capture_output=True, text=True,
                         check=False).stdout.splitlines()
    return [line[:160] for line in out[1:count + 1]]


def cpu_times() -> list[int]:
    return [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


class LoadSampler:
    """The 1-minute load average every 5 seconds while an import runs (the import itself adds about 1.3: the
    Python process and its PostgreSQL backend): mean and max tell what else was running."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(5):
            self.samples.append(load_average())

    def __enter__(self) -> LoadSampler:
        self._cpu_before = cpu_times()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        spent = [after - before for before, after in zip(self._cpu_before, cpu_times(), strict=True)]
        # /proc/stat: user nice system idle iowait irq softirq steal — steal is CPU the hypervisor gave elsewhere.
        self.steal_percent = 100 * spent[7] / sum(spent[:8]) if sum(spent[:8]) else 0.0

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else load_average()

    @property
    def max(self) -> float:
        return max(self.samples, default=load_average())


def wait_for_quiet(limit: float | None, wait: int) -> None:
    if limit is None:
        return
    deadline = time.monotonic() + wait
    while load_average() > limit and time.monotonic() < deadline:
        time.sleep(10)


def run(cmd: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, text=True, capture_output=True, check=True, **kwargs)


def parse_time_v(text: str) -> dict:
    def field(label: str) -> str:
        match = re.search(rf"^\s*{re.escape(label)}: (.+)$", text, re.MULTILINE)
        return match.group(1).strip() if match else ""

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    return {"wall_s": seconds, "user_s": float(field("User time (seconds)") or 0),
            "sys_s": float(field("System time (seconds)") or 0),
            "max_rss_mb": int(field("Maximum resident set size (kbytes)") or 0) / 1024}


def generate(size: int, data: Path, python: str) -> dict:
    sets = {"base": [], "complet": ["--variant-seed", "1", *CHANGES], "delta": ["--variant-seed", "2", "--delta",
                                                                                *CHANGES]}
    manifests = {}
    for name, extra in sets.items():
        folder = data / f"{size}" / name
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            started = time.monotonic()
            subprocess.run([python, str(HERE / "generate_aaf.py"), str(folder), "--people", str(size), *extra],
                           check=True, capture_output=True)
            print(f"  generated {folder} in {time.monotonic() - started:.1f} s", flush=True)
        manifests[name] = json.loads(manifest_path.read_text())
    return manifests


def fresh_database(engine: str, env: dict, python: str, pg: str, db: str, run_dir: Path, size: int) -> None:
    if engine == "postgresql":
        for sql in (f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"'):
            run(["psql", f"{pg}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql], env)
    else:
        sqlite = run_dir / f"bench-{size}.sqlite3"
        for path in (sqlite, Path(f"{sqlite}-wal"), Path(f"{sqlite}-shm")):
            path.unlink(missing_ok=True)
    run([python, "-m", "preau", "migrate", "-v0"], env)


def summary_of(report: str) -> dict[str, str]:
    """The report's count lines: label → 'n créés, n mis à jour, …'."""
    out = {}
    for line in report.splitlines():
        if " : " in line and "créés" in line:
            label, counts = line.split(" : ", 1)
            out[label] = counts
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25000, 100000])
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "preau_bench_import"),
                        help="PostgreSQL database, DROPPED and recreated (default preau_bench_import)")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--data", type=Path, default=None,
                        help="where generated files go (reused when present; default <out>/data)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--scenarios", default="abcd", help="which of a, b, c, d to run (default abcd)")
    parser.add_argument("--quiet", type=float, default=None,
                        help="before each import, wait until the 1-minute load average is below this")
    parser.add_argument("--quiet-wait", type=int, default=300, help="seconds to wait at most (default 300)")
    args = parser.parse_args()

    python = sys.executable
    run_dir = args.out or ROOT / "bench" / "results" / f"imports-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir.mkdir(parents=True, exist_ok=True)
    data = args.data or run_dir / "data"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "preau.settings.production",
           "SECRET_KEY": "bench-only-" + secrets.token_hex(16), "ALLOWED_HOSTS": "127.0.0.1",
           "REDIS_URL": args.redis, "PREAU_DATA_DIR": str(run_dir / "var"), "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT / "src")}
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    machine = {
        "cores": os.cpu_count(), "commit": commit, "engine": args.engine, "started": f"{datetime.now():%Y-%m-%d %H:%M}",
        "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), ""),
        "python": sys.version.split()[0],
    }
    if args.engine == "postgresql":
        machine["postgresql"] = run(["psql", f"{args.pg}/postgres", "-Atc", "SHOW server_version"], env).stdout.strip()
    print(f"bench imports → {run_dir} ({machine})", flush=True)
    results = []
    for size in args.sizes:
        manifests = generate(size, data, python)
        if args.engine == "postgresql":
            env["DATABASE_URL"] = f"{args.pg}/{args.db}"
        else:
            env["DATABASE_URL"] = f"sqlite:///{run_dir / f'bench-{size}.sqlite3'}"
        fresh_database(args.engine, env, python, args.pg, args.db, run_dir, size)
        for code, label, set_name in SCENARIOS:
            if code not in args.scenarios:
                continue
            manifest = manifests[set_name]
            files = sorted(str(path) for path in (data / f"{size}" / set_name).glob("*.xml"))
            wait_for_quiet(args.quiet, args.quiet_wait)
            load, busy = load_average(), busiest_processes()
            with LoadSampler() as during:
                proc = subprocess.run(["/usr/bin/time", "-v", python, str(HERE / "counted_import.py"), "aaf",
                                       *files], env=env, text=True, capture_output=True, check=False)
            stem = run_dir / f"{size}-{code}"
            Path(f"{stem}.report.txt").write_text(proc.stdout)
            Path(f"{stem}.time.txt").write_text(proc.stderr)
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
                return 1
            counters = json.loads(next(line for line in reversed(proc.stderr.splitlines())
                                       if line.startswith("{")))
            timing = parse_time_v(proc.stderr)
            people = manifest["people_in_files"]
            result = {"size": size, "scenario": code, "label": label, "people": people,
                      "records": sum(manifest["records"].values()), **timing, **counters,
                      "people_per_s": people / timing["wall_s"],
                      "queries_per_person": counters["queries"] / people, "load_before": load,
                      "load_during_mean": during.mean, "load_during_max": during.max,
                      "steal_percent": during.steal_percent,
                      "busiest_before": busy, "report": summary_of(proc.stdout)}
            results.append(result)
            print(f"  {size:>7} {label:<32} {people:>7} people {timing['wall_s']:8.1f} s "
                  f"{result['people_per_s']:7.1f}/s  peak RSS {timing['max_rss_mb']:6.1f} MB  "
                  f"{counters['queries']:>9} queries  (load {load:.2f}, during {during.mean:.2f}, "
                  f"steal {during.steal_percent:.0f} %)", flush=True)
    (run_dir / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2,
                                                     ensure_ascii=False) + "\n")
    summary = markdown(machine, results)
    (run_dir / "summary.md").write_text(summary)
    print(summary)
    return 0


def markdown(machine: dict, results: list[dict]) -> str:
    lines = [f"Commit {machine['commit']}, {machine['engine']} {machine.get('postgresql', '')}, {machine['cores']} "
             f"cores ({machine['cpu']}), Python {machine['python']}, started {machine['started']}.", "",
             "| People | Scenario | People in files | Wall (s) | People/s | Peak RSS (MB) | Python CPU (s) | "
             "DB backend CPU (s) | Queries | Queries/person | Load before / during (mean) | CPU steal |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        backend = f"{r['backend_cpu_s']:.0f}" if r["backend_cpu_s"] is not None else "—"
        lines.append(f"| {r['size']:,} | {r['label']} | {r['people']:,} | {r['wall_s']:.1f} | "
                     f"{r['people_per_s']:.0f} | {r['max_rss_mb']:.0f} | {r['user_s'] + r['sys_s']:.0f} | "
                     f"{backend} | {r['queries']:,} | "
                     f"{r['queries_per_person']:.1f} | {r['load_before']:.2f} / "
                     f"{r.get('load_during_mean', r['load_before']):.2f} | {r.get('steal_percent', 0):.0f} % |")
    lines.append("")
    for r in results:
        lines.append(f"- {r['size']:,} {r['label']}: " + "; ".join(f"{k} : {v}" for k, v in r["report"].items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
