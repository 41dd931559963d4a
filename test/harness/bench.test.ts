/**
 * `node dist/scripts/bench.js` end to end: --help, bad options, --list/--filter, the test-only
 * slowdown mark, and the smoke profile running every registered suite into a file that validates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUITES } from '../../bench/suites.js';
import { readResultFile, type RunInfoWithExtras } from '../../src/harness/result/schema.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/bench.js', import.meta.url));

function bench(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, SIGLOAD_INJECT_SLOWDOWN: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sigload-bench-'));
}

test('bench --help prints usage and exits 0', () => {
  const r = bench(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: npm run bench/);
  for (const option of ['--profile', '--filter', '--backend', '--workers', '--out', '--list']) assert.ok(r.stdout.includes(option), option);
});

test('bench refuses bad options with exit 2 and a clear message', () => {
  const r = bench(['--profile', 'turbo']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--profile: unknown profile 'turbo' \(expected one of smoke, quick, ci, full\)/);
  const w = bench(['--workers', 'lots']);
  assert.equal(w.code, 2);
  assert.match(w.stderr, /--workers/);
  const u = bench(['--frobnicate']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown option '--frobnicate'/);
  const s = bench(['--list'], { SIGLOAD_INJECT_SLOWDOWN: 'nofraction' });
  assert.equal(s.code, 2);
  assert.match(s.stderr, /SIGLOAD_INJECT_SLOWDOWN/);
});

test('bench --list honours --filter and --backend', () => {
  const all = bench(['--list', '--profile', 'smoke']);
  assert.equal(all.code, 0, all.stderr);
  const ids = all.stdout.trim().split('\n');
  assert.ok(ids.includes('crypto/sha256/1KiB/node'));
  assert.ok(ids.includes('signal/message/encrypt+decrypt/160B/node'));
  assert.ok(ids.some((id) => id.startsWith('pool/session-setup/')));
  assert.ok(ids.some((id) => id.startsWith('retention/sweep/memory/')));
  const some = bench(['--list', '--profile', 'smoke', '--filter', 'crypto/sha256', '--backend', 'noble']);
  assert.deepEqual(some.stdout.trim().split('\n').filter((l) => !l.includes('/*')), ['crypto/sha256/1KiB/noble']);
});

test('bench --filter restricts the ids measured; the slowdown switch marks the file', () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'filtered.json');
    const r = bench(['--profile', 'smoke', '--backend', 'node', '--filter', 'crypto/hmac-sha256,crypto/sha512', '--out', out], {
      SIGLOAD_INJECT_SLOWDOWN: 'crypto/sha512:0.5',
    });
    assert.equal(r.code, 0, r.stderr);
    const result = readResultFile(out);
    assert.deepEqual(result.benchmarks.map((b) => b.id).sort(), ['crypto/hmac-sha256/64B/node', 'crypto/sha512/1KiB/node']);
    assert.deepEqual(result.run.filters, ['crypto/hmac-sha256', 'crypto/sha512']);
    assert.deepEqual((result.run as RunInfoWithExtras).injected_slowdown, { pattern: 'crypto/sha512', fraction: 0.5 });
    const slowed = result.benchmarks.find((b) => b.id === 'crypto/sha512/1KiB/node')!;
    const normal = result.benchmarks.find((b) => b.id === 'crypto/hmac-sha256/64B/node')!;
    assert.equal(slowed.quality.clean, false);
    assert.ok(slowed.quality.notes.some((n) => n.includes('injected slowdown')));
    assert.equal(normal.quality.clean, true);
    assert.match(r.stdout, /TEST RUN: SIGLOAD_INJECT_SLOWDOWN/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench --profile smoke runs every suite and writes a file that validates', (t) => {
  const dir = tempDir();
  try {
    const out = join(dir, 'smoke.json');
    const started = Date.now();
    const r = bench(['--profile', 'smoke', '--out', out], {}, 600_000);
    const seconds = (Date.now() - started) / 1000;
    const result = readResultFile(out); // validates against results/result.schema.json
    assert.deepEqual((result.run as RunInfoWithExtras).failed_suites ?? [], [], 'no suite threw');
    // The exit status agrees with the file: 1 exactly when a check failed (checks belong to their suites' own tests).
    const failedChecks = result.checks.filter((c) => !c.passed);
    assert.equal(r.code, failedChecks.length > 0 ? 1 : 0, r.stderr.slice(-2000));
    for (const c of failedChecks) t.diagnostic(`failed check ${c.id}: ${c.detail}`);
    const harnessPrefixes = ['crypto/', 'signal/', 'libsignal/', 'micro/', 'pool/', 'retention/'];
    assert.deepEqual(failedChecks.filter((c) => harnessPrefixes.some((p) => c.id.startsWith(p))), [], 'micro, pool and retention checks pass');
    assert.equal(result.run.profile, 'smoke');
    // The instructions suite records nothing (and says why) where valgrind is missing.
    const valgrind = spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;
    for (const suite of SUITES) {
      if (suite.id === 'instructions' && !valgrind) continue;
      assert.ok(result.benchmarks.some((b) => b.suite === suite.id || b.suite.startsWith(`${suite.id}/`) || b.id.startsWith(`${suite.id}/`)), `suite ${suite.id} recorded benchmarks`);
    }
    const harnessSuites = new Set(['micro', 'pool', 'retention']);
    for (const b of result.benchmarks) {
      assert.equal(b.summary.n, b.samples.length);
      if (harnessSuites.has(b.suite)) assert.ok(b.samples.length >= 3, `${b.id}: at least 3 repetitions in smoke`);
      else if (b.samples.length < 3) {
        // other suites' own tests own their repetition counts; the runner notes it in quality.notes
        assert.ok(b.quality.notes.some((n) => n.includes('fewer than the profile')), `${b.id}: short repetitions are noted`);
        t.diagnostic(`${b.id}: ${b.samples.length} repetition(s), the issue asks for 3 in smoke`);
      }
    }
    const ids = new Set(result.benchmarks.map((b) => b.id));
    for (const id of ['crypto/x25519/agree/node', 'crypto/kyber1024/decapsulate/noble', 'signal/session-setup/160B/node', 'libsignal/message/encrypt+decrypt/160B', 'pool/session-setup/node/workers=1', 'retention/heap-per-message/memory']) {
      assert.ok(ids.has(id), `has ${id}`);
    }
    const anchors = new Set(result.anchors.map((a) => a.id));
    for (const id of ['message-vs-libsignal', 'session-setup-vs-libsignal', 'sweep-growth-1e5-to-1e6']) assert.ok(anchors.has(id), `anchor ${id}`);
    if (result.environment.cpu.cores >= 2) assert.ok(anchors.has('pool-scaling-2-workers'), 'anchor pool-scaling-2-workers');
    assert.equal(result.environment.anchor_versions['@signalapp/libsignal-client'], '0.103.0');
    assert.equal(result.environment.anchor_versions['libsignal-client-0.90'], '0.90.0');
    assert.ok(result.environment.crypto.node && Object.keys(result.environment.crypto.node).length > 0, 'node backend providers recorded');
    assert.match(r.stdout, /benchmark\s+median/);
    // Informational (never pass/fail on speed): the smoke profile is meant to take about a minute.
    t.diagnostic(`smoke profile took ${seconds.toFixed(1)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
