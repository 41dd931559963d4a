/**
 * Validation of result files against `results/result.schema.json` (JSON Schema 2020-12, ajv 8).
 *
 * Every writer and every reader goes through here, so a file that does not match the shape in
 * `result.ts` is refused with a message naming the JSON path and what was expected there.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { ResultFile, RunInfo } from './result.js';
import { KindedError } from '../../kinded-error.js';

/** @deprecated `RunInfo` now carries `injected_slowdown` and `failed_suites`; use it. */
export type RunInfoWithExtras = RunInfo;

export type ResultFileErrorKind = 'invalid-json' | 'schema' | 'missing';

export class ResultFileError extends KindedError<ResultFileErrorKind> {
  /** JSON pointers of the offending places (schema errors only). */
  readonly paths: string[];
  constructor(kind: ResultFileErrorKind, message: string, paths: string[] = []) {
    super(kind, message);
    this.paths = paths;
  }
}

/** Where the schema lives: <repo>/results/result.schema.json (this module runs from dist/src/harness). */
export const RESULT_SCHEMA_PATH = fileURLToPath(new URL('../../../../results/result.schema.json', import.meta.url));

let compiled: ValidateFunction | undefined;

/** Compiles a JSON Schema 2020-12 file of this repository with the options every sigload schema uses. */
export function compileSchemaFile(path: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(path, 'utf8')) as object;
  // ajv ships CommonJS; under NodeNext the class is either the module itself or its `default`.
  const mod = Ajv2020Module as unknown as { default?: unknown };
  const Ajv2020 = (typeof mod.default === 'function' ? mod.default : mod) as new (opts: object) => {
    compile(schema: object): ValidateFunction;
  };
  return new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
}

function validator(): ValidateFunction {
  compiled ??= compileSchemaFile(RESULT_SCHEMA_PATH);
  return compiled;
}

/** One line for an ajv error: the JSON path and what was expected there. */
export function describeError(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(root)' : e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${at}: missing required property '${String(p.missingProperty)}'`;
    case 'additionalProperties':
      return `${at}: unexpected property '${String(p.additionalProperty)}'`;
    case 'type':
      return `${at}: expected ${String(p.type)}`;
    case 'enum':
      return `${at}: expected one of ${JSON.stringify(p.allowedValues)}`;
    case 'const':
      return `${at}: expected ${JSON.stringify(p.allowedValue)}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

/** Checks a parsed value against the schema; returns it typed, or throws ResultFileError('schema'). */
export function validateResult(value: unknown, source = 'result'): ResultFile {
  const validate = validator();
  if (validate(value)) return value as ResultFile;
  const errors = validate.errors ?? [];
  // One line per distinct problem; the first few are enough to fix a file.
  const lines = [...new Set(errors.map(describeError))];
  const shown = lines.slice(0, 8);
  const more = lines.length > shown.length ? `\n  … and ${lines.length - shown.length} more` : '';
  throw new ResultFileError(
    'schema',
    `${source} does not match results/result.schema.json:\n  ${shown.join('\n  ')}${more}`,
    [...new Set(errors.map((e) => e.instancePath))],
  );
}

/** Parses JSON text and validates it. */
export function parseResult(text: string, source = 'result'): ResultFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError('invalid-json', `${source} is not valid JSON: ${(err as Error).message}`);
  }
  return validateResult(value, source);
}

/** Reads and validates a result file. */
export function readResultFile(path: string): ResultFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ResultFileError('missing', `result file ${path} cannot be read (${code ?? (err as Error).message})`);
  }
  return parseResult(text, `result file ${path}`);
}

/** Validates, then writes atomically (temp file + rename), creating parent folders. */
export function writeResultFile(path: string, result: ResultFile): void {
  validateResult(result, `result for ${path}`);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(result, null, 2) + '\n');
  renameSync(temp, path);
}
