-- bench/ingest.lua: wrk script for bench/ingest.sh. Each thread takes its
-- share of the pre-signed requests in INGEST_REQUESTS (sid TAB signature TAB
-- body per line, every sid distinct), sends each at most once, and counts
-- the 200s; the sids that got a 200 (echoed back as X-Request-Id) are written
-- to INGEST_ACKED when the run ends. If a thread runs out of requests it
-- starts over and says so (wrapped > 0): the run then repeated sids.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("INGEST_PATH")
  local nthreads = tonumber(os.getenv("INGEST_THREADS"))
  reqs = {}
  local i = 0
  for line in io.lines(os.getenv("INGEST_REQUESTS")) do
    if i % nthreads == tid then
      local sid, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = sig,
        ["X-Request-Id"] = sid,
      }, body)
    end
    i = i + 1
  end
  nreq = #reqs
  nexti = 0
  sent = 0
  ok = 0
  wrapped = 0
  acked = {}
end

function request()
  nexti = nexti + 1
  if nexti > nreq then
    nexti = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  return reqs[nexti]
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    acked[#acked + 1] = headers["X-Request-Id"]
  end
end

function done(summary, latency, requests)
  local f = io.open(os.getenv("INGEST_ACKED"), "w")
  local tsent, tok, twrapped = 0, 0, 0
  for _, t in ipairs(threads) do
    tsent = tsent + t:get("sent")
    tok = tok + t:get("ok")
    twrapped = twrapped + t:get("wrapped")
    for _, sid in ipairs(t:get("acked")) do
      f:write(sid, "\n")
    end
  end
  f:close()
  io.write(string.format("INGEST sent=%d ok=%d wrapped=%d\n", tsent, tok, twrapped))
end
