-- wrk script for bench/kv.mjs: one request per call on a key picked at random among
-- BENCH_KEYS keys (bench/k0000 ..), the value a fixed BENCH_VALUE; prints one JSON line
-- of totals and latency percentiles.
--   BENCH_TARGET  ours | etcd
--   BENCH_MODE    put | get | get-serializable (etcd only: a local read, no ReadIndex)
--   BENCH_TOKEN   bearer token (ours)
-- ours: PUT /v1/kv/<key> with the raw value, GET /v1/kv/<key>.
-- etcd: its HTTP/JSON gateway, POST /v3/kv/put and /v3/kv/range, key and value in base64.
-- The requests are formatted once (init); request() only picks one: the script costs
-- wrk next to nothing per request. No response() callback on purpose: defining one makes
-- wrk hand every body to Lua. So wrk counts as errors only statuses >= 400 and socket
-- errors, and it cannot see an etcd range that answers 200 with no kvs (a missing key):
-- kv.mjs checks the keys and values before and after the load instead.
local target = os.getenv("BENCH_TARGET") or "ours"
local mode = os.getenv("BENCH_MODE") or "get"
local n = tonumber(os.getenv("BENCH_KEYS") or "1000")
local value = os.getenv("BENCH_VALUE") or string.rep("0123456789", 10)
local token = os.getenv("BENCH_TOKEN") or ""

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local function ch(shift)
      local d = math.floor(v / shift) % 64
      return alphabet:sub(d + 1, d + 1)
    end
    out[#out + 1] = ch(262144) .. ch(4096) .. (b and ch(64) or "=") .. (c and ch(1) or "=")
  end
  return table.concat(out)
end

local function key(i)
  return string.format("bench/k%04d", i)
end

local requests = {}

init = function(args)
  -- kv.mjs passes base64 encodings made by Node: the request bodies must match them.
  for name, plain in pairs({ BENCH_B64_KEY0 = key(0), BENCH_B64_KEYN = key(n - 1), BENCH_B64_VALUE = value }) do
    local want = os.getenv(name)
    if want and want ~= base64(plain) then
      io.stderr:write(string.format("kv.lua: base64(%q) = %s, Node says %s\n", plain, base64(plain), want))
      os.exit(3)
    end
  end
  local b64value = base64(value)
  for i = 0, n - 1 do
    local r
    if target == "ours" then
      if mode == "put" then
        r = wrk.format("PUT", "/v1/kv/" .. key(i),
          { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/octet-stream" }, value)
      elseif mode == "get" then
        r = wrk.format("GET", "/v1/kv/" .. key(i), { ["Authorization"] = "Bearer " .. token })
      end
    elseif target == "etcd" then
      local headers = { ["Content-Type"] = "application/json" }
      if mode == "put" then
        r = wrk.format("POST", "/v3/kv/put", headers,
          string.format('{"key":"%s","value":"%s"}', base64(key(i)), b64value))
      elseif mode == "get" then
        r = wrk.format("POST", "/v3/kv/range", headers, string.format('{"key":"%s"}', base64(key(i))))
      elseif mode == "get-serializable" then
        r = wrk.format("POST", "/v3/kv/range", headers,
          string.format('{"key":"%s","serializable":true}', base64(key(i))))
      end
    end
    if r == nil then
      io.stderr:write(string.format("kv.lua: unknown BENCH_TARGET/BENCH_MODE %s/%s\n", target, mode))
      os.exit(3)
    end
    requests[i + 1] = r
  end
  math.randomseed(20240601)
end

request = function()
  return requests[math.random(n)]
end

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
