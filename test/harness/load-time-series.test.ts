import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOpenLoop } from '../../src/harness/load/open-loop-driver.js';
import { bucketCounts } from '../../src/harness/load/histogram.js';
import { errorKey, mergeIntervalHistograms } from '../../src/harness/load/time-series.js';
import { parsePrometheusText } from '../../src/harness/load/server-telemetry.js';
import { buildSchedule } from '../../src/harness/load/schedule.js';

/** Answers 200, except every 7th request (a Graph refusal, code 131056) and every 11th (a plain 503). */
async function mixedServer(): Promise<{ url: string; close(): Promise<void>; refusals: { graph: number; plain: number } }> {
  let n = 0;
  const refusals = { graph: 0, plain: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/metrics') {
        if (req.headers.authorization !== 'Bearer admin') {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('# HELP sigload_sessions x\n# TYPE sigload_sessions gauge\nsigload_sessions 7\nsigload_heap_used_bytes 1234\nsigload_event_loop_delay_p99_seconds 0.0125\nsigload_webhook_pieces_total{outcome="delivered"} 3\nunrelated_total 9\n');
        return;
      }
      n++;
      // Slow enough (a few ms) that the answers are spread and the histogram has several buckets.
      const delay = n % 5;
      setTimeout(() => {
        if (n % 7 === 0) {
          refusals.graph++;
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"pair rate","type":"OAuthException","code":131056}}');
        } else if (n % 11 === 0) {
          refusals.plain++;
          res.writeHead(503).end('busy');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        }
      }, delay);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refusals,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test('time series: interval histograms merge to the run\'s histogram exactly; interval counts sum to the totals', async () => {
  const server = await mixedServer();
  try {
    const schedule = buildSchedule({ startRate: 100, stages: [{ durationSeconds: 1.5, targetRate: 300 }, { durationSeconds: 1.5, targetRate: 100 }] });
    const run = await runOpenLoop({ url: `${server.url}/send`, schedule, connections: 8, timeSeries: true, expectStatus: () => true });
    const series = run.timeSeries!;
    assert.equal(series.interval_ms, 1000);
    assert.ok(series.intervals.length >= 3, `${series.intervals.length} intervals`);
    const sum = (f: (i: (typeof series.intervals)[number]) => number): number => series.intervals.reduce((a, i) => a + f(i), 0);
    assert.equal(sum((i) => i.sent), run.report.requests.sent);
    assert.equal(sum((i) => i.completed), run.report.requests.completed);
    // Merged from the stored (compressed base64) form: same total, same count in every bucket.
    const merged = mergeIntervalHistograms(series);
    assert.equal(merged.totalCount, run.histogram.totalCount);
    assert.ok(bucketCounts(run.histogram).size > 3, 'the run spans several buckets');
    assert.deepEqual([...bucketCounts(merged)].sort(([a], [b]) => a - b), [...bucketCounts(run.histogram)].sort(([a], [b]) => a - b));
    merged.destroy();
    // Errors by Graph code, or by HTTP status when the body is no Graph envelope.
    assert.equal(sum((i) => i.errors['131056'] ?? 0), server.refusals.graph);
    assert.equal(sum((i) => i.errors['http_503'] ?? 0), server.refusals.plain);
    assert.ok(server.refusals.graph > 0 && server.refusals.plain > 0);
    assert.equal(run.report.requests.non2xx, server.refusals.graph + server.refusals.plain);
  } finally {
    await server.close();
  }
});

test('time series: server telemetry from /proc and a scraped /metrics per interval', async () => {
  const server = await mixedServer();
  try {
    const run = await runOpenLoop({
      url: `${server.url}/send`,
      ratePerSecond: 100,
      durationSeconds: 2.5,
      expectStatus: () => true,
      serverTelemetry: { pid: process.pid, metricsUrl: `${server.url}/metrics`, metricsToken: 'admin' },
    });
    const series = run.timeSeries!;
    assert.deepEqual(series.server_source, { proc: process.platform === 'linux', metrics_url: `${server.url}/metrics` });
    const full = series.intervals.filter((i) => i.server !== undefined);
    assert.ok(full.length >= 2, `${full.length} intervals with server figures`);
    for (const i of full) {
      const s = i.server!;
      assert.equal(s.gauges['sigload_sessions'], 7);
      assert.equal(s.gauges['sigload_webhook_pieces_total{outcome="delivered"}'], 3);
      assert.equal(s.gauges['unrelated_total'], undefined);
      assert.equal(s.heap_used_bytes, 1234);
      assert.equal(s.event_loop_delay_p99_ms, 12.5);
      if (process.platform === 'linux') {
        assert.ok(s.rss_bytes !== null && s.rss_bytes > 1e6, `rss ${s.rss_bytes}`);
        assert.ok(s.cpu_user_ms !== null && s.cpu_user_ms >= 0);
        if (i.completed > 0) assert.ok(s.cpu_user_us_per_request !== null);
      }
    }
  } finally {
    await server.close();
  }
});

test('time series: error keys and Prometheus parsing', () => {
  assert.equal(errorKey(400, '{"error":{"code":131056}}'), '131056');
  assert.equal(errorKey(503, 'busy'), 'http_503');
  assert.equal(errorKey(500, '{"error":{}}'), 'http_500');
  assert.equal(errorKey(0, undefined), 'transport');
  assert.equal(errorKey(-1, undefined), 'timeout');
  assert.deepEqual(parsePrometheusText('# c\nsigload_sessions 4\nsigload_sessions_x 5\nsigload_webhook_queue_depth{a="b"} 2\nsigload_inbox_entries NaNx\n'), {
    sigload_sessions: 4,
    'sigload_webhook_queue_depth{a="b"}': 2,
  });
});
