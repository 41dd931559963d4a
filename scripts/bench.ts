#!/usr/bin/env node
/**
 * `npm run bench -- [options]`: runs the suites of bench/suites.ts and writes the result file.
 * See `--help` and docs/bench.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SUITES } from '../bench/suites.js';
import { parseSlowdown, SlowdownSpecError, SLOWDOWN_ENV } from '../src/harness/suite/slowdown.js';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchOptions } from '../src/harness/suite/options.js';
import { listIds, RESULTS_DIR, runBench, staticContext } from '../src/harness/suite/runner.js';
import { ProgressDisplay } from '../src/harness/suite/progress.js';
import { ResultFileError, writeResultFile } from '../src/harness/result/schema.js';
import { formatSummaryTable } from '../src/harness/report/summary-table.js';
import { evaluateThresholds, formatThresholds, readThresholdsFile, thresholdsHold, ThresholdsError, THRESHOLDS_FAILED_EXIT, type ThresholdsFile } from '../src/harness/result/thresholds.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const cores = os.availableParallelism();
  let options: BenchOptions;
  let slowdown;
  try {
    options = parseBenchArgs(argv, cores);
    slowdown = parseSlowdown(process.env[SLOWDOWN_ENV]);
  } catch (err) {
    if (err instanceof BenchUsageError || err instanceof SlowdownSpecError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(BENCH_USAGE + '\n');
    return 0;
  }
  // A bad thresholds file fails before the run, not after minutes of measuring.
  let thresholds: ThresholdsFile | undefined;
  try {
    if (options.thresholds) thresholds = readThresholdsFile(options.thresholds);
  } catch (err) {
    if (!(err instanceof ThresholdsError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return 2;
  }
  if (options.list) {
    const ids = listIds(SUITES, staticContext(options, cores));
    process.stdout.write(ids.join('\n') + (ids.length ? '\n' : ''));
    return 0;
  }

  const progress = new ProgressDisplay();
  if (slowdown) progress.line(`bench: TEST ONLY — ${SLOWDOWN_ENV}=${slowdown.pattern}:${slowdown.fraction} is set; this is not a real run`);
  progress.line(
    `bench: profile ${options.profile}, backends ${options.backends.join(',')}, workers ${options.workers.join(',')}` +
      (options.filters.length ? `, filter ${options.filters.join(',')}` : ''),
  );
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    progress.line('bench: interrupted — finishing the current step and writing what was measured (Ctrl-C again to quit now)');
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);

  const { result, failed } = await runBench({ options, suites: SUITES, argv, cores, progress, slowdown, signal: abort.signal });
  process.off('SIGINT', onSigint);

  const written: string[] = [];
  const targets = options.out ? [resolve(options.out)] : [join(RESULTS_DIR, 'runs', `${result.run.id}.json`), join(RESULTS_DIR, 'latest.json')];
  try {
    for (const path of targets) {
      writeResultFile(path, result);
      written.push(path);
    }
  } catch (err) {
    if (!(err instanceof ResultFileError)) throw err;
    // Never lose a run's measurements to a shape bug: keep them beside the target, marked invalid.
    const rescue = `${targets[0]}.invalid.json`;
    mkdirSync(dirname(rescue), { recursive: true });
    writeFileSync(rescue, JSON.stringify(result, null, 2) + '\n');
    process.stderr.write(`bench: the result does not validate, so it was written to ${rescue} instead:\n${err.message}\n`);
    return 1;
  }
  process.stdout.write('\n' + formatSummaryTable(result) + '\n\n');
  process.stdout.write(`bench: wrote ${written.join(' and ')}\n`);
  if (failed) process.stderr.write('bench: FAILED (a suite threw or a check failed; see above)\n');
  const outcomes = thresholds ? evaluateThresholds(result, thresholds) : [];
  if (thresholds) process.stdout.write(formatThresholds(outcomes) + '\n');
  if (failed) return 1;
  return thresholdsHold(outcomes) ? 0 : THRESHOLDS_FAILED_EXIT;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
