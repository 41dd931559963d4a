/**
 * The gate on the default profile's shape (5 repetitions): instruction counts judged by the count
 * rule, wall-time rows only when their repetitions can reach the corrected level, an
 * `inconclusive` outcome (exit 4) when nothing was judged, and warnings for unjudged rows that
 * moved the wrong way beyond their floor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareResults, OUTCOME_EXIT_CODES, taroneFamilyLevel } from '../../src/harness/statistics/compare.js';
import { formatComparison } from '../../src/harness/statistics/compare-format.js';
import { noisySamples, seededRandom, syntheticResult, type SyntheticBenchmark } from '../../src/harness/statistics/compare-synthetic.js';
import { minimumPValue } from '../../src/harness/statistics/significance.js';
import { main as compareMain } from '../../scripts/compare.js';
import { main as nightlyMain } from '../../scripts/nightly.js';

const COUNT = { unit: 'instructions/op', better: 'lower' as const };

/** Counts around `median` with a relative spread of about `spread` (CodSpeed-like: ~0.1%). */
function counts(random: () => number, median: number, spread = 0.001, n = 5): number[] {
  return Array.from({ length: n }, () => Math.round(median * (1 + spread * (2 * random() - 1))));
}

/** The default profile's shape: 6 count rows and 40 wall-time rows (ops/s), 5 repetitions each. */
function defaultProfileRun(random: () => number, o: { slowCount?: string; slowWall?: string; wallCv?: number; drift?: number } = {}): ReturnType<typeof syntheticResult> {
  const drift = (o.drift ?? 0.05) * (2 * random() - 1);
  const benchmarks: SyntheticBenchmark[] = [];
  for (let i = 0; i < 6; i++) {
    const id = `instr/op${i}`;
    benchmarks.push({ id, ...COUNT, samples: counts(random, 2e5 * (i + 1) * (id === o.slowCount ? 1.1 : 1) * (1 + drift / 100)) });
  }
  for (let i = 0; i < 40; i++) {
    const id = `wall/op${i}`;
    benchmarks.push({ id, samples: noisySamples({ n: 5, median: 1000 * (i + 1) * (id === o.slowWall ? 0.8 : 1), cv: o.wallCv ?? 0.03, random, runOffset: drift }) });
  }
  return syntheticResult({ benchmarks });
}

const verdictOf = (c: ReturnType<typeof compareResults>, id: string): string => c.rows.find((r) => r.id === id)!.verdict;

test('count rule: +10% with every sample on one side regresses, −10% improves, a shift within the spread does not', () => {
  const random = seededRandom(1);
  const base = syntheticResult({
    benchmarks: [
      { id: 'instr/slow', ...COUNT, samples: counts(random, 209_000) },
      { id: 'instr/fast', ...COUNT, samples: counts(random, 436_000) },
      { id: 'instr/same', ...COUNT, samples: counts(random, 300_000) },
    ],
  });
  const head = syntheticResult({
    benchmarks: [
      { id: 'instr/slow', ...COUNT, samples: counts(random, 209_000 * 1.1) },
      { id: 'instr/fast', ...COUNT, samples: counts(random, 436_000 * 0.9) },
      { id: 'instr/same', ...COUNT, samples: counts(random, 300_000 * 1.0005) },
    ],
  });
  const c = compareResults(base, head);
  assert.equal(verdictOf(c, 'instr/slow'), 'regressed');
  assert.equal(verdictOf(c, 'instr/fast'), 'improved');
  assert.equal(verdictOf(c, 'instr/same'), 'unchanged');
  assert.equal(c.outcome, 'regression');
  const slow = c.rows.find((r) => r.id === 'instr/slow')!;
  assert.equal(slow.rule, 'count');
  assert.equal(slow.floorPct, 2, 'floor = the 2% minimum when 2 × CV is smaller');
  assert.ok(Math.abs(slow.changePct! - 10) < 0.3, `change ${slow.changePct}`);
  assert.equal(c.familySize, 0, 'counts are not part of the rank-test family');
});

