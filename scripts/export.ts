/**
 * npm run export -- --format gab|bmf <result.json> [--better higher|lower] [--out file | --out-dir dir]
 *
 *  gab: github-action-benchmark custom-tool JSON. With --better, the one array for
 *       customBiggerIsBetter (higher) or customSmallerIsBetter (lower); with --out-dir, both
 *       files (customBiggerIsBetter.json, customSmallerIsBetter.json); otherwise an object
 *       keyed by tool name.
 *  bmf: Bencher Metric Format (`bencher run --adapter json`).
 * Exit codes: 0 written, 2 bad input.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EXPORT_FORMATS, toBencherMetricFormat, toGithubActionBenchmark, type ExportFormat } from '../src/harness/report/export.js';
import { readResultFile, ResultFileError } from '../src/harness/result/schema.js';
import { exitCodeForCliError, UsageError } from '../src/harness/cli-errors.js';

export const USAGE = `usage: npm run export -- --format gab|bmf <result.json> [--better higher|lower] [--out file | --out-dir dir]`;


export function main(argv: string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { format: { type: 'string' }, better: { type: 'string' }, out: { type: 'string' }, 'out-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const format = values.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(values.format ?? '')}`);
    if (positionals.length !== 1) throw new UsageError(`expected exactly one result file, got ${positionals.length}`);
    if (values.better !== undefined && values.better !== 'higher' && values.better !== 'lower') throw new UsageError(`--better must be higher or lower`);
    const result = readResultFile(positionals[0]!);
    const outputs: [string | undefined, unknown][] = [];
    if (format === 'bmf') {
      outputs.push([values.out, toBencherMetricFormat(result)]);
    } else {
      const gab = toGithubActionBenchmark(result);
      if (values['out-dir']) {
        mkdirSync(values['out-dir'], { recursive: true });
        for (const tool of ['customBiggerIsBetter', 'customSmallerIsBetter'] as const) outputs.push([join(values['out-dir'], `${tool}.json`), gab[tool]]);
      } else if (values.better) {
        outputs.push([values.out, values.better === 'higher' ? gab.customBiggerIsBetter : gab.customSmallerIsBetter]);
      } else {
        outputs.push([values.out, gab]);
      }
    }
    for (const [path, value] of outputs) {
      const text = JSON.stringify(value, null, 2) + '\n';
      if (path) {
        writeFileSync(path, text);
        console.error(`export: wrote ${path}`);
      } else process.stdout.write(text);
    }
    return 0;
  } catch (err) {
    return exitCodeForCliError('export', USAGE, err, [ResultFileError]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
