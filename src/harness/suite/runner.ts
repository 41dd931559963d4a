/**
 * Runs the registered suites for one `npm run bench` and assembles the result file.
 *
 * Suites only measure and report through their context; the runner owns everything else:
 * filtering, summaries (stats.ts), quality flags, the test-only slowdown marking, environment,
 * progress and the failure bookkeeping (a suite that throws is recorded and the run goes on).
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { BenchmarkRecord, EnvironmentNote, Suite, SuiteContext, SuiteContextStatic } from './suite.js';
import { PROFILE_SETTINGS } from './profiles.js';
import { slowdownFor, type SlowdownSpec } from './slowdown.js';
import { matchesFilters, type BenchOptions } from './options.js';
import { captureEnvironment, REPO_ROOT } from '../result/environment.js';
import type { ProgressDisplay } from './progress.js';
import { RESULT_SCHEMA_VERSION, type Anchor, type BenchmarkResult, type Check, type ResultFile } from '../result/result.js';
import type { RunInfoWithExtras } from '../result/schema.js';
import { summarize } from '../statistics/stats.js';

export interface RunBenchInput {
  options: BenchOptions;
  suites: readonly Suite[];
  /** The command line as given, recorded in run.argv. */
  argv: readonly string[];
  cores: number;
  progress: ProgressDisplay;
  /** From SIGLOAD_INJECT_SLOWDOWN; undefined in every real run. */
  slowdown?: SlowdownSpec;
  /** Aborts the run between and inside suites (Ctrl-C). */
  signal?: AbortSignal;
}

export interface RunBenchOutput {
  result: ResultFile;
  /** True when a suite threw, a check failed or the run was aborted. */
  failed: boolean;
}

/** `<time>-<commit>` used for the run id and results/runs/<id>.json. */
export function runStem(startedAt: Date, commit: string): string {
  const time = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return `${time}-${commit === 'unknown' ? 'nocommit' : commit.slice(0, 12)}`;
}

export const RESULTS_DIR = join(REPO_ROOT, 'results');

export function staticContext(options: BenchOptions, cores: number): SuiteContextStatic {
  const settings = PROFILE_SETTINGS[options.profile];
  return {
    profile: options.profile,
    settings,
    repetitions: settings.repetitions,
    backends: options.backends,
    workers: options.workers,
    cores,
    wants: (id: string) => matchesFilters(id, options.filters),
    ...(options.load ? { load: options.load } : {}),
  };
}

/** Suites that may produce an id passing the filters (suites that do not list ids always run). */
export function selectSuites(suites: readonly Suite[], ctx: SuiteContextStatic): Suite[] {
  return suites.filter((s) => !s.benchmarkIds || s.benchmarkIds(ctx).some((id) => ctx.wants(id)));
}

