/**
 * The instructions suite (bench/instructions.ts): the callgrind dump parser on a fixture, the
 * work-based test-only slowdown, the gate on instruction-count-shaped data (ties, CV 0, a +10%
 * shift with tiny CV), and — when valgrind is installed — the real suite under the smoke
 * profile and the slowdown measured in instructions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CallgrindError, callgrindArgs, parseCallgrindDump, readDumpInstructions, valgrindVersion } from '../../bench/callgrind.js';
import type { InstructionJob } from '../../bench/instructions-child.js';
import { runInstructionChild } from '../../bench/instructions.js';
import { slowdownFor } from '../../src/harness/suite/slowdown.js';
import { compareResults } from '../../src/harness/statistics/compare.js';
import { syntheticResult } from '../../src/harness/statistics/compare-synthetic.js';
import { readResultFile } from '../../src/harness/result/schema.js';
import { median } from '../../src/harness/statistics/stats.js';

const FIXTURE = fileURLToPath(new URL('../../../test/bench/fixtures/callgrind-window.out', import.meta.url));
const BENCH = fileURLToPath(new URL('../../scripts/bench.js', import.meta.url));
const VALGRIND = valgrindVersion();
const NO_VALGRIND = VALGRIND === undefined ? 'valgrind is not installed (apt-get install valgrind): the instruction counts cannot be measured here' : false;

test('callgrind dump parser: totals, part and events of a window dump (fixture)', () => {
  assert.equal(readDumpInstructions(FIXTURE), 262589);
  const dump = parseCallgrindDump('# callgrind format\nversion: 1\npart: 7\nevents: Ir Dr Dw\nsummary: 1000 200\n\nfn=(1) f\n0 1000 200\n');
  assert.deepEqual(dump, { part: 7, events: ['Ir', 'Dr', 'Dw'], totals: { Ir: 1000, Dr: 200, Dw: 0 } });
  // no summary: the totals line at the end is used
  assert.equal(parseCallgrindDump('version: 1\nevents: Ir\nfn=(1) f\n0 5\ntotals: 5\n').totals['Ir'], 5);
  const kind = (text: string): string => {
    try {
      parseCallgrindDump(text);
    } catch (err) {
      assert.ok(err instanceof CallgrindError);
      return err.kind;
    }
    return 'parsed';
  };
  assert.equal(kind('{"not": "a dump"}'), 'not-a-dump');
  assert.equal(kind(''), 'not-a-dump');
  assert.equal(kind('# callgrind format\nevents: Ir\n'), 'no-totals');
  assert.equal(kind('# callgrind format\nevents: Ir\nsummary: 12.5\n'), 'bad-count');
  assert.equal(kind('# callgrind format\nevents: Ir\nsummary: -3\n'), 'bad-count');
});

test('callgrind arguments dump at every window marker into the given directory', () => {
  const args = callgrindArgs('/tmp/x');
  assert.ok(args.includes('--tool=callgrind'));
  assert.ok(args.includes('--dump-before=Builtins_ArrayPrototypeFindLast'));
  assert.ok(args.includes('--callgrind-out-file=/tmp/x/cg.%p'));
});

test('work-based slowdown: the operation runs once more on `fraction` of its calls, only for the matching id', async () => {
  const spec = { pattern: 'instr/signal/ratchet', fraction: 0.1 };
  let runs = 0;
  const op = (): number => ++runs;
  const slowed = slowdownFor('instr/signal/ratchet/encrypt/160B/node', spec).wrapWork(op);
  for (let i = 0; i < 10; i++) slowed();
  assert.equal(runs, 11, 'exactly one extra run in 10 calls at 0.10 (no floating-point shortfall)');
  for (let i = 0; i < 90; i++) slowed();
  assert.equal(runs, 110);
  runs = 0;
  const other = slowdownFor('instr/signal/message/encrypt+decrypt/160B/node', spec).wrapWork(op);
  for (let i = 0; i < 100; i++) other();
  assert.equal(runs, 100, 'another benchmark is not slowed');
  runs = 0;
  const big = slowdownFor('x', { pattern: 'x', fraction: 1.5 }).wrapWork(op);
  for (let i = 0; i < 4; i++) big();
  assert.equal(runs, 4 + 6, 'fractions above 1 give several extra runs');
  let asyncRuns = 0;
  const slowedAsync = slowdownFor('instr/signal/ratchet/x', spec).wrapWorkAsync(async () => ++asyncRuns);
  for (let i = 0; i < 20; i++) assert.equal(typeof (await slowedAsync()), 'number');
  assert.equal(asyncRuns, 22);
});

/** Instruction counts: integers, often identical within a process; this mimics two processes per side. */
function counts(base: number, n: number, spread: number[]): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(base * (1 + spread[i % spread.length]!)));
}

