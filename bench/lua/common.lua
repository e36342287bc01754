-- Prepended to every scenario script by bench/svcbench/serving.py.
-- Numbers each thread (scripts use `thread_number` to keep generated values apart)
-- and prints one machine-readable line when the run ends.

local threads_started = 0

function setup(thread)
   threads_started = threads_started + 1
   thread:set("thread_number", threads_started)
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d"
         .. " timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, errors.connect, errors.read, errors.write,
      errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end
