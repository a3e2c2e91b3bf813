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

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
