-- wrk script for bench/http/me_vs_nginx.sh: sends wrk's static request unchanged (no request()
-- or response() function, so wrk keeps its fast path) and, when the run ends, prints one line the
-- driver parses. Latencies are in microseconds, exactly as wrk recorded them.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "bytes=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d non2xx=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.bytes, e.connect, e.read, e.write, e.timeout, e.status))
end
