/**
 * node dist/scripts/gate-proof.js --tree <worktree> --base <commit> --head <name>=<commit> [--head …]
 *   [--base-runs 3] [--head-runs 2] [--profile quick] [--filter <pattern>]… [--out-dir results/gate-proof] [--from <earlier out-dir>]
 *   [--alpha a] [--min-change pct] [--count-min-change pct] [--noise-k k] [--max-cv pct]
 *
 * Proves the everyday workflow against real code regressions: in a separate git worktree
 * (`--tree`, clean, node_modules present) it checks out the base commit and every head commit in
 * turn, builds it, and runs the bench exactly as a user would (`node dist/scripts/bench.js
 * --profile <p> --out …`), interleaved round by round (base, head 1, head 2, …, base, …) so load
 * drift falls on every side alike. Then it compares with this checkout's compare (the gate under
 * test), one trial per pair of distinct runs:
 *   A/A        every pair of base runs — a false alarm when the outcome is `regression`;
 *   regression every (base run, head run) of each head — caught when the outcome is `regression`.
 * Prints trial counts, outcomes, rates with Wilson 95% intervals, the rows that flagged, and the
 * wall time of every bench run; writes gate-proof.json. --from re-analyses the runs an earlier
 * proof saved (other compare options or a newer gate, no benchmarking).
 * Exit 0 when the goals (A/A ≤ 5%, every head ≥ 95%) are met, 1 otherwise, 2 on bad options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compareResults, type CompareOptions, type Comparison } from '../src/harness/statistics/compare.js';
import type { ResultFile } from '../src/harness/result/result.js';
import { readResultFile } from '../src/harness/result/schema.js';
import { exitCodeForCliError, UsageError } from '../src/harness/cli-errors.js';
import { COMPARE_CLI_OPTIONS, compareOptionsFrom, numberOption } from '../src/harness/statistics/compare-cli-options.js';
import { wilson, type RateEstimate } from './gate-calibration.js';

export const USAGE = `usage: node dist/scripts/gate-proof.js --tree <worktree> --base <commit> --head <name>=<commit> [--head …] [options]
  --base-runs <n>    bench runs of the base commit (default 3)
  --head-runs <n>    bench runs of each head commit (default 2)
  --profile <name>   bench profile (default quick, what npm run bench runs)
  --filter <pattern> passed to every bench run (repeatable); e.g. instr/ runs only the rows the
                     quick profile can judge (docs/compare.md, "Proof")
  --out-dir <dir>    runs and gate-proof.json (default results/gate-proof)
  --from <dir>       re-analyse the runs saved in an earlier out-dir (no --tree, --base, --head needed)
  --alpha, --min-change, --count-min-change, --noise-k, --max-cv   as for npm run compare
exit codes: 0 goals met, 1 a goal missed, 2 bad input`;

interface Trial {
  base: string;
  head: string;
  outcome: Comparison['outcome'];
  flagged: string[];
  warnings: string[];
}

interface ProofReport {
  profile: string;
  /** The bench's --filter patterns (empty: every suite, as npm run bench). */
  filters: string[];
  runs: { label: string; file: string; seconds?: number }[];
  aa: RateEstimate & { trials_detail: Trial[] };
  heads: Record<string, RateEstimate & { trials_detail: Trial[] }>;
}

function sh(cwd: string, command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${cwd} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
}

/** Checks out `commit` in the proof tree, builds it and runs the bench; returns the wall seconds of the bench. */
function benchAt(tree: string, commit: string, profile: string, filters: readonly string[], out: string): number {
  sh(tree, 'git', ['checkout', '--quiet', '--detach', commit]);
  sh(tree, 'npx', ['tsc', '-p', 'tsconfig.json']);
  const started = Date.now();
  sh(tree, process.execPath, ['dist/scripts/bench.js', '--profile', profile, ...filters.flatMap((f) => ['--filter', f]), '--out', out]);
  return (Date.now() - started) / 1000;
}

function trial(base: { label: string; file: ResultFile }, head: { label: string; file: ResultFile }, options: CompareOptions): Trial {
  const c = compareResults(base.file, head.file, options);
  return {
    base: base.label,
    head: head.label,
    outcome: c.outcome,
    flagged: c.rows.filter((r) => r.verdict === 'regressed').map((r) => `${r.id} ${r.changePct === undefined ? '' : `${r.changePct >= 0 ? '+' : ''}${r.changePct.toFixed(1)}%`}`),
    warnings: c.warnings.map((w) => w.id),
  };
}

const pct = (r: RateEstimate): string => `${(r.rate * 100).toFixed(1)}% [${(r.wilson95[0] * 100).toFixed(1)}, ${(r.wilson95[1] * 100).toFixed(1)}]`;

function outcomeMix(trials: Trial[]): string {
  const mix = new Map<string, number>();
  for (const t of trials) mix.set(t.outcome, (mix.get(t.outcome) ?? 0) + 1);
  return [...mix].map(([k, v]) => `${v} ${k}`).join(', ');
}

