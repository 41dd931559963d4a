/**
 * Shards end to end on loopback: two `npm run load -- --shard 0/2` and `1/2` processes (node
 * dist/scripts/load.js) against the stall stub with one --start-at, merged by `npm run merge`,
 * against one driver's run of the same schedule (200 req/s for 12 s). The stub stalls 200 ms of
 * every 2 s, so an honest open-model client sees p50 ≈ base latency and p99 = 200 − 0.01·2000 =
 * 180 ms (stall-stub.ts); both the merged and the single result must give p50 < 20 ms and p99 in
 * 140–215 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStallStub, expectedStallPercentileMs } from '../../src/harness/load/stall-stub.js';
import type { LoadResultFile } from '../../src/harness/load/load-result-file.js';

const LOAD = fileURLToPath(new URL('../../scripts/load.js', import.meta.url));
const MERGE = fileURLToPath(new URL('../../scripts/merge.js', import.meta.url));
const STALL_MS = 200;
const PERIOD_MS = 2000;
const RATE = 200;
const DURATION_S = 12;
/** Dispatch lag p99 (ms) above which the machine was too busy for the run to say anything. */
const MAX_USABLE_LAG_MS = 25;

function load(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
  });
}

interface Attempt {
  merged: LoadResultFile;
  single: LoadResultFile;
  /** The worst dispatch lag p99 of the three generators. */
  lag: number;
}

test('shards on loopback: two shards with one --start-at, merged, match one driver against the stall stub', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-shards-'));
  const stub = await startStallStub(STALL_MS, PERIOD_MS);
  t.after(async () => {
    await stub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const common = ['--url', stub.url, '--rate', String(RATE), '--duration', String(DURATION_S), '--connections', '48', '--timeout-ms', '5000'];
  const attempt = async (k: number): Promise<Attempt> => {
    // Far enough ahead for both processes to load (a few hundred ms each; more on a busy machine).
    const startAt = Date.now() + 4000;
    const shardFiles = [0, 1].map((i) => join(dir, `shard-${k}-${i}.json`));
    const codes = await Promise.all(shardFiles.map((out, i) => load([...common, '--shard', `${i}/2`, '--start-at', String(startAt), '--out', out])));
    assert.deepEqual(codes, [0, 0], 'both shards ran');
    const mergedOut = join(dir, `merged-${k}.json`);
    const merge = spawnSync(process.execPath, [MERGE, ...shardFiles, '--json', '--out', mergedOut], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(merge.status, 0, merge.stderr);
    const singleOut = join(dir, `single-${k}.json`);
    assert.equal(await load([...common, '--out', singleOut]), 0, 'the single driver ran');
    const merged = JSON.parse(readFileSync(mergedOut, 'utf8')) as LoadResultFile;
    const single = JSON.parse(readFileSync(singleOut, 'utf8')) as LoadResultFile;
    const printed = JSON.parse(merge.stdout) as LoadResultFile;
    assert.deepEqual(printed.latency_ms, merged.latency_ms, '--json prints the merged figures');
    assert.deepEqual(
      merged.shards?.map((s) => [s.index, s.count, s.start_at_ms]),
      [
        [0, 2, startAt],
        [1, 2, startAt],
      ],
    );
    return { merged, single, lag: Math.max(merged.dispatch_lag_ms.p99, single.dispatch_lag_ms.p99) };
  };
  // The machine is shared: when a generator ran late (dispatch lag), try again, up to three
  // times, and keep the attempt with the smallest lag (as load-open-loop.test.ts does).
  let best = await attempt(0);
  for (let k = 1; k < 3 && best.lag > MAX_USABLE_LAG_MS; k++) {
    const again = await attempt(k);
    if (again.lag < best.lag) best = again;
  }
  const { merged, single, lag } = best;
  if (process.env['SIGLOAD_DEBUG']) console.log(JSON.stringify({ merged: merged.latency_ms, single: single.latency_ms, lag }));
  // Counts do not depend on timing: the shards together sent the single run's requests, each once.
  assert.equal(single.requests.sent, RATE * DURATION_S);
  assert.equal(merged.requests.sent, RATE * DURATION_S);
  assert.equal(merged.requests.completed, RATE * DURATION_S);
  assert.equal(merged.requests.errors, 0);
  assert.deepEqual(merged.schedule, single.schedule);
  assert.equal(merged.offered_rate_per_s, RATE);
  assert.equal(merged.environments?.length, 2);
  if (lag > MAX_USABLE_LAG_MS) {
    t.skip(`machine too loaded to validate latency: dispatch lag p99 ${lag} ms in the best of 3 attempts`);
    return;
  }
  const p99 = expectedStallPercentileMs(0.99, STALL_MS, PERIOD_MS);
  assert.ok(Math.abs(p99 - 180) < 1e-9, 'the stall pattern puts p99 at 180 ms, inside 140–215');
  for (const [name, r] of [
    ['merged', merged],
    ['single', single],
  ] as const) {
    assert.ok(r.latency_ms.p50 < 20, `${name} p50 ${r.latency_ms.p50} ms, expected < 20 ms`);
    assert.ok(r.latency_ms.p99 >= 140 && r.latency_ms.p99 <= 215, `${name} p99 ${r.latency_ms.p99} ms, expected 140–215 ms`);
  }
});

test('shards on loopback: bad shard flags are refused before any request (exit 2)', async () => {
  const url = 'http://127.0.0.1:9/';
  const refused = (args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [LOAD, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr };
  };
  const passed = refused(['--url', url, '--rate', '10', '--duration', '1', '--shard', '0/2', '--start-at', String(Date.now() - 60_000)]);
  assert.equal(passed.status, 2);
  assert.match(passed.stderr, /start-passed/);
  const index = refused(['--url', url, '--rate', '10', '--duration', '1', '--shard', '2/2']);
  assert.equal(index.status, 2);
  assert.match(index.stderr, /I must be below N/);
  const scenario = refused(['--scenario', 'baseline', '--shard', '0/2']);
  assert.equal(scenario.status, 2);
  assert.match(scenario.stderr, /baseline does not run as shards/);
});
