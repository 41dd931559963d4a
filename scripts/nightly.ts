/**
 * npm run nightly -- [--baseline <file|folder> | --github-baseline <workflow.yml> | --base-tree <dir>]
 *                    [--profile ci] [--rounds 1] [--head <file>] [--out-dir results/nightly]
 *                    [--alpha a] [--min-change pct] [--noise-k k] [--max-cv pct] [-- <bench args>]
 *
 * What the nightly and pull-request workflows run (the YAML only calls this):
 *  1. bench this tree: `node dist/scripts/bench.js --profile <p> --out <out-dir>/head.json <bench args>`
 *     (skipped with --head; --rounds n runs it n times and pools the repetitions);
 *  2. get the baseline: a file, the newest result in a folder, the newest artifact of a GitHub
 *     workflow run on main (`gh run download`), or, with --base-tree (a built checkout of the
 *     merge base), bench that tree too, interleaved with head in ABBA order for --rounds rounds;
 *  3. compare (src/harness/statistics/compare.ts), write the markdown to $GITHUB_STEP_SUMMARY when set
 *     (stdout otherwise), write compare.{md,json}, report.html, the result files and the exports
 *     (github-action-benchmark, Bencher BMF) to --out-dir for upload;
 *  4. with --thresholds <file>, check head's figures against absolute goals
 *     (src/harness/result/thresholds.ts) and print each with its verdict;
 *  5. exit 1 on a regression or a failed bench, 2 on bad input (a bad thresholds file before
 *     any bench runs), 3 when a threshold failed (or its figure is missing or not clean) and
 *     neither applies, 4 when the comparison is inconclusive (no row could be judged), 0
 *     otherwise (also when there is no baseline yet: the first nightly only records).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CompareError, compareResults, OUTCOME_EXIT_CODES, type CompareOptions } from '../src/harness/statistics/compare.js';
import { formatComparisonMarkdown, formatJson } from '../src/harness/statistics/compare-format.js';
import { loadResultInputs } from '../src/harness/statistics/compare-input.js';
import { COMPARE_CLI_OPTIONS, compareOptionsFrom, numberOption } from '../src/harness/statistics/compare-cli-options.js';
import { mergeRuns } from '../src/harness/statistics/compare-merge.js';
import { toBencherMetricFormat, toGithubActionBenchmark } from '../src/harness/report/export.js';
import { renderReportHtml } from '../src/harness/report/report.js';
import type { ResultFile } from '../src/harness/result/result.js';
import { readResultFile, ResultFileError, writeResultFile } from '../src/harness/result/schema.js';
import { exitCodeForCliError, UsageError } from '../src/harness/cli-errors.js';
import { evaluateThresholds, formatThresholds, readThresholdsFile, thresholdsHold, ThresholdsError, THRESHOLDS_FAILED_EXIT, type ThresholdsFile } from '../src/harness/result/thresholds.js';

export const USAGE = `usage: npm run nightly -- [baseline] [options] [-- <bench args>]
baseline (at most one; none = first run, record only):
  --baseline <file|folder>       a result file, or the newest result file in a folder
  --github-baseline <workflow>   newest artifact '${'sigload-nightly'}' of that workflow's runs on --github-branch (needs gh)
  --base-tree <dir>              a built checkout of the base commit: bench it too (pull requests)
options:
  --profile <name>     bench profile (default ci)
  --rounds <n>         bench runs per side, pooled (default 1); with --base-tree interleaved ABBA
  --head <file>        use this result as head instead of running the bench
  --out-dir <dir>      outputs for upload (default results/nightly)
  --github-branch <b>  branch for --github-baseline (default main)
  --artifact <name>    artifact name for --github-baseline (default sigload-nightly)
  --thresholds <file>  absolute goals checked on head (results/thresholds.schema.json; docs/bench.md#thresholds)
  --alpha, --min-change, --count-min-change, --noise-k, --max-cv   as for npm run compare
exit codes: 0 no regression (or no baseline) and every threshold holds; 1 regression or failed bench;
  2 bad input (also a bad thresholds file); 3 a threshold failed, or its figure is missing or not
  clean (when there is no regression and the bench did not fail); 4 inconclusive (no row could be
  judged, and every threshold holds)`;


/** The repository this script runs from (dist/scripts/nightly.js -> repo root). */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface BenchRun {
  result?: ResultFile;
  status: number;
}

/** Runs `dist/scripts/bench.js` of a tree (this one or the base checkout) and reads what it wrote. */
function runBench(tree: string, profile: string, out: string, benchArgs: readonly string[], label: string): BenchRun {
  const script = join(tree, 'dist', 'scripts', 'bench.js');
  if (!existsSync(script)) {
    console.error(`nightly: ${label}: ${script} does not exist (not built, or a commit before the harness)`);
    return { status: 2 };
  }
  console.error(`nightly: ${label}: node ${script} --profile ${profile} --out ${out} ${benchArgs.join(' ')}`);
  const child = spawnSync(process.execPath, [script, '--profile', profile, '--out', out, ...benchArgs], { cwd: tree, stdio: ['ignore', 'inherit', 'inherit'] });
  const status = child.status ?? 1;
  if (!existsSync(out)) return { status: status === 0 ? 1 : status };
  return { result: readResultFile(out), status };
}

