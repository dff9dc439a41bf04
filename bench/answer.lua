-- wrk script for bench/http.sh: every request answers a requirement for a
-- subject that has not answered it yet. Arguments (after "--"): the first
-- subject number and the identifier format, e.g. 1 benchanswer%025d. The
-- method, path, body and Authorization header come from the command line.
-- done() prints "USED <n>": how many subject numbers this run handed out.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  first = tonumber(args[1])
  format = args[2]
  n = 0
end

function request()
  local h = {}
  for k, v in pairs(wrk.headers) do
    h[k] = v
  end
  h["X-User-Identifier"] = string.format(format, first + n)
  n = n + 1
  return wrk.format(nil, nil, h, nil)
end

function done(summary, latency, requests)
  local used = 0
  for _, t in ipairs(threads) do
    used = used + t:get("n")
  end
  io.write(string.format("USED %d\n", used))
end
