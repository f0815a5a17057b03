-- wrk script for bench/heartbeat.mjs: PUT heartbeats cycling over BENCH_INSTANCES
-- registered instances; prints one JSON line of totals and latency percentiles.
local n = tonumber(os.getenv("BENCH_INSTANCES") or "1000")
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"), ["Content-Length"] = "0" }
local path = os.getenv("BENCH_PATH") or "/v1/services/bench/hb/instances/i%d/heartbeat"
local i = 0

request = function()
  i = i + 1
  return wrk.format(os.getenv("BENCH_METHOD") or "PUT", string.format(path, i % n), headers)
end

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
