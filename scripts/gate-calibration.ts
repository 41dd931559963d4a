/**
 * node dist/scripts/gate-calibration.js [--profile ci] [--filter id,id,…] [--inject <id>] [--fraction 0.10]
 *   [--backend noble] [--cycles 40] [--jobs 1] [--budget-minutes 20] [--out-dir results/calibration]
 *   [--alpha a] [--min-change pct] [--noise-k k] [--max-cv pct] [--from <earlier out-dir>]
 *
 * --from re-analyses the runs an earlier calibration saved (other compare options, no benchmarking).
 * Proves the gate on this machine with the real bench. Each cycle runs the bench three times:
 *   A   this commit
 *   B   this commit with the test-only switch SIGLOAD_INJECT_SLOWDOWN=<inject>:<fraction>
 *   A'  this commit again
 * and makes two trials: A/A = compare(A, A') — the two clean runs straddle B, so they are as far
 * apart in time as a nightly pair can be on a busy machine — and injected = compare(A, B).
 * A/A passes when no benchmark is flagged regressed; injected passes when the slowed benchmark is.
 * Prints trial counts, rates with Wilson 95% intervals, the verdict mix, and writes the same as JSON.
 * --jobs n runs n cycles at once: only for benchmarks whose figures do not depend on load
 * (the `instr/` instruction counts); wall-time benchmarks must keep the default 1.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compareResults, type CompareOptions, type Comparison, type Verdict } from '../src/harness/statistics/compare.js';
import type { ResultFile } from '../src/harness/result/result.js';
import { readResultFile } from '../src/harness/result/schema.js';
import { median } from '../src/harness/statistics/stats.js';

const BENCH = fileURLToPath(new URL('./bench.js', import.meta.url));

export const DEFAULT_FILTER = [
  'crypto/x25519/agree/noble',
  'crypto/sha256/1KiB/noble',
  'crypto/hmac-sha256/64B/noble',
  'crypto/aes256-gcm/encrypt/160B/noble',
  'signal/ratchet/encrypt/160B/noble',
];

export interface RateEstimate {
  trials: number;
  hits: number;
  rate: number;
  /** Wilson score 95% interval of the rate. */
  wilson95: [number, number];
}

export function wilson(hits: number, trials: number, z = 1.959963984540054): RateEstimate {
  if (trials === 0) return { trials, hits, rate: Number.NaN, wilson95: [0, 1] };
  const p = hits / trials;
  const denom = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denom;
  return { trials, hits, rate: p, wilson95: [Math.max(0, centre - half), Math.min(1, centre + half)] };
}

interface Calibration {
  machine: { cpu: string; cores: number; node: string; load_average_start: number[] };
  settings: { profile: string; filter: string[]; inject: string; fraction: number; backend: string; compare: CompareOptions };
  cycles: number;
  seconds: number;
  aa: RateEstimate & { flagged_ids: Record<string, number> };
  aa_all_pairs: RateEstimate;
  injected: RateEstimate & { other_flagged: number; change_pct: number[] };
  verdicts: { aa: Partial<Record<Verdict, number>>; injected_target: Partial<Record<Verdict, number>> };
  cv_pct: Record<string, { median: number; max: number }>;
}