export function formatProof(r: ProofReport): string {
  const out = [`gate proof, profile ${r.profile}${r.filters.length ? `, --filter ${r.filters.join(' --filter ')}` : ''}: ${r.runs.length} bench runs`];
  for (const run of r.runs) out.push(`  ${run.label}: ${run.file}${run.seconds === undefined ? '' : `, bench ${(run.seconds / 60).toFixed(1)} min`}`);
  out.push(`A/A: ${r.aa.trials} trials, ${r.aa.hits} false alarm(s) = ${pct(r.aa)} (goal <= 5%): ${r.aa.rate <= 0.05 ? 'met' : 'MISSED'}; outcomes ${outcomeMix(r.aa.trials_detail)}`);
  for (const t of r.aa.trials_detail.filter((x) => x.outcome === 'regression')) out.push(`  false alarm ${t.base} vs ${t.head}: ${t.flagged.join(', ')}`);
  for (const [name, h] of Object.entries(r.heads)) {
    out.push(`${name}: ${h.trials} trials, ${h.hits} caught = ${pct(h)} (goal >= 95%): ${h.rate >= 0.95 ? 'met' : 'MISSED'}; outcomes ${outcomeMix(h.trials_detail)}`);
    const rows = new Map<string, number>();
    for (const t of h.trials_detail) for (const f of t.flagged) rows.set(f.split(' ')[0]!, (rows.get(f.split(' ')[0]!) ?? 0) + 1);
    out.push(`  rows flagged (trials): ${[...rows].map(([id, n]) => `${id} (${n})`).join(', ') || 'none'}`);
    const changes = h.trials_detail.flatMap((t) => t.flagged.map((f) => f.split(' ')[1])).filter((x) => x);
    if (changes.length) out.push(`  flagged changes: ${changes.join(' ')}`);
  }
  return out.join('\n');
}

export function main(argv: string[]): number {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        tree: { type: 'string' },
        base: { type: 'string' },
        head: { type: 'string', multiple: true },
        'base-runs': { type: 'string', default: '3' },
        'head-runs': { type: 'string', default: '2' },
        profile: { type: 'string', default: 'quick' },
        filter: { type: 'string', multiple: true },
        'out-dir': { type: 'string', default: 'results/gate-proof' },
        from: { type: 'string' },
        ...COMPARE_CLI_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const options: CompareOptions = compareOptionsFrom(values);
    const outDir = resolve(values['out-dir']);
    const runsDir = join(values.from ? resolve(values.from) : outDir, 'runs');
    const runs: ProofReport['runs'] = [];
    if (values.from) {
      if (!existsSync(runsDir)) throw new UsageError(`--from: ${runsDir} does not exist`);
      for (const name of readdirSync(runsDir).filter((n) => n.endsWith('.json')).sort()) runs.push({ label: name.replace(/-\d+\.json$/, ''), file: join(runsDir, name) });
    } else {
      if (!values.tree || !values.base || !values.head?.length) throw new UsageError('--tree, --base and at least one --head <name>=<commit> are needed (or --from)');
      const heads = values.head.map((h) => {
        const [name, commit] = h.split('=');
        if (!name || !commit || name === 'base') throw new UsageError(`--head expects <name>=<commit> (name not "base"), got ${JSON.stringify(h)}`);
        return { name, commit };
      });
      const baseRuns = numberOption('base-runs', values['base-runs'])!;
      const headRuns = numberOption('head-runs', values['head-runs'])!;
      const tree = resolve(values.tree);
      mkdirSync(runsDir, { recursive: true });
      // Round by round, every side once, so load drift falls on base and heads alike.
      for (let round = 0; round < Math.max(baseRuns, headRuns); round++) {
        const sides = [...(round < baseRuns ? [{ name: 'base', commit: values.base }] : []), ...(round < headRuns ? heads : [])];
        for (const side of sides) {
          const file = join(runsDir, `${side.name}-${round}.json`);
          console.error(`gate-proof: round ${round + 1}: ${side.name} (${side.commit}) -> ${file}`);
          const seconds = benchAt(tree, side.commit, values.profile, values.filter ?? [], file);
          runs.push({ label: side.name, file, seconds });
          console.error(`gate-proof: ${side.name} round ${round + 1}: bench ${(seconds / 60).toFixed(1)} min`);
        }
      }
    }
    const loaded = runs.map((r) => ({ label: r.label, name: r.file.split('/').pop()!, file: readResultFile(r.file) }));
    const bases = loaded.filter((r) => r.label === 'base');
    if (bases.length === 0) throw new UsageError('no base runs');
    const aaTrials: Trial[] = [];
    for (let i = 0; i < bases.length; i++) for (let j = i + 1; j < bases.length; j++) aaTrials.push(trial({ label: bases[i]!.name, file: bases[i]!.file }, { label: bases[j]!.name, file: bases[j]!.file }, options));
    const heads: ProofReport['heads'] = {};
    for (const label of [...new Set(loaded.map((r) => r.label))].filter((l) => l !== 'base')) {
      const detail = loaded.filter((r) => r.label === label).flatMap((h) => bases.map((b) => trial({ label: b.name, file: b.file }, { label: h.name, file: h.file }, options)));
      heads[label] = { ...wilson(detail.filter((t) => t.outcome === 'regression').length, detail.length), trials_detail: detail };
    }
    const report: ProofReport = {
      profile: bases[0]!.file.run.profile,
      filters: values.filter ?? [],
      runs,
      aa: { ...wilson(aaTrials.filter((t) => t.outcome === 'regression').length, aaTrials.length), trials_detail: aaTrials },
      heads,
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'gate-proof.json'), JSON.stringify(report, null, 2) + '\n');
    console.log(formatProof(report));
    const met = (report.aa.trials === 0 || report.aa.rate <= 0.05) && Object.values(heads).every((h) => h.rate >= 0.95);
    return met ? 0 : 1;
  } catch (err) {
    return exitCodeForCliError('gate-proof', USAGE, err);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
