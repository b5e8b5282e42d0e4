-- Messaging inbox: one person's sessions (bench/messaging/run.py logs them in) GET one path, round-robin over the
-- sessions: BENCH_PATH is the HTML inbox (/messagerie/) or the API's mailbox list. BENCH_ACCEPT sets the Accept
-- header (application/json for the API). The data file (BENCH_DATA) has the shape bench/prepare.py writes.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = os.getenv("BENCH_PATH") or "/messagerie/"
local accept = os.getenv("BENCH_ACCEPT") or "text/html"

function setup(thread) common.setup(thread) end

function init(args)
  counter = id * 7919
  statuses = {}
end

function request()
  counter = counter + 1
  local s = common.session(counter)
  return wrk.format("GET", path, {Cookie = common.cookie(common.data.session_cookie, s.cookie), Accept = accept})
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- common.done writes p50/p90/p99; the messaging targets are read at p95 too.
function done(summary, latency, requests)
  common.done(summary, latency, requests)
  io.write(string.format('BENCH_EXTRA {"p75_ms": %.2f, "p95_ms": %.2f}\n',
                         latency:percentile(75) / 1000.0, latency:percentile(95) / 1000.0))
end
