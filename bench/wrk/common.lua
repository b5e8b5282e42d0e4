-- Shared by the wrk scenarios: the data written by bench/prepare.py (BENCH_DATA), per-thread counters of the
-- response statuses, and a JSON summary written by done() (BENCH_RESULT) for bench/report.py.
local common = {}

common.data = dofile(os.getenv("BENCH_DATA"))
common.threads = {}

function common.setup(thread)
  table.insert(common.threads, thread)
  thread:set("id", #common.threads)
end

function common.cookie(name, value)
  return name .. "=" .. value
end

-- The i-th session, round-robin: each thread starts at a different offset, so that the 16 connections spread
-- their requests over all the logged-in people (several roles) rather than hammering one session.
function common.session(i)
  local sessions = common.data.sessions
  return sessions[(i % #sessions) + 1]
end

function common.dashboard(i)
  local s = common.session(i)
  return wrk.format("GET", "/", {Cookie = common.cookie(common.data.session_cookie, s.cookie)})
end

local function percentile(latency, p)
  return latency:percentile(p) / 1000.0  -- microseconds to milliseconds
end

function common.done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(common.threads) do
    local counted = thread:get("statuses")
    if counted then
      for status, n in pairs(counted) do
        statuses[status] = (statuses[status] or 0) + n
      end
    end
  end
  local parts = {}
  for status, n in pairs(statuses) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local json = string.format(
    '{"scenario": "%s", "requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p90_ms": %.2f, ' ..
    '"p99_ms": %.2f, "max_ms": %.2f, "mean_ms": %.2f, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "statuses": {%s}}',
    os.getenv("BENCH_SCENARIO") or "?", summary.requests, seconds, summary.requests / seconds,
    percentile(latency, 50), percentile(latency, 90), percentile(latency, 99), latency.max / 1000.0,
    latency.mean / 1000.0, e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", "))
  io.write("BENCH_JSON " .. json .. "\n")
  local path = os.getenv("BENCH_RESULT")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(json .. "\n")
    f:close()
  end
end

return common