function bench(profile: string, filter: string[], backend: string, out: string, inject?: string): Promise<ResultFile> {
  const env = { ...process.env };
  delete env['SIGLOAD_INJECT_SLOWDOWN'];
  if (inject) env['SIGLOAD_INJECT_SLOWDOWN'] = inject;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, '--profile', profile, '--backend', backend, '--filter', filter.join(','), '--out', out], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench failed (exit ${code}): ${stderr.slice(-2000)}`));
      try {
        resolve(readResultFile(out));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function tally(into: Partial<Record<Verdict, number>>, v: Verdict): void {
  into[v] = (into[v] ?? 0) + 1;
}

const pct = (r: RateEstimate): string => `${(r.rate * 100).toFixed(1)}% [${(r.wilson95[0] * 100).toFixed(1)}, ${(r.wilson95[1] * 100).toFixed(1)}]`;

/** Wall-time CVs need one decimal; instruction counts' are hundredths of a percent. */
const cvText = (pctValue: number): string => pctValue.toFixed(pctValue < 1 ? 3 : 1);

export function formatCalibration(c: Calibration): string {
  const rows = [
    ['A/A (disjoint pairs)', String(c.aa.trials), `${c.aa.hits} flagged`, pct(c.aa), '<= 5%', c.aa.rate <= 0.05 ? 'met' : 'MISSED'],
    ['A/A (all pairs of clean runs)', String(c.aa_all_pairs.trials), `${c.aa_all_pairs.hits} flagged`, pct(c.aa_all_pairs), '<= 5%', c.aa_all_pairs.rate <= 0.05 ? 'met' : 'MISSED'],
    [`injected ${(c.settings.fraction * 100).toFixed(0)}% (${c.settings.inject})`, String(c.injected.trials), `${c.injected.hits} caught`, pct(c.injected), '>= 95%', c.injected.rate >= 0.95 ? 'met' : 'MISSED'],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length), ['trial', 'trials', 'outcome', 'rate [Wilson 95%]', 'goal', ''][i]!.length));
  const line = (r: string[]): string => r.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  const cv = Object.entries(c.cv_pct)
    .map(([id, s]) => `  ${id}: median CV ${cvText(s.median)}%, max ${cvText(s.max)}%`)
    .join('\n');
  return [
    `gate calibration on ${c.machine.cpu} (${c.machine.cores} cores, Node ${c.machine.node}), ${c.cycles} cycles in ${(c.seconds / 60).toFixed(1)} min, profile ${c.settings.profile}`,
    line(['trial', 'trials', 'outcome', 'rate [Wilson 95%]', 'goal', '']),
    ...rows.map(line),
    `injected: other benchmarks flagged in ${c.injected.other_flagged} trial(s); median measured change of the slowed benchmark ${median(c.injected.change_pct).toFixed(1)}%`,
    `verdicts A/A: ${JSON.stringify(c.verdicts.aa)}; slowed benchmark: ${JSON.stringify(c.verdicts.injected_target)}`,
    'per-run CV of the repetitions:',
    cv,
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      profile: { type: 'string', default: 'ci' },
      filter: { type: 'string' },
      inject: { type: 'string' },
      fraction: { type: 'string', default: '0.10' },
      backend: { type: 'string', default: 'noble' },
      cycles: { type: 'string', default: '40' },
      jobs: { type: 'string', default: '1' },
      'budget-minutes': { type: 'string', default: '20' },
      'out-dir': { type: 'string', default: 'results/calibration' },
      alpha: { type: 'string' },
      'min-change': { type: 'string' },
      'noise-k': { type: 'string' },
      'max-cv': { type: 'string' },
      from: { type: 'string' },
    },
  });
  const filter = values.filter ? values.filter.split(',') : DEFAULT_FILTER;
  const inject = values.inject ?? filter[filter.length - 1]!;
  const fraction = Number(values.fraction);
  const cycles = Number(values.cycles);
  const jobs = Number(values.jobs);
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new Error(`--jobs must be a positive integer, got ${values.jobs}`);
  const budgetMs = Number(values['budget-minutes']) * 60_000;
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const compare: CompareOptions = { alpha: num(values.alpha), minChangePct: num(values['min-change']), noiseMultiplier: num(values['noise-k']), maxCvPct: num(values['max-cv']) };
  const outDir = resolve(values['out-dir']);
  mkdirSync(join(outDir, 'runs'), { recursive: true });
  const started = Date.now();

  const cleanRuns: ResultFile[] = [];
  const aaTrials: Comparison[] = [];
  const injectedTrials: Comparison[] = [];
  let done = 0;
  let failures = 0;
  let next = 0;
  let savedRunsLeft = true;
  /** One cycle: its three runs, from disk (--from) or benchmarked; undefined when a saved cycle is incomplete. */
  const cycleRuns = async (i: number): Promise<[ResultFile, ResultFile, ResultFile] | undefined> => {
    if (values.from) {
      // Re-analyse saved runs with other compare options (no benchmarking).
      const at = (suffix: string): string => join(resolve(values.from!), 'runs', `${i}-${suffix}.json`);
      if (!existsSync(at('a'))) {
        savedRunsLeft = false;
        return undefined;
      }
      if (!existsSync(at('b')) || !existsSync(at('a2'))) return undefined;
      return [readResultFile(at('a')), readResultFile(at('b')), readResultFile(at('a2'))];
    }
    const a = await bench(values.profile, filter, values.backend, join(outDir, 'runs', `${i}-a.json`));
    const b = await bench(values.profile, filter, values.backend, join(outDir, 'runs', `${i}-b.json`), `${inject}:${fraction}`);
    const a2 = await bench(values.profile, filter, values.backend, join(outDir, 'runs', `${i}-a2.json`));
    return [a, b, a2];
  };
  let running = 0;
  const worker = async (): Promise<void> => {
    while (done + running < cycles && savedRunsLeft && Date.now() - started < budgetMs) {
      const i = next++;
      let runs: [ResultFile, ResultFile, ResultFile] | undefined;
      running++;
      try {
        runs = await cycleRuns(i);
      } catch (err) {
        // One failed bench drops its cycle (e.g. a shared tree rebuilt mid-run); three in a row end the calibration.
        if (++failures >= 3) throw err;
        process.stderr.write(`cycle skipped: ${(err as Error).message.split('\n')[0]}\n`);
        continue;
      } finally {
        running--;
      }
      if (runs === undefined) continue;
      failures = 0;
      const [a, b, a2] = runs;
      cleanRuns.push(a, a2);
      aaTrials.push(compareResults(a, a2, compare));
      injectedTrials.push(compareResults(a, b, compare));
      done++;
      const aaFlagged = aaTrials.filter((c) => c.regressed).length;
      const caught = injectedTrials.filter((c) => c.rows.find((r) => r.id === inject)?.verdict === 'regressed').length;
      process.stderr.write(`cycle ${done}: A/A flagged ${aaFlagged}/${done}, injected caught ${caught}/${done} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    }
  };
  await Promise.all(Array.from({ length: values.from ? 1 : jobs }, worker));

  let allPairs = 0;
  let allPairsFlagged = 0;
  for (let i = 0; i < cleanRuns.length; i++) {
    for (let j = i + 1; j < cleanRuns.length; j++) {
      allPairs++;
      if (compareResults(cleanRuns[i]!, cleanRuns[j]!, compare).regressed) allPairsFlagged++;
    }
  }
  const flaggedIds: Record<string, number> = {};
  const aaVerdicts: Partial<Record<Verdict, number>> = {};
  for (const c of aaTrials) {
    for (const r of c.rows) {
      tally(aaVerdicts, r.verdict);
      if (r.verdict === 'regressed') flaggedIds[r.id] = (flaggedIds[r.id] ?? 0) + 1;
    }
  }
  const targetVerdicts: Partial<Record<Verdict, number>> = {};
  const changes: number[] = [];
  let otherFlagged = 0;
  for (const c of injectedTrials) {
    const row = c.rows.find((r) => r.id === inject);
    if (row) {
      tally(targetVerdicts, row.verdict);
      if (row.changePct !== undefined) changes.push(row.changePct);
    }
    if (c.rows.some((r) => r.id !== inject && r.verdict === 'regressed')) otherFlagged++;
  }
  const cvs: Record<string, number[]> = {};
  for (const run of cleanRuns) for (const b of run.benchmarks) (cvs[b.id] ??= []).push(b.summary.cv * 100);
  const first = cleanRuns[0];
  const result: Calibration = {
    machine: {
      cpu: first?.environment.cpu.model ?? 'unknown',
      cores: first?.environment.cpu.cores ?? 0,
      node: first?.environment.node_version ?? process.version,
      load_average_start: first?.environment.load_average ?? [],
    },
    settings: { profile: values.profile, filter, inject, fraction, backend: values.backend, compare },
    cycles: done,
    seconds: (Date.now() - started) / 1000,
    aa: { ...wilson(aaTrials.filter((c) => c.regressed).length, aaTrials.length), flagged_ids: flaggedIds },
    aa_all_pairs: wilson(allPairsFlagged, allPairs),
    injected: {
      ...wilson(injectedTrials.filter((c) => c.rows.find((r) => r.id === inject)?.verdict === 'regressed').length, injectedTrials.length),
      other_flagged: otherFlagged,
      change_pct: changes,
    },
    verdicts: { aa: aaVerdicts, injected_target: targetVerdicts },
    cv_pct: Object.fromEntries(Object.entries(cvs).map(([id, xs]) => [id, { median: median(xs), max: Math.max(...xs) }])),
  };
  const text = formatCalibration(result);
  console.log(text);
  writeFileSync(join(outDir, 'calibration.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(outDir, 'calibration.txt'), text + '\n');
  console.error(`gate-calibration: wrote ${join(outDir, 'calibration.json')}`);
  return result.aa.rate <= 0.05 && result.injected.rate >= 0.95 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`gate-calibration: ${(err as Error).message}`);
      process.exitCode = 2;
    },
  );
}
