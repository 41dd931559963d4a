import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultFile } from '../../src/harness/result/result.js';
import { parseResult, readResultFile, ResultFileError, validateResult, writeResultFile } from '../../src/harness/result/schema.js';

function goodResult(): ResultFile {
  return {
    schema_version: 1,
    run: {
      id: '2026-01-01T00-00-00Z-abc',
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: '2026-01-01T00:01:00.000Z',
      profile: 'smoke',
      filters: [],
      argv: ['--profile', 'smoke'],
    },
    environment: {
      git: { commit: 'abc', branch: 'main', dirty: false },
      node_version: 'v20.20.0',
      v8_version: '11.3',
      os: { platform: 'linux', release: '6.1', arch: 'x64' },
      cpu: { model: 'Test CPU', cores: 2, speed_mhz: 2000 },
      memory_bytes: 1e9,
      load_average: [0.1, 0.2, 0.3],
      crypto: { node: { sha256: 'node:crypto' } },
      anchor_versions: { '@signalapp/libsignal-client': '0.90.0' },
    },
    benchmarks: [
      {
        id: 'crypto/sha256/1KiB/node',
        suite: 'micro',
        unit: 'ops/s',
        better: 'higher',
        params: { backend: 'node', ops_per_call: 20 },
        samples: [1, 2, 3],
        summary: { n: 3, median: 2, mean: 2, stddev: 1, cv: 0.5, ci95: [1, 3] },
        quality: { clean: true, notes: [] },
      },
    ],
    anchors: [{ id: 'message-vs-libsignal', ratio: 6, ours: 60, theirs: 10, unit: 'ops/s', goal: { op: '>=', value: 5 }, met: true }],
    checks: [{ id: 'x', passed: true, detail: 'ok' }],
  };
}

function rejects(value: unknown, pathPart: string, wordPart: string): void {
  assert.throws(
    () => validateResult(value),
    (err: unknown) => {
      assert.ok(err instanceof ResultFileError, 'a ResultFileError');
      assert.equal(err.kind, 'schema');
      assert.ok(err.message.includes(pathPart), `message names ${pathPart}: ${err.message}`);
      assert.ok(err.message.includes(wordPart), `message says ${wordPart}: ${err.message}`);
      return true;
    },
  );
}

test('schema: a good file validates and round-trips through write/read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-schema-'));
  try {
    const path = join(dir, 'nested', 'r.json');
    writeResultFile(path, goodResult());
    assert.deepEqual(readResultFile(path), goodResult());
    // the injected-slowdown mark and failed suites are part of the schema
    const marked = goodResult();
    Object.assign(marked.run, { injected_slowdown: { pattern: 'signal/message', fraction: 0.1 }, failed_suites: [{ suite: 'pool', error: 'x' }] });
    assert.doesNotThrow(() => validateResult(marked));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema: missing field is named with its path', () => {
  const r = goodResult() as unknown as { benchmarks: Record<string, unknown>[] };
  delete r.benchmarks[0]!.summary;
  rejects(r, '/benchmarks/0', "missing required property 'summary'");
});

test('schema: wrong type is named with its path and the expected type', () => {
  const r = goodResult() as unknown as { benchmarks: { samples: unknown[] }[] };
  r.benchmarks[0]!.samples[1] = 'fast';
  rejects(r, '/benchmarks/0/samples/1', 'expected number');
  const s = goodResult() as unknown as { environment: { git: { dirty: unknown } } };
  s.environment.git.dirty = 'yes';
  rejects(s, '/environment/git/dirty', 'expected boolean');
});

test('schema: bad enum, unknown property, wrong schema version', () => {
  const r = goodResult() as unknown as { run: { profile: string } };
  r.run.profile = 'turbo';
  rejects(r, '/run/profile', 'expected one of');
  const u = goodResult() as unknown as { benchmarks: Record<string, unknown>[] };
  u.benchmarks[0]!.speed = 1;
  rejects(u, '/benchmarks/0', "unexpected property 'speed'");
  const v = goodResult() as unknown as { schema_version: number };
  v.schema_version = 2;
  rejects(v, '/schema_version', 'expected 1');
});

test('schema: bad JSON and missing file have their own kinds', () => {
  assert.throws(() => parseResult('{"schema_version": 1,'), (e: unknown) => e instanceof ResultFileError && e.kind === 'invalid-json' && /not valid JSON/.test(e.message));
  assert.throws(() => readResultFile('/nonexistent/sigload.json'), (e: unknown) => e instanceof ResultFileError && e.kind === 'missing' && e.message.includes('/nonexistent/sigload.json'));
  const dir = mkdtempSync(join(tmpdir(), 'sigload-schema-'));
  try {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ nope');
    assert.throws(() => readResultFile(path), (e: unknown) => e instanceof ResultFileError && e.kind === 'invalid-json' && e.message.includes(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema: writing an invalid result is refused and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-schema-'));
  try {
    const path = join(dir, 'r.json');
    const r = goodResult() as unknown as { anchors: Record<string, unknown>[] };
    delete r.anchors[0]!.ratio;
    assert.throws(() => writeResultFile(path, r as unknown as ResultFile), (e: unknown) => e instanceof ResultFileError && e.kind === 'schema');
    assert.throws(() => readFileSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
