-- Scenario (c): the directory API with the browser session: /api/v1/classes and /api/v1/people?... (role
-- filters, a name search), called by logged-in people of every role.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  counter = id * 7919
  statuses = {}
end

function request()
  counter = counter + 1
  local paths = common.data.api_paths
  local path = paths[(counter % #paths) + 1]
  -- A different session than the path's neighbours: every person calls every path.
  local s = common.session(math.floor(counter / #paths))
  return wrk.format("GET", path, {
    Cookie = common.cookie(common.data.session_cookie, s.cookie),
    Accept = "application/json",
  })
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
