-- Scenario (b): logged-in people of every role load their dashboard (GET /).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  counter = id * 7919
  statuses = {}
end

function request()
  counter = counter + 1
  return common.dashboard(counter)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