test('gate on instruction counts: identical samples (CV 0, all ties) are unchanged, +10% with tiny CV is regressed', () => {
  const ids = ['instr/a', 'instr/b', 'instr/c', 'instr/d'];
  const file = (shift: Record<string, number>, spread: number[]) =>
    syntheticResult({
      benchmarks: ids.map((id, i) => ({ id, unit: 'instructions/op', better: 'lower' as const, samples: counts(1e6 * (i + 1) * (shift[id] ?? 1), 10, spread) })),
    });
  // A/A with every sample equal on both sides: no NaN anywhere, verdict unchanged
  const same = compareResults(file({}, [0]), file({}, [0]));
  for (const row of same.rows) {
    assert.equal(row.verdict, 'unchanged', `${row.id}: ${row.notes.join('; ')}`);
    for (const x of [row.changePct, row.p, row.floorPct, row.base!.cvPct, row.head!.cvPct]) assert.ok(Number.isFinite(x), `${row.id}: finite figures`);
    assert.equal(row.rule, 'count');
    assert.equal(row.changePct, 0);
    assert.equal(row.p, 1);
  }
  assert.equal(same.regressed, false);
  // A/A with two processes per side (two distinct values, many ties across sides)
  const tied = compareResults(file({}, [0, 0.001]), file({}, [0.001, 0]));
  assert.ok(tied.rows.every((r) => r.verdict === 'unchanged'));
  // +10% on one benchmark, all else identical: regressed, and only that one
  const slowed = compareResults(file({}, [0]), file({ 'instr/c': 1.1 }, [0]));
  const verdicts = Object.fromEntries(slowed.rows.map((r) => [r.id, r.verdict]));
  assert.deepEqual(verdicts, { 'instr/a': 'unchanged', 'instr/b': 'unchanged', 'instr/c': 'regressed', 'instr/d': 'unchanged' });
  const row = slowed.rows.find((r) => r.id === 'instr/c')!;
  assert.ok(Math.abs(row.changePct! - 10) < 0.01, `change ${row.changePct}`);
  // +10% with a 0.3% spread inside each side: still regressed; -10% is improved
  const noisy = compareResults(file({}, [0, 0.003, -0.002, 0.001]), file({ 'instr/c': 1.1, 'instr/a': 0.9 }, [0.002, -0.003, 0, 0.001]));
  assert.equal(noisy.rows.find((r) => r.id === 'instr/c')!.verdict, 'regressed');
  assert.equal(noisy.rows.find((r) => r.id === 'instr/a')!.verdict, 'improved');
  assert.equal(noisy.rows.find((r) => r.id === 'instr/b')!.verdict, 'unchanged');
});

function runBench(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}


test('instructions suite under --profile smoke: schema-valid results with positive instruction counts', { skip: NO_VALGRIND, timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-instr-'));
  try {
    const out = join(dir, 'instr.json');
    // node backend only (bounded CPU time): noble adds two more benchmarks of the same kind
    const r = await runBench(['--profile', 'smoke', '--backend', 'node', '--filter', 'instr/', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const result = readResultFile(out); // validates against results/result.schema.json
    const ids = result.benchmarks.map((b) => b.id).sort();
    assert.deepEqual(ids, [
      'instr/retention/sweep/memory/total=1e4/expired=1000',
      'instr/signal/message/encrypt+decrypt/160B/node',
      'instr/signal/ratchet/encrypt/160B/node',
      'instr/signal/session-setup/160B/node',
      'instr/signal/spqr/epoch/node',
    ]);
    for (const b of result.benchmarks) {
      assert.equal(b.suite, 'instructions');
      assert.equal(b.unit, 'instructions/op');
      assert.equal(b.better, 'lower');
      assert.equal(b.samples.length, 3, `${b.id}: the smoke profile's 3 repetitions`);
      assert.ok(b.samples.every((x) => Number.isFinite(x) && x > 1000), `${b.id}: positive counts ${b.samples.join(', ')}`);
      assert.ok(b.quality.clean);
      t.diagnostic(`${b.id}: ${b.samples.map((x) => Math.round(x)).join(', ')} (CV ${(b.summary.cv * 100).toFixed(2)}%)`);
    }
    assert.ok(result.checks.some((c) => c.id.startsWith('instr/retention/sweep/deletes-exactly-expired') && c.passed));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('work-based slowdown under callgrind: 10% on one benchmark raises its count by 5..15% and leaves the other alone', { skip: NO_VALGRIND, timeout: 600_000 }, async (t) => {
  // One child run each, the same job but for the slowdown (counts depend on what ran before in the process).
  const ratchet = 'instr/signal/ratchet/encrypt/160B/node';
  const message = 'instr/signal/message/encrypt+decrypt/160B/node';
  const job = (slowdown: number): Omit<InstructionJob, 'outDir'> => ({
    samples: 1,
    benchmarks: [
      { id: ratchet, kind: 'ratchet-encrypt', backend: 'node', calls: 10, warmupCalls: 1000, slowdown },
      { id: message, kind: 'message', backend: 'node', calls: 10, warmupCalls: 1000, slowdown: 0 },
    ],
  });
  const [clean, slowed] = (await Promise.all([runInstructionChild(job(0), 4242), runInstructionChild(job(0.1), 4243)])).map((r) => r.samples);
  const change = (id: string): number => median(slowed.get(id)!) / median(clean.get(id)!) - 1;
  t.diagnostic(`ratchet ${(change(ratchet) * 100).toFixed(2)}%, message ${(change(message) * 100).toFixed(2)}%`);
  assert.ok(change(ratchet) > 0.05 && change(ratchet) < 0.15, `targeted benchmark ${(change(ratchet) * 100).toFixed(2)}% (want +5..15%)`);
  assert.ok(Math.abs(change(message)) < 0.02, `other benchmark ${(change(message) * 100).toFixed(2)}% (want within ±2%)`);
});

test('without valgrind the suite records nothing, says how to install it, and the run does not fail', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-instr-none-'));
  try {
    // a PATH with node but no valgrind
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const out = join(dir, 'none.json');
    const r = await runBench(['--profile', 'smoke', '--backend', 'node', '--filter', 'instr/', '--out', out], { PATH: bin });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /valgrind not found.*apt-get install valgrind/);
    assert.deepEqual(readResultFile(out).benchmarks, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
