import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOpenLoop, checkTargetUrl, LoadDriverError, parseExpectedStatuses } from '../../src/harness/load/open-loop-driver.js';
import { startStallStub, expectedStallPercentileMs } from '../../src/harness/load/stall-stub.js';

test('open-loop driver: percentiles against a stalling stub match the stall pattern within 10%', async (t) => {
  const stallMs = 300;
  const periodMs = 1000;
  const rate = 250;
  const stub = await startStallStub(stallMs, periodMs);
  // Enough sockets for every request of a stall to be in flight at its scheduled time (rate ×
  // stall = 75), so the expected percentiles are the stub's alone; the time requests wait for a
  // busy socket is checked by the next test.
  const options = { url: stub.url, ratePerSecond: rate, durationSeconds: 4, connections: 100, timeoutMs: 5000 };
  try {
    // The machine is shared: when the scheduler or the stub's own timers ran late, try again,
    // up to three runs, and keep the one with the smallest lateness.
    const measure = async () => {
      const run = await runOpenLoop(options);
      const stubLag = stub.takeReleaseLagMs().p99;
      return { run, stubLag, lag: run.report.dispatch_lag_ms.p99 + stubLag };
    };
    let best = await measure();
    for (let attempt = 1; attempt < 3 && best.lag > 10; attempt++) {
      const again = await measure();
      if (again.lag < best.lag) best = again;
    }
    const r = best.run.report;
    if (process.env.SIGLOAD_DEBUG) console.log(JSON.stringify({ ...r, stub_release_lag_p99_ms: best.stubLag }));
    // Same rule as for benchmark figures: a run where the generator could not keep its schedule
    // (CPU taken by other processes on a shared machine) is not a valid measurement.
    if (best.lag > 25) {
      t.skip(`machine too loaded to validate: dispatch lag p99 + stub release lag p99 = ${best.lag} ms in the best of 3 runs`);
      return;
    }
    assert.equal(r.requests.sent, 1000);
    assert.equal(r.requests.completed, 1000);
    assert.equal(r.requests.errors, 0);
    // Tolerance: 10% of the expected value, with an absolute floor of 5 ms for values near
    // zero (the unstalled base latency is ~1 ms plus timer jitter), plus the run's own lateness:
    // the generator's dispatch lag p99 and the stub's release lag p99, both of which honestly
    // count into latency.
    const lag = best.lag;
    const within = (name: string, actual: number, expected: number): void => {
      const tolerance = Math.max(0.1 * expected, 5) + lag;
      assert.ok(Math.abs(actual - expected) <= tolerance, `${name}: measured ${actual} ms, expected ${expected} ± ${tolerance} ms (dispatch + stub release lag p99 ${lag} ms)`);
    };
    within('p50', r.latency_ms.p50, expectedStallPercentileMs(0.5, stallMs, periodMs));
    within('p90', r.latency_ms.p90, expectedStallPercentileMs(0.9, stallMs, periodMs));
    within('p99', r.latency_ms.p99, expectedStallPercentileMs(0.99, stallMs, periodMs));
    within('max', r.latency_ms.max, stallMs);
  } finally {
    await stub.close();
  }
});

test('open-loop driver: time spent waiting for a busy socket counts from the scheduled send, not from the write', async () => {
  // One socket and a server that takes 20 ms per request: at most 50 req/s get through, and
  // 100 req/s are offered for 1 s. Request j is due at 10·j ms and answered no earlier than
  // 20·(j+1) ms, so an honest open-model latency is at least 10·j + 20 ms: the median at least
  // 510 ms, the worst at least 1010 ms. A client that started its clock when a socket came free
  // would report about 20 ms for every request. Load on the machine only makes these larger.
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('{}'), 20));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const run = await runOpenLoop({ url: `http://127.0.0.1:${port}/`, ratePerSecond: 100, durationSeconds: 1, connections: 1, timeoutMs: 10_000 });
    const r = run.report;
    assert.equal(r.requests.completed, 100);
    assert.ok(r.latency_ms.p50 >= 0.9 * 510, `p50 ${r.latency_ms.p50} ms counts the wait for the socket`);
    assert.ok(r.latency_ms.max >= 0.9 * 1010, `max ${r.latency_ms.max} ms counts the wait for the socket`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('open-loop driver: counts errors when nothing listens', async () => {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  const run = await runOpenLoop({ url: `http://127.0.0.1:${port}/`, ratePerSecond: 50, durationSeconds: 0.2, connections: 2 });
  assert.equal(run.report.requests.sent, 10);
  assert.equal(run.report.requests.completed, 0);
  assert.equal(run.report.requests.errors, 10);
  assert.equal(run.report.quality.clean, false);
});

test('open-loop driver: non-2xx answers are counted and make the figure unclean unless expected', async () => {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(req.url === '/bad' ? 503 : 200);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const bad = await runOpenLoop({ url: `http://127.0.0.1:${port}/bad`, ratePerSecond: 100, durationSeconds: 0.2 });
    assert.equal(bad.report.requests.non2xx, 20);
    assert.ok(bad.report.quality.notes.some((n) => n.includes('non-2xx')));
    const expected = await runOpenLoop({ url: `http://127.0.0.1:${port}/bad`, ratePerSecond: 100, durationSeconds: 0.2, expectStatus: (s) => s === 503 });
    assert.equal(expected.report.requests.non2xx, 20);
    assert.ok(!expected.report.quality.notes.some((n) => n.includes('non-2xx')));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('open-loop driver: refuses non-loopback targets unless allowed', () => {
  assert.throws(() => checkTargetUrl('http://example.com/', false), (e: unknown) => e instanceof LoadDriverError && e.kind === 'remote-target-refused');
  assert.equal(checkTargetUrl('http://example.com/', true).hostname, 'example.com');
  assert.equal(checkTargetUrl('http://127.0.0.1:8080/x', false).port, '8080');
  assert.equal(checkTargetUrl('http://[::1]:8080/x', false).hostname, '[::1]');
  assert.throws(() => checkTargetUrl('ftp://127.0.0.1/', false), (e: unknown) => e instanceof LoadDriverError && e.kind === 'invalid-option');
});

test('open-loop driver: --expect-status takes classes and exact statuses, and refuses anything else', () => {
  const expected = parseExpectedStatuses('2xx, 429');
  assert.deepEqual([200, 204, 299, 429, 428, 500, 301].map(expected), [true, true, true, true, false, false, false]);
  assert.equal(parseExpectedStatuses('503')(503), true);
  assert.equal(parseExpectedStatuses('503')(200), false);
  for (const bad of ['', '2xx,', 'ok', '600', '6xx', '20']) {
    assert.throws(() => parseExpectedStatuses(bad), (e: unknown) => e instanceof LoadDriverError && e.kind === 'invalid-option', bad);
  }
});
