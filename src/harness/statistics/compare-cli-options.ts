/**
 * The gate's options as the command-line scripts take them (`npm run compare`, `npm run nightly`,
 * gate-proof): one set of parseArgs definitions and one reader, so the flags mean the same everywhere.
 */
import type { CompareOptions } from './compare.js';
import { UsageError } from '../cli-errors.js';

/** parseArgs definitions of --alpha, --min-change, --count-min-change, --noise-k, --max-cv. */
export const COMPARE_CLI_OPTIONS = {
  alpha: { type: 'string' },
  'min-change': { type: 'string' },
  'count-min-change': { type: 'string' },
  'noise-k': { type: 'string' },
  'max-cv': { type: 'string' },
} as const;

/** A numeric option, or undefined when absent; a UsageError when it is not a finite number. */
export function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (!Number.isFinite(x)) throw new UsageError(`--${name} expects a number, got ${JSON.stringify(value)}`);
  return x;
}

/** The compare options given on the command line (absent ones stay undefined: the gate's defaults apply). */
export function compareOptionsFrom(values: Partial<Record<keyof typeof COMPARE_CLI_OPTIONS, string | undefined>>): CompareOptions {
  return {
    alpha: numberOption('alpha', values.alpha),
    minChangePct: numberOption('min-change', values['min-change']),
    countMinChangePct: numberOption('count-min-change', values['count-min-change']),
    noiseMultiplier: numberOption('noise-k', values['noise-k']),
    maxCvPct: numberOption('max-cv', values['max-cv']),
  };
}
