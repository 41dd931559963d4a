/**
 * Load anchors: ratios of medians of same-run samples, carrying the quality of their inputs, and
 * the result schema accepting anchors with and without that quality (files written before it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAnchor } from '../../src/harness/load/anchor.js';
import { median } from '../../src/harness/statistics/stats.js';
import { mergeQuality } from '../../src/harness/load/generator-guard.js';
import { validateResult } from '../../src/harness/result/schema.js';
import type { ResultFile } from '../../src/harness/result/result.js';

test('median: odd, even, unsorted, empty', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('loadAnchor: ratio and goal, both directions', () => {
  const up = loadAnchor({ id: 'a', ours: 60, theirs: 100, unit: 'req/s', goal: { op: '>=', value: 0.5 }, inputs: [] });
  assert.equal(up.ratio, 0.6);
  assert.equal(up.met, true);
  assert.deepEqual(up.quality, { clean: true, notes: [] });
  const down = loadAnchor({ id: 'b', ours: 50, theirs: 10, unit: 'ms', goal: { op: '<=', value: 4 }, inputs: [] });
  assert.equal(down.ratio, 5);
  assert.equal(down.met, false);
  const blocked = loadAnchor({ id: 'c', ours: 1, theirs: 1, unit: 'x', goal: { op: '<=', value: 2 }, inputs: [], alsoRequired: false });
  assert.equal(blocked.met, false, 'an extra condition can keep a goal unmet');
});

test('loadAnchor: an anchor of unclean figures is not clean and says why', () => {
  const a = loadAnchor({
    id: 'server-p99-at-70pct-capacity-vs-bare-http',
    ours: 900,
    theirs: 10,
    unit: 'ms',
    goal: { op: '<=', value: 4 },
    inputs: [{ clean: true, notes: [] }, { clean: false, notes: ['generator saturated'] }],
    notes: ["offered rate above the server's capacity"],
  });
  assert.equal(a.quality?.clean, false);
  assert.deepEqual(a.quality?.notes, ['generator saturated', "offered rate above the server's capacity"]);
  const onlyNote = loadAnchor({ id: 'x', ours: 1, theirs: 1, unit: 'x', goal: { op: '>=', value: 1 }, inputs: [{ clean: true, notes: [] }], notes: ['why'] });
  assert.equal(onlyNote.quality?.clean, false, 'a note alone makes it unclean');
});

test('mergeQuality: repeated notes of several repetitions appear once', () => {
  assert.deepEqual(mergeQuality({ clean: false, notes: ['n'] }, { clean: false, notes: ['n'] }, { clean: true, notes: [] }), { clean: false, notes: ['n'] });
});

function resultWith(anchor: Record<string, unknown>): ResultFile {
  return {
    schema_version: 1,
    run: { id: 'r', started_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:01:00.000Z', profile: 'smoke', filters: [], argv: [] },
    environment: {
      git: { commit: 'abc', branch: 'main', dirty: false },
      node_version: 'v20.20.0',
      v8_version: '11.3',
      os: { platform: 'linux', release: '6.1', arch: 'x64' },
      cpu: { model: 'Test CPU', cores: 2, speed_mhz: 2000 },
      memory_bytes: 1e9,
      load_average: [0.1, 0.2, 0.3],
      crypto: {},
      anchor_versions: {},
    },
    benchmarks: [],
    anchors: [anchor as unknown as ResultFile['anchors'][number]],
    checks: [],
  };
}

test('result schema: anchors with quality validate, old anchors without it still do, bad quality is refused', () => {
  const base = { id: 'server-send-vs-bare-http', ratio: 0.5, ours: 1, theirs: 2, unit: 'req/s', goal: { op: '>=', value: 0.5 }, met: true };
  assert.doesNotThrow(() => validateResult(resultWith(base)));
  assert.doesNotThrow(() => validateResult(resultWith({ ...base, quality: { clean: false, notes: ['generator saturated'] } })));
  assert.throws(() => validateResult(resultWith({ ...base, quality: { clean: 'no', notes: [] } })));
  assert.throws(() => validateResult(resultWith({ ...base, quality: { clean: true } })));
});

test('loadAnchor without a goal is reported, neither met nor missed', () => {
  const a = loadAnchor({ id: 'server-cpu-per-inbound-vs-bare', ours: 300, theirs: 25, unit: 'µs/request', inputs: [{ clean: true, notes: [] }] });
  assert.equal(a.ratio, 12);
  assert.equal(a.goal, undefined);
  assert.equal(a.met, undefined);
  assert.deepEqual(a.quality, { clean: true, notes: [] });
});
