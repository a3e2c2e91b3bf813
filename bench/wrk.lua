-- One wrk script for every endpoint: method, body and token come from the environment, and
-- done() prints one JSON line that bench/report.py reads.
local method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN")
local body = os.getenv("BENCH_BODY")

wrk.method = method
if token and token ~= "" then
  wrk.headers["Authorization"] = "Token " .. token
end
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

-- The latency tail as [percentile, microseconds] pairs, so that bench/report.py can take the
-- p99 of several rounds' requests together.
local TAIL = {50, 75, 90, 95, 97, 98, 98.5, 99, 99.25, 99.5, 99.75, 99.9, 99.99}

done = function(summary, latency, requests)
  local e = summary.errors
  local tail = {}
  for _, p in ipairs(TAIL) do
    tail[#tail + 1] = string.format("[%s,%d]", p, latency:percentile(p))
  end
  tail[#tail + 1] = string.format("[100,%d]", latency.max)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"non2xx":%d,"tail":[%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, table.concat(tail, ",")))
end