test('count rule: a +10% median shift with samples on both sides is not a regression', () => {
  // base has one sample above the head's: not every head sample is worse; the change is beyond the floor
  const base = syntheticResult({ benchmarks: [{ id: 'instr/mixed', ...COUNT, samples: [1000, 1000, 1000, 1000, 1105] }] });
  const head = syntheticResult({ benchmarks: [{ id: 'instr/mixed', ...COUNT, samples: [1100, 1100, 1100, 1100, 1100] }] });
  const c = compareResults(base, head);
  const row = c.rows[0]!;
  assert.ok(Math.abs(row.changePct!) > row.floorPct!, `change ${row.changePct} beyond floor ${row.floorPct}`);
  assert.equal(row.verdict, 'unchanged');
  assert.match(row.notes.join(' '), /overlap/);
  assert.equal(c.outcome, 'no-regression');
});

test('family level: Tarone picks the level from the sample sizes, and the note states it without contradiction', () => {
  const p5 = minimumPValue(5, 5);
  assert.equal(taroneFamilyLevel(Array(40).fill(p5), 0.05), 0.05 / 7);
  assert.equal(taroneFamilyLevel(Array(4).fill(p5), 0.05), 0.05 / 4);
  assert.equal(taroneFamilyLevel([], 0.05), 0.05);
  const c = compareResults(defaultProfileRun(seededRandom(2)), defaultProfileRun(seededRandom(3)));
  assert.equal(c.familySize, 0);
  assert.equal(c.familyLevel, 0.05 / 7);
  const row = c.rows.find((r) => r.id === 'wall/op0')!;
  assert.equal(row.verdict, 'too-few-samples');
  const note = row.notes.join(' ');
  const m = /smallest possible p ([\d.e-]+) is not below ([\d.e-]+) \(alpha 0\.05 \/ (\d+)/.exec(note);
  assert.ok(m, note);
  const [smallest, level, divisor] = [Number(m[1]), Number(m[2]), Number(m[3])];
  assert.ok(smallest >= level, `the note must not contradict itself: ${note}`);
  assert.ok(Math.abs(level - c.familyLevel) / c.familyLevel < 0.01, `the note states the level actually used: ${note}`);
  assert.equal(divisor, 7);
  assert.match(note, /\d+ repetitions per side/);
});

test('inconclusive: nothing judged is neither a pass nor a regression; it says why and what to run (exit 4)', (t) => {
  const random = seededRandom(4);
  const wallOnly = (): ReturnType<typeof syntheticResult> =>
    syntheticResult({ benchmarks: Array.from({ length: 40 }, (_, i) => ({ id: `wall/op${i}`, samples: noisySamples({ n: 5, median: 1000, cv: 0.03, random }) })) });
  const base = wallOnly();
  const head = wallOnly();
  const c = compareResults(base, head);
  assert.equal(c.outcome, 'inconclusive');
  assert.equal(c.regressed, false);
  assert.match(c.inconclusive!.reason, /no row could be judged \(40 too-few-samples\)/);
  assert.ok(c.inconclusive!.advice.some((a) => a.includes('--profile ci')), c.inconclusive!.advice.join('\n'));
  assert.ok(c.inconclusive!.advice.some((a) => a.includes('instr/')), 'no count rows: suggests the instruction counts');
  const table = formatComparison(c, 'table');
  assert.match(table, /^INCONCLUSIVE: 0 regressed/m);
  assert.doesNotMatch(table, /no regression/);
  assert.match(formatComparison(c, 'md'), /\*\*Inconclusive\*\*/);
  assert.equal(JSON.parse(formatComparison(c, 'json')).outcome, 'inconclusive');

  const dir = mkdtempSync(join(tmpdir(), 'sigload-gate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, value: unknown): string => (writeFileSync(join(dir, name), JSON.stringify(value)), join(dir, name));
  let stdout = '';
  t.mock.method(process.stdout, 'write', (s: string) => ((stdout += s), true));
  t.mock.method(console, 'error', () => {});
  assert.equal(OUTCOME_EXIT_CODES.inconclusive, 4);
  assert.equal(compareMain([write('a.json', base), write('b.json', head)]), 4);
  assert.match(stdout, /INCONCLUSIVE/);
  // one judged row (counts) makes it a pass again
  const withCount = (f: ReturnType<typeof syntheticResult>): ReturnType<typeof syntheticResult> =>
    syntheticResult({ benchmarks: [...f.benchmarks.map((b) => ({ id: b.id, samples: b.samples })), { id: 'instr/x', ...COUNT, samples: [1000, 1000, 1001, 1000, 1000] }] });
  assert.equal(compareMain([write('c.json', withCount(base)), write('d.json', withCount(head))]), 0);
  let help = '';
  t.mock.method(console, 'log', (s: string) => void (help += s));
  assert.equal(compareMain(['--help']), 0);
  assert.match(help, /4 inconclusive/);
});

test('warning: an unjudged wall-time row that moved the wrong way beyond its floor is shown in table, md and json', () => {
  const random = seededRandom(5);
  const base = defaultProfileRun(random, { drift: 0 });
  const head = defaultProfileRun(random, { drift: 0, slowWall: 'wall/op3' });
  // the same row faster in head is not a warning
  const faster = syntheticResult({ benchmarks: base.benchmarks.map((b) => ({ id: b.id, unit: b.unit, better: b.better, samples: b.id === 'wall/op5' ? b.samples.map((x) => x * 1.3) : b.samples })) });
  const c = compareResults(base, head);
  const row = c.rows.find((r) => r.id === 'wall/op3')!;
  assert.equal(row.verdict, 'too-few-samples');
  assert.ok(row.warning, 'warning set');
  assert.deepEqual(c.warnings.map((w) => w.id), ['wall/op3']);
  assert.equal(c.outcome, 'no-regression', 'counts were judged; the warning does not gate');
  const table = formatComparison(c, 'table');
  assert.match(table, /^WARNING: 1 row\(s\) moved the wrong way/m);
  assert.match(table, /wall\/op3 .*too few samples ⚠ warning/);
  assert.match(table, /1 warning\(s\)/);
  const md = formatComparison(c, 'md');
  assert.match(md, /> \[!WARNING\]\n> 1 row\(s\) moved the wrong way/);
  assert.match(md, /> - `wall\/op3`: -2\d\.\d% \(worse\) beyond its/);
  const json = JSON.parse(formatComparison(c, 'json'));
  assert.equal(json.warnings[0].id, 'wall/op3');
  assert.equal(compareResults(base, faster).warnings.length, 0);
});

test('the nightly job summary carries the warning and the outcome', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-gate-nightly-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  t.mock.method(console, 'error', () => {});
  t.mock.method(process.stdout, 'write', () => true);
  const random = seededRandom(6);
  const write = (name: string, value: unknown): string => (writeFileSync(join(dir, name), JSON.stringify(value)), join(dir, name));
  const base = write('base.json', defaultProfileRun(random, { drift: 0 }));
  const head = write('head.json', defaultProfileRun(random, { drift: 0, slowWall: 'wall/op7' }));
  const summary = join(dir, 'summary.md');
  assert.equal(await nightlyMain(['--head', head, '--baseline', base, '--out-dir', join(dir, 'out')], { GITHUB_STEP_SUMMARY: summary }), 0);
  assert.match(readFileSync(summary, 'utf8'), /\[!WARNING\][^]*`wall\/op7`/);
});

test('synthetic A/A on the default profile shape: ≤ 5% false alarms; a 10% count regression caught in ≥ 95% (300 seeded trials each)', () => {
  const random = seededRandom(42);
  const trials = 300;
  let falseAlarms = 0;
  let inconclusive = 0;
  for (let t = 0; t < trials; t++) {
    const c = compareResults(defaultProfileRun(random), defaultProfileRun(random));
    if (c.outcome === 'regression') falseAlarms++;
    if (c.outcome === 'inconclusive') inconclusive++;
  }
  assert.ok(falseAlarms / trials <= 0.05, `A/A false alarms ${falseAlarms}/${trials}`);
  assert.equal(inconclusive, 0, 'the count rows are judged at n = 5');
  let caught = 0;
  let other = 0;
  for (let t = 0; t < trials; t++) {
    const c = compareResults(defaultProfileRun(random), defaultProfileRun(random, { slowCount: 'instr/op2' }));
    if (verdictOf(c, 'instr/op2') === 'regressed') caught++;
    if (c.rows.some((r) => r.id !== 'instr/op2' && r.verdict === 'regressed')) other++;
  }
  assert.ok(caught / trials >= 0.95, `caught ${caught}/${trials}`);
  assert.ok(other / trials <= 0.05, `other rows flagged ${other}/${trials}`);
});
