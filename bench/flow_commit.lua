-- Fiscal commits of receipts that bench/pos_load.py soft-calculated beforehand: each prepared
-- body (the calculated one plus its "calculation_id") is sent once, by the POS that calculated
-- it. FLOW_BODIES=<prefix>: thread N sends the lines of <prefix>.N in order, each line
-- "<POS index>\t<body>"; POS_TOKENS as in receipts.lua. A thread that runs out of bodies says
-- so when wrk finishes (pos_load.py then refuses the run: its last requests were replays).
-- wrk calls request() once on thread 1 to check the script before the run: that thread's first
-- body is never sent, so a prepared receipt may stay uncommitted, never committed twice.
local threads = {}
local tokens = {}
for t in string.gmatch(os.getenv("POS_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = t end
local bodies, sent = {}, 0
ran_out = false
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  for line in io.lines(os.getenv("FLOW_BODIES") .. "." .. tid) do
    local p, body = line:match("^(%d+)\t(.+)$")
    bodies[#bodies + 1] = {tonumber(p), body}
  end
end
request = function()
  if sent < #bodies then
    sent = sent + 1
  else
    ran_out = true
  end
  local p, body = bodies[sent][1], bodies[sent][2]
  local headers = {["Content-Type"] = "application/json"}
  if tokens[p] then headers["Authorization"] = "Bearer " .. tokens[p] end
  return wrk.format("POST", nil, headers, body)
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("ran_out") then
      io.write("flow_commit.lua: thread ", thread:get("tid"), " ran out of prepared receipts\n")
    end
  end
end