/** Ids that would run (for --list); suites without a list show as `<suite>/*`. */
export function listIds(suites: readonly Suite[], ctx: SuiteContextStatic): string[] {
  const ids: string[] = [];
  for (const s of suites) {
    if (s.benchmarkIds) ids.push(...s.benchmarkIds(ctx).filter((id) => ctx.wants(id)));
    else ids.push(`${s.id}/* (suite lists its ids only when it runs)`);
  }
  return ids;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export async function runBench(input: RunBenchInput): Promise<RunBenchOutput> {
  const { options, progress } = input;
  const startedAt = new Date();
  const base = staticContext(options, input.cores);
  const environment = await captureEnvironment({ backends: options.backends });
  const suites = selectSuites(input.suites, base);

  const benchmarks: BenchmarkResult[] = [];
  const anchors: Anchor[] = [];
  const checks: Check[] = [];
  const failedSuites: { suite: string; error: string }[] = [];
  const seen = new Set<string>();
  const abort = new AbortController();
  // tinybench adds one abort listener per task; a suite may have dozens.
  setMaxListeners(0, abort.signal);
  input.signal?.addEventListener('abort', () => abort.abort(input.signal?.reason), { once: true });

  const estimates = suites.map((s) => {
    try {
      return s.estimateSeconds(base);
    } catch {
      return 1;
    }
  });
  progress.begin(estimates);

  for (const [index, suite] of suites.entries()) {
    if (abort.signal.aborted) {
      failedSuites.push({ suite: suite.id, error: 'aborted before it started' });
      continue;
    }
    progress.suiteStart(index, suite.id);
    const suiteStart = performance.now();
    const ctx: SuiteContext = {
      ...base,
      signal: abort.signal,
      record(b: BenchmarkRecord): void {
        if (!base.wants(b.id)) return;
        if (seen.has(b.id)) throw new Error(`benchmark id '${b.id}' recorded twice (ids must be unique and stable)`);
        if (b.samples.length === 0) throw new Error(`benchmark '${b.id}' has no samples`);
        for (const [name, value] of Object.entries(b.params)) {
          const ok = typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
          if (!ok) throw new Error(`benchmark '${b.id}': param '${name}' must be a string, a finite number or a boolean`);
        }
        seen.add(b.id);
        const quality = { clean: b.quality?.clean ?? true, notes: [...(b.quality?.notes ?? [])] };
        if (input.slowdown && b.id.includes(input.slowdown.pattern)) {
          quality.clean = false;
          quality.notes.push(`TEST ONLY: injected slowdown ${input.slowdown.fraction} (SIGLOAD_INJECT_SLOWDOWN)`);
        }
        if (b.samples.length < base.repetitions) {
          quality.notes.push(`${b.samples.length} repetitions, fewer than the profile's ${base.repetitions}`);
        }
        const result: BenchmarkResult = {
          id: b.id,
          suite: b.suite,
          unit: b.unit,
          better: b.better,
          params: b.params,
          samples: [...b.samples],
          summary: b.summary ?? summarize(b.samples),
          quality,
        };
        if (b.latency) result.latency = b.latency;
        if (b.time_series) result.time_series = b.time_series;
        benchmarks.push(result);
      },
      anchor(a: Anchor): void {
        const anchor: Anchor = { ...a };
        if (anchor.goal && anchor.met === undefined) {
          anchor.met = anchor.goal.op === '>=' ? anchor.ratio >= anchor.goal.value : anchor.ratio <= anchor.goal.value;
        }
        const existing = anchors.findIndex((x) => x.id === anchor.id);
        if (existing >= 0) anchors[existing] = anchor;
        else anchors.push(anchor);
      },
      check(c: Check): void {
        checks.push({ ...c });
      },
      note(patch: EnvironmentNote): void {
        if (patch.anchor_versions) Object.assign(environment.anchor_versions, patch.anchor_versions);
        if (patch.crypto) {
          for (const [name, providers] of Object.entries(patch.crypto)) {
            environment.crypto[name as keyof typeof environment.crypto] = {
              ...(environment.crypto[name as keyof typeof environment.crypto] ?? {}),
              ...providers,
            };
          }
        }
        if (patch.target) environment.target = { ...patch.target };
      },
      progress: (fraction: number, label: string) => progress.update(fraction, label),
      log: (line: string) => progress.line(`  ${suite.id}: ${line}`),
      slowdown: (id: string) => slowdownFor(id, input.slowdown),
    };
    try {
      await suite.run(ctx);
      progress.suiteEnd(abort.signal.aborted ? 'aborted' : 'done', (performance.now() - suiteStart) / 1000);
      if (abort.signal.aborted) failedSuites.push({ suite: suite.id, error: 'aborted' });
    } catch (err) {
      failedSuites.push({ suite: suite.id, error: errorText(err) });
      progress.suiteEnd(`FAILED (${errorText(err)})`, (performance.now() - suiteStart) / 1000);
    }
  }
  progress.end();

  const finishedAt = new Date();
  const run: RunInfoWithExtras = {
    id: runStem(startedAt, environment.git.commit),
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    profile: options.profile,
    filters: [...options.filters],
    argv: [...input.argv],
  };
  if (input.slowdown) run.injected_slowdown = { ...input.slowdown };
  if (failedSuites.length > 0) run.failed_suites = failedSuites;
  const result: ResultFile = {
    schema_version: RESULT_SCHEMA_VERSION,
    run,
    environment,
    benchmarks,
    anchors,
    checks,
  };
  const failed = failedSuites.length > 0 || checks.some((c) => !c.passed);
  return { result, failed };
}
