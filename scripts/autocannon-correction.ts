/**
 * Checks autocannon 9's coordinated-omission correction in rate mode against the stall stub
 * (harness-anchors.md §2.1): autocannon records `recordValueWithExpectedInterval(ms,
 * Math.ceil(1 / rate))`, i.e. an expected interval of 1 ms at any rate ≥ 1 req/s per
 * connection. Prints, side by side, the analytic percentiles, the open-loop driver's, and
 * autocannon's (corrected and uncorrected) for the same offered rate.
 *
 * Run: node dist/scripts/autocannon-correction.js [--rate 250] [--duration 4]
 */
import { parseArgs } from 'node:util';
import { startStallStub, expectedStallPercentileMs } from '../src/harness/load/stall-stub.js';
import { runOpenLoop } from '../src/harness/load/open-loop-driver.js';
import { runAutocannon } from '../src/harness/load/closed-loop-driver.js';

const { values } = parseArgs({ options: { rate: { type: 'string' }, duration: { type: 'string' }, connections: { type: 'string' }, 'stall-ms': { type: 'string' }, 'period-ms': { type: 'string' } } });
const rate = Number(values.rate ?? 250);
const duration = Number(values.duration ?? 4);
const connections = Number(values.connections ?? 8);
const stallMs = Number(values['stall-ms'] ?? 300);
const periodMs = Number(values['period-ms'] ?? 1000);

const row = (name: string, p: { p50: number; p90: number; p99: number; max: number }): string =>
  `${name.padEnd(34)} p50 ${String(p.p50).padStart(8)}  p90 ${String(p.p90).padStart(8)}  p99 ${String(p.p99).padStart(8)}  max ${String(p.max).padStart(8)}`;

const stub = await startStallStub(stallMs, periodMs);
try {
  console.log(`stall stub: ${stallMs} ms stall every ${periodMs} ms; ${rate} req/s for ${duration} s over ${connections} connections`);
  console.log(row('expected (analytic)', {
    p50: expectedStallPercentileMs(0.5, stallMs, periodMs),
    p90: Math.round(expectedStallPercentileMs(0.9, stallMs, periodMs) * 1000) / 1000,
    p99: expectedStallPercentileMs(0.99, stallMs, periodMs),
    max: stallMs,
  }));
  const open = await runOpenLoop({ url: stub.url, ratePerSecond: rate, durationSeconds: duration, connections });
  console.log(row('open-loop driver (scheduled time)', open.report.latency_ms) + `  n=${open.report.requests.completed}`);
  open.histogram.destroy();
  for (const ignore of [false, true]) {
    const r = await runAutocannon({ url: stub.url, connections, duration, overallRate: rate, ...(ignore ? { ignoreCoordinatedOmission: true } : {}) } as Parameters<typeof runAutocannon>[0]);
    console.log(row(`autocannon -R ${ignore ? '(CO correction off)' : '(CO-corrected)'}`, r.latency) + `  n=${r.requests.total} histogram samples=${(r.latency as unknown as { totalCount?: number }).totalCount ?? "?"}`);
  }
} finally {
  await stub.close();
}
