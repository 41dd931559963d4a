/**
 * Shards (src/harness/load/shard.ts): parsing `I/N` and `--start-at`, ownership, and that the N
 * shards' schedules add up exactly to the single run's for every shape and arrival process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOpenLoop } from '../../src/harness/load/open-loop-driver.js';
import { buildSchedule, shapeSpec, type ScheduleSpec } from '../../src/harness/load/schedule.js';
import { lateStartNote, MAX_START_DELAY_MS, owns, ownedCount, ownedIndices, parseShard, parseStartAt, shardSchedule, ShardError, startInstant } from '../../src/harness/load/shard.js';

const isShardError = (kind: string) => (e: unknown) => e instanceof ShardError && e.kind === kind;

test('shard: I/N parses 0-based, and anything else is refused with a named kind', () => {
  assert.deepEqual(parseShard('0/2'), { index: 0, count: 2 });
  assert.deepEqual(parseShard('4/5'), { index: 4, count: 5 });
  assert.deepEqual(parseShard(' 0 / 1 '), { index: 0, count: 1 });
  for (const bad of ['2/2', '1/0', '0/0', '-1/2', '1', '1/2/3', 'a/b', '', '0.5/2', '0/10001']) {
    assert.throws(() => parseShard(bad), isShardError('invalid-shard'), bad);
  }
});

test('shard: --start-at is epoch ms; a start in the past by more than the schedule is refused, by less starts late', () => {
  assert.equal(parseStartAt('1796310000000'), 1796310000000);
  for (const bad of ['', 'soon', '-5', '0', '1.5', '1e400']) assert.throws(() => parseStartAt(bad), isShardError('invalid-start'), bad);
  const now = 1_000_000;
  assert.deepEqual(startInstant(now + 3000, 12_000, now), { atMs: now + 3000, lateByMs: 0 });
  assert.deepEqual(startInstant(now - 500, 12_000, now), { atMs: now - 500, lateByMs: 500 });
  assert.throws(() => startInstant(now - 12_001, 12_000, now), isShardError('start-passed'));
  assert.throws(() => startInstant(now + MAX_START_DELAY_MS + 1, 12_000, now), isShardError('invalid-start'));
  assert.match(lateStartNote(500), /500 ms after --start-at/);
});

test('shard: every index belongs to exactly one shard, and the counts add up', () => {
  for (let n = 1; n <= 5; n++) {
    for (const total of [0, 1, 2, 7, 100, 101]) {
      const shards = Array.from({ length: n }, (_, i) => ({ index: i, count: n }));
      assert.equal(shards.reduce((s, sh) => s + ownedCount(sh, total), 0), total, `N=${n} total=${total}`);
      for (let k = 0; k < total; k++) assert.equal(shards.filter((sh) => owns(sh, k)).length, 1);
      for (const sh of shards) assert.ok(ownedIndices(sh, total).every((k) => owns(sh, k) && k < total));
    }
  }
});

const SPECS: Record<string, ScheduleSpec> = {
  constant: shapeSpec('constant', 200, 3),
  ramp: shapeSpec('ramp', 150, 4),
  step: shapeSpec('step', 120, 4),
  spike: shapeSpec('spike', 50, 5),
  poisson: { ...shapeSpec('constant', 180, 3), arrivals: 'poisson', seed: 7 },
  'poisson-ramp': { ...shapeSpec('ramp', 180, 3), arrivals: 'poisson', seed: 3 },
};

test('shard: the N shards\' (j, due time) pairs are exactly the single schedule\'s, for every shape, N = 1..5', () => {
  for (const [name, spec] of Object.entries(SPECS)) {
    const single = buildSchedule(spec);
    const expected = Array.from({ length: single.count }, (_, j) => `${j}@${single.offsetMs(j)}`);
    for (let n = 1; n <= 5; n++) {
      const union: string[] = [];
      for (let i = 0; i < n; i++) {
        // Each shard builds the schedule from the spec on its own host, as the generators do.
        const own = shardSchedule(buildSchedule(spec), single.count, { index: i, count: n });
        for (let k = 0; k < own.count; k++) {
          const j = own.globalIndex(k);
          assert.equal(j % n, i, `${name} N=${n}: shard ${i} sent request ${j}`);
          union.push(`${j}@${own.offsetMs(k)}`);
        }
      }
      assert.equal(union.length, expected.length, `${name} N=${n}: request count`);
      assert.deepEqual(union.sort(), [...expected].sort(), `${name} N=${n}: the union of the shards is the single schedule`);
    }
  }
});

test('shard: a shard\'s due times are non-decreasing, so the driver can send them in order', () => {
  const single = buildSchedule(SPECS['poisson']!);
  const own = shardSchedule(single, single.count, { index: 2, count: 3 });
  for (let k = 1; k < own.count; k++) assert.ok(own.offsetMs(k) >= own.offsetMs(k - 1));
});

test('shard: the driver sends only its shard\'s requests, by global index, and a late start is sent at once but not clean', async (t) => {
  const server = http.createServer((req, res) => {
    req.resume();
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const seen: number[] = [];
  const startAt = Date.now() + 300;
  const run = await runOpenLoop({ url, ratePerSecond: 100, durationSeconds: 0.5, shard: { index: 1, count: 3 }, startAtEpochMs: startAt, requestAt: (j) => (seen.push(j), {}) });
  assert.deepEqual(seen, [1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49]);
  assert.equal(run.report.requests.sent, 17);
  assert.deepEqual(run.report.shard, { index: 1, count: 3, start_at_ms: startAt });
  const late = await runOpenLoop({ url, ratePerSecond: 100, durationSeconds: 1, startAtEpochMs: Date.now() - 400 });
  assert.equal(late.report.requests.sent, 100, 'a late shard still sends all its requests');
  assert.equal(late.report.quality.clean, false);
  assert.ok(late.report.quality.notes.some((n) => /after --start-at/.test(n)), late.report.quality.notes.join('; '));
  await assert.rejects(runOpenLoop({ url, ratePerSecond: 100, durationSeconds: 1, startAtEpochMs: Date.now() - 1500 }), isShardError('start-passed'));
});
