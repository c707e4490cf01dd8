-- wrk script for bench/outbound.sh: POST /api/v1/messages with a distinct
-- Idempotency-Key per request, cycling over BENCH_RECIPIENTS numbers; each
-- wrk thread stops after BENCH_SHARE responses. Non-202 answers are counted
-- and reported by done() (the benchmark fails on any).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  key = os.getenv("BENCH_KEY")
  account = os.getenv("BENCH_ACCOUNT")
  share = tonumber(os.getenv("BENCH_SHARE"))
  recipients = tonumber(os.getenv("BENCH_RECIPIENTS"))
  sent = 0
  responses = 0
  errors = 0
  first_error = ""
end

function request()
  sent = sent + 1
  local n = id * 10000000 + sent
  local to = string.format("+1555%07d", n % recipients)
  local body = string.format('{"account_id":"%s","to":"%s","text":"benchmark message %d"}', account, to, n)
  return wrk.format("POST", "/api/v1/messages", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = "bench-" .. n,
  }, body)
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 202 then
    errors = errors + 1
    if first_error == "" then first_error = status .. " " .. body end
  end
  if responses >= share then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local errs, first = 0, ""
  for _, t in ipairs(threads) do
    errs = errs + t:get("errors")
    if first == "" then first = t:get("first_error") end
  end
  io.write(string.format("accept_errors=%d first_error=%s\n", errs, first))
end
