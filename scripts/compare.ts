/**
 * npm run compare -- <base.json> <head.json> [more.json …] [--format table|md|json]
 *   [--alpha 0.05] [--min-change 3] [--count-min-change 2] [--noise-k 2] [--max-cv 10]
 *   [--correction holm|bonferroni|none] [--out file]
 *
 * Two files: head against base. Three or more (or a folder): a series, gated on first vs last.
 * Exit codes (OUTCOME_EXIT_CODES): 0 no regression, 1 at least one regression, 2 bad input
 * (message on stderr), 4 inconclusive (no row could be judged; the output says why and what to run).
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CompareError, compareSeries, OUTCOME_EXIT_CODES, type CompareOptions, type Correction } from '../src/harness/statistics/compare.js';
import { COMPARE_FORMATS, formatComparison, formatSeries, type CompareFormat } from '../src/harness/statistics/compare-format.js';
import { loadResultInputs } from '../src/harness/statistics/compare-input.js';
import { COMPARE_CLI_OPTIONS, compareOptionsFrom } from '../src/harness/statistics/compare-cli-options.js';
import { ResultFileError } from '../src/harness/result/schema.js';
import { exitCodeForCliError, UsageError } from '../src/harness/cli-errors.js';

export const USAGE = `usage: npm run compare -- <base.json> <head.json> [more.json … | folder] [options]
  --format table|md|json   output format (default table)
  --alpha <a>              family-wise significance level (default 0.05)
  --min-change <pct>       practical floor in percent for wall-time and other rank-test rows (default 3)
  --count-min-change <pct> practical floor in percent for instruction counts (instructions/op rows; default 2)
  --noise-k <k>            floor is at least k × the larger run's CV (default 2)
  --max-cv <pct>           above this CV a benchmark is too noisy to judge (default 10)
  --correction holm|bonferroni|none   multiple-comparison correction (default holm)
  --out <file>             also write the output to a file
counts (instructions/op) regress when every head sample is worse than every base sample and the
change is beyond their floor; other rows by a Mann-Whitney U test, Holm-corrected over the rows
whose repetitions can reach the corrected level, and beyond their floor.
exit codes: 0 no regression (at least one row judged), 1 regression, 2 bad input,
            4 inconclusive (no row could be judged: the output says why and what to run instead)`;


export function main(argv: string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'table' },
        ...COMPARE_CLI_OPTIONS,
        correction: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const format = values.format as CompareFormat;
    if (!COMPARE_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${COMPARE_FORMATS.join(', ')}, got ${JSON.stringify(values.format)}`);
    const options: CompareOptions = { ...compareOptionsFrom(values), correction: values.correction as Correction | undefined };
    if (positionals.length === 0) throw new UsageError('no result files given');
    const loaded = loadResultInputs(positionals);
    if (loaded.length < 2) throw new UsageError(`a comparison needs at least two result files, got ${loaded.length}`);
    const series = compareSeries(
      loaded.map((l) => l.file),
      options,
      loaded.map((l) => l.source),
    );
    const text = loaded.length === 2 ? formatComparison(series.overall, format) : formatSeries(series, format);
    process.stdout.write(text);
    if (values.out) writeFileSync(values.out, text);
    return OUTCOME_EXIT_CODES[series.outcome];
  } catch (err) {
    return exitCodeForCliError('compare', USAGE, err, [ResultFileError, CompareError]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
