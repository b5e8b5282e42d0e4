#!/usr/bin/env bash
# Foundation benchmark: login, dashboard and directory API under load, for a 10-pupil and a 1,000-pupil school.
#
#   bench/run_foundation.sh                      # both sizes, 20 s per scenario (about 5 minutes)
#   BENCH_SIZES=1000 BENCH_DURATION=10s bench/run_foundation.sh
#
# For each school size: recreate the PostgreSQL database $BENCH_DB (default preau_bench: it is DROPPED), empty
# Redis db $BENCH_REDIS_DB (default 7), migrate, `preau seed`, collect static files, start gunicorn with the
# production settings (2 sync workers, one per core) on a free loopback port (or $BENCH_PORT), log people of
# every role in (bench/prepare.py), count SQL queries per URL (bench/query_counts.py), then drive wrk (2 threads,
# 16 connections, loopback only) through three scenarios: (a) login POST + dashboard, (b) dashboard,
# (c) directory API. Results go to bench/results/<timestamp>/ and the summary (bench/report.py) is printed.
# Everything started here is stopped on exit (trap). See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

VENV=${VENV:-$ROOT/.venv}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-preau_bench}
BENCH_REDIS_DB=${BENCH_REDIS_DB:-7}
# A free loopback port unless told (other servers may run on this machine).
PORT=${BENCH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
SIZES=${BENCH_SIZES:-"10 1000"}
DURATION=${BENCH_DURATION:-20s}
WARMUP=${BENCH_WARMUP:-3s}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
WORKERS=${BENCH_WORKERS:-2}
PER_ROLE=${BENCH_PER_ROLE:-8}
# Extra gunicorn options, e.g. "--worker-class gthread --threads 4" (default: sync workers).
read -r -a GUNICORN_EXTRA <<< "${BENCH_GUNICORN_ARGS:-}"
# Wait (at most BENCH_QUIET_WAIT seconds) for the 1-minute load average to fall below BENCH_QUIET before each
# size: a shared machine skews the figures. Off when BENCH_QUIET is empty.
QUIET=${BENCH_QUIET:-}
QUIET_WAIT=${BENCH_QUIET_WAIT:-300}
RUN=${BENCH_OUT:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}
BASE=http://127.0.0.1:$PORT

for tool in wrk psql redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done
[ -x "$VENV/bin/gunicorn" ] || { echo "bench: $VENV/bin/gunicorn missing (make install)" >&2; exit 2; }

mkdir -p "$RUN"
export DJANGO_SETTINGS_MODULE=preau.settings.production
export SECRET_KEY="bench-only-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export ALLOWED_HOSTS=127.0.0.1
# Plain http on loopback: no redirect to https. The cookies stay Secure and __Host- prefixed: the server does not
# check that on the way in, and bench/prepare.py reads Set-Cookie headers itself instead of using a cookie jar.
export SECURE_SSL_REDIRECT=0
export DATABASE_URL=$PG/$BENCH_DB
export REDIS_URL=redis://127.0.0.1:6379/$BENCH_REDIS_DB
export STATIC_ROOT=$RUN/static
export PREAU_DATA_DIR=$RUN/var
export LOG_LEVEL=${LOG_LEVEL:-WARNING}
unset DJANGO_ALLOW_ASYNC_UNSAFE
export BENCH_LUA_DIR=$ROOT/bench/wrk

GUNICORN_PID=
stop_server() {
  if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$GUNICORN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GUNICORN_PID" 2>/dev/null || true
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  GUNICORN_PID=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

preau() { "$VENV/bin/preau" "$@"; }

{
  echo "cores: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "python: $("$VENV/bin/python" -V 2>&1 | cut -d' ' -f2), django: $("$VENV/bin/python" -c 'import django; print(django.__version__)'), gunicorn: $("$VENV/bin/gunicorn" --version 2>&1 | awk '{print $NF}' | tr -d '()')"
  echo "postgresql: $(psql "$PG/postgres" -Atc 'show server_version'), redis: $(redis-cli INFO server | awk -F: '/^redis_version/ {print $2}' | tr -d '\r')"
  echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
  echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency; gunicorn --workers $WORKERS ${BENCH_GUNICORN_ARGS:-(sync)}"
} > "$RUN/machine.txt"
cat "$RUN/machine.txt"

for SIZE in $SIZES; do
  OUT=$RUN/pupils-$SIZE
  mkdir -p "$OUT"
  if [ -n "$QUIET" ]; then
    waited=0
    while awk -v q="$QUIET" '{ exit !($1 >= q) }' /proc/loadavg && [ "$waited" -lt "$QUIET_WAIT" ]; do
      sleep 5; waited=$((waited + 5))
    done
  fi
  # Other work on the machine skews the figures: note the load before each size.
  echo "load average before the $SIZE-pupil run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RUN/machine.txt"
  echo
  echo "=== School of $SIZE pupils ==="
  psql "$PG/postgres" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB" \
    2>&1 | grep -v "does not exist, skipping" || true
  redis-cli -n "$BENCH_REDIS_DB" FLUSHDB >/dev/null
  preau migrate --noinput -v0
  preau collectstatic --noinput -v0
  preau seed --seed 1 --establishments 1 --pupils "$SIZE" | tee "$OUT/seed.txt" | tail -2
  # Planner statistics, as autovacuum would have them on a live server (bulk-inserted tables have none yet).
  psql "$DATABASE_URL" -q -c "VACUUM ANALYZE"

  if curl -s -o /dev/null "$BASE/" 2>/dev/null; then
    echo "bench: something already answers on $BASE; set BENCH_PORT to a free port" >&2; exit 1
  fi
  "$VENV/bin/gunicorn" preau.wsgi --workers "$WORKERS" --bind "127.0.0.1:$PORT" \
    --error-logfile "$OUT/gunicorn.log" --log-level warning ${GUNICORN_EXTRA[@]+"${GUNICORN_EXTRA[@]}"} &
  GUNICORN_PID=$!
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break; sleep 0.2; done
  if ! kill -0 "$GUNICORN_PID" 2>/dev/null || ! curl -fsS "$BASE/healthz" >/dev/null; then
    echo "bench: gunicorn did not start or answer; see $OUT/gunicorn.log" >&2; exit 1
  fi

  "$VENV/bin/python" bench/prepare.py --base-url "$BASE" --out "$OUT/data.lua" --per-role "$PER_ROLE"
  echo "SQL queries per request (login POST, then first/steady GET):"
  "$VENV/bin/python" bench/query_counts.py --people "$OUT/data.people.json" --out "$OUT/queries.json"

  export BENCH_DATA=$OUT/data.lua
  BENCH_SCENARIO=warmup BENCH_RESULT=/dev/null \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/wrk/dashboard.lua "$BASE/" >/dev/null
  for SCENARIO in login dashboard api; do
    echo "--- $SCENARIO ($SIZE pupils): wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s bench/wrk/$SCENARIO.lua"
    BENCH_SCENARIO=$SCENARIO BENCH_RESULT=$OUT/$SCENARIO.json \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "bench/wrk/$SCENARIO.lua" "$BASE/" \
      | tee "$OUT/$SCENARIO.txt" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors|BENCH_JSON" || true
  done
  stop_server
done

echo
"$VENV/bin/python" bench/report.py "$RUN" | tee "$RUN/summary.md"
echo "Results in $RUN"
