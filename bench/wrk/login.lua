-- Scenario (a): the morning arrival. Requests alternate between a login through the real form (POST with the
-- CSRF cookie and token, username and password: Argon2 verification, a new session) and a dashboard load by a
-- logged-in person. A successful login answers 302, a dashboard 200: the status counts show both kinds passed.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  counter = id * 7919
  statuses = {}
end

function request()
  counter = counter + 1
  if counter % 2 == 0 then
    local logins = common.data.logins
    local l = logins[((counter / 2) % #logins) + 1]
    return wrk.format("POST", "/compte/connexion/", {
      Cookie = common.cookie(common.data.csrf_cookie, l.cookie),
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, l.body)
  end
  return common.dashboard(counter)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
