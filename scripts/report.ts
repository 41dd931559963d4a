/**
 * npm run report -- <result.json | folder> … [--out report.html] [--title text]
 *
 * Writes one self-contained HTML file (Chart.js inlined, no network): trends across runs,
 * latency percentile curves, throughput against workers, anchors against goals, and the
 * compare table of the last two runs. Exit codes: 0 written, 2 bad input.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadResultInputs } from '../src/harness/statistics/compare-input.js';
import { renderReportHtml } from '../src/harness/report/report.js';
import { ResultFileError } from '../src/harness/result/schema.js';

import { exitCodeForCliError, UsageError } from '../src/harness/cli-errors.js';

export const USAGE = 'usage: npm run report -- <result.json | folder> … [--out results/report.html] [--title text]';


export function main(argv: string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string', default: 'results/report.html' }, title: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('no result files or folders given');
    // Folders may also hold exports and compare output: skip JSON that is not a result file there.
    const inputs = loadResultInputs(positionals, { skipInvalidInFolders: true });
    const html = renderReportHtml(inputs, values.title ? { title: values.title } : {});
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, html);
    console.log(`report: wrote ${values.out} (${inputs.length} run(s), ${(html.length / 1024).toFixed(0)} KiB)`);
    return 0;
  } catch (err) {
    return exitCodeForCliError('report', USAGE, err, [ResultFileError]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