/** Newest result file in a folder (by run start), or the file itself. */
function baselineFrom(path: string): ResultFile {
  const inputs = loadResultInputs([path], { skipInvalidInFolders: true });
  return inputs[inputs.length - 1]!.file;
}

/** Downloads the newest artifact of `workflow` on `branch` with the GitHub CLI; undefined when there is none yet. */
function githubBaseline(workflow: string, branch: string, artifact: string): ResultFile | undefined {
  const list = spawnSync('gh', ['run', 'list', '--workflow', workflow, '--branch', branch, '--status', 'completed', '--limit', '20', '--json', 'databaseId,conclusion,createdAt'], {
    encoding: 'utf8',
  });
  if (list.error || list.status !== 0) {
    throw new UsageError(`--github-baseline: 'gh run list' failed (${list.error?.message ?? list.stderr.trim()}); is the GitHub CLI installed and GH_TOKEN set?`);
  }
  const runs = JSON.parse(list.stdout) as { databaseId: number; conclusion: string }[];
  for (const run of runs) {
    // Rolling baseline: the last completed nightly whatever its verdict, so a real regression alerts once.
    const dir = mkdtempSync(join(tmpdir(), 'sigload-baseline-'));
    const dl = spawnSync('gh', ['run', 'download', String(run.databaseId), '--name', artifact, '--dir', dir], { encoding: 'utf8' });
    if (dl.status === 0 && existsSync(join(dir, 'head.json'))) {
      console.error(`nightly: baseline = artifact '${artifact}' of run ${run.databaseId} (${run.conclusion})`);
      return readResultFile(join(dir, 'head.json'));
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return undefined;
}

function writeSummary(markdown: string, env: NodeJS.ProcessEnv): void {
  const summary = env['GITHUB_STEP_SUMMARY'];
  if (summary) {
    appendFileSync(summary, markdown + '\n');
    console.error(`nightly: wrote the job summary to ${summary}`);
  } else process.stdout.write(markdown + '\n');
}

function writeOutputs(outDir: string, head: ResultFile): void {
  writeResultFile(join(outDir, 'head.json'), head);
  const gab = toGithubActionBenchmark(head);
  writeFileSync(join(outDir, 'customBiggerIsBetter.json'), JSON.stringify(gab.customBiggerIsBetter, null, 2) + '\n');
  writeFileSync(join(outDir, 'customSmallerIsBetter.json'), JSON.stringify(gab.customSmallerIsBetter, null, 2) + '\n');
  writeFileSync(join(outDir, 'bmf.json'), JSON.stringify(toBencherMetricFormat(head), null, 2) + '\n');
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        baseline: { type: 'string' },
        'github-baseline': { type: 'string' },
        'github-branch': { type: 'string', default: 'main' },
        artifact: { type: 'string', default: 'sigload-nightly' },
        'base-tree': { type: 'string' },
        rounds: { type: 'string', default: '1' },
        profile: { type: 'string', default: 'ci' },
        head: { type: 'string' },
        'out-dir': { type: 'string', default: 'results/nightly' },
        ...COMPARE_CLI_OPTIONS,
        thresholds: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const sources = [values.baseline, values['github-baseline'], values['base-tree']].filter((x) => x !== undefined);
    if (sources.length > 1) throw new UsageError('give at most one of --baseline, --github-baseline, --base-tree');
    const rounds = numberOption('rounds', values.rounds)!;
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new UsageError(`--rounds must be an integer 1..20, got ${values.rounds}`);
    if (values.head && values['base-tree']) throw new UsageError('--head and --base-tree cannot be combined (interleaving needs to run both)');
    const compareOptions: CompareOptions = compareOptionsFrom(values);
    // Read first: a bad thresholds file fails before a 15-minute bench.
    const thresholds: ThresholdsFile | undefined = values.thresholds !== undefined ? readThresholdsFile(values.thresholds) : undefined;
    const checkThresholds = (head: ResultFile): number => {
      if (!thresholds) return 0;
      const outcomes = evaluateThresholds(head, thresholds);
      const text = formatThresholds(outcomes);
      console.error(`nightly: ${text}`);
      writeFileSync(join(outDir, 'thresholds.txt'), text + '\n');
      writeSummary(`### Thresholds\n\n\`\`\`\n${text}\n\`\`\`\n`, env);
      return thresholdsHold(outcomes) ? 0 : THRESHOLDS_FAILED_EXIT;
    };
    const outDir = resolve(values['out-dir']);
    mkdirSync(outDir, { recursive: true });
    const benchArgs = positionals;
    let benchFailed = false;

    // A fixed baseline is read first, so a bad path fails before a 15-minute bench.
    let base: ResultFile | undefined;
    if (values.baseline) {
      if (!existsSync(values.baseline)) throw new ResultFileError('missing', `baseline ${values.baseline} does not exist`);
      base = statSync(values.baseline).isDirectory() && readdirSync(values.baseline).every((n) => !n.endsWith('.json')) ? undefined : baselineFrom(values.baseline);
      if (!base) console.error(`nightly: ${values.baseline} holds no result yet: recording only`);
    } else if (values['github-baseline']) {
      base = githubBaseline(values['github-baseline'], values['github-branch'], values.artifact);
      if (!base) console.error(`nightly: no artifact '${values.artifact}' from ${values['github-baseline']} on ${values['github-branch']} yet: recording only`);
    }

    let head: ResultFile;
    if (values.head) {
      head = readResultFile(values.head);
    } else if (values['base-tree']) {
      // ABBA…: base, head, head, base, base, head … so linear drift cancels between the sides.
      const baseRuns: ResultFile[] = [];
      const headRuns: ResultFile[] = [];
      const baseTree = resolve(values['base-tree']);
      for (let i = 0; i < 2 * rounds; i++) {
        const isBase = i % 4 === 0 || i % 4 === 3;
        const tree = isBase ? baseTree : REPO_ROOT;
        const out = join(outDir, 'rounds', `${isBase ? 'base' : 'head'}-${i}.json`);
        const r = runBench(tree, values.profile, out, benchArgs, isBase ? `base round ${baseRuns.length + 1}` : `head round ${headRuns.length + 1}`);
        if (isBase && !r.result) {
          console.error('nightly: the base tree did not produce a result: no baseline, recording only');
          continue;
        }
        if (!r.result) throw new UsageError(`bench of this tree failed with exit ${r.status} and wrote no result`);
        if (r.status !== 0) benchFailed = benchFailed || !isBase;
        (isBase ? baseRuns : headRuns).push(r.result);
      }
      head = mergeRuns(headRuns);
      if (baseRuns.length > 0) {
        base = mergeRuns(baseRuns);
        writeResultFile(join(outDir, 'base.json'), base);
      }
    } else {
      // --rounds > 1 pools several runs of this tree, so a profile with few repetitions still reaches n >= 10.
      const headRuns: ResultFile[] = [];
      for (let i = 0; i < rounds; i++) {
        const out = rounds === 1 ? join(outDir, 'head.json') : join(outDir, 'rounds', `head-${i}.json`);
        const r = runBench(REPO_ROOT, values.profile, out, benchArgs, rounds === 1 ? 'head' : `head round ${i + 1}`);
        if (!r.result) throw new UsageError(`bench failed with exit ${r.status} and wrote no result`);
        benchFailed = benchFailed || r.status !== 0;
        headRuns.push(r.result);
      }
      head = mergeRuns(headRuns);
    }
    writeOutputs(outDir, head);
    if (benchFailed) console.error('nightly: the bench reported a failed suite or check (see above): the job fails');

    if (!base) {
      const md = `## sigload nightly: no baseline yet\n\nRecorded \`${head.environment.git.commit.slice(0, 10)}\` (${head.benchmarks.length} benchmarks, profile ${head.run.profile}); the next run compares against it.\n`;
      writeFileSync(join(outDir, 'compare.md'), md);
      writeSummary(md, env);
      const thresholdStatus = checkThresholds(head);
      return benchFailed ? 1 : thresholdStatus;
    }
    const comparison = compareResults(base, head, compareOptions, { base: 'baseline', head: 'head' });
    const md = formatComparisonMarkdown(comparison);
    writeFileSync(join(outDir, 'compare.md'), md);
    writeFileSync(join(outDir, 'compare.json'), formatJson(comparison));
    writeSummary(md, env);
    try {
      writeFileSync(join(outDir, 'report.html'), renderReportHtml([{ source: 'baseline', file: base }, { source: 'head', file: head }], { title: 'sigload nightly', compare: compareOptions }));
    } catch (err) {
      // The HTML report is a convenience for the artifact; it never decides the gate.
      console.error(`nightly: report.html not written: ${(err as Error).message}`);
    }
    console.error(`nightly: ${comparison.outcome}; outputs in ${outDir}`);
    const thresholdStatus = checkThresholds(head);
    if (comparison.regressed || benchFailed) return 1;
    return thresholdStatus !== 0 ? thresholdStatus : OUTCOME_EXIT_CODES[comparison.outcome];
  } catch (err) {
    return exitCodeForCliError('nightly', USAGE, err, [ResultFileError, CompareError, ThresholdsError]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
