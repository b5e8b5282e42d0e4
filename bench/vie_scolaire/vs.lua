-- Timetable and attendance (bench/vie_scolaire/run.py writes the data file, BENCH_DATA): every request is one of
-- the prepared entries, drawn at random per request: {method, path, cookie, body, ctype, csrf, accept}. The
-- entries carry each person's own session (and CSRF cookie and token for the roll calls), so a scenario mixes
-- pupils, guardians and teachers. BENCH_EXPECT is the one status every response must have (200 for pages and
-- API calls, 302 for a roll call saved through the form); a 302 must also go back to the roll call page
-- (BENCH_LOCATION), not to the login form. Anything else is counted as unexpected.
local data = dofile(os.getenv("BENCH_DATA"))
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local location = os.getenv("BENCH_LOCATION") or ""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  statuses = {}
  unexpected = 0
  bad_location = 0
end

function request()
  local e = data.requests[math.random(#data.requests)]
  local headers = {Cookie = e.cookie, Accept = e.accept}
  if e.ctype then headers["Content-Type"] = e.ctype end
  if e.csrf then headers["X-CSRFToken"] = e.csrf end
  return wrk.format(e.method, e.path, headers, e.body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= expect then
    unexpected = unexpected + 1
  elseif status == 302 and location ~= "" then
    local where = headers["Location"] or headers["location"] or ""
    if not string.find(where, location, 1, true) then
      bad_location = bad_location + 1
    end
  end
end

function done(summary, latency, requests)
  local counted, parts, wrong, misplaced = {}, {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      counted[status] = (counted[status] or 0) + n
    end
    wrong = wrong + (thread:get("unexpected") or 0)
    misplaced = misplaced + (thread:get("bad_location") or 0)
  end
  for status, n in pairs(counted) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local function ms(p) return latency:percentile(p) / 1000.0 end
  local json = string.format(
    '{"scenario": "%s", "requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p90_ms": %.2f, ' ..
    '"p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "mean_ms": %.2f, "unexpected": %d, "bad_location": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "statuses": {%s}}',
    os.getenv("BENCH_SCENARIO") or "?", summary.requests, seconds, summary.requests / seconds, ms(50), ms(90),
    ms(95), ms(99), latency.max / 1000.0, latency.mean / 1000.0, wrong, misplaced, e.connect, e.read, e.write,
    e.status, e.timeout, table.concat(parts, ", "))
  io.write("BENCH_JSON " .. json .. "\n")
  local path = os.getenv("BENCH_RESULT")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(json .. "\n")
    f:close()
  end
end
