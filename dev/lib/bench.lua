-- wrk script for dev/bench: SSE-C headers on every request, optional body, and a
-- final JSON line with throughput, latency percentiles and errors.
-- Environment: BENCH_METHOD (GET|PUT), BENCH_PATH, BENCH_BODY_BYTES; BENCH_AUTHORIZATION
-- and BENCH_AMZ_DATE, a SigV4 signature bench.py made for this request, as clients sign
-- (every request of a run is the same, so one signature within its 15 minutes).
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/b/1k"
local size = tonumber(os.getenv("BENCH_BODY_BYTES") or "0")

wrk.method = method
wrk.path = path
wrk.headers["Host"] = "localhost"
wrk.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
wrk.headers["x-amz-server-side-encryption-customer-algorithm"] = "AES256"
-- Key bytes 0..31 and the base64 of their MD5.
wrk.headers["x-amz-server-side-encryption-customer-key"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
wrk.headers["x-amz-server-side-encryption-customer-key-MD5"] = "tP/LI3N87DFaSk0aoqYgzg=="
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization then
  wrk.headers["Authorization"] = authorization
  wrk.headers["x-amz-date"] = os.getenv("BENCH_AMZ_DATE")
end
if size > 0 then
  wrk.body = string.rep("x", size)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"status_errors":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
